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
    key = (xp, n, dtype)
    v = _ones_cache.get(key)
    if v is None:
        if len(_ones_cache) > 32:
            _ones_cache.clear()
        v = _ones_cache[key] = xp.ones(n, dtype=dtype)
    return v


# Rows per block of the elementwise passes: a block of the data and its scratch stay in L2.
_BLOCK_BYTES = 1 << 18


def _row_blocks(xp: Any, M: int, C: int, itemsize: int) -> list:
    """Slices covering M rows, a cache-sized block each on the host (one block on a GPU)."""
    rows = M if xp is not backend.host else max(1, _BLOCK_BYTES // (C * itemsize) // 8 * 8)
    return [slice(i, min(M, i + rows)) for i in range(0, M, rows)]


def _widening(M: int, C: int) -> tuple:
    """(k, M / k): rows of k * C values (k a power of two dividing M, k * C <= 1024).

    NOTE: NumPy's loops over an (M, C) array with a broadcast (C,) vector run one short inner
    loop per row; viewing k rows as one and tiling the vector k times makes them ~1.3x faster.
    """
    k = 1
    while M % (2 * k) == 0 and 2 * k * C <= 1024:
        k *= 2
    return k, M // k


def _tile(xp: Any, v: Any, k: int) -> Any:
    return xp.tile(v, k) if k > 1 else v


def _fold(v: Any, k: int, C: int) -> Any:
    """Per-column sums of a wide row (k * C,) folded back to the C channels."""
    return v.reshape(k, C).sum(axis=0) if k > 1 else v


def _column_dots(xp: Any, a: Any, b: Any) -> Any:
    """sum_i a[i, j] * b[i, j] for (M, C) arrays: (C,).

    NOTE: einsum over rows split into blocks of 8 ("kij,kij->j") runs ~1.5x faster than the
    plain "ij,ij->j" here (a longer inner loop), with the same products and sums.
    """
    M, C = a.shape
    if M % 8 == 0 and M >= 64:
        return xp.einsum("kij,kij->j", a.reshape(-1, 8, C), b.reshape(-1, 8, C))
    return xp.einsum("ij,ij->j", a, b)


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
        # NOTE: two passes for the statistics as tf.nn.moments (the mean, then the centred
        # squares: no cancellation); the output is written into the centred copy in place, a
        # cache-sized block of rows at a time (the data leave and re-enter memory twice).
        if ax == x.ndim - 1:
            # channels-last sums as BLAS products with a ones vector: 5x faster than
            # .mean(axis=0) and blocked, so float32 rounding stays ~1e-6 for large batches.
            C = x.shape[-1]
            M = x.size // C
            k, rows = _widening(M, C)
            x2 = x.reshape(rows, k * C)
            mean = _fold(_ones(xp, rows, x.dtype) @ x2, k, C)
            mean /= M
            y = xp.empty_like(x)
            y2 = y.reshape(rows, k * C)
            var = xp.zeros(k * C, dtype=x.dtype)
            blocks = _row_blocks(xp, rows, k * C, x.dtype.itemsize)
            mean_k = _tile(xp, mean, k)
            for sl in blocks:  # each block's centred copy is squared while in cache
                yb = y2[sl]
                xp.subtract(x2[sl], mean_k, out=yb)
                var += _column_dots(xp, yb, yb)
            var = _fold(var, k, C)
            var /= M
            a = (1.0 / xp.sqrt(var + x.dtype.type(self.epsilon))) * scale
            a_k, offset_k = _tile(xp, a, k), _tile(xp, offset, k)
            for sl in blocks:
                yb = y2[sl]
                yb *= a_k
                yb += offset_k
            return y, mean, var
        mean = x.mean(axis=axes, keepdims=True).reshape(-1)
        y = xp.subtract(x, mean.reshape(bshape))
        var = xp.square(y).mean(axis=axes)
        inv = 1.0 / xp.sqrt(var + x.dtype.type(self.epsilon))
        y *= (inv * scale).reshape(bshape)
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
        # NOTE: dx = a dy + b xc + c per channel, written into the centred copy xc in place, a
        # cache-sized block of rows at a time: one pass for sum(dy), one centring and summing
        # dy * xc, one for dx.
        if ax == g.ndim - 1:
            k, rows = _widening(M, C)
            g2, x2 = g.reshape(rows, k * C), x.reshape(rows, k * C)
            sum_dy = _fold(_ones(xp, rows, g.dtype) @ g2, k, C)
            dx = xp.empty_like(g)
            dx2 = dx.reshape(rows, k * C)
            sum_dy_xc = xp.zeros(k * C, dtype=g.dtype)
            blocks = _row_blocks(xp, rows, k * C, g.dtype.itemsize)
            mean_k = _tile(xp, mean, k)
            for sl in blocks:  # centre a block, and use it while it is in cache
                db = dx2[sl]
                xp.subtract(x2[sl], mean_k, out=db)
                sum_dy_xc += _column_dots(xp, g2[sl], db)
            sum_dy_xc = _fold(sum_dy_xc, k, C)
            a, b, c = (_tile(xp, v, k) for v in self._coefficients(scale, inv, sum_dy, sum_dy_xc,
                                                                   dmean, dvar, M))
            tmp = xp.empty((blocks[0].stop - blocks[0].start, k * C), dtype=g.dtype)
            for sl in blocks:
                db = dx2[sl]
                db *= b
                db += c
                db += xp.multiply(g2[sl], a, out=tmp[: db.shape[0]])
        else:
            dx = xp.subtract(x, mean.reshape(bshape))
            sum_dy = g.sum(axis=axes)
            sum_dy_xc = (g * dx).sum(axis=axes)
            a, b, c = self._coefficients(scale, inv, sum_dy, sum_dy_xc, dmean, dvar, M)
            dx *= b.reshape(bshape)
            dx += c.reshape(bshape)
            dx += xp.multiply(g, a.reshape(bshape))
        dscale = (sum_dy_xc * inv).astype(g.dtype, copy=False)
        return dx, dscale, sum_dy

    @staticmethod
    def _coefficients(scale: Any, inv: Any, sum_dy: Any, sum_dy_xc: Any, dmean: Any, dvar: Any,
                      M: int) -> tuple:
        """dx = a dy + b xc + c per channel:
        a (dy - mean(dy) - xc inv^2 mean(dy xc)) + dmean / M + 2 dvar xc / M."""
        a = scale * inv
        b = -a * inv * inv * sum_dy_xc / M + 2.0 * dvar / M
        c = -a * sum_dy / M + dmean / M
        return a, b, c

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
