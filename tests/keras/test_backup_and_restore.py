"""BackupAndRestore: exact resumes (mid-epoch too), fallback to the previous backup, clear errors
for damaged files, the user's files left alone, and SIGKILL at the worst moments (issue 18)."""

import json
import os
import signal
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import tapeflow.keras.callbacks  # noqa: F401 - loads callbacks_backup through its public module
from tapeflow import keras
from tapeflow.keras.callbacks_backup import FILENAME
from tapeflow.keras.saving.file_io import CorruptFileError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _data():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(40, 3)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")


def _fresh():
    keras.utils.set_random_seed(11)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate=0.05, momentum=0.9), "mse")
    return model


class _Crash(keras.callbacks.Callback):
    """Raise after batch `batch` of epoch `epoch` (after the backup callback ran)."""

    def __init__(self, epoch, batch=None):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.batch is not None and (self.current, batch) == (self.epoch, self.batch):
            raise KeyboardInterrupt("interrupted")

    def on_epoch_end(self, epoch, logs=None):
        if self.batch is None and epoch == self.epoch:
            raise KeyboardInterrupt("interrupted")


def _fit(model, callbacks, **kwargs):
    x, y = _data()
    return model.fit(x, y, epochs=3, batch_size=4, shuffle=True, verbose=0, callbacks=callbacks,
                     **kwargs)


@pytest.mark.parametrize("crash_batch", [5, 6])
def test_mid_epoch_resume_trains_exactly_like_an_uninterrupted_run(tmp_path, crash_batch):
    reference = _fresh()
    _fit(reference, [])
    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        _fit(_fresh(), [keras.callbacks.BackupAndRestore(backup, save_freq=3), _Crash(1, crash_batch)])
    seen = []

    class Batches(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batch)

    resumed = _fresh()
    history = _fit(resumed, [keras.callbacks.BackupAndRestore(backup, save_freq=3), Batches()])
    assert history.epoch == [1, 2]
    assert seen[0] == 5  # the last backup came after batch 4 of epoch 1: resume at 5, not 0
    for a, b in zip(resumed.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert not os.path.exists(backup)


def test_only_its_own_files_are_deleted(tmp_path):
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "notes.txt").write_text("mine")
    (backup / "training_metadata.json").write_text("{}")  # not ours either
    _fit(_fresh(), [keras.callbacks.BackupAndRestore(str(backup))])
    assert sorted(os.listdir(backup)) == ["notes.txt", "training_metadata.json"]
    assert (backup / "notes.txt").read_text() == "mine"


def test_corrupt_latest_falls_back_to_the_previous_backup(tmp_path):
    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        _fit(_fresh(), [keras.callbacks.BackupAndRestore(backup, double_checkpoint=True), _Crash(1)])
    latest = os.path.join(backup, FILENAME)
    assert os.path.exists(latest + ".bkp")
    with open(latest, "r+b") as f:
        f.truncate(os.path.getsize(latest) // 2)
    with pytest.warns(UserWarning, match="Resuming from the previous backup"):
        history = _fit(_fresh(), [keras.callbacks.BackupAndRestore(backup, double_checkpoint=True)])
    assert history.epoch == [1, 2]  # the previous backup was taken after epoch 0


def test_corrupt_backup_without_a_previous_copy_names_the_file(tmp_path):
    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        _fit(_fresh(), [keras.callbacks.BackupAndRestore(backup), _Crash(0)])
    latest = os.path.join(backup, FILENAME)
    with open(latest, "r+b") as f:
        f.seek(100)
        f.write(b"\xff" * 64)
    with pytest.raises(CorruptFileError, match=FILENAME):
        _fit(_fresh(), [keras.callbacks.BackupAndRestore(backup)])


def _rewrite_entry(path, key, payload):
    with zipfile.ZipFile(path) as z:
        entries = {i.filename: z.read(i) for i in z.infolist()}
    entries[key] = payload
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)


def _npy(arr):
    import io

    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


@pytest.mark.parametrize("meta, needle", [
    (b"{not json", "not valid JSON"),
    (json.dumps({"format": "tapeflow.backup_and_restore", "format_version": 1, "epoch": "2",
                 "steps_done": 0, "rng": {}}).encode(), "non-negative integer `epoch`"),
    (json.dumps([1, 2]).encode(), "not BackupAndRestore progress"),
])
def test_corrupt_progress_gets_a_clear_error(tmp_path, meta, needle):
    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        _fit(_fresh(), [keras.callbacks.BackupAndRestore(backup), _Crash(0)])
    _rewrite_entry(os.path.join(backup, FILENAME), "__backup__.npy", _npy(np.frombuffer(meta, np.uint8)))
    with pytest.raises(CorruptFileError, match=needle):
        _fit(_fresh(), [keras.callbacks.BackupAndRestore(backup)])


def test_huge_declared_entry_is_refused_before_it_is_read(tmp_path):
    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        _fit(_fresh(), [keras.callbacks.BackupAndRestore(backup), _Crash(0)])
    bomb = _npy(np.zeros((4000, 4000), np.float32))  # 64 MB, deflates to about 64 KB
    _rewrite_entry(os.path.join(backup, FILENAME), "weights/0.npy", bomb)
    with pytest.raises(CorruptFileError, match="entry 'weights/0' declares 64000128 bytes"):
        _fit(_fresh(), [keras.callbacks.BackupAndRestore(backup)])


def test_a_different_model_is_refused_by_name(tmp_path):
    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        _fit(_fresh(), [keras.callbacks.BackupAndRestore(backup), _Crash(0)])
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(1)],
                             name="other")
    other.compile(keras.optimizers.SGD(learning_rate=0.05, momentum=0.9), "mse")
    before = [w.copy() for w in other.get_weights()]
    with pytest.raises(CorruptFileError, match="does not match model 'other'"):
        _fit(other, [keras.callbacks.BackupAndRestore(backup)])
    for a, b in zip(before, other.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("save_freq", [0, -1, 2.5, True, "batch"])
def test_bad_save_freq(save_freq):
    with pytest.raises(ValueError, match="save_freq"):
        keras.callbacks.BackupAndRestore("somewhere", save_freq=save_freq)


_WORKER = """
import os, signal, sys
import numpy as np
from tapeflow import keras

backup, out, kill_at, where = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(5)
x = rng.normal(size=(40, 3)).astype("float32")
y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")
keras.utils.set_random_seed(11)
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                          keras.layers.Dense(1)])
model.compile(keras.optimizers.Adam(0.01), "mse")
steps = [0]
real_replace = os.replace


def replace(src, dst):  # SIGKILL between the complete temporary file and its rename
    if where == "rename" and dst.endswith("training_state.npz") and steps[0] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst)


os.replace = replace


class Killer(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        steps[0] += 1
        if where == "batch" and steps[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


model.fit(x, y, epochs=3, batch_size=8, shuffle=True, verbose=0,
          callbacks=[Killer(), keras.callbacks.BackupAndRestore(backup, save_freq=3)])
np.savez(out, *model.get_weights())
"""


def _run_worker(folder, name, kill_at, where):
    script = folder / "worker.py"
    script.write_text(_WORKER)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = folder / f"{name}.npz"
    proc = subprocess.run([sys.executable, str(script), str(folder / "backup"), str(out), str(kill_at),
                           where], env=env, capture_output=True, text=True, timeout=120)
    return proc, out


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    proc, out = _run_worker(tmp_path_factory.mktemp("reference"), "reference", 0, "none")
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.parametrize("kill_at, where", [(9, "rename"), (7, "batch")])
def test_sigkill_then_resume_matches_the_uninterrupted_run(tmp_path, uninterrupted, kill_at, where):
    proc, _ = _run_worker(tmp_path, "killed", kill_at, where)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    leftovers = os.listdir(tmp_path / "backup")
    assert FILENAME in leftovers
    assert any(name.endswith(".tmp") for name in leftovers) == (where == "rename")
    proc, resumed = _run_worker(tmp_path, "resumed", 0, "none")
    assert proc.returncode == 0, proc.stderr
    with np.load(uninterrupted) as a, np.load(resumed) as b:
        for key in a.files:
            np.testing.assert_allclose(b[key], a[key], rtol=1e-6, atol=1e-7)
    assert not os.path.exists(tmp_path / "backup")  # the stale temporary file was removed too


def _fresh_dropout():
    keras.utils.set_random_seed(11)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dropout(0.5), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate=0.05), "mse")
    return model


@pytest.mark.parametrize("keep_random_state", [True, False])
def test_resume_draws_the_dropout_masks_of_the_uninterrupted_run(tmp_path, keep_random_state):
    reference = _fresh_dropout()
    _fit(reference, [])
    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        _fit(_fresh_dropout(), [keras.callbacks.BackupAndRestore(backup, save_freq=3), _Crash(1, 5)])
    if not keep_random_state:  # a backup without Tapeflow's generators (an older file)
        path = os.path.join(backup, FILENAME)
        with zipfile.ZipFile(path) as z:
            meta = json.loads(np.load(z.open("__backup__.npy")).tobytes())
        del meta["tapeflow_rng"]
        _rewrite_entry(path, "__backup__.npy", _npy(np.frombuffer(json.dumps(meta).encode(), np.uint8)))
    resumed = _fresh_dropout()  # (seeds the generators afresh, as a restarted job does)
    _fit(resumed, [keras.callbacks.BackupAndRestore(backup, save_freq=3)])
    same = all(np.allclose(a, b, rtol=1e-6, atol=1e-7)
               for a, b in zip(resumed.get_weights(), reference.get_weights(), strict=True))
    assert same == keep_random_state


def test_damaged_random_state_gets_a_clear_error(tmp_path):
    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        _fit(_fresh_dropout(), [keras.callbacks.BackupAndRestore(backup), _Crash(0)])
    path = os.path.join(backup, FILENAME)
    with zipfile.ZipFile(path) as z:
        meta = json.loads(np.load(z.open("__backup__.npy")).tobytes())
    meta["tapeflow_rng"]["rng"]["state"]["state"] = -1
    _rewrite_entry(path, "__backup__.npy", _npy(np.frombuffer(json.dumps(meta).encode(), np.uint8)))
    with pytest.raises(CorruptFileError, match="random state is damaged"):
        _fit(_fresh_dropout(), [keras.callbacks.BackupAndRestore(backup)])
