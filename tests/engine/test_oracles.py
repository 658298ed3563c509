"""Oracle tests: forward values and gradients on random inputs against TensorFlow and PyTorch.

The TensorFlow cases run the *same* function with `m = tapeflow` and `m = tensorflow`, since the
APIs match; the PyTorch cases give the equivalent torch expression. Each oracle skips cleanly
when it is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow

pytestmark = pytest.mark.oracle

LAB = np.array([2, 0, 1, 3])


def _inputs(shapes, domain, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for s in shapes:
        if domain == "positive":
            out.append(rng.uniform(0.5, 2.0, s))
        elif domain == "prob":
            out.append(rng.dirichlet(np.ones(s[-1]), s[:-1]))
        else:
            out.append(rng.standard_normal(s))
    return out


# (name, fn(m, *xs), shapes, domain)
TF_CASES = [
    ("add_broadcast", lambda m, a, b: m.add(a, b) * a, [(3, 1, 4), (2, 4)], "normal"),
    ("divide", lambda m, a, b: a / b, [(2, 3), (3,)], "positive"),
    ("pow", lambda m, a, b: m.pow(a, b), [(2, 3), (2, 3)], "positive"),
    ("exp_log_sqrt", lambda m, a: m.exp(a) + m.math.log(a) + m.sqrt(a) + m.math.rsqrt(a), [(3, 4)],
     "positive"),
    ("trig", lambda m, a: m.sin(a) * m.cos(a) + m.tanh(a) + m.sigmoid(a) + m.math.erf(a), [(3, 4)], "normal"),
    ("log1p_expm1", lambda m, a: m.math.log1p(a) * m.math.expm1(a), [(5,)], "positive"),
    ("max_min_clip", lambda m, a, b: m.maximum(a, b) - m.minimum(a, b) + m.clip_by_value(a, -0.3, 0.4),
     [(4, 3), (4, 3)], "normal"),
    ("reduce_sum_mean", lambda m, a: m.reduce_sum(a, axis=1) * m.reduce_mean(a, axis=1), [(3, 4)], "normal"),
    ("reduce_keepdims", lambda m, a: a - m.reduce_max(a, axis=[0, 2], keepdims=True), [(2, 3, 4)], "normal"),
    ("reduce_prod_logsumexp", lambda m, a: m.reduce_prod(a, 0) + m.reduce_logsumexp(a, 1), [(4, 4)],
     "positive"),
    ("reduce_std_var", lambda m, a: m.math.reduce_std(a, 0) + m.math.reduce_variance(a, 0), [(5, 3)],
     "normal"),
    ("cumsum", lambda m, a: m.cumsum(a, axis=1, exclusive=True, reverse=True) * a, [(3, 4)], "normal"),
    ("norm", lambda m, a: m.norm(a, axis=1), [(3, 4)], "normal"),
    ("reshape_transpose", lambda m, a: m.transpose(m.reshape(a, (4, 6)), [1, 0]) ** 2, [(2, 3, 4)], "normal"),
    ("getitem", lambda m, a: a[::-1, 1:, None, 2] * a[0, 0, 0], [(2, 3, 4)], "normal"),
    ("gather_batch_dims", lambda m, a: m.gather(a, [[0, 2, 2], [1, 0, 1]], axis=1, batch_dims=1) ** 2,
     [(2, 3, 4)], "normal"),
    ("gather_nd", lambda m, a: m.gather_nd(a, [[0, 1], [2, 3], [0, 1]]) ** 2, [(3, 4)], "normal"),
    ("boolean_mask", lambda m, a: m.boolean_mask(a, [True, False, True]) ** 2, [(3, 4)], "normal"),
    ("pad_reflect", lambda m, a: m.pad(a, [[1, 2], [2, 1]], mode="REFLECT") ** 2, [(3, 4)], "normal"),
    ("pad_symmetric", lambda m, a: m.pad(a, [[2, 1], [0, 3]], mode="SYMMETRIC") ** 2, [(3, 4)], "normal"),
    ("tile_concat_stack", lambda m, a, b: m.stack([m.concat([m.tile(a, [1, 2]), b], 0)] * 2, axis=1) ** 2,
     [(2, 2), (1, 4)], "normal"),
    ("split_unstack", lambda m, a: m.split(a, [1, 3], axis=1)[1] * m.unstack(a)[0][0], [(3, 4)], "normal"),
    ("sort_top_k", lambda m, a: m.sort(a, direction="DESCENDING")[:, :2] + m.math.top_k(a, 2).values ** 2,
     [(3, 5)], "normal"),
    ("matmul_batched_transposed", lambda m, a, b: m.matmul(a, b, transpose_a=True, transpose_b=True),
     [(2, 4, 3), (2, 5, 4)], "normal"),
    ("tensordot", lambda m, a, b: m.tensordot(a, b, axes=[[0, 2], [2, 0]]), [(2, 3, 4), (4, 5, 2)], "normal"),
    ("einsum", lambda m, a, b: m.einsum("bij,bjk->bik", a, b), [(2, 2, 3), (2, 3, 4)], "normal"),
    ("matvec_inv", lambda m, a, b: m.linalg.matvec(m.linalg.inv(a + 3.0 * m.eye(3, dtype=m.float64)), b),
     [(3, 3), (3,)], "normal"),
    ("activations", lambda m, a: (m.nn.relu(a) + m.nn.relu6(a * 4) + m.nn.leaky_relu(a) + m.nn.elu(a)
                                  + m.nn.selu(a) + m.nn.softplus(a) + m.nn.softsign(a) + m.nn.silu(a)),
     [(3, 4)], "normal"),
    ("gelu", lambda m, a: m.nn.gelu(a) + m.nn.gelu(a, approximate=True), [(3, 4)], "normal"),
    ("softmax_log_softmax", lambda m, a: m.nn.softmax(a, axis=0) * m.nn.log_softmax(a), [(3, 4)], "normal"),
    ("sigmoid_ce", lambda m, y, z: m.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=z),
     [(3, 4), (3, 4)], "prob"),
    ("softmax_ce", lambda m, y, z: m.nn.softmax_cross_entropy_with_logits(labels=y, logits=z),
     [(4, 3), (4, 3)], "prob"),
    ("sparse_softmax_ce", lambda m, z: m.nn.sparse_softmax_cross_entropy_with_logits(labels=LAB, logits=z),
     [(4, 5)], "normal"),
    ("l2_loss_normalize", lambda m, a: m.nn.l2_loss(a) * m.math.l2_normalize(a, axis=1), [(3, 4)], "normal"),
    ("moments_bias_add", lambda m, a, b: m.nn.bias_add(a, b) * m.nn.moments(a, axes=[0])[1],
     [(4, 3), (3,)], "normal"),
]


def _run_tf_like(m, fn, arrays):
    xs = [m.constant(a) for a in arrays]
    with m.GradientTape() as tape:
        for x in xs:
            tape.watch(x)
        y = fn(m, *xs)
        w = m.constant(np.random.default_rng(9).standard_normal(tuple(y.shape)))
        loss = m.reduce_sum(y * w)
    grads = tape.gradient(loss, xs)
    return y.numpy(), [None if g is None else g.numpy() for g in grads]


@pytest.mark.parametrize("name,fn,shapes,domain", TF_CASES, ids=[c[0] for c in TF_CASES])
def test_against_tensorflow(name, fn, shapes, domain) -> None:
    tf_real = pytest.importorskip("tensorflow")
    arrays = _inputs(shapes, domain)
    if name in ("sigmoid_ce", "softmax_ce"):
        arrays[1] = np.random.default_rng(1).standard_normal(shapes[1])
    ours_y, ours_g = _run_tf_like(tapeflow, fn, arrays)
    ref_y, ref_g = _run_tf_like(tf_real, fn, arrays)
    np.testing.assert_allclose(ours_y, ref_y, rtol=1e-6, atol=1e-8, err_msg=f"{name}: forward")
    for i, (a, b) in enumerate(zip(ours_g, ref_g, strict=True)):
        assert (a is None) == (b is None), f"{name}: input {i} gradient None-ness differs"
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8, err_msg=f"{name}: gradient {i}")


def test_tape_semantics_against_tensorflow() -> None:
    tf_real = pytest.importorskip("tensorflow")
    results = []
    for m in (tapeflow, tf_real):
        a, b = m.Variable(1.5), m.Variable([2.0, -1.0])
        c = m.Variable(3.0, trainable=False)
        with m.GradientTape(persistent=True) as tape:
            y = a * m.reduce_sum(b * b) + c
            z = b * b * a
        g = tape.gradient(y, {"a": a, "bc": [b, c]})
        gz = tape.gradient(y, [c], unconnected_gradients="zero")
        j = tape.jacobian(z, b)
        names = [v.name for v in tape.watched_variables()]
        results.append((float(g["a"]), g["bc"][0].numpy(), g["bc"][1], float(gz[0]), j.numpy(), names,
                        str(g["a"]), repr(g["a"]), f"{g['a']:.3f}"))
    ours, ref = results
    assert ours[0] == ref[0] and ours[2] is None and ref[2] is None and ours[3] == ref[3] == 0.0
    np.testing.assert_array_equal(ours[1], ref[1])
    np.testing.assert_array_equal(ours[4], ref[4])
    assert len(ours[5]) == len(ref[5]) == 2
    assert ours[6:] == ref[6:]


# ---------------------------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------------------------

# (name, tapeflow fn, torch fn (torch module first), shapes, domain)
tfw = tapeflow
TORCH_CASES = [
    ("mul_broadcast", lambda a, b: a * b + a, lambda t, a, b: a * b + a, [(3, 1, 4), (2, 4)], "normal"),
    ("div_pow", lambda a, b: a / b + a ** b, lambda t, a, b: a / b + a ** b, [(2, 3), (2, 3)], "positive"),
    ("unary_chain", lambda a: tfw.tanh(tfw.exp(-a * a)) * tfw.sigmoid(a),
     lambda t, a: t.tanh(t.exp(-a * a)) * t.sigmoid(a), [(4, 5)], "normal"),
    ("matmul_batched", lambda a, b: tfw.matmul(a, b), lambda t, a, b: a @ b, [(2, 3, 4), (4, 5)], "normal"),
    ("softmax", lambda a: tfw.nn.softmax(a), lambda t, a: a.softmax(-1), [(3, 6)], "normal"),
    ("log_softmax_axis0", lambda a: tfw.nn.log_softmax(a, axis=0), lambda t, a: a.log_softmax(0), [(3, 6)],
     "normal"),
    ("sparse_ce", lambda z: tfw.nn.sparse_softmax_cross_entropy_with_logits(LAB, z),
     lambda t, z: t.nn.functional.cross_entropy(z, t.tensor(LAB), reduction="none"), [(4, 5)], "normal"),
    ("reductions", lambda a: tfw.reduce_max(a, 1) + tfw.reduce_mean(a, 0)[:3] + tfw.reduce_logsumexp(a, 1),
     lambda t, a: a.amax(1) + a.mean(0)[:3] + a.logsumexp(1), [(3, 4)], "normal"),
    ("gelu_elu_softplus", lambda a: tfw.nn.gelu(a) + tfw.nn.elu(a) + tfw.nn.softplus(a),
     lambda t, a: t.nn.functional.gelu(a) + t.nn.functional.elu(a) + t.nn.functional.softplus(a), [(3, 4)],
     "normal"),
    ("indexing", lambda a: a[1:, ::-1][:, [0, 2, 2]], lambda t, a: a[1:].flip(1)[:, [0, 2, 2]], [(3, 4)],
     "normal"),
    ("inv", lambda a: tfw.linalg.inv(a + 3.0 * tfw.eye(3, dtype=tfw.float64)),
     lambda t, a: t.linalg.inv(a + 3.0 * t.eye(3, dtype=a.dtype)), [(3, 3)], "normal"),
]


@pytest.mark.parametrize("name,ours,theirs,shapes,domain", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_against_torch(name, ours, theirs, shapes, domain) -> None:
    torch = pytest.importorskip("torch")
    arrays = _inputs(shapes, domain)
    xs = [tapeflow.constant(a) for a in arrays]
    with tapeflow.GradientTape() as tape:
        tape.watch(xs)
        y = ours(*xs)
        w = np.random.default_rng(9).standard_normal(tuple(y.shape))
        loss = tapeflow.reduce_sum(y * w)
    grads = tape.gradient(loss, xs)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ty = theirs(torch, *ts)
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-6, atol=1e-8, err_msg=name)
    for g, t in zip(grads, ts, strict=True):
        np.testing.assert_allclose(g.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-8, err_msg=f"{name}: grad")


def test_second_order_against_torch() -> None:
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(3).standard_normal((3, 4))
    v = np.random.default_rng(4).standard_normal((3, 4))
    x = tapeflow.constant(a)
    with tapeflow.GradientTape() as outer:
        outer.watch(x)
        with tapeflow.GradientTape() as inner:
            inner.watch(x)
            y = tapeflow.reduce_sum(tapeflow.nn.softmax(x) * tapeflow.tanh(x))
        g = inner.gradient(y, x)
        gv = tapeflow.reduce_sum(g * v)
    hvp = outer.gradient(gv, x).numpy()
    tx = torch.tensor(a, requires_grad=True)
    ty = (tx.softmax(-1) * tx.tanh()).sum()
    (tg,) = torch.autograd.grad(ty, tx, create_graph=True)
    (thvp,) = torch.autograd.grad((tg * torch.tensor(v)).sum(), tx)
    np.testing.assert_allclose(hvp, thvp.numpy(), rtol=1e-8, atol=1e-10)
