"""Batch normalization: tf.nn.batch_normalization (composed) and a fused training-mode primitive.

`FusedBatchNorm` normalizes with the batch's own statistics and returns them, in one forward
pass over the data and one over the gradient (the closed-form backward), instead of the ~10
elementwise ops and reductions of the composition. Its backward is written twice: with arrays
(the fast path) and with Tensor ops when a tape records the backward pass (higher orders).
"""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function, formula_vjp
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.ops.conv import float_operand
from tapeflow.ops.creation import ones, zeros
from tapeflow.tensor import Tensor
from tapeflow.tracing.func_graph import lifted_on_unknown_shapes

get_xp = backend.get_xp


def batch_normalization(x: Any, mean: Any, variance: Any, offset: Any, scale: Any,
                        variance_epsilon: float, name: Any = None) -> Tensor:
    """(x - mean) * scale / sqrt(variance + variance_epsilon) + offset, broadcasting.

    Args:
        x: input tensor of any shape.
        mean, variance: tensors broadcastable to x (e.g. per-channel statistics).
        offset: beta, broadcastable to x, or None.
        scale: gamma, broadcastable to x, or None.
        variance_epsilon: small float added to the variance.

    Returns:
        The normalized tensor, shaped like x.

    Example:
        >>> mean, var = tf.nn.moments(x, axes=[0, 1, 2])
        >>> y = tf.nn.batch_normalization(x, mean, var, beta, gamma, 1e-3)
    """
    x = float_operand(x, "BatchNormalization")
    like = _operand(mean, x)
    inv = ew.rsqrt(ew.add(_operand(variance, x), variance_epsilon))
    if scale is not None:
        inv = ew.multiply(inv, _operand(scale, x))
    shift = ew.negative(ew.multiply(like, inv))
    if offset is not None:
        shift = ew.add(shift, _operand(offset, x))
    return ew.add(ew.multiply(x, inv), shift)


def _operand(v: Any, like: Tensor) -> Tensor:
    if isinstance(v, Tensor):
        if v.dtype != like.dtype:
            raise TypeError(f"BatchNormalization: expected {like.dtype.name} statistics and "
                            f"parameters like the input, received {v.dtype.name}.")
        return v
    return float_operand(v, "BatchNormalization", like=like)


_ones_cache: dict = {}


def _ones(xp: Any, n: int, dtype: Any) -> Any:
    """A cached ones vector (sums over rows as a matrix-vector product)."""
    key = (xp.__name__, n, str(dtype))
    v = _ones_cache.get(key)
    if v is None:
        if len(_ones_cache) > 32:
            _ones_cache.clear()
        v = _ones_cache[key] = xp.ones(n, dtype=dtype)
    return v


class FusedBatchNorm(Function):
    """Training-mode batch norm: x, scale, offset -> (y, batch mean, biased batch variance).

    Statistics are over every axis but `axis`; scale, offset, mean and variance have shape (C,).
    """

    n_outputs = 3

    def __init__(self, axis: int, epsilon: float) -> None:
        self.axis = axis
        self.epsilon = epsilon

    def _layout(self, x: Any) -> tuple:
        ax = self.axis % x.ndim
        axes = tuple(i for i in range(x.ndim) if i != ax)
        shape = [1] * x.ndim
        shape[ax] = x.shape[ax]
        return ax, axes, tuple(shape)

    def forward(self, x: Any, scale: Any, offset: Any) -> Any:
        xp = get_xp(x)
        ax, axes, bshape = self._layout(x)
        if ax == x.ndim - 1:
            # NOTE: channels-last sums as BLAS products with a ones vector: 5x faster than
            # .mean(axis=0) and blocked, so float32 rounding stays ~1e-6 for large batches.
            C = x.shape[-1]
            M = x.size // C
            x2 = x.reshape(M, C)
            mean = _ones(xp, M, x.dtype) @ x2
            mean /= M
            xc = x - mean
            xc2 = xc.reshape(M, C)
            var = xp.einsum("ij,ij->j", xc2, xc2)
            var /= M
        else:
            mean = x.mean(axis=axes, keepdims=True).reshape(-1)
            xc = x - mean.reshape(bshape)
            var = xp.square(xc).mean(axis=axes)
        inv = 1.0 / xp.sqrt(var + x.dtype.type(self.epsilon))
        a = (inv * scale).reshape(bshape)
        y = xc * a
        y += offset.reshape(bshape)
        return y, mean, var

    def backward(self, dy: Tensor, dmean: Tensor, dvar: Tensor) -> tuple:
        x, scale, _ = self.inputs
        _, mean, var = self.outputs
        dx, dscale, doffset = FusedBatchNormGrad(self.axis, self.epsilon)(x, scale, mean, var, dy, dmean, dvar)
        nx, nscale, noffset = self.needs_input_grad
        return dx if nx else None, dscale if nscale else None, doffset if noffset else None


class FusedBatchNormGrad(Function):
    """The gradient of `FusedBatchNorm` (TF's FusedBatchNormGrad): from x, scale, the batch
    mean and variance and the output gradients (dy, dmean, dvar) -> (dx, dscale, doffset).

    A primitive, so batch norm's backward is one op on arrays in a first-order walk or a trace;
    its own gradient differentiates the same formula written with Tensor ops (`grad_formula`).
    """

    n_outputs = 3

    def __init__(self, axis: int, epsilon: float) -> None:
        self.axis = axis
        self.epsilon = epsilon

    def forward(self, x: Any, scale: Any, mean: Any, var: Any, g: Any, dmean: Any, dvar: Any) -> Any:
        xp = get_xp(g)
        ax, axes, bshape = FusedBatchNorm._layout(self, g)
        C = g.shape[ax]
        M = g.size // C
        inv = 1.0 / xp.sqrt(var + x.dtype.type(self.epsilon))
        xc = x - mean.reshape(bshape)
        if ax == g.ndim - 1:
            g2, xc2 = g.reshape(-1, C), xc.reshape(-1, C)
            sum_dy = _ones(xp, M, g.dtype) @ g2
            sum_dy_xc = xp.einsum("ij,ij->j", g2, xc2)
        else:
            sum_dy = g.sum(axis=axes)
            sum_dy_xc = (g * xc).sum(axis=axes)
        dscale = (sum_dy_xc * inv).astype(g.dtype, copy=False)
        a = scale * inv
        # dx = a * (dy - mean(dy) - xc * inv^2 * mean(dy * xc)) + dmean / M + 2 dvar xc / M
        b = -a * inv * inv * sum_dy_xc / M + 2.0 * dvar / M
        c = -a * sum_dy / M + dmean / M
        dx = g * a.reshape(bshape)
        xc *= b.reshape(bshape)
        dx += xc
        dx += c.reshape(bshape)
        return dx, dscale, sum_dy

    def backward(self, ddx: Tensor, ddscale: Tensor, ddoffset: Tensor) -> tuple:
        return formula_vjp(self, self.grad_formula, [ddx, ddscale, ddoffset])

    def grad_formula(self, x: Tensor, scale: Tensor, mean: Tensor, var: Tensor, dy: Tensor, dmean: Tensor,
                     dvar: Tensor) -> tuple:
        """`forward`'s formula with Tensor ops (differentiable again)."""
        n = len(x.shape)
        ax = self.axis % n
        axes = [i for i in range(n) if i != ax]
        bshape = [1] * n
        bshape[ax] = -1
        M = ew.cast(ew.divide(mv.size(x), mv.size(mean)), x.dtype)

        def b(t: Tensor) -> Tensor:
            return t if ax == n - 1 else mv.reshape(t, bshape)

        inv = ew.rsqrt(ew.add(var, self.epsilon))
        xc = ew.subtract(x, b(mean))
        xhat = ew.multiply(xc, b(inv))
        sum_dy = rd.reduce_sum(dy, axes)
        sum_dy_xhat = rd.reduce_sum(ew.multiply(dy, xhat), axes)
        inner = ew.subtract(ew.subtract(ew.multiply(dy, M), b(sum_dy)), ew.multiply(xhat, b(sum_dy_xhat)))
        dx = ew.multiply(inner, b(ew.divide(ew.multiply(scale, inv), M)))
        dx = ew.add(dx, b(ew.divide(dmean, M)))
        dx = ew.add(dx, ew.multiply(xc, b(ew.divide(ew.multiply(dvar, 2.0), M))))
        return dx, sum_dy_xhat, sum_dy


def batch_norm_training(x: Any, scale: Any = None, offset: Any = None, axis: int = -1,
                        epsilon: float = 1e-3) -> tuple:
    """Normalize `x` with its own batch statistics over every axis but `axis` (fused).

    Args:
        x: input, e.g. (N, H, W, C) with axis=-1.
        scale: gamma of shape (C,), or None for 1.
        offset: beta of shape (C,), or None for 0.
        axis: the channel axis whose entries keep separate statistics.
        epsilon: added to the variance.

    Returns:
        (y, mean, variance): the normalized tensor and the batch mean and biased variance (C,),
        all differentiable (a BatchNormalization layer's training step).
    """
    x = float_operand(x, "FusedBatchNorm")
    n = len(x.shape)
    ax = int(axis) % n if n else 0
    C = x.shape[ax]
    if scale is None:
        scale = ones((C,), dtype=x.dtype)
    if offset is None:
        offset = zeros((C,), dtype=x.dtype)
    scale = _operand(scale, x)
    offset = _operand(offset, x)
    for what, t in (("scale", scale), ("offset", offset)):
        if tuple(t.shape) != (C,):
            raise ValueError(f"FusedBatchNorm: {what} must have shape ({C},) (the size of axis "
                             f"{axis} of input shape {tuple(x.shape)}), received {tuple(t.shape)}.")
    return FusedBatchNorm(ax, float(epsilon))(x, scale, offset)


@lifted_on_unknown_shapes
def fused_batch_norm(x: Any, scale: Any, offset: Any, mean: Any = None, variance: Any = None,
                     epsilon: float = 0.001, data_format: str = "NHWC", is_training: bool = True,
                     name: Any = None, exponential_avg_factor: float = 1.0) -> tuple:
    """Batch normalization of a 4-D (or 5-D) tensor, as `tf.compat.v1.nn.fused_batch_norm`.

    Args:
        x: (N, H, W, C) ("NHWC") or (N, C, H, W) ("NCHW").
        scale, offset: (C,).
        mean, variance: running statistics (C,); required for inference, and mixed into the
            returned statistics when exponential_avg_factor != 1 in training.
        epsilon: added to the variance.
        is_training: normalize with the batch statistics (True) or with mean/variance.

    Returns:
        (y, mean, variance). In training the variance returned is the unbiased (Bessel-corrected)
        batch variance, as TF returns it for running averages.
    """
    x = float_operand(x, "FusedBatchNorm")
    axis = 1 if str(data_format).upper().startswith("NC") else -1
    if not is_training:
        if mean is None or variance is None:
            raise ValueError("FusedBatchNorm: mean and variance are required when is_training=False.")
        shape = [1] * len(x.shape)
        shape[axis] = -1
        m = mv.reshape(_operand(mean, x), shape)
        v = mv.reshape(_operand(variance, x), shape)
        s = mv.reshape(_operand(scale, x), shape)
        o = mv.reshape(_operand(offset, x), shape)
        y = batch_normalization(x, m, v, o, s, epsilon)
        return y, _operand(mean, x), _operand(variance, x)
    y, bmean, bvar = batch_norm_training(x, scale, offset, axis, epsilon)
    n = 1
    for i, d in enumerate(x.shape):
        if i != axis % len(x.shape):
            n *= d
    bvar = ew.multiply(bvar, n / max(n - 1, 1))
    f = float(exponential_avg_factor)
    if f != 1.0:
        bmean = ew.add(ew.multiply(_operand(mean, x), 1.0 - f), ew.multiply(bmean, f))
        bvar = ew.add(ew.multiply(_operand(variance, x), 1.0 - f), ew.multiply(bvar, f))
    return y, bmean, bvar


__all__ = ["batch_normalization", "fused_batch_norm", "batch_norm_training"]
