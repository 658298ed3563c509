"""GradientTape semantics: watching, persistence, structure of results, jacobians, nesting."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.autodiff import function as _fn


def test_trainable_variables_watched_automatically() -> None:
    v = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = v * v
    assert float(tape.gradient(y, v)) == 6.0


def test_constants_need_watch() -> None:
    x = tf.constant(3.0)
    with tf.GradientTape() as tape:
        y = x * x
    assert tape.gradient(y, x) is None
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    assert float(tape.gradient(y, x)) == 6.0


def test_watch_nested_structure_and_rejects_non_tensors() -> None:
    a, b = tf.constant(1.0), tf.constant(2.0)
    with tf.GradientTape() as tape:
        tape.watch({"a": a, "b": [b]})
        y = a * b
    ga, gb = tape.gradient(y, [a, b])
    assert float(ga) == 2.0 and float(gb) == 1.0
    with tf.GradientTape() as tape:
        with pytest.raises(TypeError, match="watch: expected a Tensor or Variable, received float"):
            tape.watch(3.0)


def test_non_persistent_second_call_raises() -> None:
    v = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = v * v
    tape.gradient(y, v)
    with pytest.raises(RuntimeError, match="non-persistent GradientTape can only be used to compute one"):
        tape.gradient(y, v)


def test_persistent_allows_many_calls() -> None:
    x = tf.constant(3.0)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * y
    assert float(tape.gradient(z, x)) == pytest.approx(108.0)
    assert float(tape.gradient(y, x)) == pytest.approx(6.0)
    assert float(tape.gradient(z, y)) == pytest.approx(18.0)
    del tape


def test_watch_accessed_variables_false() -> None:
    a, b = tf.Variable(1.0), tf.Variable(2.0)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(b)
        y = a * b
    assert tape.watched_variables() == (b,)
    ga, gb = tape.gradient(y, [a, b])
    assert ga is None and float(gb) == 1.0


def test_watched_variables_in_first_use_order() -> None:
    a, b, c = tf.Variable(1.0), tf.Variable(2.0), tf.Variable(3.0, trainable=False)
    with tf.GradientTape() as tape:
        _ = b * a + c
    assert tape.watched_variables() == (b, a)


def test_unconnected_gradients() -> None:
    a, b = tf.Variable(1.0), tf.Variable([2.0, 3.0])
    with tf.GradientTape(persistent=True) as tape:
        y = a * 2.0
    assert tape.gradient(y, b) is None
    gz = tape.gradient(y, [a, b], unconnected_gradients="zero")
    np.testing.assert_array_equal(gz[1].numpy(), [0.0, 0.0])
    gz2 = tape.gradient(y, b, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    assert gz2.shape == (2,)
    with pytest.raises(ValueError, match="unconnected_gradients"):
        tape.gradient(y, a, unconnected_gradients="sometimes")


def test_integer_sources_give_none() -> None:
    i = tf.constant(3)
    v = tf.Variable(2)
    with tf.GradientTape() as tape:
        tape.watch([i, v])
        y = tf.cast(i * v, tf.float32) * 2.0
    assert tape.gradient(y, [i, v]) == [None, None]


def test_nested_structure_of_sources() -> None:
    a, b, c = tf.Variable(1.0), tf.Variable(2.0), tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = a * b * c
    g = tape.gradient(y, {"first": a, "rest": (b, [c])})
    assert set(g) == {"first", "rest"} and isinstance(g["rest"], tuple) and isinstance(g["rest"][1], list)
    assert float(g["first"]) == 6.0 and float(g["rest"][0]) == 3.0 and float(g["rest"][1][0]) == 2.0


def test_list_with_nested_single_element_list_keeps_structure() -> None:
    a, b = tf.Variable(1.0), tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = a * b
    ga, (gb,) = tape.gradient(y, [a, [b]])
    assert float(ga) == 2.0 and float(gb) == 1.0


def test_non_scalar_target_and_list_of_targets() -> None:
    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        y = x * x
        z = x * 3.0
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [2.0, 4.0])  # gradient of sum(y)
    np.testing.assert_array_equal(tape.gradient([y, z], x).numpy(), [5.0, 7.0])


def test_output_gradients() -> None:
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    g = tape.gradient(y, x, output_gradients=tf.constant([1.0, 10.0]))
    np.testing.assert_array_equal(g.numpy(), [2.0, 40.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    with pytest.raises(ValueError, match="output_gradients has 2 entries but there are 1 targets"):
        tape.gradient(y, x, output_gradients=[1.0, 2.0])


def test_gradient_sources_must_be_tensors() -> None:
    v = tf.Variable(1.0)
    with tf.GradientTape() as tape:
        y = v * 2.0
    with pytest.raises(TypeError, match="sources must be tensors or variables, received float"):
        tape.gradient(y, [1.0])


def test_stop_recording() -> None:
    a = tf.Variable(1.0)
    with tf.GradientTape() as tape:
        y = a * 2.0
        with tape.stop_recording():
            z = a * 3.0
            assert not _fn.recording_tapes
        w = y + z
    assert float(tape.gradient(w, a)) == 2.0
    with pytest.raises(ValueError, match="not currently recording"):
        with tape.stop_recording():
            pass


def test_reset() -> None:
    a = tf.Variable(1.0)
    with tf.GradientTape() as tape:
        y = a * 2.0
        tape.reset()
        z = a * 5.0
    assert tape.gradient(y, a) is None
    # After reset the tape records again: a new tape-worth of gradients is available.
    a2 = tf.Variable(1.0)
    with tf.GradientTape() as tape2:
        _ = a2 * 2.0
        tape2.reset()
        z = a2 * 5.0
    assert float(tape2.gradient(z, a2)) == 5.0


def test_gradient_inside_the_with_block() -> None:
    a = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = a * a
        g = tape.gradient(y, a)
    assert float(g) == 4.0


def test_nothing_recorded_without_a_tape() -> None:
    v = tf.Variable([1.0, 2.0])
    y = v * v
    assert not _fn.recording_tapes
    with tf.GradientTape() as tape:
        z = y * 2.0
    assert tape.gradient(z, v) is None  # y was computed before the tape existed
    assert not tape._records


def test_unwatched_ops_not_recorded() -> None:
    a = tf.constant([1.0])
    with tf.GradientTape() as tape:
        _ = a * 2.0 + 1.0
    assert tape._records == []


def test_tapes_exit_cleanly_after_errors() -> None:
    v = tf.Variable([1.0, 2.0])
    with pytest.raises(tf.errors.InvalidArgumentError):
        with tf.GradientTape() as tape:
            _ = v + tf.constant([1.0, 2.0, 3.0])
    assert not _fn.recording_tapes
    with tf.GradientTape() as tape:
        y = v * 3.0
        with pytest.raises(tf.errors.InvalidArgumentError):
            _ = v + tf.constant([1.0, 2.0, 3.0])
        with pytest.raises(TypeError):
            _ = v + "x"
        with pytest.raises(tf.errors.InvalidArgumentError):
            _ = v * tf.constant([1, 2])
        y = y + v
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), [4.0, 4.0])
    assert not _fn.recording_tapes


def test_jacobian() -> None:
    x = tf.constant([1.0, 2.0, 3.0])
    w = tf.Variable([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tf.linalg.matvec(w, x[:2]) * x
    j = tape.jacobian(y, x)
    assert j.shape == (3, 3)
    # Compare with finite differences of the same function.
    xv = x.numpy().astype(np.float64)
    wv = w.numpy().astype(np.float64)

    def f(v):
        return (wv @ v[:2]) * v
    num = np.stack([(f(xv + e) - f(xv - e)) / 2e-3 for e in np.eye(3) * 1e-3], axis=1)
    np.testing.assert_allclose(j.numpy(), num, rtol=1e-4, atol=1e-4)
    jw = tape.jacobian(y, w)
    assert jw.shape == (3, 3, 2)
    jd = tape.jacobian(y, {"x": x})
    assert jd["x"].shape == (3, 3)
    assert tape.jacobian(y, tf.Variable(1.0)) is None


def test_jacobian_non_persistent_consumes_tape() -> None:
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    np.testing.assert_array_equal(tape.jacobian(y, x).numpy(), [[2.0, 0.0], [0.0, 4.0]])
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.jacobian(y, x)


def test_batch_jacobian() -> None:
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    w = tf.constant([[1.0, 0.5, 0.0], [2.0, 1.0, -1.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.tanh(tf.matmul(x, w))  # (2, 3)
    bj = tape.batch_jacobian(y, x)
    assert bj.shape == (2, 3, 2)
    with tf.GradientTape(persistent=True) as t2:
        t2.watch(x)
        y2 = tf.tanh(tf.matmul(x, w))
    full = t2.jacobian(y2, x).numpy()  # (2, 3, 2, 2)
    for b in range(2):
        np.testing.assert_allclose(bj.numpy()[b], full[b, :, b, :], rtol=1e-6)


def test_second_derivative_nested_tapes() -> None:
    x = tf.Variable(3.0)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = x ** 3
        dy = inner.gradient(y, x)
    d2y = outer.gradient(dy, x)
    assert float(dy) == pytest.approx(27.0) and float(d2y) == pytest.approx(18.0)


def test_third_derivative() -> None:
    x = tf.constant(0.5)
    with tf.GradientTape() as t3:
        t3.watch(x)
        with tf.GradientTape() as t2:
            t2.watch(x)
            with tf.GradientTape() as t1:
                t1.watch(x)
                y = tf.sin(x)
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    d3 = t3.gradient(d2, x)
    assert float(d3) == pytest.approx(-np.cos(0.5), rel=1e-6)


def test_hessian_vector_product() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4))
    h_true = a @ a.T + np.eye(4)  # f(w) = 0.5 w^T H w + sum(sin(w))
    w = tf.Variable(rng.standard_normal(4))
    v = tf.constant(rng.standard_normal(4))
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            f = 0.5 * tf.reduce_sum(w * tf.linalg.matvec(tf.constant(h_true), w)) + tf.reduce_sum(tf.sin(w))
        g = inner.gradient(f, w)
        gv = tf.reduce_sum(g * v)
    hvp = outer.gradient(gv, w).numpy()
    want = h_true @ v.numpy() - np.sin(w.numpy()) * v.numpy()
    np.testing.assert_allclose(hvp, want, rtol=1e-10)


def test_gradient_penalty() -> None:
    """WGAN-GP style: penalise the input-gradient norm of a small critic, differentiate w.r.t. weights."""
    rng = np.random.default_rng(1)
    w1 = tf.Variable(rng.standard_normal((3, 4)))
    w2 = tf.Variable(rng.standard_normal((4, 1)))
    x = tf.constant(rng.standard_normal((5, 3)))

    def penalty(w1v, w2v):
        with tf.GradientTape() as inner:
            inner.watch(x)
            out = tf.matmul(tf.tanh(tf.matmul(x, w1v)), w2v)
        gx = inner.gradient(out, x)
        norm = tf.sqrt(tf.reduce_sum(gx * gx, axis=1))
        return tf.reduce_mean((norm - 1.0) ** 2)

    with tf.GradientTape() as outer:
        p = penalty(w1, w2)
    g1, g2 = outer.gradient(p, [w1, w2])
    assert g1.shape == (3, 4) and g2.shape == (4, 1)
    from tapeflow.testing import check_gradients

    check_gradients(penalty, [w1.numpy(), w2.numpy()])


def test_gradient_of_gradient_is_none_when_linear() -> None:
    x = tf.Variable(2.0)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = 3.0 * x
        g = inner.gradient(y, x)
    assert float(g) == 3.0
    assert outer.gradient(g, x) is None


def test_persistent_tape_gradient_records_for_outer() -> None:
    x = tf.Variable(1.5)
    with tf.GradientTape() as outer:
        with tf.GradientTape(persistent=True) as inner:
            y = x * x * x
        g = inner.gradient(y, x)
    assert float(outer.gradient(g, x)) == pytest.approx(9.0)


def test_broadcasting_undone_for_sources() -> None:
    b = tf.Variable([1.0, 2.0, 3.0])
    s = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = tf.ones((4, 3)) * b * s
    gb, gs = tape.gradient(y, [b, s])
    np.testing.assert_array_equal(gb.numpy(), [8.0, 8.0, 8.0])
    assert gs.shape == () and float(gs) == 24.0


def test_same_tensor_used_twice_accumulates() -> None:
    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = x * x + x
    assert float(tape.gradient(y, x)) == 7.0


def test_gradient_of_target_wrt_itself() -> None:
    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = x * 2.0
    gy, gx = tape.gradient(y, [y, x])
    assert float(gy) == 1.0 and float(gx) == 2.0


def test_gradients_keep_float32() -> None:
    w = tf.Variable(tf.ones((3, 2)))
    with tf.GradientTape() as tape:
        y = tf.reduce_mean(tf.matmul(tf.ones((4, 3)), w) * 0.5)
    assert tape.gradient(y, w).dtype == tf.float32


def test_custom_gradient_decorator() -> None:
    @tf.custom_gradient
    def clip_grad(x):
        def grad(dy):
            return tf.clip_by_value(dy, -0.5, 0.5)
        return tf.identity(x), grad

    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = clip_grad(x) * tf.constant([0.1, 10.0])
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [0.1, 0.5])


@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")
def test_custom_gradient_log1pexp_stable() -> None:
    """TF's documented example: a numerically stable gradient for log(1 + exp(x))."""
    @tf.custom_gradient
    def log1pexp(x):
        e = tf.exp(x)

        def grad(upstream):
            return upstream * (1 - 1 / (1 + e))
        return tf.math.log(1 + e), grad

    x = tf.constant(100.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = log1pexp(x)
    assert float(tape.gradient(y, x)) == 1.0


def test_custom_gradient_matches_numerical_and_second_order() -> None:
    @tf.custom_gradient
    def cube(x):
        def grad(dy):
            return dy * 3.0 * x * x
        return x * x * x, grad

    from tapeflow.testing import check_gradients, check_second_order

    xs = [np.array([0.5, -1.0, 2.0])]
    check_gradients(cube, xs)
    check_second_order(cube, xs)


def test_custom_gradient_multiple_inputs_and_variables() -> None:
    w = tf.Variable(2.0)

    @tf.custom_gradient
    def scaled(x, y):
        out = x * y * w

        def grad(dy, variables=None):
            return (dy * y * w, dy * x * w), [dy * x * y]
        return out, grad

    a, b = tf.constant(3.0), tf.constant(4.0)
    with tf.GradientTape() as tape:
        tape.watch([a, b])
        z = scaled(a, b)
    ga, gb, gw = tape.gradient(z, [a, b, w])
    assert (float(ga), float(gb), float(gw)) == (8.0, 6.0, 12.0)


def test_custom_gradient_requires_variables_kwarg() -> None:
    w = tf.Variable(2.0)

    @tf.custom_gradient
    def f(x):
        return x * w, lambda dy: dy * w

    with pytest.raises(TypeError, match="variables"):
        f(tf.constant(1.0))


def test_returned_gradients_are_distinct_writable_arrays() -> None:
    a, b = tf.Variable([1.0, 2.0]), tf.Variable([3.0, 4.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(a + b)  # Add passes one gradient to both; Sum's is a broadcast view
    ga, gb = tape.gradient(y, [a, b])
    assert ga._value is not gb._value
    for g in (ga, gb):
        g._value *= 2.0  # an optimizer may scale in place
    np.testing.assert_array_equal(ga.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(gb.numpy(), [2.0, 2.0])


def test_in_place_accumulation_does_not_touch_inputs() -> None:
    x = tf.Variable([1.0, 2.0])
    og = tf.constant([1.0, 1.0])
    with tf.GradientTape() as tape:
        y = x + x + x + x  # four contributions to x's gradient
    g = tape.gradient(y, x, output_gradients=og)
    np.testing.assert_array_equal(g.numpy(), [4.0, 4.0])
    np.testing.assert_array_equal(og.numpy(), [1.0, 1.0])


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("shape,to", [
    ((6, 5), (5,)), ((6, 5), (1, 5)), ((4, 3, 5, 2), (2,)), ((4, 3, 5, 2), (1, 1, 5, 2)),
    ((7, 1), (1,)), ((4, 3, 5), (4, 1, 5)), ((4, 3, 5), (1, 3, 1)), ((4, 3), ()), ((0, 3), (3,)),
])
def test_sum_to_array_matches_numpy(shape, to, dtype) -> None:
    from tapeflow.autodiff.unbroadcast import sum_to_array

    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    lead = len(shape) - len(to)
    axes = tuple(range(lead)) + tuple(i + lead for i, d in enumerate(to) if d == 1 and shape[i + lead] != 1)
    want = x.astype("float64").sum(axis=axes, keepdims=True).reshape(to)
    tol = {"rtol": 1e-2, "atol": 0.1} if dtype == "float16" else {"rtol": 1e-5, "atol": 1e-5}
    got = sum_to_array(x, to)
    assert got.shape == to and got.dtype == x.dtype
    np.testing.assert_allclose(got, want, **tol)
    # Non-contiguous input (a transposed view) takes the plain reduction: same result.
    if len(shape) == 2 and shape[0] and lead:
        xt = np.ascontiguousarray(x.T).T
        np.testing.assert_allclose(sum_to_array(xt, to), want, **tol)


@pytest.mark.oracle
def test_gradient_through_bfloat16_casts_as_tf() -> None:
    """bfloat16 carries gradients: a cast's gradient is the upstream cast back (TF's Cast
    gradient), so it is rounded through bfloat16; TF gives none through float8 casts."""
    real = pytest.importorskip("tensorflow")
    weights = [1.0, 3.0, 1.00390625]
    for narrow, real_narrow in (("bfloat16", real.bfloat16), ("float8_e4m3fn", real.dtypes.experimental.float8_e4m3fn)):
        ours_x = tf.Variable([1.0, 2.0, 1.0009765625])
        with tf.GradientTape() as tape:
            z = tf.reduce_sum(tf.cast(tf.cast(ours_x, narrow), "float32") * tf.constant(weights))
        theirs_x = real.Variable([1.0, 2.0, 1.0009765625])
        with real.GradientTape() as tape2:
            z2 = real.reduce_sum(real.cast(real.cast(theirs_x, real_narrow), "float32") * real.constant(weights))
        ours, theirs = tape.gradient(z, ours_x), tape2.gradient(z2, theirs_x)
        if theirs is None:
            assert ours is None, narrow
        else:
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
