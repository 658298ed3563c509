"""Every writer goes through `tapeflow.atomic_file`: files get the umask's permissions, stale
temporaries of dead writers are removed, and a SIGKILL in the middle of a save leaves the
previous file loadable (issue 18)."""

import os
import signal
import stat
import subprocess
import sys

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import atomic_file, keras

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _dense(v=0.0):
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(
        1, bias_initializer=keras.initializers.Constant(float(v)))])


def _save_model(d, v):
    _dense(v).save(os.path.join(d, "m.keras"))


def _load_model(d):
    return keras.models.load_model(os.path.join(d, "m.keras")).get_weights()[1][0]


def _save_weights(d, v):
    _dense(v).save_weights(os.path.join(d, "m.weights.npz"))


def _load_weights(d):
    model = _dense()
    model.load_weights(os.path.join(d, "m.weights.npz"))
    return model.get_weights()[1][0]


def _saver(name, weights):
    def save(d, v):
        model = _dense(v)
        (model.save_weights if weights else model.save)(os.path.join(d, name))
    return save


def _loader(name, weights):
    def load(d):
        if weights:
            model = _dense()
            model.load_weights(os.path.join(d, name))
        else:
            model = keras.models.load_model(os.path.join(d, name))
        return model.get_weights()[1][0]
    return load


def _save_checkpoint(d, v):
    tf.train.CheckpointManager(tf.train.Checkpoint(x=tf.Variable(float(v))), d, max_to_keep=2).save()


def _load_checkpoint(d):
    ckpt = tf.train.Checkpoint(x=tf.Variable(0.0))
    ckpt.restore(tf.train.latest_checkpoint(d))
    return ckpt.x.numpy()


def _save_model_checkpoint(d, v):
    model = _dense(v)
    model.compile(keras.optimizers.SGD(0.0), "mse")
    model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0,
              callbacks=[keras.callbacks.ModelCheckpoint(os.path.join(d, "m.keras"))])


def _save_dataset(d, v):
    tf.data.Dataset.from_tensor_slices(np.full(3, v)).save(d)


def _load_dataset(d):
    return next(iter(tf.data.Dataset.load(d))).numpy()


def _save_cache(d, v):
    list(tf.data.Dataset.from_tensor_slices(np.full(3, v)).cache(os.path.join(d, "c")))


def _load_cache(d):
    return next(iter(tf.data.Dataset.from_tensor_slices(np.zeros(3)).cache(os.path.join(d, "c")))).numpy()


_WRITERS = {
    "model_save": (_save_model, _load_model),
    "save_weights": (_save_weights, _load_weights),
    "save_weights_h5": (_saver("m.weights.h5", True), _loader("m.weights.h5", True)),
    "save_legacy_h5": (_saver("m.h5", False), _loader("m.h5", False)),
    "checkpoint_manager": (_save_checkpoint, _load_checkpoint),
    "model_checkpoint": (_save_model_checkpoint, _load_model),
    "dataset_save": (_save_dataset, _load_dataset),
    "dataset_cache": (_save_cache, _load_cache),
}


def _killed_save(save, d, v):
    """Run `save(d, v)` in a forked child that SIGKILLs itself once a temporary file is complete,
    just before renaming it; returns the child's wait status."""
    pid = os.fork()
    if pid == 0:  # the child
        try:
            real_replace = os.replace

            def replace(src, dst):
                if os.path.basename(src).startswith(".") and ".tmp" in os.path.basename(src):
                    os.kill(os.getpid(), signal.SIGKILL)
                return real_replace(src, dst)

            os.replace = replace
            save(d, v)
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    return status


@pytest.mark.parametrize("writer", sorted(_WRITERS))
def test_sigkill_during_a_save_keeps_the_previous_state(tmp_path, writer):
    save, load = _WRITERS[writer]
    d = str(tmp_path)
    if writer != "dataset_cache":
        save(d, 1)
    status = _killed_save(save, d, 2)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert any(".tmp" in name for name in os.listdir(d))  # the killed write's temporary
    if writer == "dataset_cache":  # a cache is written once: the next run records it again
        assert not os.path.exists(tmp_path / "c.npz")
        save(d, 1)
    assert load(d) == 1
    save(d, 3)  # the next save removes the dead writer's temporary
    assert not any(".tmp" in name for name in os.listdir(d))
    if writer != "dataset_cache":
        assert load(d) == 3


@pytest.fixture
def umask_002():
    old = os.umask(0o002)
    yield
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_files_get_the_umask_permissions(tmp_path, umask_002):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.npz")
    tf.train.Checkpoint(x=tf.Variable(1.0)).save(str(tmp_path / "ckpt" / "c"))
    tf.data.Dataset.from_tensor_slices(np.arange(3)).save(str(tmp_path / "ds"))
    model.fit(np.ones((4, 2)), np.ones((4, 1)), verbose=0, callbacks=[
        keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras")),
        keras.callbacks.BackupAndRestore(str(tmp_path / "backup"), delete_checkpoint=False)])
    files = [os.path.join(root, n) for root, _, names in os.walk(tmp_path) for n in names]
    assert len(files) >= 7
    for path in files:
        assert _mode(path) == 0o664, (path, oct(_mode(path)))


def test_saved_model_folder_gets_the_umask_permissions(tmp_path, umask_002):
    module = tf.Module()
    module.v = tf.Variable(1.0)
    tf.saved_model.save(module, str(tmp_path / "sm"))
    assert _mode(tmp_path / "sm") == 0o775


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = tmp_path / f".m.keras.{dead}-abcd.tmp"
    stale_keras = tmp_path / f".m.keras.{dead}-ef01.tmp.keras"
    live = tmp_path / f".m.keras.{os.getpid()}-beef.tmp"
    other = tmp_path / f".n.keras.{dead}-abcd.tmp"
    for path in (stale, stale_keras, live, other):
        path.write_bytes(b"x" * 10)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.save(tmp_path / "m.keras")
    assert sorted(os.listdir(tmp_path)) == sorted(["m.keras", live.name, other.name])


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_file.atomic_write(target) as f:
        f.write(b"new")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]
