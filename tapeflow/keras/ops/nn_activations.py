"""`keras.ops.nn` activations: relu, gelu, silu, softmax, the hard/shrink family, sparsemax.

Integer inputs compute in `floatx()`; the formulas are Keras 3's (`keras.activations` shares them).
"""

from __future__ import annotations

from typing import Any

from tapeflow import nn as tfnn
from tapeflow.keras import activations as act
from tapeflow.keras.ops.arguments import constant_like, one_axis, to_float, to_tensor
from tapeflow.ops import elementwise as ew
from tapeflow.ops import extra_array
from tapeflow.ops import movement as mv
from tapeflow.ops import nn as nnops
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor
from tapeflow.tracing.func_graph import lifted_on_unknown_shapes


def relu(x: Any) -> Tensor:
    """max(x, 0) (integer inputs keep their dtype, as in Keras)."""
    return ew.relu(to_tensor(x))


def relu6(x: Any) -> Tensor:
    """min(max(x, 0), 6) (integer inputs keep their dtype, as in Keras)."""
    x = to_tensor(x)
    return ew.clip_by_value(x, 0, 6) if not x.dtype.is_floating else tfnn.relu6(x)


def sigmoid(x: Any) -> Tensor:
    """1 / (1 + exp(-x))."""
    return act.sigmoid(to_float(x))


def sparse_sigmoid(x: Any) -> Tensor:
    """0 for x <= -1, 1 for x >= 1, (x + 1) / 2 in between."""
    return ew.clip_by_value(ew.multiply(ew.add(to_float(x), 1.0), 0.5), 0.0, 1.0)


def softplus(x: Any) -> Tensor:
    """log(1 + exp(x)), computed without overflow."""
    return tfnn.softplus(to_float(x))


def softsign(x: Any) -> Tensor:
    """x / (1 + |x|)."""
    return tfnn.softsign(to_float(x))


def silu(x: Any) -> Tensor:
    """x * sigmoid(x)."""
    return tfnn.silu(to_float(x))


swish = silu


def log_sigmoid(x: Any) -> Tensor:
    """log(sigmoid(x)), computed stably."""
    return tfnn.log_sigmoid(to_float(x))


def leaky_relu(x: Any, negative_slope: float = 0.2) -> Tensor:
    """x for x > 0, negative_slope * x otherwise."""
    return tfnn.leaky_relu(to_float(x), alpha=negative_slope)


def hard_sigmoid(x: Any) -> Tensor:
    """relu6(x + 3) / 6."""
    return act.hard_sigmoid(to_float(x))


def hard_silu(x: Any) -> Tensor:
    """x * hard_sigmoid(x)."""
    return act.hard_silu(to_float(x))


hard_swish = hard_silu


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return act.elu(to_float(x), alpha)


def selu(x: Any) -> Tensor:
    """Scaled ELU with the self-normalizing constants."""
    return tfnn.selu(to_float(x))


def gelu(x: Any, approximate: bool = True) -> Tensor:
    """x * Phi(x); `approximate` (the default, as in keras.ops) uses the tanh formula."""
    return tfnn.gelu(to_float(x), approximate=approximate)


def celu(x: Any, alpha: float = 1.0) -> Tensor:
    """max(x, 0) + alpha * expm1(min(x, 0) / alpha)."""
    return act.celu(to_float(x), alpha)


def glu(x: Any, axis: int = -1) -> Tensor:
    """a * sigmoid(b) for the two halves a, b of `x` along `axis`."""
    return act.glu(to_float(x), axis)


def hard_tanh(x: Any) -> Tensor:
    """clip(x, -1, 1)."""
    return act.hard_tanh(to_float(x))


def hard_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    """x where |x| > threshold, 0 elsewhere."""
    return act.hard_shrink(to_float(x), threshold)


def soft_shrink(x: Any, threshold: float = 0.5) -> Tensor:
    """x -+ threshold outside [-threshold, threshold], 0 inside."""
    return act.soft_shrink(to_float(x), threshold)


def tanh_shrink(x: Any) -> Tensor:
    """x - tanh(x)."""
    return act.tanh_shrink(to_float(x))


def squareplus(x: Any, b: float = 4) -> Tensor:
    """(x + sqrt(x^2 + b)) / 2."""
    return act.squareplus(to_float(x), b)


def sparse_plus(x: Any) -> Tensor:
    """0 for x <= -1, x for x >= 1, (x + 1)^2 / 4 in between."""
    return act.sparse_plus(to_float(x))


def threshold(x: Any, threshold: float, default_value: float) -> Tensor:
    """x where x > threshold, else `default_value`."""
    x = to_float(x)
    return ew.where(ew.greater(x, constant_like(threshold, x)), x, constant_like(default_value, x))


def softmax(x: Any, axis: Any = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along `axis` (a tuple of axes, or None for all)."""
    x = to_float(x)
    if axis is None or isinstance(axis, (tuple, list)):
        return _multi_axis(x, axis, nnops.softmax)
    return act.softmax(x, one_axis(axis, x.ndim, "softmax"))


def log_softmax(x: Any, axis: Any = -1) -> Tensor:
    """x - logsumexp(x) along `axis` (a tuple of axes, or None for all)."""
    x = to_float(x)
    if axis is None or isinstance(axis, (tuple, list)):
        return _multi_axis(x, axis, nnops.log_softmax)
    return nnops.log_softmax(x, one_axis(axis, x.ndim, "log_softmax"))


def _multi_axis(x: Tensor, axis: Any, fn: Any) -> Tensor:
    axes = list(range(x.ndim)) if axis is None else [one_axis(a, x.ndim, "softmax") for a in axis]
    rest = [i for i in range(x.ndim) if i not in axes]
    y = mv.transpose(x, rest + axes)
    moved = list(y.shape)
    y = fn(mv.reshape(y, [moved[i] for i in range(len(rest))] + [-1]), -1)
    y = mv.reshape(y, moved)
    inv = [0] * x.ndim
    for i, p in enumerate(rest + axes):
        inv[p] = i
    return mv.transpose(y, inv)


@lifted_on_unknown_shapes
def sparsemax(x: Any, axis: int = -1) -> Tensor:
    """The Euclidean projection of `x` onto the probability simplex along `axis` (Martins & Astudillo)."""
    x = to_float(x)
    ax = one_axis(axis, x.ndim, "sparsemax")
    z = mv.transpose(x, [i for i in range(x.ndim) if i != ax] + [ax])
    n = z.shape[-1]
    from tapeflow.keras.ops.numpy_sort import sort

    srt = mv.reverse(sort(z, -1), [-1])
    k = constant_like([float(i + 1) for i in range(n)], z)
    cum = rd.cumsum(srt, -1)
    support = ew.greater(ew.add(ew.multiply(k, srt), 1.0), cum)
    k_z = rd.reduce_sum(ew.cast(support, z.dtype), -1, True)
    # NOTE: tau = (sum of the support - 1) / |support|; only the support's cumsum is read.
    idx = ew.cast(ew.subtract(k_z, 1.0), "int64")
    from tapeflow.keras.ops.numpy_index import take_along_axis

    tau = ew.divide(ew.subtract(take_along_axis(cum, idx, -1), 1.0), k_z)
    out = ew.maximum(ew.subtract(z, tau), extra_array.fill_like(z, 0))
    perm = list(range(x.ndim - 1))
    perm.insert(ax, x.ndim - 1)
    return mv.transpose(out, perm)
