"""tf.profiler.experimental: host spans written as TF's <host>.xplane.pb, TF's errors, and the
Keras TensorBoard callback's profile_batch."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


def _profiles(logdir):
    return sorted(glob.glob(os.path.join(str(logdir), "plugins", "profile", "*", "*.xplane.pb")))


def _parse(path):
    xplane_pb2 = pytest.importorskip("tensorflow.tsl.profiler.protobuf.xplane_pb2")
    space = xplane_pb2.XSpace()
    space.ParseFromString(open(path, "rb").read())
    return space


def _events(space):
    """[(event name, {stat name: value}, duration ps)] of the host plane."""
    (host,) = [p for p in space.planes if p.name == "/host:CPU"]
    out = []
    for line in host.lines:
        for e in line.events:
            stats = {host.stat_metadata[s.metadata_id].name: getattr(s, s.WhichOneof("value"))
                     for s in e.stats}
            out.append((host.event_metadata[e.metadata_id].name, stats, e.duration_ps))
    return out


def test_start_and_stop_write_a_profile_tf_can_read(tmp_path):
    @tf.function
    def square_sum(x):
        return tf.reduce_sum(x * x)

    tf.profiler.experimental.start(str(tmp_path))
    with tf.profiler.experimental.Trace("train", step_num=3, _r=1):
        square_sum(tf.ones((4, 4)))
    tf.profiler.experimental.stop()
    (path,) = _profiles(tmp_path)
    assert os.path.basename(path).endswith(".xplane.pb")
    space = _parse(path)
    assert space.hostnames and {p.name for p in space.planes} >= {"/host:CPU", "Task Environment"}
    events = _events(space)
    names = [e[0] for e in events]
    assert "train" in names and "square_sum" in names
    train = next(e for e in events if e[0] == "train")
    assert train[1] == {"step_num": 3, "_r": 1} and train[2] > 0


def test_tfs_errors_and_the_profile_context(tmp_path):
    with pytest.raises(tf.errors.UnavailableError, match="No profiler is running"):
        tf.profiler.experimental.stop()
    with tf.profiler.experimental.Profile(str(tmp_path / "a")):
        with pytest.raises(tf.errors.AlreadyExistsError, match="Another profiler is running"):
            tf.profiler.experimental.start(str(tmp_path / "b"))
    assert len(_profiles(tmp_path / "a")) == 1 and not os.path.exists(tmp_path / "b")
    tf.profiler.experimental.start(str(tmp_path / "c"))
    tf.profiler.experimental.stop(save=False)
    assert not _profiles(tmp_path / "c")
    with pytest.raises(tf.errors.UnimplementedError, match="gRPC"):
        tf.profiler.experimental.server.start(6009)
    assert tf.profiler.experimental.ProfilerOptions() == (2, 0, 1, None)


def test_summary_trace_on_with_the_profiler(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path / "events"))
    tf.summary.trace_on(graph=True, profiler=True, profiler_outdir=str(tmp_path / "prof"))
    tf.function(lambda x: x + 1)(tf.constant(1.0))
    with writer.as_default():
        tf.summary.trace_export("trace", step=0)
    assert len(_profiles(tmp_path / "prof")) == 1
    # the intro-to-modules guide: a graph trace, the profiler started apart, profiler_outdir a no-op
    tf.summary.trace_on(graph=True)
    tf.profiler.experimental.start(str(tmp_path / "guide"))
    tf.function(lambda x: x * 2)(tf.constant(2.0))
    with writer.as_default():
        tf.summary.trace_export(name="my_func_trace", step=0, profiler_outdir=str(tmp_path / "guide"))
    tf.profiler.experimental.stop()
    assert len(_profiles(tmp_path / "guide")) == 1


def test_tensorboard_profile_batch(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((32, 3), "float32"), np.ones((32, 1), "float32")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0,
              callbacks=[keras.callbacks.TensorBoard(str(tmp_path), profile_batch=(2, 3))])
    (path,) = _profiles(tmp_path / "train")
    events = _events(_parse(path))
    steps = sorted(e[1]["step_num"] for e in events if e[0] == "train")
    assert steps and all(1 <= s <= 3 for s in steps)
    assert any(e[0] == "Profiled batch" for e in events)
    for bad in (-1, (3, 2), "a,b", (1, 2, 3)):
        with pytest.raises(ValueError, match="profile_batch must be a non-negative integer"):
            keras.callbacks.TensorBoard(str(tmp_path), profile_batch=bad)
    keras.callbacks.TensorBoard(str(tmp_path), profile_batch="2,4")
