"""tf.summary: event files written with the tensorboard package, read back with its loader."""

from __future__ import annotations

import glob
import io
import os

import numpy as np
import pytest

import tapeflow as tf

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader  # noqa: E402
from tensorboard.util import tensor_util  # noqa: E402


def read_events(logdir):
    """[(step, tag, plugin, value as ndarray)] of every summary in the event files under `logdir`."""
    out = []
    for path in sorted(glob.glob(os.path.join(logdir, "events.out.tfevents.*"))):
        for event in EventFileLoader(path).Load():
            for v in event.summary.value:
                out.append((event.step, v.tag, v.metadata.plugin_data.plugin_name, tensor_util.make_ndarray(v.tensor)))
    return out


def _decode_png(blob):
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(blob)))


def _decode_wav(blob):
    import wave

    with wave.open(io.BytesIO(blob)) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, w.getnchannels())
        return w.getframerate(), frames


def _program(tf_mod, logdir, images):
    """One summary program, run by Tapeflow and by TensorFlow."""
    writer = tf_mod.summary.create_file_writer(logdir)
    data = np.concatenate([np.linspace(-1, 3, 50), [7.0, 7.0]])
    with writer.as_default(step=5):
        with tf_mod.name_scope("train"):
            tf_mod.summary.scalar("loss", tf_mod.constant(0.25))
        tf_mod.summary.scalar("int_scalar", 3, step=6)
        tf_mod.summary.histogram("weights", data)
        tf_mod.summary.histogram("few", data, buckets=4)
        tf_mod.summary.histogram("constant", np.full(5, 2.0), buckets=3)
        tf_mod.summary.image("pictures", images, max_outputs=2)
        tf_mod.summary.audio("sound", np.sin(np.linspace(0, 20, 64 * 2)).reshape(2, 64, 1).astype("float32"),
                             sample_rate=8000, max_outputs=1)
        tf_mod.summary.text("note", "hello *markdown*")
        tf_mod.summary.text("table", [["a", "b"], ["c", "d"]])
        with tf_mod.summary.record_if(False):
            tf_mod.summary.scalar("skipped", 1.0)
    writer.close()
    return read_events(logdir)


def test_events_read_back(tmp_path):
    images = np.random.default_rng(0).uniform(size=(3, 4, 5, 3))
    events = _program(tf, str(tmp_path), images)
    by_tag = {tag: (step, plugin, value) for step, tag, plugin, value in events}
    assert list(by_tag) == ["train/loss", "int_scalar", "weights", "few", "constant", "pictures", "sound", "note",
                            "table"]
    assert by_tag["train/loss"][:2] == (5, "scalars") and by_tag["train/loss"][2] == np.float32(0.25)
    assert by_tag["int_scalar"][0] == 6 and by_tag["int_scalar"][2].dtype == np.float32
    step, plugin, hist = by_tag["weights"]
    assert plugin == "histograms" and hist.shape == (30, 3) and hist[:, 2].sum() == 52
    assert hist[0, 0] == -1.0 and hist[-1, 1] == 7.0
    np.testing.assert_array_equal(by_tag["constant"][2], [[2, 2, 0], [2, 2, 0], [2, 2, 5]])
    _, plugin, pictures = by_tag["pictures"]
    assert plugin == "images" and pictures[:2].tolist() == [b"5", b"4"] and len(pictures) == 4
    np.testing.assert_array_equal(_decode_png(pictures[2]), np.clip(images[0] * 255.5, 0, 255).astype(np.uint8))
    _, plugin, sound = by_tag["sound"]
    assert plugin == "audio" and sound.shape == (1,)  # TensorBoard's loader drops the (empty) labels
    rate, samples = _decode_wav(sound[0])
    assert rate == 8000 and samples.shape == (64, 1)
    assert by_tag["note"][1] == "text" and by_tag["note"][2] == b"hello *markdown*"
    assert by_tag["table"][2].tolist() == [[b"a", b"b"], [b"c", b"d"]]


@pytest.mark.oracle
def test_events_match_tensorflow(tmp_path):
    real = pytest.importorskip("tensorflow")
    images = np.random.default_rng(1).uniform(size=(3, 4, 5, 1)).astype("float32")
    ours = _program(tf, str(tmp_path / "tapeflow"), images)
    theirs = _program(real, str(tmp_path / "tf"), images)
    assert [(s, t, p) for s, t, p, _ in ours] == [(s, t, p) for s, t, p, _ in theirs]
    for (_, tag, plugin, a), (_, _, _, b) in zip(ours, theirs, strict=True):
        if plugin == "audio":
            assert a.shape == b.shape
            for x, y in zip(a, b, strict=True):
                (ra, sa), (rb, sb) = _decode_wav(x), _decode_wav(y)
                assert ra == rb
                np.testing.assert_array_equal(sa, sb)
        elif plugin == "images":
            assert a[:2].tolist() == b[:2].tolist()
            for x, y in zip(a[2:], b[2:], strict=True):
                np.testing.assert_array_equal(_decode_png(x), _decode_png(y))
        else:
            assert a.dtype == b.dtype, tag
            np.testing.assert_array_equal(a, b, err_msg=tag)


def test_recording_rules(tmp_path):
    assert not bool(tf.summary.scalar("x", 1.0, step=0))  # no default writer
    assert not bool(tf.summary.should_record_summaries())
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        assert bool(tf.summary.should_record_summaries())
        with pytest.raises(ValueError, match="No step set"):
            tf.summary.scalar("x", 1.0)
        step = tf.Variable(0, dtype=tf.int64)
        tf.summary.experimental.set_step(step)
        try:
            for i in range(4):
                step.assign(i)
                with tf.summary.record_if(lambda: int(step.numpy()) % 2 == 0):
                    tf.summary.scalar("even", float(i))
            assert tf.summary.experimental.get_step() is step
        finally:
            tf.summary.experimental.set_step(None)
        with pytest.raises(ValueError, match="scalar shape"):
            tf.summary.scalar("vector", [1.0, 2.0], step=0)
        with pytest.raises(ValueError, match=r"\[k, h, w, c\]"):
            tf.summary.image("bad", np.zeros((4, 4)), step=0)
        with tf.summary.experimental.summary_scope("metric") as (tag, scope):
            assert tag == "metric" and scope == "metric/"
    assert [(s, t) for s, t, _, _ in read_events(str(tmp_path))] == [(0, "even"), (2, "even")]
    noop = tf.summary.create_noop_writer()
    with noop.as_default(step=1):
        assert not bool(tf.summary.scalar("x", 1.0))
    writer.set_as_default(step=9)
    assert bool(tf.summary.text("t", "x"))
    writer.close()
    assert not bool(tf.summary.scalar("after_close", 1.0, step=0))  # close() unset the default
    with pytest.raises(RuntimeError, match="closed"), writer.as_default():
        tf.summary.scalar("after_close", 1.0, step=0)


def test_write_and_raw_protos(tmp_path):
    from tensorboard.compat.proto import summary_pb2

    writer = tf.summary.create_file_writer(str(tmp_path), max_queue=1, flush_millis=10, filename_suffix=".mine")
    raw = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="raw", simple_value=1.5)])
    with writer.as_default(step=2):
        tf.summary.write("generic", lambda: np.arange(3), metadata=None)
        tf.summary.experimental.write_raw_pb(raw.SerializeToString())
        tf.summary.flush()
    assert glob.glob(str(tmp_path / "*.mine"))
    events = []
    for event in EventFileLoader(glob.glob(str(tmp_path / "*.mine"))[0]).Load():
        events += [(event.step, v.tag) for v in event.summary.value]
    assert events == [(2, "generic"), (2, "raw")]
    with pytest.raises(NotImplementedError, match="experimental_trackable"):
        tf.summary.create_file_writer(str(tmp_path), experimental_trackable=True)


def test_missing_tensorboard_names_the_extra(tmp_path, monkeypatch):
    import sys

    from tapeflow.summary import _tensorboard

    monkeypatch.setattr(_tensorboard, "_MODULES", None)
    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(ImportError, match=r"pip install 'tapeflow\[tensorboard\]'"):
        tf.summary.create_file_writer(str(tmp_path))


def _function_program(tf_mod, logdir):
    """Summaries written from inside a tf.function: writer, scope and step taken at trace time."""
    writer = tf_mod.summary.create_file_writer(logdir)
    v = tf_mod.Variable(1.0)
    step = tf_mod.Variable(0, dtype=tf_mod.int64)

    @tf_mod.function
    def train_step(x):
        v.assign_add(x)
        with writer.as_default():
            with tf_mod.name_scope("inner"):
                tf_mod.summary.scalar("v", v, step=step)
            tf_mod.summary.histogram("h", tf_mod.stack([v, v * 2.0]), step=step, buckets=3)
        step.assign_add(1)
        return v

    for _ in range(3):
        train_step(tf_mod.constant(1.0))

    @tf_mod.function
    def log(x):
        tf_mod.summary.scalar("x", x)
        return x

    with writer.as_default(step=7):
        log(tf_mod.constant(5.0))
        log(tf_mod.constant(6.0))
    writer.close()
    return read_events(logdir)


@pytest.mark.oracle
def test_summaries_inside_tf_function_match_tensorflow(tmp_path):
    real = pytest.importorskip("tensorflow")
    ours = _function_program(tf, str(tmp_path / "tapeflow"))
    theirs = _function_program(real, str(tmp_path / "tf"))
    assert [(s, t, p) for s, t, p, _ in ours] == [(s, t, p) for s, t, p, _ in theirs]
    assert [s for s, t, _, _ in ours if t == "inner/v"] == [0, 1, 2]
    for (_, tag, _, a), (_, _, _, b) in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, err_msg=tag)
