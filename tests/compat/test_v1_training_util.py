"""TF 1 tf.train utilities (global_step, assert_global_step, checkpoint_exists / mtimes / remove,
summary_iterator) and the proto names at the top of tf.compat.v1, against TF."""

from __future__ import annotations

import glob
import os

import pytest

import tapeflow.compat.v1 as tf


def _save(mod, directory):
    with mod.Graph().as_default(), mod.Session() as sess:
        step = mod.train.get_or_create_global_step()
        sess.run(mod.global_variables_initializer())
        sess.run(step.assign(7))
        assert mod.train.global_step(sess, step) == 7
        mod.train.assert_global_step(step)
        with pytest.raises(TypeError, match='Existing "global_step" does not have integer type'):
            mod.train.assert_global_step(mod.Variable(1.0))
        return mod.train.Saver([step]).save(sess, os.path.join(directory, "model.ckpt"), global_step=step)


@pytest.mark.oracle
def test_checkpoint_files_like_tensorflow(tmp_path):
    ttf = pytest.importorskip("tensorflow")
    for mod, d in ((tf, tmp_path / "ours"), (ttf.compat.v1, tmp_path / "tf")):
        os.makedirs(d)
        prefix = _save(mod, str(d))
        assert prefix.endswith("model.ckpt-7")
        assert mod.train.checkpoint_exists(prefix) and not mod.train.checkpoint_exists(prefix + "x")
        assert len(mod.train.get_checkpoint_mtimes([prefix, prefix + "x"])) == 1
        mod.train.remove_checkpoint(prefix)
        assert not mod.train.checkpoint_exists(prefix)
        assert not glob.glob(prefix + ".*")


@pytest.mark.oracle
def test_summary_iterator_reads_tensorflow_and_ours(tmp_path):
    ttf = pytest.importorskip("tensorflow")
    for name, writer_cls in (("ours", tf.summary.FileWriter), ("tf", ttf.compat.v1.summary.FileWriter)):
        with ttf.Graph().as_default():  # TF's FileWriter refuses eager mode
            w = writer_cls(str(tmp_path / name))
            for step in range(3):
                summary = tf.Summary(value=[tf.Summary.Value(tag="x", simple_value=step * 2.0)])
                w.add_summary(summary.SerializeToString(), step)
            w.close()
    for name in ("ours", "tf"):
        path = glob.glob(str(tmp_path / name / "events.*"))[0]
        for mod in (tf, ttf.compat.v1):
            events = list(mod.train.summary_iterator(path))
            assert events[0].file_version == "brain.Event:2"
            assert [(e.step, e.summary.value[0].simple_value) for e in events[1:]] == [(0, 0.0), (1, 2.0), (2, 4.0)]
