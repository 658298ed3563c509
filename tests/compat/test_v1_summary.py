"""tf.compat.v1.summary: scalar / histogram / image / merge / merge_all as graph nodes of serialized Summary
protos, equal to TensorFlow's, and FileWriter event files that TensorBoard's EventAccumulator reads."""

from __future__ import annotations

import io

import numpy as np
import pytest

import tapeflow.compat.v1 as tf
from tapeflow import errors

RNG = np.random.default_rng(0)
VALUES = np.concatenate([RNG.normal(0, 3, 200), [0.0, 1e-13, -2e-12, 5e5]]).astype(np.float32)
IMAGES = RNG.normal(0.2, 1, (3, 4, 5, 3)).astype(np.float32)
IMAGES[1] = np.abs(IMAGES[1])
IMAGES[2, 0, 0, 1] = np.nan


def _summaries(mod):
    with mod.Graph().as_default(), mod.Session() as sess:
        x = mod.placeholder(mod.float32, [None])
        img = mod.placeholder(mod.float32, [None, 4, 5, 3])
        with mod.name_scope("train"):
            mod.summary.scalar("loss", mod.reduce_mean(x))
            mod.summary.scalar("loss", mod.reduce_max(x), family="fam")
        mod.summary.histogram("weights", x)
        mod.summary.image("pics", img, max_outputs=2)
        white = mod.cast(mod.ones_like(img) * 200.0, mod.uint8)
        one = mod.summary.image("one", white, max_outputs=1, collections=["other"])
        merged = mod.summary.merge_all()
        out = sess.run([merged, one], {x: VALUES, img: IMAGES})
    pb = __import__("tensorboard.compat.proto.summary_pb2", fromlist=["x"]).Summary
    return [pb.FromString(s) for s in out]


def _pixels(png):
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)))


@pytest.mark.oracle
def test_summaries_match_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    ours, theirs = _summaries(tf), _summaries(ttf.compat.v1)
    for a, b in zip(ours, theirs, strict=True):
        assert [v.tag for v in a.value] == [v.tag for v in b.value]
        for va, vb in zip(a.value, b.value, strict=True):
            assert va.WhichOneof("value") == vb.WhichOneof("value")
            if va.HasField("simple_value"):
                assert va.simple_value == pytest.approx(vb.simple_value, rel=1e-6)
            elif va.HasField("histo"):
                ha, hb = va.histo, vb.histo
                assert (ha.min, ha.max, ha.num) == (hb.min, hb.max, hb.num)
                assert ha.sum == pytest.approx(hb.sum, rel=1e-6)
                assert ha.sum_squares == pytest.approx(hb.sum_squares, rel=1e-6)
                np.testing.assert_allclose(ha.bucket_limit, hb.bucket_limit, rtol=1e-12)
                assert list(ha.bucket) == list(hb.bucket)
            else:
                ia, ib = va.image, vb.image
                assert (ia.height, ia.width, ia.colorspace) == (ib.height, ib.width, ib.colorspace)
                np.testing.assert_array_equal(_pixels(ia.encoded_image_string), _pixels(ib.encoded_image_string))


def test_file_writer_read_by_tensorboard(tmp_path):
    acc_mod = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    with tf.Graph().as_default(), tf.Session() as sess:
        x = tf.placeholder(tf.float32, [None])
        tf.summary.scalar("mean", tf.reduce_mean(x))
        tf.summary.histogram("values", x)
        merged = tf.summary.merge_all()
        writer = tf.summary.FileWriter(str(tmp_path))
        for step in range(3):
            writer.add_summary(sess.run(merged, {x: VALUES + step}), global_step=step)
        summary = tf.summary.Summary(value=[tf.summary.Summary.Value(tag="manual", simple_value=7.0)])
        writer.add_summary(summary, 5)
        writer.flush()
        writer.close()
    acc = acc_mod.EventAccumulator(str(tmp_path))
    acc.Reload()
    assert sorted(acc.Tags()["scalars"]) == ["manual", "mean"]
    means = acc.Scalars("mean")
    assert [e.step for e in means] == [0, 1, 2]
    np.testing.assert_allclose([e.value for e in means], VALUES.mean() + np.arange(3), rtol=1e-5)
    assert acc.Histograms("values")[0].histogram_value.num == VALUES.size


def test_errors():
    with tf.Graph().as_default(), tf.Session() as sess:
        x = tf.placeholder(tf.float32, [None])
        s = tf.summary.scalar("s", x)
        with pytest.raises(errors.InvalidArgumentError, match=r"tags and values are not the same shape: \[\] != \[2\]"):
            sess.run(s, {x: [1.0, 2.0]})
        h = tf.summary.histogram("h", x)
        with pytest.raises(errors.InvalidArgumentError, match="Nan in summary histogram for: h"):
            sess.run(h, {x: [np.nan]})
        m = tf.summary.merge([tf.summary.scalar("a", x[0]), tf.summary.scalar("a", x[0], collections=[])])
        assert tf.summary.merge_all("nothing") is None
        # Two summaries named "a" get unique tags ("a", "a_1"), so they merge.
        out = tf.summary.Summary.FromString(sess.run(m, {x: [3.0]}))
        assert [v.tag for v in out.value] == ["a", "a_1"]
        with pytest.raises(errors.UnimplementedError, match="no GraphDef"):
            tf.summary.FileWriter("/tmp/unused_tapeflow_logdir", graph=tf.get_default_graph())


def _tensor_summaries(mod):
    with mod.Graph().as_default(), mod.Session() as sess:
        s = mod.placeholder(mod.string, [2])
        x = mod.placeholder(mod.float32, [2, 2])
        t = mod.summary.text("notes", s)
        ts = mod.summary.tensor_summary("matrix", x, summary_description="a matrix", display_name="M")
        scalar = mod.summary.tensor_summary("one", x[0, 1])
        out = sess.run([t, ts, scalar], {s: [b"hello", b"world"], x: [[1.0, 2.0], [3.0, 4.5]]})
    pb = __import__("tensorboard.compat.proto.summary_pb2", fromlist=["x"]).Summary
    return [pb.FromString(o) for o in out]


@pytest.mark.oracle
def test_text_and_tensor_summary_match_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    from tensorboard.util import tensor_util

    for a, b in zip(_tensor_summaries(tf), _tensor_summaries(ttf.compat.v1), strict=True):
        va, vb = a.value[0], b.value[0]
        assert va.tag == vb.tag and va.metadata == vb.metadata
        assert va.tensor.dtype == vb.tensor.dtype and va.tensor.tensor_shape == vb.tensor.tensor_shape
        np.testing.assert_array_equal(tensor_util.make_ndarray(va.tensor), tensor_util.make_ndarray(vb.tensor))
        assert va.tensor.SerializeToString() == vb.tensor.SerializeToString()
