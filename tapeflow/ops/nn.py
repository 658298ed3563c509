"""Fused neural-network primitives: softmax, log-softmax and softmax cross-entropy.

Fused because each is both faster (one pass, one-op backward) and numerically safer
(log-sum-exp with the max subtracted) than its composition.
"""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function, formula_vjp
from tapeflow.autodiff.unbroadcast import row_sum
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor
from tapeflow.tracing.func_graph import lifted_on_unknown_shapes

get_xp = backend.get_xp


def _row_max(x: Any, axis: int) -> Any:
    """x.max(axis, keepdims=True).

    NOTE: NumPy's max over a short last axis costs ~50 ns per row (128 rows of 10 logits:
    7 us); argmax plus one gather is 2-3x faster from a few dozen rows on, NaN-propagating
    alike (argmax picks the first NaN). On a GPU the plain max is one kernel, the gather three.
    """
    xp = get_xp(x)
    if x.ndim == 2 and axis == 1 and x.shape[0] >= 32 and x.shape[1] and xp is backend.host:
        return x[xp.arange(x.shape[0]), x.argmax(axis=1)][:, None]
    return x.max(axis=axis, keepdims=True)


# Largest spread of a 2-D array's values for which one shift serves every row (see `_shift`):
# log-softmax values stay exact up to a spread of ~80 (each row's sum of exps stays a normal
# float32); softmax probabilities below exp(spread - 87) relative to their row's largest would
# become subnormal or zero, so softmax takes the smaller bound (only p < 4e-21 is affected).
_LOG_SOFTMAX_SPREAD = 60.0
_SOFTMAX_SPREAD = 40.0


def _shift(x: Any, axis: int, spread: float) -> Any:
    """What softmax subtracts before exp: the row maxima, or for a 2-D array over its last axis
    whose values span at most `spread`, the overall maximum.

    NOTE: softmax is invariant to a per-row shift; one shift for all rows gives the same values
    to rounding while exp neither overflows nor loses a row. Two whole-array reductions cost less
    than one reduction per short row (128 x 10: 6 us -> 2 us). NaN and inf fail the spread test
    and take the row maxima.
    """
    if (x.ndim == 2 and axis % 2 == 1 and x.size and x.dtype.kind == "f" and x.dtype.itemsize >= 4
            and get_xp(x) is backend.host):  # on a GPU the test would wait for the device
        hi = x.max()
        if hi - x.min() <= spread:
            return hi
    return _row_max(x, axis)


def _sum_keepdims(x: Any, axis: int) -> Any:
    """x.sum(axis, keepdims=True); over the last axis of a 2-D array as a GEMV (`row_sum`)."""
    return row_sum(x) if x.ndim == 2 and axis % 2 == 1 else x.sum(axis=axis, keepdims=True)


def _softmax_array(x: Any, axis: int) -> Any:
    xp = get_xp(x)
    e = x - _shift(x, axis, _SOFTMAX_SPREAD)
    if e.ndim:
        xp.exp(e, out=e)
        e /= _sum_keepdims(e, axis)
        return e
    return xp.exp(e) / xp.exp(e)


def _log_softmax_array(x: Any, axis: int) -> Any:
    xp = get_xp(x)
    z = x - _shift(x, axis, _LOG_SOFTMAX_SPREAD)
    z -= xp.log(_sum_keepdims(xp.exp(z), axis))
    return z


class Softmax(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x: Any) -> Any:
        return _softmax_array(x, self.axis)

    def backward(self, dy: Tensor) -> tuple:
        return (SoftmaxGrad(self.axis)(dy, self.outputs[0]),)


class SoftmaxGrad(Function):
    """The backward of softmax, y * (dy - sum(dy * y)), fused into one pass over the arrays."""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, dy: Any, y: Any) -> Any:
        out = dy * y
        s = _sum_keepdims(out, self.axis)
        out -= y * s
        return out

    def backward(self, dd: Tensor) -> tuple:
        dy, y = self.inputs
        n_dy, n_y = self.needs_input_grad
        # Linear in dy with the same (symmetric) Jacobian; in y:
        # d/dy_k = dd_k (dy_k - s) - dy_k * sum(dd * y), with s = sum(dy * y).
        g_dy = SoftmaxGrad(self.axis)(dd, y) if n_dy else None
        g_y = None
        if n_y:
            s = rd.reduce_sum(ew.multiply(dy, y), self.axis, keepdims=True)
            t = rd.reduce_sum(ew.multiply(dd, y), self.axis, keepdims=True)
            g_y = ew.subtract(ew.multiply(dd, ew.subtract(dy, s)), ew.multiply(dy, t))
        return g_dy, g_y


class LogSoftmax(Function):
    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x: Any) -> Any:
        return _log_softmax_array(x, self.axis)

    def backward(self, dy: Tensor) -> tuple:
        p = ew.exp(self.outputs[0])
        return (ew.subtract(dy, ew.multiply(p, rd.reduce_sum(dy, self.axis, keepdims=True))),)


def softmax(logits: Any, axis: int = -1, name: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along `axis`, computed stably."""
    x = ew._float_operand(logits, "Softmax")
    return Softmax(int(axis) % max(len(x.shape), 1))(x)


def log_softmax(logits: Any, axis: int = -1, name: Any = None) -> Tensor:
    """x - log(sum(exp(x))) along `axis`, computed stably."""
    x = ew._float_operand(logits, "LogSoftmax")
    return LogSoftmax(int(axis) % max(len(x.shape), 1))(x)


class SoftmaxCrossEntropy(Function):
    """Per-row -sum(labels * log_softmax(logits)) over the last axis."""

    def forward(self, labels: Any, logits: Any) -> Any:
        return -(labels * _log_softmax_array(logits, -1)).sum(axis=-1)

    def backward(self, dy: Tensor) -> tuple:
        labels, logits = self.inputs
        nl, nz = self.needs_input_grad
        dlogits = SoftmaxCrossEntropyGrad()(labels, logits, dy) if nz else None
        dlabels = ew.multiply(mv.expand_dims(dy, -1), ew.negative(log_softmax(logits))) if nl else None
        return dlabels, dlogits


class SoftmaxCrossEntropyGrad(Function):
    """The logits' gradient of `SoftmaxCrossEntropy`: dy[..., None] * (softmax(logits) *
    sum(labels) - labels) (sum(labels) is 1 for proper distributions: the usual softmax -
    labels). A primitive, so the loss's backward is one op on arrays in a first-order walk or a
    trace, and differentiable again under a recording tape."""

    def forward(self, labels: Any, logits: Any, dy: Any) -> Any:
        xp = get_xp(logits)
        g = xp.exp(_log_softmax_array(logits, -1))
        g *= labels.sum(axis=-1, keepdims=True)
        g -= labels
        g *= dy[..., None]
        return g

    def backward(self, dg: Tensor) -> tuple:
        labels, logits, dy = self.inputs
        need_labels, need_logits, need_dy = self.needs_input_grad
        probs = softmax(logits)
        dy_col = mv.expand_dims(dy, -1)
        dlabels = dlogits = ddy = None
        if need_logits:
            total = rd.reduce_sum(labels, -1, keepdims=True)
            u = ew.multiply(ew.multiply(dg, dy_col), total)
            dlogits = ew.multiply(probs, ew.subtract(u, rd.reduce_sum(ew.multiply(u, probs), -1, keepdims=True)))
        if need_labels:
            inner = rd.reduce_sum(ew.multiply(dg, probs), -1, keepdims=True)
            dlabels = ew.multiply(dy_col, ew.subtract(inner, dg))
        if need_dy:
            total = rd.reduce_sum(labels, -1, keepdims=True)
            ddy = rd.reduce_sum(ew.multiply(dg, ew.subtract(ew.multiply(probs, total), labels)), -1)
        return dlabels, dlogits, ddy


class SparseSoftmaxCrossEntropy(Function):
    """Per-row -log_softmax(logits)[label]; labels are integer class indices."""

    def forward(self, labels: Any, logits: Any) -> Any:
        xp = get_xp(logits)
        check_label_range(labels, logits.shape[-1], "SparseSoftmaxCrossEntropyWithLogits")
        ls = _log_softmax_array(logits, -1)
        if ls.ndim == 2:
            return -ls[xp.arange(ls.shape[0]), labels]
        picked = xp.take_along_axis(ls, labels[..., None].astype("int64"), axis=-1)[..., 0]
        return -picked

    def backward(self, dy: Tensor) -> tuple:
        labels, logits = self.inputs
        return None, SparseSoftmaxCrossEntropyGrad()(labels, logits, dy)


class SparseSoftmaxCrossEntropyGrad(Function):
    """The logits' gradient of `SparseSoftmaxCrossEntropy`: (softmax(logits) - onehot(labels)) *
    dy[..., None]. A primitive, so the loss's backward is one op on arrays in a first-order walk
    or a trace, and differentiable again under a recording tape."""

    def forward(self, labels: Any, logits: Any, dy: Any) -> Any:
        xp = get_xp(logits)
        g = xp.exp(_log_softmax_array(logits, -1))
        if g.ndim == 2 and xp is backend.host:
            g[xp.arange(g.shape[0]), labels] -= 1
        else:  # CuPy's fancy-index update costs ~10 kernel launches; a compare is one
            g -= labels[..., None] == xp.arange(g.shape[-1])
        g *= dy[..., None]
        return g

    def backward(self, dg: Tensor) -> tuple:
        labels, logits, dy = self.inputs
        _, need_logits, need_dy = self.needs_input_grad
        probs = softmax(logits)
        dlogits = ddy = None
        if need_logits:
            u = ew.multiply(dg, mv.expand_dims(dy, -1))
            dlogits = ew.multiply(probs, ew.subtract(u, rd.reduce_sum(ew.multiply(u, probs), -1, keepdims=True)))
        if need_dy:
            from tapeflow.ops.creation import one_hot

            onehot = one_hot(labels, logits.shape[-1], dtype=logits.dtype)
            ddy = rd.reduce_sum(ew.multiply(dg, ew.subtract(probs, onehot)), -1)
        return None, dlogits, ddy


@lifted_on_unknown_shapes
def softmax_cross_entropy_with_logits(labels: Any, logits: Any, axis: int = -1, name: Any = None) -> Tensor:
    """Cross-entropy between `labels` (a distribution per row) and softmax(`logits`).

    Shapes: labels and logits (..., classes) -> (...).
    """
    z = ew._float_operand(logits, "SoftmaxCrossEntropyWithLogits")
    y = ew.unary_operand(labels, "SoftmaxCrossEntropyWithLogits")
    if y.dtype != z.dtype:
        y = ew.cast(y, z.dtype)
    if tuple(y.shape) != tuple(z.shape):
        raise ValueError(
            "SoftmaxCrossEntropyWithLogits: labels and logits must have the same shape, received "
            f"{tuple(y.shape)} and {tuple(z.shape)}."
        )
    n = len(z.shape)
    if int(axis) % n != n - 1:
        perm = [i for i in range(n) if i != int(axis) % n] + [int(axis) % n]
        y, z = mv.transpose(y, perm), mv.transpose(z, perm)
    return SoftmaxCrossEntropy()(y, z)


@lifted_on_unknown_shapes
def sparse_softmax_cross_entropy_with_logits(labels: Any, logits: Any, name: Any = None) -> Tensor:
    """Cross-entropy with integer class `labels`: labels (...) and logits (..., classes) -> (...)."""
    z = ew._float_operand(logits, "SparseSoftmaxCrossEntropyWithLogits")
    y = ew.unary_operand(labels, "SparseSoftmaxCrossEntropyWithLogits")
    if y.dtype._np.kind not in "iu":
        raise TypeError(
            "SparseSoftmaxCrossEntropyWithLogits: labels must be integers, received dtype "
            f"{y.dtype.name}."
        )
    yv, zv = y._value, z._value
    yshape = yv.shape if yv is not None else tuple(y.shape)
    zshape = zv.shape if zv is not None else tuple(z.shape)
    if yshape != zshape[:-1]:
        raise ValueError(
            "SparseSoftmaxCrossEntropyWithLogits: labels shape must equal logits shape without the "
            f"last axis; received labels {tuple(yshape)} and logits {tuple(zshape)}."
        )
    return SparseSoftmaxCrossEntropy()(y, z)


def check_label_range(labels: Any, depth: int, op: str) -> None:
    """InvalidArgumentError (as TF's CPU kernel) for a class label outside [0, depth). Done in
    the kernels, so traced calls check too; on a GPU, as TF's GPU kernel, no check (no sync)."""
    if not labels.size or backend.get_xp(labels) is not backend.host:
        return
    # NOTE: one reduction checks both bounds: negative labels viewed as unsigned are huge.
    unsigned = labels.view(labels.dtype.str.replace("i", "u")) if labels.dtype.kind == "i" else labels
    if int(unsigned.max()) >= depth:
        lo, hi = int(labels.min()), int(labels.max())
        from tapeflow.errors import InvalidArgumentError

        bad = lo if lo < 0 else hi
        raise InvalidArgumentError(
            f"{op}: received a label value of {bad} which is outside the valid range of [0, {depth})."
        )


class SparseCrossEntropyFromProbs(Function):
    """Keras's sparse categorical cross-entropy of probabilities, rows of a 2-D array, in one op.

    Keras computes log(clip(p, eps, 1 - eps)) and feeds it to the sparse softmax cross-entropy;
    with c = clip(p) that is log(sum(c)) - log(c[label]) per row, which is what this computes.
    The gradient, c' (1 / sum(c) - onehot / c), is one pass instead of four ops' worth.
    """

    def __init__(self, eps: float) -> None:
        self.eps = eps

    def forward(self, labels: Any, p: Any) -> Any:
        xp = get_xp(p)
        check_label_range(labels, p.shape[-1], "SparseCategoricalCrossentropy")
        lo, hi = p.dtype.type(self.eps), p.dtype.type(1.0 - self.eps)
        c = xp.maximum(p, lo)
        xp.minimum(c, hi, out=c)
        return xp.log(row_sum(c)[:, 0]) - xp.log(c[xp.arange(p.shape[0]), labels])

    def backward(self, dy: Tensor) -> tuple:
        labels, p = self.inputs
        return None, SparseCrossEntropyFromProbsGrad(self.eps)(labels, p, dy)


class SparseCrossEntropyFromProbsGrad(Function):
    """The probabilities' gradient of `SparseCrossEntropyFromProbs`: with c = clip(p, eps,
    1 - eps), dy[:, None] * (1 / sum(c) - onehot(labels) / c) where the clip passes the gradient
    (TF's convention), zero elsewhere. A primitive; its own gradient differentiates `formula`."""

    def __init__(self, eps: float) -> None:
        self.eps = eps

    def forward(self, labels: Any, p: Any, dy: Any) -> Any:
        xp = get_xp(p)
        lo, hi = p.dtype.type(self.eps), p.dtype.type(1.0 - self.eps)
        c = xp.maximum(p, lo)
        xp.minimum(c, hi, out=c)
        rows = xp.arange(p.shape[0])
        g = xp.empty_like(p)
        g[...] = dy[:, None] / row_sum(c)
        g[rows, labels] -= dy / c[rows, labels]
        g *= (p >= lo) & (p <= hi)
        return g

    def backward(self, dg: Tensor) -> tuple:
        return formula_vjp(self, self.formula, [dg])

    def formula(self, labels: Tensor, p: Tensor, dy: Tensor) -> Tensor:
        from tapeflow.ops.creation import one_hot

        lo, hi = self.eps, 1.0 - self.eps
        c = ew.clip_by_value(p, lo, hi)
        s = rd.reduce_sum(c, -1, keepdims=True)
        onehot = one_hot(labels, p.shape[-1], dtype=p.dtype)
        active = ew.cast(ew.logical_and(ew.greater_equal(p, lo), ew.less_equal(p, hi)), p.dtype)
        inner = ew.subtract(ew.reciprocal(s), ew.divide(onehot, c))
        return ew.multiply(ew.multiply(mv.expand_dims(dy, -1), inner), active)


def sparse_crossentropy_from_probs(labels: Tensor, probs: Tensor, eps: float) -> Tensor:
    """Per-row sparse categorical cross-entropy of probabilities (labels (n,), probs (n, k)),
    as Keras computes it from probabilities (clipped to [eps, 1 - eps])."""
    return SparseCrossEntropyFromProbs(eps)(labels, probs)
