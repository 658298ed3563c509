"""tf.TensorArray and tf.py_function inside saved functions, as TF saves and loads them."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import tapeflow as tf


def _lib(name: str):
    return pytest.importorskip("tensorflow") if name == "tensorflow" else tf


LIBRARIES = ["tapeflow", pytest.param("tensorflow", marks=pytest.mark.oracle)]


def _arrays_module(lib):
    class M(lib.Module):
        @lib.function(input_signature=[lib.TensorSpec([None])])
        def running(self, x):
            out = lib.TensorArray(lib.float32, size=0, dynamic_size=True)
            total = lib.constant(0.0)
            for i in lib.range(lib.shape(x)[0]):
                total += x[i]
                out = out.write(i, total * 2.0 + lib.cast(i, lib.float32))
            return out.stack(), out.size()

        @lib.function(input_signature=[lib.TensorSpec([3, 2])])
        def rows(self, x):
            arr = lib.TensorArray(lib.float32, size=3).unstack(x)
            return arr.read(1) + arr.gather([0, 2])[1], arr.concat()

    return M()


@pytest.mark.parametrize("name", LIBRARIES)
def test_tensor_arrays_in_saved_functions(tmp_path, name):
    lib = _lib(name)
    lib.saved_model.save(_arrays_module(lib), str(tmp_path))
    loaded = lib.saved_model.load(str(tmp_path))
    stacked, size = loaded.running(lib.constant([1.0, 2.0, 3.0, 4.0]))
    assert stacked.numpy().tolist() == [2.0, 7.0, 14.0, 23.0] and int(size) == 4
    assert loaded.running(lib.constant([5.0]))[0].numpy().tolist() == [10.0]
    x = np.arange(6, dtype="float32").reshape(3, 2)
    row, joined = loaded.rows(lib.constant(x))
    assert row.numpy().tolist() == [6.0, 8.0] and joined.numpy().tolist() == list(range(6))


def _python_module(lib):
    class M(lib.Module):
        @lib.function(input_signature=[lib.TensorSpec([None])])
        def doubled(self, x):
            return lib.py_function(lambda v: v * 2.0, [x], lib.float32) + 1.0

        @lib.function(input_signature=[lib.TensorSpec([None])])
        def tripled(self, x):
            return lib.numpy_function(lambda v: (v * 3.0, np.int32(len(v))), [x], [lib.float32, lib.int32])

    return M()


@pytest.mark.parametrize("name", LIBRARIES)
def test_py_function_runs_only_in_the_process_that_traced_it(tmp_path, name):
    """TF saves a py_function by its registry token: the loaded function runs in this process,
    and fails with InvalidArgumentError ("Could not find callback") in another one."""
    lib = _lib(name)
    path = str(tmp_path / "py")
    lib.saved_model.save(_python_module(lib), path)
    loaded = lib.saved_model.load(path)
    assert loaded.doubled(lib.constant([1.0, 2.0])).numpy().tolist() == [3.0, 5.0]
    values, n = loaded.tripled(lib.constant([1.0, 2.0]))
    assert values.numpy().tolist() == [3.0, 6.0] and int(n) == 2
    module = "tensorflow" if name == "tensorflow" else "tapeflow"
    code = (f"import {module} as tf\nloaded = tf.saved_model.load({path!r})\n"
            "try:\n    loaded.doubled(tf.constant([1.0]))\nexcept tf.errors.InvalidArgumentError as e:\n"
            "    print('refused', 'Could not find callback with key=pyfunc_' in str(e))\n")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(tf.__file__)), TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert "refused True" in out.stdout, out.stderr[-2000:]


def test_hostile_py_function_steps_are_refused(tmp_path):
    import json

    path = str(tmp_path / "py")
    tf.saved_model.save(_python_module(tf), path)
    doc_path = os.path.join(path, "saved_model.json")
    doc = json.load(open(doc_path))
    step = next(s for s in doc["functions"]["doubled"][0]["ops"] if "py_function" in s)
    step["py_function"] = {"exec": "print(1)"}
    json.dump(doc, open(doc_path, "w"))
    with pytest.raises(ValueError, match="a py_function step in function `doubled` has no token"):
        tf.saved_model.load(path)
