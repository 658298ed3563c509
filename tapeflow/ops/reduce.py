"""Reductions over axes (sum, max, prod, ...), arg-reductions, cumulative sums and norms."""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.autodiff.function import Function, formula_vjp
from tapeflow.errors import InvalidArgumentError
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor

get_xp = backend.get_xp


def normalize_axes(axis: Any, ndim: int, op: str) -> tuple | None:
    """`axis` (None, int, list or tensor) as a sorted tuple of non-negative axes; None = all."""
    if axis is None:
        return None
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


def _keepdims_shape(shape: tuple, axes: tuple | None) -> tuple:
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


class Sum(Function):
    def __init__(self, axes: tuple | None, keepdims: bool) -> None:
        self.axes = axes
        self.keepdims = keepdims

    def forward(self, a: Any) -> Any:
        self.in_shape = a.shape
        # NOTE: NumPy sums int32 into int64; TF keeps the input's integer dtype.
        dtype = a.dtype if a.dtype.kind in "iu" else None
        return a.sum(axis=self.axes, keepdims=self.keepdims, dtype=dtype)

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
        s = a.sum(axis=self.axes, keepdims=self.keepdims)
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
        if a.size == 0:
            raise ValueError(f"reduce_{self.mode} of an empty tensor")
        f = a.max if self.mode == "max" else a.min
        return f(axis=self.axes, keepdims=self.keepdims)

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
        x = self.inputs[0]
        xv = x._value
        kshape = _keepdims_shape(self.in_shape, self.axes)
        y = mv.reshape(self.outputs[0], kshape)
        dy = mv.reshape(dy, kshape)
        if not (xv == 0).any():
            return (ew.multiply(dy, ew.divide(y, x)),)
        # NOTE: with zeros present, d/dx_i = product of the other elements, computed directly
        # (treated as a constant for higher-order gradients).
        xp = get_xp(xv)
        others = _prod_of_others(xp, xv, self.axes)
        return (ew.multiply(dy, Tensor(others)),)


def _prod_of_others(xp: Any, x: Any, axes: tuple | None) -> Any:
    axes = tuple(range(x.ndim)) if axes is None else axes
    rest = [i for i in range(x.ndim) if i not in axes]
    perm = rest + list(axes)
    xt = xp.transpose(x, perm)
    lead = xt.shape[: len(rest)]
    flat = xt.reshape(lead + (-1,))
    ones = xp.ones(lead + (1,), dtype=x.dtype)
    left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = xp.flip(xp.cumprod(xp.concatenate([ones, xp.flip(flat[..., 1:], -1)], axis=-1), -1), -1)
    others = (left * right).reshape(xt.shape)
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return xp.transpose(others, inv)


class Cumsum(Function):
    def __init__(self, axis: int, exclusive: bool, reverse: bool) -> None:
        self.axis = axis
        self.exclusive = exclusive
        self.reverse = reverse

    def forward(self, a: Any) -> Any:
        xp = get_xp(a)
        ax = self.axis
        if self.reverse:
            a = xp.flip(a, ax)
        out = xp.cumsum(a, axis=ax, dtype=a.dtype)
        if self.exclusive:
            out = out - a
        if self.reverse:
            out = xp.flip(out, ax)
        return out

    def backward(self, dy: Tensor) -> tuple:
        return (Cumsum(self.axis, self.exclusive, not self.reverse)(dy),)


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
    return x, normalize_axes(axis, x.ndim if x._value is not None else len(x.shape), op)


def reduce_sum(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Tensor:
    """Sum over `axis` (all axes when None), like `tf.reduce_sum`."""
    x, axes = _prep(input_tensor, axis, "Sum")
    return Sum(axes, keepdims)(x)


def reduce_mean(input_tensor: Any, axis: Any = None, keepdims: bool = False, name: Any = None) -> Tensor:
    """Mean over `axis`; integer tensors use integer division, as in TF."""
    x, axes = _prep(input_tensor, axis, "Mean")
    kind = x._value.dtype.kind if x._value is not None else x.dtype._np.kind
    if kind in "fc":
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
    """Cumulative product (as exp(cumsum(log|x|)) with signs; inputs must be non-zero)."""
    x = ew.unary_operand(x, "Cumprod")
    ax = int(axis) % max(x.ndim, 1)
    if reverse:
        x = mv.reverse(x, [ax])
    logs = ew.log(ew.abs(x))
    neg = ew.cast(ew.less(x, 0), x.dtype)
    out = ew.exp(Cumsum(ax, exclusive, False)(logs))
    sgn = ew.subtract(1.0, ew.multiply(2.0, ew.floormod(Cumsum(ax, exclusive, False)(neg), 2.0)))
    out = ew.multiply(out, sgn)
    return mv.reverse(out, [ax]) if reverse else out


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
