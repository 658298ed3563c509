"""Pooling: tf.nn.max_pool*/avg_pool*; gradients (first and second order) and oracles."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import OpCase, available_devices, run_case

# Max pooling is checked on inputs without ties ("distinct"), where it is differentiable.
CASES = [
    OpCase("max_pool2d/2x2_valid", lambda x: tf.nn.max_pool2d(x, 2, 2, "VALID"), [(2, 4, 6, 3)], "distinct"),
    OpCase("max_pool2d/2x2_valid_leftover", lambda x: tf.nn.max_pool2d(x, 2, 2, "VALID"), [(1, 5, 7, 2)],
           "distinct"),
    OpCase("max_pool2d/3x3_s2_same_uneven", lambda x: tf.nn.max_pool2d(x, 3, 2, "SAME"), [(2, 6, 7, 2)],
           "distinct"),
    OpCase("max_pool2d/2x2_s1_same_overlap", lambda x: tf.nn.max_pool2d(x, 2, 1, "SAME"), [(1, 4, 5, 2)],
           "distinct"),
    OpCase("max_pool2d/rect_window", lambda x: tf.nn.max_pool2d(x, [3, 1], [1, 2], "VALID"), [(1, 5, 6, 2)],
           "distinct"),
    OpCase("max_pool2d/explicit", lambda x: tf.nn.max_pool2d(x, 3, 2, [[0, 0], [2, 1], [0, 2], [0, 0]]),
           [(1, 5, 5, 2)], "distinct"),
    OpCase("max_pool2d/nchw", lambda x: tf.nn.max_pool2d(x, 2, 2, "SAME", data_format="NCHW"), [(2, 3, 5, 4)],
           "distinct"),
    OpCase("max_pool1d/same", lambda x: tf.nn.max_pool1d(x, 3, 2, "SAME"), [(2, 7, 3)], "distinct"),
    OpCase("max_pool1d/ncw", lambda x: tf.nn.max_pool1d(x, 2, 2, "VALID", data_format="NCW"), [(2, 3, 6)],
           "distinct"),
    OpCase("max_pool3d/valid", lambda x: tf.nn.max_pool3d(x, 2, 2, "VALID"), [(1, 4, 4, 6, 2)], "distinct"),
    OpCase("max_pool3d/same_ncdhw", lambda x: tf.nn.max_pool3d(x, [2, 3, 2], 2, "SAME", data_format="NCDHW"),
           [(1, 2, 3, 5, 4)], "distinct"),
    OpCase("max_pool/generic_rank4", lambda x: tf.nn.max_pool(x, 2, 2, "SAME"), [(1, 5, 5, 2)], "distinct"),
    OpCase("avg_pool2d/2x2_valid", lambda x: tf.nn.avg_pool2d(x, 2, 2, "VALID"), [(2, 4, 6, 3)]),
    OpCase("avg_pool2d/3x3_s2_same_uneven", lambda x: tf.nn.avg_pool2d(x, 3, 2, "SAME"), [(2, 6, 7, 2)]),
    OpCase("avg_pool2d/2x2_s1_same", lambda x: tf.nn.avg_pool2d(x, 2, 1, "SAME"), [(1, 4, 5, 2)]),
    OpCase("avg_pool2d/nchw", lambda x: tf.nn.avg_pool2d(x, [2, 3], [2, 1], "VALID", data_format="NCHW"),
           [(1, 2, 5, 6)]),
    OpCase("avg_pool1d/same", lambda x: tf.nn.avg_pool1d(x, 3, 2, "SAME"), [(2, 8, 3)]),
    OpCase("avg_pool3d/same", lambda x: tf.nn.avg_pool3d(x, 2, [1, 2, 2], "SAME"), [(1, 3, 5, 4, 2)]),
    OpCase("avg_pool/generic_rank3", lambda x: tf.nn.avg_pool(x, 2, 1, "VALID"), [(2, 5, 2)]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_pool_gradients(case):
    run_case(case, second_order=False)


SECOND_ORDER = [
    # Squared so the gradient depends on the input: exercises MaxPoolGrad's own gradient (the
    # gather MaxPoolGradGrad) and AvgPoolGrad's (AvgPool).
    OpCase("max_pool2d/2x2", lambda x: tf.nn.max_pool2d(x, 2, 2, "VALID") ** 2, [(1, 4, 4, 2)], "distinct"),
    OpCase("max_pool2d/3x3_s2_same", lambda x: tf.nn.max_pool2d(x, 3, 2, "SAME") ** 2, [(1, 5, 6, 2)],
           "distinct"),
    OpCase("avg_pool2d/3x3_s2_same", lambda x: tf.nn.avg_pool2d(x, 3, 2, "SAME") ** 2, [(1, 5, 6, 2)]),
    OpCase("max_pool1d", lambda x: tf.nn.max_pool1d(x, 2, 1, "SAME") ** 2, [(2, 5, 2)], "distinct"),
]


@pytest.mark.parametrize("case", SECOND_ORDER, ids=lambda c: c.name)
def test_pool_second_order(case):
    run_case(case, second_order=True)


def _value_grad_and_grad_of_grad(fn, x, v):
    """fn(x), g = d sum(fn(x))/dx and d sum(g * v)/dx (v None: g itself) through nested tapes."""
    tx = tf.constant(x)
    with tf.GradientTape() as outer:
        outer.watch(tx)
        with tf.GradientTape() as inner:
            inner.watch(tx)
            y = fn(tx)
        g = inner.gradient(y, tx)
        s = tf.reduce_sum(g * (g if v is None else v))
    return y.numpy(), g.numpy(), outer.gradient(s, tx).numpy()


@pytest.mark.parametrize("fn", [
    lambda x: tf.nn.max_pool2d(x, 2, 2, "VALID") ** 2,
    lambda x: tf.nn.max_pool2d(x, 3, 2, "SAME") ** 2,
    lambda x: tf.nn.avg_pool2d(x, 3, 2, "SAME") ** 2,
    lambda x: tf.nn.avg_pool2d(x, 2, 2, "VALID") ** 2,
], ids=["max_2x2", "max_3x3_same", "avg_3x3_same", "avg_2x2"])
def test_batch_split_over_threads_matches(fn, monkeypatch):
    """With conv_geometry.SPLIT_THREADS = 2, large batches are pooled in two concurrent halves;
    force that on a small one."""
    from tapeflow.ops import conv_geometry as conv_ops

    x = np.random.default_rng(4).permutation(5 * 6 * 6 * 3).reshape(5, 6, 6, 3) * 0.1

    def run():
        return _value_grad_and_grad_of_grad(fn, x, None)

    monkeypatch.setattr(conv_ops, "SPLIT_MIN_ELEMENTS", 1 << 60)
    whole = run()
    monkeypatch.setattr(conv_ops, "SPLIT_MIN_ELEMENTS", 0)
    monkeypatch.setattr(conv_ops, "SPLIT_THREADS", 2)
    for a, b in zip(run(), whole, strict=True):
        np.testing.assert_array_equal(a, b)


def test_max_pool_grad_grad_is_the_gather_at_the_argmax():
    """d/d(dy) of <MaxPoolGrad(dy), v> is v gathered at each window's argmax."""
    x = tf.constant(np.random.default_rng(0).permutation(32).reshape(1, 4, 4, 2).astype(np.float64))
    dy = tf.constant(np.ones((1, 2, 2, 2)))
    v = tf.constant(np.arange(32.0).reshape(1, 4, 4, 2))
    with tf.GradientTape() as outer:
        outer.watch(dy)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = tf.nn.max_pool2d(x, 2, 2, "VALID")
        dx = inner.gradient(y, x, output_gradients=dy)
        s = tf.reduce_sum(dx * v)
    got = outer.gradient(s, dy).numpy()
    xv = x.numpy().reshape(1, 2, 2, 2, 2, 2).transpose(0, 1, 3, 5, 2, 4).reshape(1, 2, 2, 2, 4)
    vv = v.numpy().reshape(1, 2, 2, 2, 2, 2).transpose(0, 1, 3, 5, 2, 4).reshape(1, 2, 2, 2, 4)
    expect = np.take_along_axis(vv, xv.argmax(-1)[..., None], -1)[..., 0]
    np.testing.assert_array_equal(got, expect)


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    x = tf.constant(np.zeros((1, 4, 4, 1), np.float32))  # every window is a 4-way tie
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.max_pool2d(x, 2, 2, "VALID")
    dx = tape.gradient(y, x).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(dx, np.array([[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]))


@pytest.mark.parametrize("shape,k,fn", [
    ((2, 6, 8, 3), 2, tf.nn.max_pool2d), ((1, 6, 9, 2), 3, tf.nn.max_pool2d),
    ((2, 8, 3), 2, tf.nn.max_pool1d), ((1, 4, 4, 6, 2), 2, tf.nn.max_pool3d),
], ids=["2d_2x2", "2d_3x3", "1d", "3d"])
def test_non_overlapping_windows_mask_path_matches_the_argmax_path(shape, k, fn, monkeypatch):
    """Windows that tile the input use a first-maximum mask instead of a tap index: the same
    gradients and gradients of gradients, ties included (values drawn from a few levels)."""
    from tapeflow.ops import pool as pool_ops

    x = np.random.default_rng(7).integers(0, 3, shape).astype(np.float64)
    v = np.random.default_rng(8).standard_normal(shape)

    def run():
        return _value_grad_and_grad_of_grad(lambda t: fn(t, k, k, "VALID") ** 2, x, v)[1:]

    masked = run()
    monkeypatch.setattr(pool_ops, "_non_overlapping", lambda g: False)
    for a, b in zip(masked, run(), strict=True):
        np.testing.assert_array_equal(a, b)
    # Exactly one input per window receives the window's gradient.
    assert np.count_nonzero(masked[0]) <= np.count_nonzero(fn(x, k, k, "VALID").numpy())


def test_max_pool_on_integers_and_negative_values():
    x = np.array([[-5, -3], [-7, -9]], np.int32).reshape(1, 2, 2, 1)
    assert int(tf.nn.max_pool2d(x, 2, 2, "SAME").numpy().ravel()[0]) == -3
    xf = -np.arange(1.0, 10.0, dtype=np.float32).reshape(1, 3, 3, 1)
    # SAME padding never wins: the padded border is -inf.
    np.testing.assert_array_equal(tf.nn.max_pool2d(xf, 2, 2, "SAME").numpy().ravel(), [-1, -3, -7, -9])


def test_avg_pool_same_divides_by_the_valid_count():
    x = np.ones((1, 3, 3, 1), np.float32)
    np.testing.assert_allclose(tf.nn.avg_pool2d(x, 2, 2, "SAME").numpy(), np.ones((1, 2, 2, 1)))


# ---------------------------------------------------------------------------------------------
# Oracles
# ---------------------------------------------------------------------------------------------

TF_CASES = [
    ("max_pool2d_same_s2", lambda m, x: m.nn.max_pool2d(x, 3, 2, "SAME")),
    ("max_pool2d_valid_leftover", lambda m, x: m.nn.max_pool2d(x, 2, 2, "VALID")),
    ("max_pool2d_explicit", lambda m, x: m.nn.max_pool2d(x, 3, 2, [[0, 0], [1, 2], [2, 0], [0, 0]])),
    ("avg_pool2d_same_s2", lambda m, x: m.nn.avg_pool2d(x, 3, 2, "SAME")),
    ("avg_pool2d_same_even", lambda m, x: m.nn.avg_pool2d(x, [2, 4], [1, 3], "SAME")),
    ("max_pool1d_same", lambda m, x: m.nn.max_pool1d(m.reshape(x, (2, 35, 3)), 4, 3, "SAME")),
    ("avg_pool3d_same", lambda m, x: m.nn.avg_pool3d(m.reshape(x, (2, 5, 7, 1, 3)), 2, 2, "SAME")),
    ("max_pool_generic", lambda m, x: m.nn.max_pool(x, [2, 3], [2, 2], "VALID")),
]


@pytest.mark.oracle
@pytest.mark.parametrize("name,fn", TF_CASES, ids=[c[0] for c in TF_CASES])
def test_matches_tensorflow(name, fn):
    tfm = pytest.importorskip("tensorflow")
    x = np.random.default_rng(1).standard_normal((2, 5, 7, 3)).astype(np.float32)
    outs = {}
    for key, m in (("ours", tf), ("tf", tfm)):
        tx = m.constant(x)
        with m.GradientTape() as tape:
            tape.watch(tx)
            y = fn(m, tx)
            loss = m.reduce_sum(y * y)
        outs[key] = (y.numpy(), tape.gradient(loss, tx).numpy())
    for a, b in zip(outs["ours"], outs["tf"], strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
def test_cnn_pool_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((4, 28, 28, 8)).astype(np.float32)
    tx = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        y = tf.nn.max_pool2d(tx, 2, 2, "VALID")
        loss = tf.reduce_sum(y * y)
    dx = tape.gradient(loss, tx)
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).requires_grad_()
    yt = torch.nn.functional.max_pool2d(xt, 2)
    (yt * yt).sum().backward()
    np.testing.assert_allclose(y.numpy(), yt.detach().permute(0, 2, 3, 1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(dx.numpy(), xt.grad.permute(0, 2, 3, 1).numpy(), rtol=1e-6)


@pytest.mark.parametrize("device", available_devices())
def test_pool_on_each_device(device):
    x_np = np.random.default_rng(3).standard_normal((2, 6, 6, 3)).astype(np.float32)
    with tf.device(device):
        x = tf.constant(x_np)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.nn.max_pool2d(x, 3, 2, "SAME") + tf.nn.avg_pool2d(x, 3, 2, "SAME")
        dx = tape.gradient(y, x)
    assert y.device == x.device and dx.device == x.device
    ref = tf.nn.max_pool2d(x_np, 3, 2, "SAME") + tf.nn.avg_pool2d(x_np, 3, 2, "SAME")
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------

def test_wrong_rank_names_op_and_expected_rank():
    with pytest.raises(ValueError, match=r"MaxPool: expected input of rank 4 .*\(28, 28, 1\)"):
        tf.nn.max_pool2d(np.ones((28, 28, 1), np.float32), 2, 2, "VALID")
    with pytest.raises(ValueError, match=r"AvgPool1D: expected input of rank 3"):
        tf.nn.avg_pool1d(np.ones((2, 5, 5, 1), np.float32), 2, 2, "VALID")
    with pytest.raises(ValueError, match=r"MaxPool: expected input of rank 3, 4 or 5"):
        tf.nn.max_pool(np.ones((5, 1), np.float32), 2, 2, "VALID")


def test_window_larger_than_valid_input_names_both_sizes():
    with pytest.raises(ValueError, match=r"MaxPool: the window size 3 is larger than the input size 2"):
        tf.nn.max_pool2d(np.ones((1, 2, 5, 1), np.float32), 3, 1, "VALID")


def test_bad_pool_arguments():
    x = np.ones((1, 4, 4, 1), np.float32)
    with pytest.raises(ValueError, match="padding must be 'SAME' or 'VALID'"):
        tf.nn.avg_pool2d(x, 2, 2, [[0, 0], [1, 1], [1, 1], [0, 0]])
    with pytest.raises(ValueError, match="explicit padding must be smaller than the window"):
        tf.nn.max_pool2d(x, 2, 2, [[0, 0], [2, 0], [0, 0], [0, 0]])
    with pytest.raises(ValueError, match="ksize must be positive"):
        tf.nn.max_pool2d(x, 0, 2, "VALID")
    with pytest.raises(ValueError, match="ksize in the batch and channel dimensions must be 1"):
        tf.nn.max_pool2d(x, [2, 2, 2, 1], 2, "VALID")


# -- relu folded into the max-pool gradient (tracing.passes.fold_relu_into_max_pool) -----------

def _traced_and_eager(fn, *args):
    """fn's results eagerly and through tf.function, and the traced function's pass counts."""
    traced = tf.function(fn)
    eager = [g.numpy() for g in fn(*args)]
    out = [g.numpy() for g in traced(*args)]
    return eager, out, traced.get_concrete_function(*args).optimizations


def _tied_input(shape, seed):
    """Values with many exact zeros after a relu and exact ties between positive values."""
    rng = np.random.default_rng(seed)
    return (rng.integers(-3, 4, shape) / 2).astype(np.float32)


@pytest.mark.parametrize("algorithm", ["im2col", "fft"])
@pytest.mark.parametrize("pool", [(2, 2, "VALID"), (3, 2, "SAME")])
def test_conv_relu_pool_gradients_are_the_same_with_the_relu_folded(monkeypatch, algorithm, pool):
    from tapeflow.ops import conv_algorithms as conv_ops

    monkeypatch.setattr(conv_ops, "ALGORITHM", algorithm)
    x = tf.constant(_tied_input((3, 8, 8, 2), 0))
    conv = tf.keras.layers.Conv2D(4, 3, padding="same", activation="relu")
    conv.build((None, 8, 8, 2))
    conv.kernel.assign(_tied_input((3, 3, 2, 4), 1))
    conv.bias.assign(np.array([0.5, -0.5, 0.0, 1.0], np.float32))
    k, s, p = pool
    r = tf.constant(np.linspace(-1, 1, 3 * 4 * 4 * 4).astype(np.float32).reshape(3, 4, 4, 4))

    def grads(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.nn.max_pool2d(conv(x), k, s, p) * r)
        return tape.gradient(loss, [conv.kernel, conv.bias])

    eager, traced, passes = _traced_and_eager(grads, x)
    assert passes["fold_relu_into_max_pool"] == 1
    for a, b in zip(eager, traced, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", ["alone", "second use", "source"])
def test_relu_op_folds_only_when_the_pool_is_its_only_gradient(case):
    z = tf.Variable(_tied_input((2, 6, 6, 3), 2))
    r = tf.constant(np.linspace(-1, 1, 2 * 3 * 3 * 3).astype(np.float32).reshape(2, 3, 3, 3))

    def grads():
        with tf.GradientTape() as tape:
            h = tf.nn.relu(z * 1.5)  # (the relu's gradient is not itself returned)
            loss = tf.reduce_sum(tf.nn.max_pool2d(h, 2, 2, "VALID") * r)
            if case == "second use":
                loss = loss + tf.reduce_sum(h * 0.25)
        return tape.gradient(loss, [z, h] if case == "source" else [z])

    eager, traced, passes = _traced_and_eager(grads)
    assert passes["fold_relu_into_max_pool"] == (1 if case == "alone" else 0)
    for a, b in zip(eager, traced, strict=True):
        np.testing.assert_array_equal(a, b)
    if case == "source":
        # The relu output's own gradient is the pool's (TF's: a window of zeros sends its
        # gradient to its first zero), not a relu-masked one.
        h_grad = eager[1]
        assert (h_grad[np.asarray(tf.nn.relu(z * 1.5)) == 0] != 0).any()


def test_folded_pool_gradient_differentiates_again():
    z = tf.Variable(_tied_input((1, 4, 4, 2), 5) + 0.25)

    def second():
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                y = tf.reduce_sum(tf.nn.max_pool2d(tf.nn.relu(z * 1.5), 2, 2, "VALID") ** 2)
            g = inner.gradient(y, z)
            gg = tf.reduce_sum(g * g)
        return g, outer.gradient(gg, z)

    eager, traced, passes = _traced_and_eager(second)
    assert passes["fold_relu_into_max_pool"] >= 1  # the first-order gradient and its own gradient
    for a, b in zip(eager, traced, strict=True):
        np.testing.assert_array_equal(a, b)


def test_relu_fold_is_off_while_a_tape_records_the_backward():
    x = tf.Variable(_tied_input((1, 4, 4, 1), 3) + 0.25)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = tf.reduce_sum(tf.nn.max_pool2d(tf.nn.relu(x), 2, 2, "VALID") ** 2)
        g = inner.gradient(y, x)
        gg = tf.reduce_sum(g * g)
    h = np.maximum(x.numpy(), 0)
    pooled = h.reshape(1, 2, 2, 2, 2, 1).max(axis=(2, 4))
    expected = np.zeros_like(h)
    for i in range(2):
        for j in range(2):
            win = h[0, 2 * i:2 * i + 2, 2 * j:2 * j + 2, 0]
            r, c = np.unravel_index(np.argmax(win), (2, 2))
            if pooled[0, i, j, 0] > 0:
                expected[0, 2 * i + r, 2 * j + c, 0] = 2 * pooled[0, i, j, 0]
    np.testing.assert_allclose(g.numpy(), expected)
    assert outer.gradient(gg, x) is not None
