"""Reductions over axes (sum, max, prod, ...), arg-reductions, cumulative sums and norms."""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.autodiff.function import Function, formula_vjp
from tapeflow.dtypes import is_inexact_np
from tapeflow.errors import InvalidArgumentError
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor

get_xp = backend.get_xp


def normalize_axes(axis: Any, ndim: int | None, op: str) -> tuple | None:
    """`axis` (None, int, list or tensor) as a sorted tuple of non-negative axes; None = all."""
    if axis is None:
        return None
    if ndim is None:
        return _axes_of_unknown_rank(axis, op)
    if type(axis) is int and -ndim <= axis < max(ndim, 1):  # the common case, fast
        return (axis % ndim if ndim else 0,)
    if isinstance(axis, Tensor):
        axis = backend.to_numpy(axis._value).tolist()
    if isinstance(axis, (list, tuple)):
        axes = [int(a) for a in axis]
    else:
        axes = [int(axis)]
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor of rank {ndim}.")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def _axes_of_unknown_rank(axis: Any, op: str) -> tuple:
    """Axes of a graph tensor of unknown rank: non-negative ones are kept (checked when the
    graph runs); a negative one needs the rank."""
    if isinstance(axis, Tensor):
        axis = backend.to_numpy(axis._value).tolist()
    axes = [int(a) for a in axis] if isinstance(axis, (list, tuple)) else [int(axis)]
    for a in axes:
        if a < 0:
            raise ValueError(f"{op}: the negative axis {a} needs the input's rank, and the input is a "
                             "shape with unknown rank.")
    return tuple(sorted(set(axes)))


def _keepdims_shape(shape: tuple, axes: tuple | None) -> tuple:
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_EINSUM_MIN_SIZE = 4096  # below, building the equation costs more than the reduction saves


def sum_array(a: Any, axes: tuple | None, keepdims: bool) -> Any:
    """`a.sum(axes)` of a float array. A C-contiguous NumPy array reduced over a block of middle
    axes (not the last: e.g. pooling over time or space, (B, T, C) -> (B, C)) sums through
    einsum: the same sequential order over the reduced axes, so the same bits, but 1.3-4.5x
    faster than ufunc.reduce, whose inner loop there runs over the few trailing elements (from
    4096 elements; small arrays keep `a.sum`, the per-op cost of tiny models)."""
    if (a.size >= _EINSUM_MIN_SIZE and axes and a.dtype.kind == "f" and a.dtype.itemsize >= 4
            and a.ndim <= len(_LETTERS)
            and max(axes) < a.ndim - 1 and max(axes) - min(axes) == len(axes) - 1
            and a.flags.c_contiguous and not backend.is_gpu_array(a)):
        ins = _LETTERS[:a.ndim]
        out = "".join(c for i, c in enumerate(ins) if i not in axes)
        s = backend.get_xp(a).einsum(f"{ins}->{out}", a)
        return s.reshape(_keepdims_shape(a.shape, axes)) if keepdims else s
    return a.sum(axis=axes, keepdims=keepdims)


class Sum(Function):
    def __init__(self, axes: tuple | None, keepdims: bool) -> None:
        self.axes = axes
        self.keepdims = keepdims

    def forward(self, a: Any) -> Any:
        self.in_shape = a.shape
        # NOTE: NumPy sums int32 into int64; TF keeps the input's integer dtype.
        if a.dtype.kind in "iu":
            return a.sum(axis=self.axes, keepdims=self.keepdims, dtype=a.dtype)
        if a.size < _EINSUM_MIN_SIZE:
            return a.sum(axis=self.axes, keepdims=self.keepdims)
        return sum_array(a, self.axes, self.keepdims)

    def backward(self, dy: Tensor) -> tuple:
        return (SumGrad(self.axes, self.keepdims, self.in_shape)(dy),)


def _reduced_count(shape: tuple, axes: tuple | None) -> int:
    n = 1
    for i, d in enumerate(shape):
        if axes is None or i in axes:
            n *= d
    return n


class Mean(Function):
    """Mean of a floating tensor over `axes` (the count comes from the actual input shape)."""

    def __init__(self, axes: tuple | None, keepdims: bool) -> None:
        self.axes = axes
        self.keepdims = keepdims

    def forward(self, a: Any) -> Any:
        self.in_shape = a.shape
        if a.size < _EINSUM_MIN_SIZE:
            s = a.sum(axis=self.axes, keepdims=self.keepdims)
        else:
            s = sum_array(a, self.axes, self.keepdims)
        # NOTE: a true division, as TF's mean does; an empty reduction gives nan like TF.
        return s / a.dtype.type(_reduced_count(a.shape, self.axes))

    def backward(self, dy: Tensor) -> tuple:
        n = _reduced_count(self.in_shape, self.axes)
        return (SumGrad(self.axes, self.keepdims, self.in_shape, n)(dy),)


_BROADCAST_VIEW_MIN = 1 << 16


class SumGrad(Function):
    """The backward of Sum (and of Mean with `n`): `dy` (divided by `n`) broadcast back over
    the reduced axes."""

    def __init__(self, axes: tuple | None, keepdims: bool, in_shape: tuple, n: int = 1) -> None:
        self.axes = axes
        self.keepdims = keepdims
        self.in_shape = in_shape
        self.n = n
        size = 1
        for d in in_shape:
            size *= d
        self.materialise = size < _BROADCAST_VIEW_MIN

    def forward(self, dy: Any) -> Any:
        if not self.keepdims:
            dy = dy.reshape(_keepdims_shape(self.in_shape, self.axes))
        if self.n != 1:
            dy = dy / dy.dtype.type(self.n)
        xp = get_xp(dy)
        if self.materialise:
            # NOTE: small results are materialised: one copy is cheaper than np.broadcast_to's
            # Python-level view construction, and gives a normal writable array.
            out = xp.empty(self.in_shape, dy.dtype)
            out[...] = dy
            return out
        return xp.broadcast_to(dy, self.in_shape)

    def backward(self, ddx: Tensor) -> tuple:
        if self.n != 1:
            return (Mean(self.axes, self.keepdims)(ddx),)
        return (Sum(self.axes, self.keepdims)(ddx),)


class MaxMin(Function):
    """reduce_max / reduce_min; ties share the gradient equally, as in TF."""

    def __init__(self, axes: tuple | None, keepdims: bool, mode: str) -> None:
        self.axes = axes
        self.keepdims = keepdims
        self.mode = mode

    def forward(self, a: Any) -> Any:
        self.in_shape = a.shape
        if a.size == 0:  # TF: the reduction's identity (-inf / the lowest value for max), no error
            return self._empty(a)
        f = a.max if self.mode == "max" else a.min
        return f(axis=self.axes, keepdims=self.keepdims)

    def _empty(self, a: Any) -> Any:
        xp = backend.get_xp(a)
        kept = _keepdims_shape(a.shape, self.axes)
        shape = kept if self.keepdims else tuple(d for i, d in enumerate(a.shape)
                                                 if self.axes is not None and i not in self.axes)
        biggest = self.mode == "max"
        if a.dtype.kind == "f":
            fill = -float("inf") if biggest else float("inf")
        elif a.dtype.kind in "iu":
            info = xp.iinfo(a.dtype)
            fill = info.min if biggest else info.max
        else:
            fill = not biggest
        return xp.full(shape, fill, a.dtype)

    def backward(self, dy: Tensor) -> tuple:
        return (MaxMinGrad(self.axes, self.keepdims)(self.inputs[0], self.outputs[0], dy),)


class MaxMinGrad(Function):
    """The gradient of reduce_max/min from (x, y, dy): dy shared equally by the elements equal
    to their reduction's result (TF's tie rule), found from x and y in the same pass."""

    def __init__(self, axes: tuple | None, keepdims: bool) -> None:
        self.axes = axes
        self.keepdims = keepdims

    def forward(self, x: Any, y: Any, dy: Any) -> Any:
        kshape = _keepdims_shape(x.shape, self.axes)
        mask = (x == y.reshape(kshape)).astype(dy.dtype)
        mask /= mask.sum(axis=self.axes, keepdims=True)
        mask *= dy.reshape(kshape)
        return mask

    def backward(self, ddx: Tensor) -> tuple:
        return formula_vjp(self, self.formula, [ddx])

    def formula(self, x: Tensor, y: Tensor, dy: Tensor) -> Tensor:
        """`forward` with Tensor ops (differentiable again, in dy)."""
        kshape = _keepdims_shape(tuple(x.shape), self.axes)
        mask = ew.cast(ew.equal(x, mv.reshape(y, kshape)), dy.dtype)
        share = ew.divide(mask, Sum(self.axes, True)(mask))
        return ew.multiply(mv.reshape(dy, kshape), share)


class Prod(Function):
    def __init__(self, axes: tuple | None, keepdims: bool) -> None:
        self.axes = axes
        self.keepdims = keepdims

    def forward(self, a: Any) -> Any:
        self.in_shape = a.shape
        dtype = a.dtype if a.dtype.kind in "iu" else None
        return a.prod(axis=self.axes, keepdims=self.keepdims, dtype=dtype)

    def backward(self, dy: Tensor) -> tuple:
        # TF's ProdGrad: d/dx_i is the product of the other elements of x_i's reduction group,
        # the exclusive running products from both ends multiplied (exact with zeros, no
        # division). The reduced axes go last and become one axis of the group's elements.
        x = self.inputs[0]
        shape = self.in_shape
        rank = len(shape)
        reduced = tuple(range(rank)) if self.axes is None else tuple(sorted(a % rank for a in self.axes))
        kept = [a for a in range(rank) if a not in reduced]
        perm = kept + list(reduced)
        lead = tuple(shape[a] for a in kept)
        group = 1
        for a in reduced:
            group *= shape[a]
        flat = mv.reshape(mv.transpose(x, perm), lead + (group,))
        last = len(lead)
        others = ew.multiply(Cumprod(last, True, False)(flat), Cumprod(last, True, True)(flat))
        inverse = [0] * rank
        for i, a in enumerate(perm):
            inverse[a] = i
        others = mv.transpose(mv.reshape(others, tuple(shape[a] for a in perm)), inverse)
        dy = mv.reshape(dy, _keepdims_shape(shape, self.axes))
        return (ew.multiply(dy, others),)


def _scan(xp: Any, a: Any, axis: int, exclusive: bool, reverse: bool, product: bool) -> Any:
    """Inclusive or exclusive running sum/product along `axis`, from either end. Exclusive
    scans shift the inclusive scan of all but the last element (no subtraction or division,
    so exact as TF's)."""
    if reverse:
        a = xp.flip(a, axis)
    scan = xp.cumprod if product else xp.cumsum
    if exclusive:
        head = [slice(None)] * a.ndim
        head[axis] = slice(0, a.shape[axis] - 1 if a.shape[axis] else 0)
        first = list(a.shape)
        first[axis] = min(1, a.shape[axis])
        start = (xp.ones if product else xp.zeros)(tuple(first), dtype=a.dtype)
        out = xp.concatenate([start, scan(a[tuple(head)], axis=axis, dtype=a.dtype)], axis=axis)
    else:
        out = scan(a, axis=axis, dtype=a.dtype)
    return xp.flip(out, axis) if reverse else out


class Cumsum(Function):
    def __init__(self, axis: int, exclusive: bool, reverse: bool) -> None:
        self.axis = axis
        self.exclusive = exclusive
        self.reverse = reverse

    def forward(self, a: Any) -> Any:
        return _scan(get_xp(a), a, self.axis, self.exclusive, self.reverse, product=False)

    def backward(self, dy: Tensor) -> tuple:
        return (Cumsum(self.axis, self.exclusive, not self.reverse)(dy),)


class Cumprod(Function):
    """Running product along `axis`; the gradient is TF's: the opposite-direction cumsum of
    `cumprod(x) * dy`, divided by x with div_no_nan (0 where x is 0, as TF gives)."""

    def __init__(self, axis: int, exclusive: bool = False, reverse: bool = False) -> None:
        self.axis = axis
        self.exclusive = exclusive
        self.reverse = reverse

    def forward(self, a: Any) -> Any:
        return _scan(get_xp(a), a, self.axis, self.exclusive, self.reverse, product=True)

    def backward(self, dy: Tensor) -> tuple:
        x, y = self.inputs[0], self.outputs[0]
        return (ew.div_no_nan(Cumsum(self.axis, self.exclusive, not self.reverse)(ew.multiply(y, dy)), x),)


class ArgReduce(Function):
    differentiable = False

    def __init__(self, axis: int, mode: str, np_dtype: Any) -> None:
        self.axis = axis
        self.mode = mode
        self.np_dtype = np_dtype

    def forward(self, a: Any) -> Any:
        f = a.argmax if self.mode == "max" else a.argmin
        return f(axis=self.axis).astype(self.np_dtype)


class AnyAll(Function):
    differentiable = False

    def __init__(self, axes: tuple | None, keepdims: bool, mode: str) -> None:
        self.axes = axes
        self.keepdims = keepdims
        self.mode = mode

    def forward(self, a: Any) -> Any:
        f = a.any if self.mode == "any" else a.all
        return f(axis=self.axes, keepdims=self.keepdims)


# ---------------------------------------------------------------------------------------------

def _prep(x: Any, axis: Any, op: str) -> tuple[Tensor, tuple | None]:
    x = ew.unary_operand(x, op)
    if x.dtype is _dt.string:
        raise InvalidArgumentError(f"{op}: expected a numeric tensor, received dtype string "
                                   "(tf.strings.reduce_join joins strings).")
    return x, normalize_axes(axis, x.ndim if x._value is not None else x.shape.rank, op)


def reduce_sum(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Tensor:
    """Sum over `axis` (all axes when None), like `tf.reduce_sum`."""
    x, axes = _prep(input_tensor, axis, "Sum")
    return Sum(axes, keepdims)(x)


def reduce_mean(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Tensor:
    """Mean over `axis`; integer tensors use integer division, as in TF."""
    x, axes = _prep(input_tensor, axis, "Mean")
    if is_inexact_np(x._value.dtype if x._value is not None else x.dtype._np):
        return Mean(axes, keepdims)(x)
    n = 1
    for i, d in enumerate(x.shape):
        if axes is None or i in axes:
            n *= d if d is not None else 1
    s = Sum(axes, keepdims)(x)
    return ew.floordiv(s, n) if n else s


def reduce_max(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Tensor:
    x, axes = _prep(input_tensor, axis, "Max")
    return MaxMin(axes, keepdims, "max")(x)


def reduce_min(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Tensor:
    x, axes = _prep(input_tensor, axis, "Min")
    return MaxMin(axes, keepdims, "min")(x)


def reduce_prod(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Tensor:
    x, axes = _prep(input_tensor, axis, "Prod")
    return Prod(axes, keepdims)(x)


def reduce_logsumexp(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Tensor:
    """log(sum(exp(x))) over `axis`, computed stably."""
    x, axes = _prep(input_tensor, axis, "LogSumExp")
    # NOTE: subtract the (constant) max first so exp never overflows.
    m = ew.stop_gradient(MaxMin(axes, True, "max")(x))
    m = ew.where(ew.is_finite(m), m, ew.zeros_like_t(m))
    s = ew.log(Sum(axes, True)(ew.exp(ew.subtract(x, m))))
    out = ew.add(s, m)
    if not keepdims:
        out = mv.reshape(out, tuple(d for i, d in enumerate(out.shape) if axes is not None and i not in axes))
    return out


def reduce_variance(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Tensor:
    x, axes = _prep(input_tensor, axis, "Variance")
    mean = reduce_mean(x, axes, keepdims=True)
    d = ew.subtract(x, mean)
    return reduce_mean(ew.multiply(d, d), axes, keepdims=keepdims)


def reduce_std(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Tensor:
    return ew.sqrt(reduce_variance(input_tensor, axis, keepdims))


def reduce_any(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Tensor:
    x, axes = _prep(input_tensor, axis, "Any")
    return AnyAll(axes, keepdims, "any")(x)


def reduce_all(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Tensor:
    x, axes = _prep(input_tensor, axis, "All")
    return AnyAll(axes, keepdims, "all")(x)


def reduce_euclidean_norm(input_tensor: Any, axis: Any = None, keepdims: bool = False,
                          name: Any = None) -> Tensor:
    return norm(input_tensor, axis=axis, keepdims=keepdims)


def count_nonzero(input: Any, axis: Any = None, keepdims: bool = False, dtype: Any = "int64",
                  name: Any = None) -> Tensor:  # noqa: A002
    x, axes = _prep(input, axis, "CountNonzero")
    nz = ew.cast(ew.not_equal(x, ew.zeros_like_t(x)), dtype)
    return reduce_sum(nz, axes, keepdims)


def argmax(input: Any, axis: Any = None, output_type: Any = "int64", name: Any = None) -> Tensor:  # noqa: A002
    """Index of the largest value along `axis` (default 0), int64 like TF."""
    x = ew.unary_operand(input, "ArgMax")
    ax = 0 if axis is None else int(axis) % max(x.ndim, 1)
    return ArgReduce(ax, "max", _dt.as_dtype(output_type)._np)(x)


def argmin(input: Any, axis: Any = None, output_type: Any = "int64", name: Any = None) -> Tensor:  # noqa: A002
    x = ew.unary_operand(input, "ArgMin")
    ax = 0 if axis is None else int(axis) % max(x.ndim, 1)
    return ArgReduce(ax, "min", _dt.as_dtype(output_type)._np)(x)


def cumsum(x: Any, axis: int = 0, exclusive: bool = False, reverse: bool = False, name: Any = None) -> Tensor:
    """Cumulative sum along `axis` (`exclusive` starts at 0, `reverse` from the end)."""
    x = ew.unary_operand(x, "Cumsum")
    return Cumsum(int(axis) % max(x.ndim, 1), exclusive, reverse)(x)


def cumprod(x: Any, axis: int = 0, exclusive: bool = False, reverse: bool = False,
            name: Any = None) -> Tensor:
    """Cumulative product along `axis` (`exclusive` starts at 1, `reverse` from the end)."""
    x = ew.unary_operand(x, "Cumprod")
    return Cumprod(int(axis) % max(x.ndim, 1), exclusive, reverse)(x)


def norm(tensor: Any, ord: Any = "euclidean", axis: Any = None, keepdims: bool = False,
         name: Any = None) -> Tensor:  # noqa: A002
    """Vector norm over `axis` (all elements when None): 'euclidean'/2, 1, np.inf, or p."""
    x = ew.unary_operand(tensor, "Norm")
    if ord in ("euclidean", "fro", 2, 2.0):
        # NOTE: the gradient of sqrt at 0 is infinite; use x/norm with norm clamped away from 0.
        sq = reduce_sum(ew.multiply(x, x), axis, keepdims)
        return ew.sqrt(sq)
    if ord in (1, 1.0):
        return reduce_sum(ew.abs(x), axis, keepdims)
    if ord == float("inf") or ord == "inf":
        return reduce_max(ew.abs(x), axis, keepdims)
    p = float(ord)
    return ew.pow(reduce_sum(ew.pow(ew.abs(x), p), axis, keepdims), 1.0 / p)
