"""tf.compat.v1.train.MonitoredTrainingSession / MonitoredSession / hooks against TF's: the same training
run, stop step, hook calls, checkpoints (restored by a second session) and summaries."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow.compat.v1 as tf
from tapeflow import errors

X = np.random.default_rng(0).random((16, 3)).astype(np.float32)
Y = X @ np.array([[1.0], [-2.0], [0.5]], np.float32)


class Recorder:
    """A hook (subclassing the module's SessionRunHook) that records its calls."""

    def __new__(cls, mod):
        class _Recorder(mod.train.SessionRunHook):
            def __init__(self):
                self.calls = []

            def begin(self):
                self.calls.append("begin")

            def after_create_session(self, session, coord):
                self.calls.append("after_create_session")

            def before_run(self, run_context):
                self.calls.append("before_run")
                return mod.train.SessionRunArgs({"step": mod.train.get_global_step()})

            def after_run(self, run_context, run_values):
                self.calls.append(("after_run", int(run_values.results["step"])))

            def end(self, session):
                self.calls.append("end")

        return _Recorder()


def _train(mod, ckpt_dir, last_step):
    with mod.Graph().as_default():
        x = mod.placeholder(mod.float32, [None, 3])
        y = mod.placeholder(mod.float32, [None, 1])
        w = mod.get_variable("w", [3, 1], initializer=mod.zeros_initializer())
        loss = mod.reduce_mean(mod.square(mod.matmul(x, w) - y))
        mod.summary.scalar("loss", loss)
        step = mod.train.get_or_create_global_step()
        train_op = mod.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
        rec = Recorder(mod)
        final = mod.train.FinalOpsHook(w)
        saves = []

        class Listener(mod.train.CheckpointSaverListener):
            def before_save(self, session, step):
                saves.append(("before", int(step)))

            def after_save(self, session, step):
                saves.append(("after", int(step)))

            def end(self, session, step):
                saves.append(("end", int(step)))

        ckpt_hook = mod.train.CheckpointSaverHook(ckpt_dir, save_steps=3, listeners=[Listener()])
        hooks = [mod.train.StopAtStepHook(last_step=last_step), rec,
                 mod.train.LoggingTensorHook({"loss": loss}, every_n_iter=2), mod.train.NanTensorHook(loss)]
        losses = []
        with mod.train.MonitoredTrainingSession(checkpoint_dir=ckpt_dir, hooks=hooks + [ckpt_hook],
                                                chief_only_hooks=[final], save_checkpoint_secs=None,
                                                save_summaries_steps=2, log_step_count_steps=None) as sess:
            while not sess.should_stop():
                losses.append(sess.run([train_op, loss], {x: X, y: Y})[1])
    return losses, final.final_ops_values, rec.calls + saves


@pytest.mark.oracle
def test_training_matches_tensorflow(tmp_path):
    ttf = pytest.importorskip("tensorflow")
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    for mod, d in ((tf, tmp_path / "ours"), (ttf.compat.v1, tmp_path / "tf")):
        first = _train(mod, str(d), 5)
        second = _train(mod, str(d), 8)  # restores step 5 and the weights, runs 3 more steps
        if mod is tf:
            ours = (first, second)
        else:
            theirs = (first, second)
    for (la, wa, ca), (lb, wb, cb) in zip(ours, theirs, strict=True):
        assert len(la) == len(lb)
        np.testing.assert_allclose(la, lb, rtol=1e-5)
        np.testing.assert_allclose(wa, wb, rtol=1e-5)
        # TF reads a fetched global step before or after the train op's increment (unordered in its
        # graph); Tapeflow reads fetches first. Compare the call sequence without the step values.
        def calls(seq):
            return [c[0] if isinstance(c, tuple) and c[0] == "after_run" else c for c in seq]

        assert calls(ca) == calls(cb)
    assert ours[1][2][:6] == ["begin", "after_create_session", "before_run", ("after_run", 5), "before_run",
                              ("after_run", 6)]
    assert tf.train.latest_checkpoint(str(tmp_path / "ours")).endswith("model.ckpt-8")
    assert [c for c in ours[0][2] if isinstance(c, tuple) and c[0] != "after_run"] == [
        ("before", 0), ("after", 0), ("before", 3), ("after", 3), ("before", 5), ("after", 5), ("end", 5)]
    steps = {}
    for name in ("ours", "tf"):
        acc = ea.EventAccumulator(str(tmp_path / name))
        acc.Reload()
        steps[name] = [e.step for e in acc.Scalars("loss")]
    assert steps["ours"] == steps["tf"]


def test_hooks_and_errors(tmp_path):
    with tf.Graph().as_default():
        v = tf.Variable(1.0)
        inc = v.assign_add(1.0)
        with pytest.raises(RuntimeError, match="Global step should be created to use StopAtStepHook."):
            tf.train.MonitoredSession(hooks=[tf.train.StopAtStepHook(num_steps=2)])
    with pytest.raises(ValueError, match="One of num_steps or last_step must be specified."):
        tf.train.StopAtStepHook()
    with tf.Graph().as_default():
        v = tf.Variable(1.0)
        x = tf.placeholder(tf.float32, [])
        feed = tf.train.FeedFnHook(lambda: {x: 3.0})
        with tf.train.SingularMonitoredSession(hooks=[feed]) as sess:
            assert sess.run(v * x) == 3.0
            assert sess.raw_session().run(v) == 1.0
            with pytest.raises(RuntimeError, match="Same tensor is fed by a SessionRunHook and user."):
                sess.run(v * x, {x: 1.0})
        loss = tf.placeholder(tf.float32, [])
        with pytest.raises(tf.train.NanLossDuringTrainingError):
            with tf.train.MonitoredSession(hooks=[tf.train.NanTensorHook(loss)]) as sess:
                sess.run(inc, {loss: float("nan")})
        with pytest.raises(errors.UnimplementedError, match="is_chief=False"):
            tf.train.MonitoredTrainingSession(is_chief=False)
