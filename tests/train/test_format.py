"""The checkpoint files: documented JSON + raw bytes, no code, atomic writes, defensive reads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.train.format import DataLossError


def _saved(tmp_path):
    ckpt = tf.train.Checkpoint(a=tf.Variable(np.arange(6, dtype="float32").reshape(2, 3)),
                               n=tf.Variable(np.int64(7)), flag=tf.Variable(True))
    return ckpt, ckpt.save(str(tmp_path / "c"))


def test_files_are_json_and_raw_bytes(tmp_path):
    _, path = _saved(tmp_path)
    index = json.loads(open(path + ".index", "rb").read())
    assert index["format"] == "tapeflow-checkpoint" and index["version"] == 1
    entry = index["tensors"]["a/.ATTRIBUTES/VARIABLE_VALUE"]
    assert entry["dtype"] == "float32" and entry["shape"] == [2, 3] and entry["nbytes"] == 24
    raw = open(path + ".data-00000-of-00001", "rb").read()
    np.testing.assert_array_equal(np.frombuffer(raw[entry["offset"]:entry["offset"] + 24], "<f4"),
                                  np.arange(6))
    root = index["nodes"][0]
    assert [name for name, _ in root["children"]] == ["a", "flag", "n", "save_counter"]


def _rewrite_index(path, change):
    index = json.loads(open(path + ".index", "rb").read())
    change(index)
    with open(path + ".index", "w") as f:
        json.dump(index, f)


def _tensor(index, key="a/.ATTRIBUTES/VARIABLE_VALUE"):
    return index["tensors"][key]


@pytest.mark.parametrize("change, why", [
    (lambda i: _tensor(i).update(shape=[10**9, 10**9], nbytes=4 * 10**18), "outside the data file"),
    (lambda i: _tensor(i).update(shape=[10**6]), "does not match its shape"),
    (lambda i: _tensor(i).update(dtype="object"), "malformed"),
    (lambda i: _tensor(i).update(dtype="|O"), "malformed"),
    (lambda i: _tensor(i).update(offset=-8), "outside the data file"),
    (lambda i: i.update(format="pickle"), "does not name the tapeflow-checkpoint format"),
    (lambda i: i.update(version=99), "format version"),
    (lambda i: i["nodes"][0]["children"].append(["x", 999]), "object graph is malformed"),
    (lambda i: i["nodes"][0].update(key="no/such/key"), "object graph is malformed"),
])
def test_hostile_index_raises_data_loss(tmp_path, change, why):
    ckpt, path = _saved(tmp_path)
    _rewrite_index(path, change)
    with pytest.raises(DataLossError, match=why):
        ckpt.restore(path)
    with pytest.raises(tf.errors.OpError):
        tf.train.list_variables(path)


def test_garbage_and_truncated_files(tmp_path):
    ckpt, path = _saved(tmp_path)
    data = path + ".data-00000-of-00001"
    with open(data, "r+b") as f:
        f.truncate(10)
    with pytest.raises(DataLossError, match="outside the data file"):
        ckpt.restore(path)
    with open(path + ".index", "wb") as f:
        f.write(b"\x80\x04\x95 a pickle header, not JSON" + b"[" * 100000)
    with pytest.raises(DataLossError, match="not valid JSON"):
        ckpt.restore(path)
    (tmp_path / "checkpoint").write_text("model_checkpoint_path: not-a-quoted-string\n")
    with pytest.raises(DataLossError, match="corrupt at line 1"):
        tf.train.latest_checkpoint(str(tmp_path))


_SAVER = textwrap.dedent("""
    import sys, numpy as np, tapeflow as tf
    v = tf.Variable(np.zeros(2_000_000, dtype="float32"))
    ckpt = tf.train.Checkpoint(v=v)
    manager = tf.train.CheckpointManager(ckpt, sys.argv[1], max_to_keep=2)
    i = 0
    while True:
        i += 1
        v.assign(np.full(2_000_000, float(i), dtype="float32"))
        manager.save()
        print(i, flush=True)
""")


def test_kill_during_save_keeps_the_last_checkpoint(tmp_path):
    """SIGKILL a process that saves in a loop while a file of a save is half written: the latest
    checkpoint stays complete and restorable."""
    directory = str(tmp_path / "ckpts")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.getcwd()] + sys.path))
    landed = 0
    for _ in range(6):
        if landed == 3:
            break
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, directory], stdout=subprocess.PIPE, env=env)
        assert proc.stdout.readline(), "the saver did not start"  # one save of this run finished
        deadline = time.monotonic() + 10
        while not any(".tmp" in f for f in os.listdir(directory)) and time.monotonic() < deadline:
            pass
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # On a loaded machine the save may finish between seeing its temporary and the kill: the
        # checkpoint must be whole either way; the test needs some kills inside a save.
        landed += any(".tmp" in f for f in os.listdir(directory))
        latest = tf.train.latest_checkpoint(directory)
        v = tf.Variable(np.zeros(2_000_000, dtype="float32"))
        tf.train.Checkpoint(v=v).restore(latest).assert_consumed()
        values = v.numpy()
        assert values[0] >= 1 and (values == values[0]).all()  # one whole save, never a mix
    assert landed >= 1, "no kill landed inside a save"
