"""tf.compat.v1.saved_model: simple_save / Builder from a session, loader.load into one, and the TF 2
tf.saved_model.load of the same directory, against TensorFlow's TF1 SavedModel round trip."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tapeflow as tf2
import tapeflow.compat.v1 as tf
from tapeflow import errors

W = np.arange(6, dtype=np.float32).reshape(3, 2) / 5.0
X = np.random.default_rng(0).random((4, 3)).astype(np.float32)


def _export(mod, export_dir, use_builder):
    """Build y = softmax(x @ w + b) in a TF1 graph, train w one step, export it; return the fed outputs."""
    with mod.Graph().as_default(), mod.Session() as sess:
        x = mod.placeholder(mod.float32, [None, 3], name="x")
        w = mod.Variable(W, name="w")
        b = mod.get_variable("b", [2], initializer=mod.ones_initializer())
        y = mod.nn.softmax(mod.matmul(x, w) + b)
        k = mod.argmax(y, 1)
        step = mod.train.GradientDescentOptimizer(0.5).minimize(mod.reduce_sum(y[:, 0]))
        sess.run(mod.global_variables_initializer())
        sess.run(step, {x: X})
        if use_builder:
            sm = mod.saved_model
            sig = sm.signature_def_utils.build_signature_def(
                inputs={"x": sm.utils.build_tensor_info(x)},
                outputs={"probs": sm.utils.build_tensor_info(y), "k": sm.utils.build_tensor_info(k)},
                method_name=sm.signature_constants.PREDICT_METHOD_NAME)
            assert sm.signature_def_utils.is_valid_signature(sig)
            builder = sm.builder.SavedModelBuilder(export_dir)
            builder.add_meta_graph_and_variables(sess, [sm.tag_constants.SERVING],
                                                 signature_def_map={"predict": sig})
            builder.save()
        else:
            mod.saved_model.simple_save(sess, export_dir, {"x": x}, {"probs": y, "k": k})
        return sess.run({"probs": y, "k": k}, {x: X})


def _import(mod, export_dir, key):
    with mod.Graph().as_default(), mod.Session() as sess:
        meta = mod.saved_model.loader.load(sess, [mod.saved_model.tag_constants.SERVING], export_dir)
        sig = meta.signature_def[key]
        get = mod.saved_model.utils.get_tensor_from_tensor_info
        assert sig.method_name == "tensorflow/serving/predict"
        assert set(sig.inputs) == {"x"} and set(sig.outputs) == {"probs", "k"}
        assert sig.outputs["probs"].dtype == 1 and sig.outputs["k"].dtype == 9  # DT_FLOAT, DT_INT64
        return sess.run({"probs": get(sig.outputs["probs"]), "k": get(sig.outputs["k"])},
                        {get(sig.inputs["x"]): X})


@pytest.mark.oracle
@pytest.mark.parametrize("use_builder", [False, True])
def test_round_trip_matches_tensorflow(tmp_path, use_builder):
    ttf = pytest.importorskip("tensorflow")
    key = "predict" if use_builder else "serving_default"
    theirs_before = _export(ttf.compat.v1, str(tmp_path / "tf"), use_builder)
    theirs = _import(ttf.compat.v1, str(tmp_path / "tf"), key)
    ours_before = _export(tf, str(tmp_path / "tapeflow"), use_builder)
    ours = _import(tf, str(tmp_path / "tapeflow"), key)
    for name in ("probs", "k"):
        np.testing.assert_allclose(ours_before[name], theirs_before[name], rtol=1e-5)
        np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-5)
    # The TF 2 loader calls the same signature by input name.
    out = tf2.saved_model.load(str(tmp_path / "tapeflow")).signatures[key](x=tf2.constant(X))
    np.testing.assert_allclose(out["probs"].numpy(), theirs["probs"], rtol=1e-5)
    np.testing.assert_array_equal(out["k"].numpy(), theirs["k"])


def test_variables_are_snapshotted_when_added(tmp_path):
    with tf.Graph().as_default(), tf.Session() as sess:
        x = tf.placeholder(tf.float32, [2], name="x")
        v = tf.Variable([1.0, 2.0])
        sess.run(tf.global_variables_initializer())
        sm = tf.saved_model
        b = sm.Builder(str(tmp_path / "m"))
        b.add_meta_graph_and_variables(sess, ["serve"], {"s": sm.predict_signature_def({"x": x}, {"y": x * v})})
        sess.run(v.assign([10.0, 20.0]))  # after the snapshot: not saved
        with pytest.raises(AssertionError, match="already been saved"):
            b.add_meta_graph_and_variables(sess, ["serve"])
        with pytest.raises(errors.UnimplementedError, match="second MetaGraph"):
            b.add_meta_graph(["train"])
        b.save()
    out = tf2.saved_model.load(str(tmp_path / "m")).signatures["s"](x=tf2.constant([1.0, 1.0]))
    np.testing.assert_allclose(out["y"].numpy(), [1.0, 2.0])


def test_errors_match_tensorflow(tmp_path):
    os.makedirs(tmp_path / "full")
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(AssertionError, match="already exists, and isn't empty"):
        tf.saved_model.builder.SavedModelBuilder(str(tmp_path / "full"))
    with pytest.raises(ValueError, match="Prediction `inputs` cannot be None or empty."):
        tf.saved_model.predict_signature_def({}, {"y": 1})
    with tf.Graph().as_default(), tf.Session() as sess:
        x = tf.placeholder(tf.float32, [2], name="x")
        tf.saved_model.simple_save(sess, str(tmp_path / "m"), {"x": x}, {"y": x + 1.0})
        with pytest.raises(RuntimeError, match=r"tags 'train' could not be found in SavedModel, with available "
                                               r"tags '\[\{'serve'\}\]'"):
            tf.saved_model.loader.load(sess, ["train"], str(tmp_path / "m"))
        b = tf.saved_model.Builder(str(tmp_path / "n"))
        with pytest.raises(errors.UnimplementedError, match="main_op"):
            b.add_meta_graph_and_variables(sess, ["serve"], main_op=tf.no_op())
        with pytest.raises(errors.UnimplementedError, match="as_text"):
            b.save(as_text=True)
        with pytest.raises(errors.UnimplementedError, match="defaults"):
            tf.saved_model.build_signature_def({}, {}, "m", defaults={"x": 1.0})
    assert tf.saved_model.SERVING == "serve" and tf.saved_model.PREDICT_OUTPUTS == "outputs"
    assert tf.saved_model.constants.MAIN_OP_KEY == "saved_model_main_op"
    assert tf.saved_model.load_v2 is tf2.saved_model.load


def _signature_checks(mod):
    sm = mod.saved_model
    out = []
    with mod.Graph().as_default():
        ex = mod.placeholder(mod.string, [None])
        f = mod.placeholder(mod.float32, [None, 2])
        i = mod.placeholder(mod.int32, [None])
        cls = mod.placeholder(mod.string, [None, 2])
        for build in (lambda: sm.regression_signature_def(ex, f), lambda: sm.regression_signature_def(f, f),
                      lambda: sm.regression_signature_def(ex, i), lambda: sm.regression_signature_def(None, f),
                      lambda: sm.classification_signature_def(ex, cls, f),
                      lambda: sm.classification_signature_def(ex, None, f),
                      lambda: sm.classification_signature_def(ex, i, None),
                      lambda: sm.classification_signature_def(ex, None, None),
                      lambda: sm.classification_signature_def(ex, cls, i),
                      lambda: sm.build_signature_def({"a": sm.utils.build_tensor_info(f)},
                                                     {"b": sm.utils.build_tensor_info(f)}, "custom")):
            try:
                sig = build()
            except ValueError as e:
                out.append(str(e))
            else:
                out.append((sig.method_name, sorted(sig.inputs), sorted(sig.outputs), sm.is_valid_signature(sig)))
    return out


@pytest.mark.oracle
def test_signature_defs_match_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    assert _signature_checks(tf) == _signature_checks(ttf.compat.v1)


def test_tf_layers_graph_saves_op_by_op(tmp_path):
    """tf.layers (Keras layers used TF1-style) trace op by op into the signature, so they save."""
    xb = np.random.default_rng(1).random((3, 4)).astype(np.float32)
    with tf.Graph().as_default(), tf.Session() as sess:
        x = tf.placeholder(tf.float32, [None, 4], name="x")
        h = tf.layers.batch_normalization(tf.layers.dense(x, 8, activation=tf.nn.relu), training=False)
        p = tf.nn.softmax(tf.layers.dense(h, 2))
        sess.run(tf.global_variables_initializer())
        expected = sess.run(p, {x: xb})
        tf.saved_model.simple_save(sess, str(tmp_path / "m"), {"x": x}, {"p": p})
    out = tf2.saved_model.load(str(tmp_path / "m")).signatures["serving_default"](x=tf2.constant(xb))
    np.testing.assert_allclose(out["p"].numpy(), expected, rtol=1e-6)
