"""Fused recurrent sequences (tapeflow.ops.rnn): float64 gradients, reference equivalence, errors."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.errors import InvalidArgumentError
from tapeflow.ops import rnn
from tapeflow.testing import OpCase, available_devices, check_gradients, run_case

B, T, F, U = 2, 3, 2, 3
MASK = np.array([[True, False, True], [False, True, True]])
ALL_MASKED_ROW = np.array([[True, True, False], [False, False, False]])


def _op(kind: str, mask: np.ndarray | None = None, bias: bool = True, **kw):
    """fn(x, h0, [c0], kernel, recurrent_kernel, [bias]) -> list of outputs, and its input shapes."""
    m = None if mask is None else tf.constant(mask)
    gates = {"simple": 1, "lstm": 4, "gru": 3, "gru_v1": 3}[kind]
    shapes = [(B, T, F), (B, U)] + ([(B, U)] if kind == "lstm" else []) + [(F, gates * U), (U, gates * U)]
    if bias:
        shapes.append((2, 3 * U) if kind == "gru" else (gates * U,))

    def fn(*a):
        b = a[-1] if bias else None
        if kind == "simple":
            return list(rnn.simple_rnn(a[0], a[1], a[2], a[3], b, m, **kw))
        if kind == "lstm":
            return list(rnn.lstm(a[0], a[1], a[2], a[3], a[4], b, m, **kw))
        return list(rnn.gru(a[0], a[1], a[2], a[3], b, m, reset_after=kind == "gru", **kw))

    return fn, shapes


VARIANTS = [
    ("last", None, {}),
    ("sequences", None, {"return_sequences": True}),
    ("backwards", None, {"go_backwards": True, "return_sequences": True}),
    ("masked", MASK, {}),
    ("masked/sequences", MASK, {"return_sequences": True}),
    ("masked/backwards", MASK, {"go_backwards": True, "return_sequences": True}),
    ("masked/zero_output", MASK, {"return_sequences": True, "zero_output_for_mask": True}),
    ("masked/zero_output_last", ALL_MASKED_ROW, {"zero_output_for_mask": True}),
    ("masked/all_steps_of_a_row", ALL_MASKED_ROW, {"return_sequences": True}),
]
SECOND_ORDER = {"last", "masked/sequences"}

CASES = []
for _kind in ("simple", "lstm", "gru", "gru_v1"):
    for _name, _mask, _kw in VARIANTS:
        _fn, _shapes = _op(_kind, _mask, **_kw)
        CASES.append(OpCase(f"{_kind}/{_name}", _fn, _shapes, second_order=_name in SECOND_ORDER))
    for _act, _rec in (("relu", "hard_sigmoid"), ("linear", "tanh"), ("sigmoid", "relu")):
        kw = {"activation": _act} if _kind == "simple" else {"activation": _act, "recurrent_activation": _rec}
        _fn, _shapes = _op(_kind, MASK, return_sequences=True, **kw)
        CASES.append(OpCase(f"{_kind}/{_act}_{_rec}", _fn, _shapes, second_order=False))
    _fn, _shapes = _op(_kind, None, bias=False, return_sequences=True)
    CASES.append(OpCase(f"{_kind}/no_bias", _fn, _shapes, second_order=False))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradients(case: OpCase) -> None:
    run_case(case)


def _function(kind: str, mask, kw: dict):
    flags = {"has_bias": True, "has_mask": mask is not None,
             "go_backwards": kw.get("go_backwards", False),
             "return_sequences": kw.get("return_sequences", False),
             "zero_output_for_mask": kw.get("zero_output_for_mask", False)}
    if kind == "simple":
        return rnn.SimpleRNNSequence("tanh", "linear", **flags)
    if kind == "lstm":
        return rnn.LSTMSequence("tanh", "sigmoid", **flags)
    return rnn.GRUSequence("tanh", "sigmoid", reset_after=kind == "gru", **flags)


@pytest.mark.parametrize("device", available_devices())
@pytest.mark.parametrize("kind", ["simple", "lstm", "gru", "gru_v1"])
@pytest.mark.parametrize("variant", ["last", "masked/backwards", "masked/zero_output"])
def test_fused_matches_reference(kind: str, variant: str, device: str) -> None:
    """The array kernels and the Tensor-op reference give the same outputs and gradients."""
    _, mask, kw = next(v for v in VARIANTS if v[0] == variant)
    _, shapes = _op(kind, mask, **kw)
    rng = np.random.default_rng(0)
    with tf.device(device):
        xs = [tf.identity(tf.constant(rng.standard_normal(s))) for s in shapes]
        extra = [] if mask is None else [tf.identity(tf.constant(mask))]
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(xs)
            fused = _function(kind, mask, kw)(*xs, *extra)[:-1]  # (the reserve space last)
            ref = _function(kind, mask, kw).reference(*xs, *extra)
            loss_f = sum(tf.reduce_sum(o * o) for o in fused)
            loss_r = sum(tf.reduce_sum(o * o) for o in ref)
        for a, b in zip(fused, ref, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)
        g_f = tape.gradient(loss_f, xs)
        g_r = tape.gradient(loss_r, xs)
    for a, b in zip(g_f, g_r, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


def test_float32_stays_float32() -> None:
    rng = np.random.default_rng(0)
    x = tf.constant(rng.standard_normal((2, 4, 3)).astype("float32"))
    h = tf.zeros((2, 5))
    k = tf.Variable(rng.standard_normal((3, 20)).astype("float32"))
    r = tf.Variable(rng.standard_normal((5, 20)).astype("float32"))
    b = tf.Variable(np.zeros(20, "float32"))
    with tf.GradientTape() as tape:
        y, h1, c1 = rnn.lstm(x, h, h, k, r, b, return_sequences=True)
        loss = tf.reduce_sum(y)
    grads = tape.gradient(loss, [k, r, b])
    assert y.dtype == tf.float32 and h1.dtype == tf.float32 and c1.dtype == tf.float32
    assert all(g.dtype == tf.float32 for g in grads)
    assert tuple(y.shape) == (2, 4, 5)


def test_matches_numpy_lstm() -> None:
    """An independent NumPy LSTM (Keras's equations) gives the same final state."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 5, 4))
    k, r, b = rng.standard_normal((4, 8)), rng.standard_normal((2, 8)), rng.standard_normal(8)
    h = np.zeros((3, 2))
    c = np.zeros((3, 2))

    def sig(z):
        return 1 / (1 + np.exp(-z))

    for t in range(5):
        z = x[:, t] @ k + h @ r + b
        i, f, g, o = sig(z[:, :2]), sig(z[:, 2:4]), np.tanh(z[:, 4:6]), sig(z[:, 6:])
        c = f * c + i * g
        h = o * np.tanh(c)
    y, h1, c1 = rnn.lstm(*(tf.constant(a) for a in (x, np.zeros((3, 2)), np.zeros((3, 2)), k, r, b)))
    np.testing.assert_allclose(h1.numpy(), h, rtol=1e-12)
    np.testing.assert_allclose(c1.numpy(), c, rtol=1e-12)
    np.testing.assert_allclose(y.numpy(), h, rtol=1e-12)


def test_gradient_only_for_watched_inputs() -> None:
    """Data inputs get no gradient work when not watched; weights still get theirs."""
    rng = np.random.default_rng(1)
    x = tf.constant(rng.standard_normal((2, 3, 2)))
    w = tf.Variable(rng.standard_normal((2, 9)))
    r = tf.Variable(rng.standard_normal((3, 9)))
    with tf.GradientTape() as tape:
        y, _ = rnn.gru(x, tf.zeros((2, 3), "float64"), w, r)
        loss = tf.reduce_sum(y)
    gx, gw, gr = tape.gradient(loss, [x, w, r])
    assert gx is None and gw is not None and gr is not None


@pytest.mark.parametrize("kind", ["simple", "lstm", "gru", "gru_v1"])
@pytest.mark.parametrize("variant", ["last", "masked/sequences"])
def test_weight_gradients_without_state_gradients(kind: str, variant: str) -> None:
    """With the initial states unwatched the backward pass stops before their gradient (the
    last recurrent GEMM); the weights' gradients are those of the call that wants everything."""
    _, mask, kw = next(v for v in VARIANTS if v[0] == variant)
    fn, shapes = _op(kind, mask, **kw)
    rng = np.random.default_rng(7)
    xs = [tf.constant(rng.standard_normal(s)) for s in shapes]
    n_states = 2 if kind == "lstm" else 1
    weights = xs[1 + n_states:]
    grads = []
    for watched in (xs, weights):
        with tf.GradientTape() as tape:
            tape.watch(watched)
            loss = sum(tf.reduce_sum(o * o) for o in fn(*xs))
        grads.append(tape.gradient(loss, watched)[-len(weights):])
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-12, atol=1e-12)


def test_check_gradients_can_fail() -> None:
    """The gradient check catches a wrong backward (guards against a vacuous test)."""
    fn, shapes = _op("lstm", MASK, return_sequences=True)
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal(s) for s in shapes]
    original = rnn.LSTMSequence._backward_arrays

    def broken(self, dys):
        grads = list(original(self, dys))
        grads[4] = grads[4] * 1.01  # recurrent kernel
        return tuple(grads)

    rnn.LSTMSequence._backward_arrays = broken
    try:
        with pytest.raises(AssertionError, match="gradient mismatch for input 4"):
            check_gradients(fn, xs)
    finally:
        rnn.LSTMSequence._backward_arrays = original


@pytest.mark.parametrize("bad, match", [
    ("rank", "expected inputs of rank 3"),
    ("kernel", r"expected kernel of shape \(2, 12\)"),
    ("recurrent", r"expected recurrent_kernel of shape \(3, 12\)"),
    ("bias", r"expected bias of shape \(12,\)"),
    ("state", r"expected initial states of shape \(2, 3\)"),
    ("mask", r"expected a mask of shape \(2, 3\)"),
    ("dtype", "must share one dtype"),
    ("activation", "activation must be one of"),
])
def test_bad_input(bad: str, match: str) -> None:
    rng = np.random.default_rng(0)
    a = {"x": rng.standard_normal((2, 3, 2)), "h": np.zeros((2, 3)), "c": np.zeros((2, 3)),
         "k": rng.standard_normal((2, 12)), "r": rng.standard_normal((3, 12)), "b": np.zeros(12)}
    mask = None
    kw = {}
    if bad == "rank":
        a["x"] = a["x"][0]
    elif bad == "kernel":
        a["k"] = a["k"][:, :8]
    elif bad == "recurrent":
        a["r"] = a["r"][:, :10]
    elif bad == "bias":
        a["b"] = np.zeros(9)
    elif bad == "state":
        a["c"] = np.zeros((3, 3))
    elif bad == "mask":
        mask = tf.constant(np.ones((2, 4), bool))
    elif bad == "dtype":
        a["k"] = a["k"].astype("float32")
    elif bad == "activation":
        kw["activation"] = "elu"
    t = {k: tf.constant(v) for k, v in a.items()}
    with pytest.raises((InvalidArgumentError, ValueError), match=match) as info:
        rnn.lstm(t["x"], t["h"], t["c"], t["k"], t["r"], t["b"], mask, **kw)
    assert "LSTM" in str(info.value)


@pytest.mark.parametrize("kind", ["simple", "lstm", "gru", "gru_v1"])
def test_pooled_buffers_are_not_shared(kind: str) -> None:
    """Outputs survive later calls (work buffers are recycled), several calls may be pending
    before their backward passes, and a persistent tape can take the gradient twice."""
    fn, shapes = _op(kind, MASK, return_sequences=False)
    rng = np.random.default_rng(0)
    a = [tf.constant(rng.standard_normal(s)) for s in shapes]
    b = [tf.constant(rng.standard_normal(s)) for s in shapes]
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(a + b)
        ya = fn(*a)
        snapshot = [y.numpy().copy() for y in ya]
        yb = fn(*b)
        for _ in range(3):
            fn(*b)  # more calls recycle buffers in between
        loss_a = sum(tf.reduce_sum(y * y) for y in ya)
        loss_b = sum(tf.reduce_sum(y * y) for y in yb)
    for y, s in zip(ya, snapshot, strict=True):
        np.testing.assert_array_equal(y.numpy(), s)
    g_b = tape.gradient(loss_b, b)
    g_a1 = tape.gradient(loss_a, a)
    g_a2 = tape.gradient(loss_a, a)  # second pass: through the reference
    fresh = [tf.constant(v.numpy()) for v in a]
    with tf.GradientTape() as tape2:
        tape2.watch(fresh)
        loss = sum(tf.reduce_sum(y * y) for y in fn(*fresh))
    g_ref = tape2.gradient(loss, fresh)
    for g1, g2, g3 in zip(g_a1, g_a2, g_ref, strict=True):
        np.testing.assert_allclose(g1.numpy(), g3.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(g2.numpy(), g3.numpy(), rtol=1e-10, atol=1e-12)
    assert all(g is not None for g in g_b)


def test_reserve_space_only_when_a_tape_records_the_call() -> None:
    """The reserve space (last output) is what only the gradient reads: an eager call no tape
    records skips it; a recorded call keeps it, and its gradient matches the reference's."""
    rng = np.random.default_rng(5)
    x = tf.constant(rng.standard_normal((2, 4, 3)))
    h = tf.constant(rng.standard_normal((2, 5)))
    k = tf.constant(rng.standard_normal((3, 20)))
    r = tf.constant(rng.standard_normal((5, 20)))
    plain = rnn.LSTMSequence("tanh", "sigmoid", False, False, False, True, False)(x, h, h, k, r)
    assert plain[-1].shape == (0,)
    with tf.GradientTape() as tape:
        tape.watch(k)
        recorded = rnn.LSTMSequence("tanh", "sigmoid", False, False, False, True, False)(x, h, h, k, r)
        loss = tf.reduce_sum(recorded[0] ** 2)
    assert recorded[-1].shape[0] > 0
    for a, b in zip(plain[:-1], recorded[:-1], strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with tf.GradientTape() as tape2:
        tape2.watch(k)
        ref = rnn.LSTMSequence("tanh", "sigmoid", False, False, False, True, False).reference(x, h, h, k, r)
        loss_ref = tf.reduce_sum(ref[0] ** 2)
    np.testing.assert_allclose(tape.gradient(loss, k).numpy(), tape2.gradient(loss_ref, k).numpy(), rtol=1e-10)


@pytest.mark.parametrize("kind", ["simple", "lstm", "gru"])
def test_gradient_inputs_are_not_written(kind: str) -> None:
    """With one row (or one unit) a final state's gradient transposed is a view of the caller's
    array: the backward pass works on its own copy, so a traced step that feeds it the same
    zeros constant on every call gives the same gradients on every call."""
    fn, shapes = _op(kind, None)
    rng = np.random.default_rng(3)
    shapes = [(1,) + s[1:] if i < (3 if kind == "lstm" else 2) else s for i, s in enumerate(shapes)]
    values = [tf.constant(rng.standard_normal(s).astype(np.float32)) for s in shapes]
    weights = [tf.Variable(v) for v in values[-3:]]

    @tf.function
    def grads():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(fn(*values[:-3], *weights)[0])
        return tape.gradient(loss, weights)

    first = [g.numpy() for g in grads()]
    for _ in range(2):
        for a, b in zip(first, grads(), strict=True):
            np.testing.assert_array_equal(a, b.numpy())
