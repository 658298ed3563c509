"""tf.train.CheckpointManager and the directory's checkpoint state."""

from __future__ import annotations

import os

import pytest

import tapeflow as tf
from tapeflow.train import manager as manager_module


def _files(directory):
    return sorted(os.listdir(directory))


def test_max_to_keep_names_and_state_file(tmp_path):
    ckpt = tf.train.Checkpoint(v=tf.Variable(0.0))
    manager = tf.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=2, checkpoint_name="model")
    assert manager.latest_checkpoint is None and manager.checkpoints == []
    paths = [manager.save() for _ in range(4)]
    assert paths == [os.path.join(str(tmp_path), f"model-{i}") for i in range(1, 5)]
    assert manager.checkpoints == paths[2:] and manager.latest_checkpoint == paths[3]
    assert _files(tmp_path) == ["checkpoint", "model-3.data-00000-of-00001", "model-3.index",
                                "model-4.data-00000-of-00001", "model-4.index"]
    text = (tmp_path / "checkpoint").read_text()
    assert text.startswith('model_checkpoint_path: "model-4"\nall_model_checkpoint_paths: "model-3"\n')
    assert tf.train.latest_checkpoint(str(tmp_path)) == paths[3]
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert state.model_checkpoint_path == paths[3] and state.all_model_checkpoint_paths == paths[2:]
    # A new manager on the same directory takes over the kept checkpoints.
    again = tf.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=2, checkpoint_name="model")
    assert again.checkpoints == paths[2:] and again.latest_checkpoint == paths[3]
    assert again.save(checkpoint_number=10).endswith("model-10")
    assert again.checkpoints == [paths[3], os.path.join(str(tmp_path), "model-10")]


def test_max_to_keep_none_keeps_everything(tmp_path):
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(0.0)), str(tmp_path), max_to_keep=None)
    for _ in range(3):
        manager.save()
    assert len(manager.checkpoints) == 3 and len(_files(tmp_path)) == 7
    with pytest.raises(ValueError, match="max_to_keep"):
        tf.train.CheckpointManager(tf.train.Checkpoint(), str(tmp_path), max_to_keep=0)


def test_keep_checkpoint_every_n_hours(tmp_path, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(manager_module.time, "time", lambda: now[0])
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(0.0)), str(tmp_path),
                                         max_to_keep=1, keep_checkpoint_every_n_hours=1.0)
    first = manager.save()          # t = 1000 s: not an hour after the manager started
    now[0] += 1800.0
    second = manager.save()         # first is dropped (only 0.5 h)
    now[0] += 3600.0
    manager.save()                  # second (t=2800) is not an hour past the last preserved (1000)
    now[0] += 3600.0
    manager.save()
    assert not os.path.exists(first + ".index") and not os.path.exists(second + ".index")
    kept = [f for f in _files(tmp_path) if f.endswith(".index")]
    assert kept == ["ckpt-3.index", "ckpt-4.index"]  # ckpt-3 (t=6400) preserved, ckpt-4 managed
    assert manager.checkpoints == [os.path.join(str(tmp_path), "ckpt-4")]


def test_checkpoint_interval_and_restore_or_initialize(tmp_path):
    step = tf.Variable(0)
    ckpt = tf.train.Checkpoint(step=step)
    calls = []
    manager = tf.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=3, step_counter=step,
                                         checkpoint_interval=5, init_fn=lambda: calls.append(1))
    assert manager.restore_or_initialize() is None and calls == [1]
    saved = []
    for _ in range(12):
        saved.append(manager.save())
        step.assign_add(1)
    assert [s is not None for s in saved] == [i % 5 == 0 for i in range(12)]
    assert manager.save(check_interval=False) is not None
    step.assign(0)
    assert manager.restore_or_initialize() == manager.latest_checkpoint and int(step.numpy()) == 12
    with pytest.raises(ValueError, match="step_counter"):
        tf.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=1, checkpoint_interval=3)


def test_checkpoints_iterator_yields_new_checkpoints(tmp_path):
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(0.0)), str(tmp_path), max_to_keep=5)
    assert list(tf.train.checkpoints_iterator(str(tmp_path), timeout=0.05)) == []
    first = manager.save()
    seen = []
    saves = iter([manager.save, None])

    def on_timeout():
        action = next(saves)
        if action is None:
            return True
        action()  # a new checkpoint arrives while the iterator waits
        return False

    for path in tf.train.checkpoints_iterator(str(tmp_path), timeout=0.05, timeout_fn=on_timeout):
        seen.append(os.path.basename(path))
    assert seen == [os.path.basename(first), "ckpt-2"]
