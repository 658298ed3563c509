"""TF1 graph mode (`tapeflow.compat.v1`): graph building, Session.run, variables, tf.layers,
tf.losses, tf.train optimizers (TF1 update rules checked against hand-computed NumPy), and the
MNIST `input_data` shim."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

import tapeflow.compat.v1 as tf
from tapeflow import graph as engine_graph
from tapeflow.errors import InvalidArgumentError
from tapeflow.examples.tutorials.mnist import input_data


@pytest.fixture(autouse=True)
def _fresh_graph():
    """Each test builds in a new default graph and leaves no default session behind."""
    tf.reset_default_graph()
    sessions = list(engine_graph.default_sessions)
    yield
    engine_graph.default_sessions[:] = sessions
    tf.reset_default_graph()


# -- graph construction ----------------------------------------------------------------------------

def test_placeholder_records_graph_without_computing():
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    assert tuple(x.shape) == (None, 3) and x.dtype == tf.float32 and x.name == "x"
    y = tf.reduce_sum(x * 2.0, axis=1)
    assert isinstance(y, engine_graph.SymbolicTensor) and tuple(y.shape) == (None,)
    with pytest.raises(TypeError, match="symbolic"):
        y.numpy()
    # Names are made unique in the graph.
    assert tf.placeholder(tf.float32, name="x").name == "x_1"


def test_ops_on_variables_are_graph_nodes():
    v = tf.Variable(3.0)
    doubled = v * 2  # an operator on a variable builds a node: it must see later updates
    total = tf.reduce_sum(tf.square(v))
    inc = tf.assign_add(v, 1.0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert sess.run(doubled) == 6.0
        assert sess.run(inc) == 4.0
        assert sess.run([doubled, total]) == [8.0, 16.0]
        sess.run(v.assign(10.0))
        assert sess.run(doubled) == 20.0


def test_initializer_resets_variables_and_resamples_random_initial_values():
    tf.set_random_seed(1)
    c = tf.Variable(tf.zeros([2]), name="c")
    r = tf.Variable(tf.random_normal([1000]), name="r")
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(r)
        sess.run([c.assign([5.0, 6.0]), r.assign(tf.zeros([1000]))])
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(c), [0.0, 0.0])
        second = sess.run(r)
    assert abs(float(second.std()) - 1.0) < 0.1 and not np.array_equal(first, second)


def test_random_ops_draw_anew_on_every_run():
    r = tf.random_uniform([5])
    with tf.Session() as sess:
        a, b = sess.run(r), sess.run(r)
    assert a.shape == (5,) and not np.array_equal(a, b)


def test_reset_default_graph_and_graph_as_default():
    tf.Variable(1.0)
    assert len(tf.global_variables()) == 1
    tf.reset_default_graph()
    assert tf.global_variables() == []
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(2.0, trainable=False)
        assert tf.get_default_graph() is g
        assert tf.global_variables() == [v] and tf.trainable_variables() == []
    assert tf.global_variables() == []
    assert g.get_collection(tf.GraphKeys.GLOBAL_VARIABLES) == [v]


def test_variable_scope_and_get_variable_reuse():
    with tf.variable_scope("model"):
        w = tf.get_variable("w", [2, 3], initializer=tf.ones_initializer())
        assert w.name == "model/w:0"
        with pytest.raises(ValueError, match="already exists"):
            tf.get_variable("w", [2, 3])
    with tf.variable_scope("model", reuse=True):
        assert tf.get_variable("w") is w
        with pytest.raises(ValueError, match="does not exist"):
            tf.get_variable("missing", [1])
    with tf.variable_scope("model", reuse=tf.AUTO_REUSE):
        assert tf.get_variable("w", [2, 3]) is w
        assert tf.get_variable("b", [3]).name == "model/b:0"
    with tf.variable_scope("other") as scope:
        a = tf.get_variable("a", [1], initializer=tf.constant_initializer(2.0))
        scope.reuse_variables()
        assert tf.get_variable("a") is a
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_array_equal(sess.run(w), np.ones((2, 3), np.float32))
        assert sess.run(a)[0] == 2.0


# -- Session.run semantics -------------------------------------------------------------------------

def test_fetch_structures_and_feed_conversion():
    x = tf.placeholder(tf.float32, [None, 3])
    s = tf.reduce_sum(x)
    op = tf.no_op()
    with tf.Session() as sess:
        feed = {x: np.array([[1, 2, 3]], dtype=np.float64)}  # converted to the placeholder dtype
        single = sess.run(x * 2, feed)
        assert single.dtype == np.float32 and single.tolist() == [[2.0, 4.0, 6.0]]
        out = sess.run({"sum": s, "pair": (x, [s, op])}, feed)
        assert out["sum"] == 6.0 and isinstance(out["pair"], tuple)
        assert out["pair"][1][1] is None  # operations fetch as None
        assert isinstance(sess.run([s], feed), list) and isinstance(sess.run((s,), feed), tuple)
        assert sess.run(op) is None
        assert type(sess.run(s, feed)) is np.float32


def test_missing_feed_names_the_placeholder():
    x = tf.placeholder(tf.float32, [None, 784], name="images")
    y = tf.reduce_mean(x)
    with tf.Session() as sess, pytest.raises(InvalidArgumentError, match=r"'images'.*float32.*\(\?, 784\)"):
        sess.run(y)


def test_wrong_feed_shape_names_placeholder_and_both_shapes():
    x = tf.placeholder(tf.float32, [None, 10], name="labels")
    with tf.Session() as sess:
        with pytest.raises(ValueError, match=r"\(100, 784\).*'labels'.*\(\?, 10\)"):
            sess.run(x, {x: np.zeros((100, 784))})
        with pytest.raises(ValueError, match="shape"):
            sess.run(x, {x: np.zeros(10)})
        # An unknown-rank placeholder accepts any shape.
        free = tf.placeholder(tf.bool)
        assert sess.run(free, {free: True}) == np.True_
        with pytest.raises(TypeError, match="Fetch argument"):
            sess.run("labels")
        with pytest.raises(TypeError, match="feed_dict key"):
            sess.run(x, {"labels": np.zeros((1, 10))})


def test_eval_and_run_need_a_default_session():
    x = tf.placeholder(tf.float32, [None])
    y = x + 1.0
    v = tf.Variable(0.0)
    step = tf.assign_add(v, 1.0)
    with pytest.raises(ValueError, match="default session"):
        y.eval(feed_dict={x: [1.0]})
    with pytest.raises(ValueError, match="default session"):
        step.run()
    sess = tf.InteractiveSession()
    assert tf.get_default_session() is sess
    tf.global_variables_initializer().run()
    assert y.eval(feed_dict={x: [1.0, 2.0]}).tolist() == [2.0, 3.0]
    step.run()
    step.run(feed_dict={})
    assert v.eval() == 2.0
    sess.close()
    assert tf.get_default_session() is None
    with pytest.raises(RuntimeError, match="closed"):
        sess.run(y, {x: [1.0]})
    other = tf.Session()
    with other.as_default():
        assert y.eval(feed_dict={x: [0.0]}).tolist() == [1.0]
    assert y.eval(feed_dict={x: [5.0]}, session=other).tolist() == [6.0]


def test_placeholder_with_default_and_feeding_intermediate_tensors():
    p = tf.placeholder_with_default(tf.constant([1.0, 2.0]), [None])
    q = p * 10.0
    r = q + 1.0
    with tf.Session() as sess:
        assert sess.run(q).tolist() == [10.0, 20.0]
        assert sess.run(q, {p: [3.0]}).tolist() == [30.0]
        assert sess.run(r, {q: [0.0, 1.0, 2.0]}).tolist() == [1.0, 2.0, 3.0]


def test_control_dependencies_group_and_cond():
    a = tf.Variable(0.0)
    b = tf.Variable(0.0)
    inc_a = tf.assign_add(a, 1.0)
    with tf.control_dependencies([inc_a]):
        inc_b = tf.assign_add(b, 10.0)
    both = tf.group(tf.assign_add(a, 100.0), tf.assign_add(b, 100.0))
    flag = tf.placeholder(tf.bool, [])
    chosen = tf.cond(flag, lambda: a * 1.0, lambda: b * 1.0)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(inc_b)
        assert sess.run([a, b]) == [1.0, 10.0]
        sess.run(both)
        assert sess.run([a, b]) == [101.0, 110.0]
        assert sess.run(chosen, {flag: True}) == 101.0
        assert sess.run(chosen, {flag: False}) == 110.0


def test_tf1_argument_aliases():
    x = tf.placeholder(tf.float32, [2, 3])
    value = np.array([[1, 5, 2], [7, 0, 3]], np.float32)
    with tf.Session() as sess:
        assert sess.run(tf.argmax(x, dimension=1), {x: value}).tolist() == [1, 0]
        assert sess.run(tf.argmax(x, 0), {x: value}).tolist() == [1, 0, 1]
        kept = sess.run(tf.reduce_mean(x, reduction_indices=[1], keep_dims=True), {x: value})
        np.testing.assert_allclose(kept, value.mean(axis=1, keepdims=True))
        assert sess.run(tf.shape(x), {x: value}).tolist() == [2, 3]
        assert sess.run(tf.expand_dims(x, dim=0), {x: value}).shape == (1, 2, 3)
        assert sess.run(tf.to_int32(x), {x: value}).dtype == np.int32
        onehot = sess.run(tf.one_hot(tf.argmax(x, 1), 3), {x: value})
        assert onehot.tolist() == [[0, 1, 0], [1, 0, 0]]


# -- tf.layers -------------------------------------------------------------------------------------

def test_layers_dense_registers_variables_and_matches_numpy():
    x = tf.placeholder(tf.float32, [None, 4])
    h = tf.layers.dense(x, 3, activation=tf.nn.relu)
    out = tf.layers.dense(h, 2, name="logits")
    assert tuple(h.shape) == (None, 3) and tuple(out.shape) == (None, 2)
    names = [v.name for v in tf.trainable_variables()]
    assert names == ["dense/kernel:0", "dense/bias:0", "logits/kernel:0", "logits/bias:0"]
    with pytest.raises(ValueError, match="already exists"):
        tf.layers.dense(h, 2, name="logits")
    shared = tf.layers.dense(h, 2, name="logits", reuse=True)
    assert len(tf.trainable_variables()) == 4
    xv = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        k1, b1, k2, b2 = sess.run(tf.trainable_variables())
        got, again = sess.run([out, shared], {x: xv})
    want = np.maximum(xv @ k1 + b1, 0) @ k2 + b2
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(again, want, rtol=1e-5, atol=1e-6)


def test_layers_dropout_with_training_placeholder():
    x = tf.placeholder(tf.float32, [None, 1000])
    training = tf.placeholder(tf.bool)
    y = tf.layers.dropout(x, rate=0.5, training=training)
    ones = np.ones((4, 1000), np.float32)
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: ones, training: False}), ones)
        dropped = sess.run(y, {x: ones, training: True})
        assert set(np.unique(dropped)) <= {0.0, 2.0}
        assert 0.4 < float((dropped == 0).mean()) < 0.6
        with pytest.raises(InvalidArgumentError, match="feed a value"):
            sess.run(y, {x: ones})


def test_nn_dropout_keep_prob_placeholder():
    x = tf.placeholder(tf.float32, [None, 1000])
    keep_prob = tf.placeholder(tf.float32)
    y = tf.nn.dropout(x, keep_prob)
    ones = np.ones((2, 1000), np.float32)
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {x: ones, keep_prob: 1.0}), ones)
        kept = sess.run(y, {x: ones, keep_prob: 0.25})
    assert set(np.unique(kept)) <= {0.0, 4.0} and 0.15 < float((kept > 0).mean()) < 0.35


def test_layers_conv_pool_flatten_shapes():
    x = tf.placeholder(tf.float32, [None, 28, 28, 1])
    c = tf.layers.conv2d(x, filters=4, kernel_size=[5, 5], padding="same", activation=tf.nn.relu)
    p = tf.layers.max_pooling2d(c, pool_size=[2, 2], strides=2)
    a = tf.layers.average_pooling2d(p, pool_size=2, strides=2)
    f = tf.layers.flatten(a)
    assert tuple(c.shape) == (None, 28, 28, 4) and tuple(p.shape) == (None, 14, 14, 4)
    assert tuple(f.shape) == (None, 7 * 7 * 4)
    assert [v.name for v in tf.trainable_variables()] == ["conv2d/kernel:0", "conv2d/bias:0"]
    xv = np.random.default_rng(1).random((2, 28, 28, 1)).astype(np.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        pv, fv = sess.run([p, f], {x: xv})
    assert pv.shape == (2, 14, 14, 4) and fv.shape == (2, 196)


def test_layers_batch_normalization_updates_moving_stats_only_in_training():
    x = tf.placeholder(tf.float32, [None, 2])
    training = tf.placeholder(tf.bool, [])
    y = tf.layers.batch_normalization(x, momentum=0.5, training=training)
    names = [v.name for v in tf.global_variables()]
    assert names[:2] == ["batch_normalization/gamma:0", "batch_normalization/beta:0"]
    assert len(tf.trainable_variables()) == 2 and len(names) == 4
    moving_mean = tf.global_variables()[2]
    xv = np.array([[1.0, 10.0], [3.0, 30.0]], np.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        inference = sess.run(y, {x: xv, training: False})
        np.testing.assert_allclose(sess.run(moving_mean), [0.0, 0.0])
        np.testing.assert_allclose(inference, xv / np.sqrt(1 + 1e-3), rtol=1e-5)
        trained = sess.run(y, {x: xv, training: True})
        np.testing.assert_allclose(trained.mean(axis=0), [0.0, 0.0], atol=1e-5)
        np.testing.assert_allclose(sess.run(moving_mean), [1.0, 10.0], rtol=1e-5)


def test_regularization_losses_are_collected():
    x = tf.placeholder(tf.float32, [None, 3])
    w = tf.get_variable("w", [3, 1], initializer=tf.ones_initializer(),
                        regularizer=lambda t: 0.5 * tf.reduce_sum(tf.square(t)))
    from tapeflow.keras import regularizers

    tf.layers.dense(x, 2, kernel_initializer=tf.constant_initializer(1.0),
                    kernel_regularizer=regularizers.l2(0.1))
    assert len(tf.losses.get_regularization_losses()) == 2
    total = tf.losses.get_regularization_loss()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert np.isclose(sess.run(total), 0.5 * 3 + 0.1 * 6)
        sess.run(w.assign(2 * np.ones((3, 1), np.float32)))
        assert np.isclose(sess.run(total), 0.5 * 12 + 0.1 * 6)


# -- tf.losses -------------------------------------------------------------------------------------

def _np_softmax_ce(labels: np.ndarray, logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -(labels * logp).sum(axis=1)


def test_losses_weighted_reductions():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(6, 4)).astype(np.float32)
    labels = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 6)]
    weights = np.array([1, 0, 2, 0, 1, 1], np.float32)
    per_example = _np_softmax_ce(labels, logits)
    lo = tf.placeholder(tf.float32, [None, 4])
    la = tf.placeholder(tf.float32, [None, 4])
    w = tf.placeholder(tf.float32, [None])
    plain = tf.losses.softmax_cross_entropy(la, lo)
    weighted = tf.losses.softmax_cross_entropy(la, lo, weights=w)
    summed = tf.losses.softmax_cross_entropy(la, lo, reduction=tf.losses.Reduction.SUM)
    none = tf.losses.softmax_cross_entropy(la, lo, reduction=tf.losses.Reduction.NONE)
    smooth = tf.losses.softmax_cross_entropy(la, lo, label_smoothing=0.2)
    sparse = tf.losses.sparse_softmax_cross_entropy(tf.argmax(la, 1), lo)
    mse = tf.losses.mean_squared_error(la, lo)
    assert len(tf.losses.get_losses()) == 7
    feed = {lo: logits, la: labels, w: weights}
    with tf.Session() as sess:
        got = sess.run([plain, weighted, summed, none, smooth, sparse, mse], feed)
    np.testing.assert_allclose(got[0], per_example.mean(), rtol=1e-5)
    np.testing.assert_allclose(got[1], (per_example * weights).sum() / 4, rtol=1e-5)  # 4 non-zero
    np.testing.assert_allclose(got[2], per_example.sum(), rtol=1e-5)
    np.testing.assert_allclose(got[3], per_example, rtol=1e-5)
    np.testing.assert_allclose(got[4], _np_softmax_ce(labels * 0.8 + 0.05, logits).mean(), rtol=1e-5)
    np.testing.assert_allclose(got[5], per_example.mean(), rtol=1e-5)
    np.testing.assert_allclose(got[6], ((logits - labels) ** 2).mean(), rtol=1e-5)


# -- gradients and optimizers ----------------------------------------------------------------------

def test_gradients_are_symbolic_and_none_when_unconnected():
    x = tf.placeholder(tf.float32, [None])
    v = tf.Variable([1.0, 2.0, 3.0])
    unused = tf.Variable(1.0)
    y = tf.reduce_sum(v * v * x)
    gv, gx, gu = tf.gradients(y, [v, x, unused])
    assert gu is None and tuple(gv.shape) == (3,)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        a, b = sess.run([gv, gx], {x: [1.0, 2.0, 3.0]})
    np.testing.assert_allclose(a, [2.0, 8.0, 18.0])
    np.testing.assert_allclose(b, [1.0, 4.0, 9.0])
    opt = tf.train.GradientDescentOptimizer(0.1)
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.minimize(unused * 0.0 + tf.reduce_sum(x), var_list=[v])
    with pytest.raises(ValueError, match="No variables"):
        tf.train.GradientDescentOptimizer(0.1).minimize(tf.reduce_sum(x), var_list=[])


def test_linear_regression_converges_with_gradient_descent():
    rng = np.random.default_rng(3)
    xs = rng.normal(size=(200, 3)).astype(np.float32)
    true_w = np.array([[1.5], [-2.0], [0.5]], np.float32)
    ys = xs @ true_w + 0.7
    x = tf.placeholder(tf.float32, [None, 3])
    y = tf.placeholder(tf.float32, [None, 1])
    W = tf.Variable(tf.zeros([3, 1]))
    b = tf.Variable(tf.zeros([1]))
    loss = tf.reduce_mean(tf.square(tf.matmul(x, W) + b - y))
    step = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss, {x: xs, y: ys})
        for _ in range(200):
            reported, _ = sess.run([loss, step], {x: xs, y: ys})
        final = sess.run(loss, {x: xs, y: ys})
        w_value, b_value = sess.run([W, b])
    assert first > 1.0 and final < 1e-6 and reported >= final
    np.testing.assert_allclose(w_value, true_w, atol=1e-3)
    np.testing.assert_allclose(b_value, [0.7], atol=1e-3)


def test_fetched_loss_is_the_pre_update_value_of_the_same_pass():
    x = tf.placeholder(tf.float32, [None])
    v = tf.Variable(2.0)
    loss = tf.reduce_sum(v * x)
    step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        loss_value, _, v_value = sess.run([loss, step, v], {x: [1.0, 1.0]})
        assert loss_value == 4.0 and v_value == 2.0  # both read before the update
        assert sess.run(v) == 1.0  # 2 - 0.5 * 2


def _hand_adam(w, grads, lr=0.01, b1=0.9, b2=0.999, eps=1e-8):
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        lr_t = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr_t * m / (np.sqrt(v) + eps)
    return w


def test_adam_matches_tf1_rule_by_hand():
    x = tf.placeholder(tf.float32, [3])
    w = tf.Variable([0.5, -1.0, 2.0])
    loss = tf.reduce_sum(w * w * x)  # gradient 2 * w * x
    step = tf.train.AdamOptimizer(0.01).minimize(loss)
    feeds = [np.array([1.0, 2.0, -1.0]), np.array([0.5, -3.0, 1.0]), np.array([2.0, 1e-4, 0.0])]
    w_hand = np.array([0.5, -1.0, 2.0])
    m = np.zeros(3)
    v = np.zeros(3)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for t, xv in enumerate(feeds, start=1):
            sess.run(step, {x: xv})
            g = 2 * w_hand * xv
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            w_hand = w_hand - 0.01 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t) * m / (np.sqrt(v) + 1e-8)
            np.testing.assert_allclose(sess.run(w), w_hand, rtol=1e-5, atol=1e-7)
        # The slots are global variables, so the initializer resets them too.
        assert any(var.name.endswith("/Adam:0") for var in tf.global_variables())
        sess.run(tf.global_variables_initializer())
        sess.run(step, {x: feeds[0]})
        np.testing.assert_allclose(sess.run(w), _hand_adam(np.array([0.5, -1.0, 2.0]),
                                                           [2 * np.array([0.5, -1.0, 2.0]) * feeds[0]]),
                                   rtol=1e-5)


def test_momentum_and_rmsprop_tf1_rules():
    x = tf.placeholder(tf.float32, [2])
    w1 = tf.Variable([1.0, -2.0])
    w2 = tf.Variable([1.0, -2.0])
    w3 = tf.Variable([1.0, -2.0])
    mom = tf.train.MomentumOptimizer(0.1, 0.9).minimize(tf.reduce_sum(w1 * x))
    nes = tf.train.MomentumOptimizer(0.1, 0.9, use_nesterov=True).minimize(tf.reduce_sum(w2 * x))
    rms = tf.train.RMSPropOptimizer(0.01, decay=0.9, momentum=0.5).minimize(tf.reduce_sum(w3 * x))
    w4 = tf.Variable([1.0, -2.0])
    w5 = tf.Variable([1.0, -2.0])
    centered = tf.train.RMSPropOptimizer(0.01, centered=True).minimize(tf.reduce_sum(w4 * x))
    adagrad = tf.train.AdagradOptimizer(0.1).minimize(tf.reduce_sum(w5 * x))
    grads = [np.array([1.0, -1.0]), np.array([0.5, 2.0])]
    h1 = np.array([1.0, -2.0])
    h2 = h1.copy()
    h3 = h1.copy()
    acc1 = np.zeros(2)
    acc2 = np.zeros(2)
    ms = np.ones(2)  # TF1 RMSProp starts the mean square at 1
    m3 = np.zeros(2)
    h4, ms4, mg4, m4 = np.array([1.0, -2.0]), np.ones(2), np.zeros(2), np.zeros(2)
    h5, acc5 = np.array([1.0, -2.0]), np.full(2, 0.1)  # Adagrad accumulators start at 0.1
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for g in grads:
            sess.run([mom, nes, rms, centered, adagrad], {x: g})
            ms4 = ms4 + (g * g - ms4) * 0.1
            mg4 = mg4 + (g - mg4) * 0.1
            m4 = 0.0 * m4 + 0.01 * g / np.sqrt(ms4 - mg4**2 + 1e-10)
            h4 = h4 - m4
            acc5 = acc5 + g * g
            h5 = h5 - 0.1 * g / np.sqrt(acc5)
            np.testing.assert_allclose(sess.run([w4, w5]), [h4, h5], rtol=1e-5)
            acc1 = 0.9 * acc1 + g
            h1 = h1 - 0.1 * acc1
            acc2 = 0.9 * acc2 + g
            h2 = h2 - 0.1 * g - 0.1 * 0.9 * acc2
            ms = ms + (g * g - ms) * 0.1
            m3 = 0.5 * m3 + 0.01 * g / np.sqrt(ms + 1e-10)
            h3 = h3 - m3
            got = sess.run([w1, w2, w3])
            np.testing.assert_allclose(got[0], h1, rtol=1e-5)
            np.testing.assert_allclose(got[1], h2, rtol=1e-5)
            np.testing.assert_allclose(got[2], h3, rtol=1e-5)


def test_compute_apply_gradients_var_list_global_step_and_lr_placeholder():
    x = tf.placeholder(tf.float32, [None])
    a = tf.Variable(1.0)
    b = tf.Variable(1.0)
    lr = tf.placeholder(tf.float32, [])
    loss = tf.reduce_sum((a * 3.0 + b) * x)
    opt = tf.train.GradientDescentOptimizer(lr)
    grads_and_vars = opt.compute_gradients(loss, var_list=[a])
    assert [v for _, v in grads_and_vars] == [a]
    clipped = [(tf.clip_by_value(g, -1.0, 1.0), v) for g, v in grads_and_vars]
    step = tf.train.get_or_create_global_step()
    train = opt.apply_gradients(clipped, global_step=step)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train, {x: [1.0], lr: 0.5})  # grad 3, clipped to 1
        sess.run(train, {x: [-1.0], lr: 0.25})  # grad -3, clipped to -1
        assert sess.run([a, b, step]) == [0.75, 1.0, 2]


# -- the input_data shim ---------------------------------------------------------------------------

def _write_idx(path, array: np.ndarray) -> None:
    codes = {np.dtype(np.uint8): 0x08}
    header = struct.pack(">BBBB", 0, 0, codes[array.dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


@pytest.fixture
def tiny_mnist(tmp_path):
    rng = np.random.default_rng(4)
    files = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": (np.arange(30) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": (np.arange(7) % 10).astype(np.uint8),
    }
    for name, arr in files.items():
        _write_idx(tmp_path / name, arr)
    return tmp_path, files


def test_read_data_sets_from_folder(tiny_mnist, monkeypatch):
    folder, files = tiny_mnist
    monkeypatch.delenv("TAPEFLOW_DATA_DIR", raising=False)
    data = input_data.read_data_sets(str(folder), one_hot=True, validation_size=10)
    assert data.train.num_examples == 20 and data.validation.num_examples == 10
    assert data.test.images.shape == (7, 784) and data.test.images.dtype == np.float32
    np.testing.assert_allclose(data.test.images[0], files["t10k-images-idx3-ubyte.gz"][0].reshape(-1) / 255.0,
                               rtol=1e-6)
    assert data.test.labels.shape == (7, 10) and data.test.labels[3].argmax() == 3
    dense = input_data.read_data_sets(str(folder), validation_size=0)
    assert dense.train.labels.dtype == np.uint8 and dense.train.num_examples == 30
    with pytest.raises(ValueError, match="Validation size"):
        input_data.read_data_sets(str(folder), validation_size=31)


def test_read_data_sets_falls_back_to_data_dir_and_errors_clearly(tiny_mnist, tmp_path_factory, monkeypatch):
    folder, _ = tiny_mnist
    root = tmp_path_factory.mktemp("data")
    (root / "mnist").symlink_to(folder, target_is_directory=True)
    monkeypatch.setenv("TAPEFLOW_DATA_DIR", str(root))
    assert input_data.read_data_sets("/no/such/folder", validation_size=5).test.num_examples == 7
    monkeypatch.delenv("TAPEFLOW_DATA_DIR")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz.*/no/such/folder"):
        input_data.read_data_sets("/no/such/folder")


def test_next_batch_walks_epochs():
    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
    labels = np.arange(10)
    ds = input_data.DataSet(images, labels, seed=0)
    assert ds.images.shape == (10, 1)
    xb, yb = ds.next_batch(4, shuffle=False)
    assert yb.tolist() == [0, 1, 2, 3]
    ds.next_batch(4, shuffle=False)
    xb, yb = ds.next_batch(4, shuffle=False)  # crosses the epoch end: 8, 9 then 0, 1
    assert yb.tolist() == [8, 9, 0, 1] and ds.epochs_completed == 1
    np.testing.assert_allclose(xb[:, 0], np.array([8, 9, 0, 1]) / 255.0, rtol=1e-6)
    shuffled = input_data.DataSet(images, labels, seed=1)
    seen = np.concatenate([shuffled.next_batch(5)[1] for _ in range(2)])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))


def test_exponential_decay_follows_the_global_step_and_saver_round_trip(tmp_path):
    step = tf.train.get_or_create_global_step()
    lr = tf.train.exponential_decay(0.1, step, decay_steps=10, decay_rate=0.5, staircase=True)
    w = tf.Variable([1.0, 2.0], name="w")
    bump = tf.assign_add(step, 10)
    saver = tf.train.Saver()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        assert np.isclose(sess.run(lr), 0.1)
        sess.run(bump)
        assert np.isclose(sess.run(lr), 0.05)
        prefix = saver.save(sess, str(tmp_path / "model.ckpt"), global_step=step)
        assert prefix.endswith("model.ckpt-10") and tf.train.latest_checkpoint(str(tmp_path)) == prefix
        sess.run([w.assign([0.0, 0.0]), bump])
        saver.restore(sess, prefix)
        assert sess.run(w).tolist() == [1.0, 2.0] and sess.run(step) == 10


def test_keras_layers_called_on_placeholders_are_trained_by_minimize():
    from tapeflow import keras

    x = tf.placeholder(tf.float32, [None, 3])
    y = tf.placeholder(tf.float32, [None, 1])
    pred = keras.layers.Dense(1)(x)
    loss = tf.reduce_mean(tf.square(pred - y))
    train = tf.train.AdamOptimizer(0.05).minimize(loss)
    assert len(tf.trainable_variables()) == 2
    xs = np.random.default_rng(5).random((100, 3)).astype(np.float32)
    ys = xs @ np.array([[1.0], [2.0], [3.0]], np.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first = sess.run(loss, {x: xs, y: ys})
        for _ in range(300):
            sess.run(train, {x: xs, y: ys})
        assert sess.run(loss, {x: xs, y: ys}) < 0.01 * first


def test_mnist_input_data_fake_data_is_tf1s_test_double():
    from tapeflow.examples.tutorials.mnist import input_data

    data = input_data.read_data_sets(None, fake_data=True, one_hot=True)
    assert data.train.num_examples == data.test.num_examples == 10000
    images, labels = data.train.next_batch(3, fake_data=True)
    assert images == [[1] * 784] * 3 and labels == [[1] + [0] * 9] * 3
    _, plain = input_data.read_data_sets(None, fake_data=True).validation.next_batch(2, fake_data=True)
    assert plain == [0, 0]
