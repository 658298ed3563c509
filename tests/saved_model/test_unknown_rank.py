"""Input signatures with specs of unknown rank (`tf.TensorSpec(None)`): traced, saved and loaded
functions and signatures take tensors of any rank, side by side with TF."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf


def _lib(name: str):
    return pytest.importorskip("tensorflow") if name == "tensorflow" else tf


LIBRARIES = ["tapeflow", pytest.param("tensorflow", marks=pytest.mark.oracle)]


def _module(lib):
    class M(lib.Module):
        def __init__(self):
            self.v = lib.Variable(2.0)

        @lib.function(input_signature=[lib.TensorSpec(None, lib.float32, name="x")])
        def f(self, x):
            return {"y": x * self.v + 1.0, "total": lib.reduce_sum(x), "shape": lib.shape(x)}

        @lib.function(input_signature=[lib.TensorSpec(shape=None, dtype=lib.float32), lib.TensorSpec([None, 2])])
        def g(self, x, w):
            return lib.matmul(x, w)

    return M()


@pytest.mark.parametrize("name", LIBRARIES)
def test_unknown_rank_functions_and_signatures_load_for_any_rank(tmp_path, name):
    lib = _lib(name)
    m = _module(lib)
    for x in (np.float32(3.0), np.ones((2, 3), "float32")):  # traced calls of two ranks
        np.testing.assert_allclose(m.f(x)["y"].numpy(), x * 2 + 1)
    lib.saved_model.save(m, str(tmp_path), signatures={"a": m.f, "b": m.g})
    loaded = lib.saved_model.load(str(tmp_path))
    a, b = loaded.signatures["a"], loaded.signatures["b"]
    assert repr(a.structured_input_signature) == (
        "((), {'x': TensorSpec(shape=<unknown>, dtype=tf.float32, name='x')})")
    outputs = a.structured_outputs
    assert repr(outputs["y"]) == "TensorSpec(shape=<unknown>, dtype=tf.float32, name='y')"
    assert repr(outputs["total"]) == "TensorSpec(shape=(), dtype=tf.float32, name='total')"
    for shape in [(), (4,), (2, 3, 4), (1, 2, 1, 2, 1)]:
        x = np.arange(np.prod(shape), dtype="float32").reshape(shape)
        out = a(x=lib.constant(x))
        np.testing.assert_allclose(out["y"].numpy(), x * 2 + 1)
        assert out["total"].numpy() == x.sum() and out["shape"].numpy().tolist() == list(shape)
        np.testing.assert_allclose(loaded.f(x)["y"].numpy(), x * 2 + 1)
    assert b(x=lib.ones((3, 2)), w=lib.ones((2, 2)))["output_0"].numpy().tolist() == [[2.0, 2.0]] * 3
    assert tuple(loaded.g(lib.ones((2, 3, 2)), lib.ones((2, 2))).shape) == (2, 3, 2)
    # A rank the function refuses fails when called, as TF's graph fails at run time.
    with pytest.raises(lib.errors.InvalidArgumentError, match="rank|ndims"):
        b(x=lib.ones((3,)), w=lib.ones((2, 2)))


def test_rank_traces_are_bounded_and_reported(tmp_path):
    m = _module(tf)
    tf.saved_model.save(m, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    assert [len(c._placeholders) for c in loaded.f.concrete_functions] == [1] * 7  # ranks 0..6
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"saved for inputs of unknown rank with the ranks "
                                                             r"\[\[0\], \[1\].*\[6\]\].*received ranks \[7\]"):
        loaded.f(np.ones((1,) * 7, "float32"))
    with pytest.raises(tf.errors.InvalidArgumentError, match="MatMul: both operands must have rank >= 2"):
        loaded.g(tf.ones((3,)), tf.ones((2, 2)))
    # Saved again, the loaded signatures keep every rank.
    tf.saved_model.save(loaded, str(tmp_path / "again"))
    again = tf.saved_model.load(str(tmp_path / "again"))
    np.testing.assert_allclose(again.f(np.ones((2, 2, 2), "float32"))["y"].numpy(), np.full((2, 2, 2), 3.0))


def test_get_concrete_function_takes_the_rank_of_a_spec():
    m = _module(tf)
    c = m.f.get_concrete_function(tf.TensorSpec([None, None, 4]))
    assert tuple(c.graph.inputs[0].shape) == (None, None, None)
    np.testing.assert_allclose(c(np.ones((2, 2, 3), "float32"))["y"].numpy(), np.full((2, 2, 3), 3.0))
    assert m.f.get_concrete_function(tf.TensorSpec([None, None, 4])) is c
    with pytest.raises(TypeError, match="rank-3"):
        c(np.ones((2, 2), "float32"))


@pytest.mark.parametrize("name", LIBRARIES)
def test_the_concrete_function_of_an_unknown_rank_signature_takes_any_rank(tmp_path, name):
    lib = _lib(name)
    m = _module(lib)
    c = m.f.get_concrete_function()
    assert "TensorSpec(shape=<unknown>, dtype=tf.float32, name='x')" in str(c.structured_input_signature)
    for shape in [(), (3,), (2, 2, 2)]:
        x = np.ones(shape, "float32")
        np.testing.assert_allclose(c(lib.constant(x))["y"].numpy(), x * 2 + 1)
    lib.saved_model.save(m, str(tmp_path), signatures=c)
    served = lib.saved_model.load(str(tmp_path)).signatures["serving_default"]
    np.testing.assert_allclose(served(x=lib.ones((2, 3)))["y"].numpy(), np.full((2, 3), 3.0))
