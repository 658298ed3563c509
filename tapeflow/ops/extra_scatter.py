"""Scatter primitives for `keras.ops`: add (indices fixed or as an input) and max/min/mul."""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function
from tapeflow.errors import UnimplementedError
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor

get_xp = backend.get_xp


class ScatterAdd(Function):
    """zeros(shape) with `values` added at the index tuples `indices[..., :k]` (repeats add up).

    `indices` is a constant int array (..., k) addressing the first k axes; `values` has shape
    indices.shape[:-1] + shape[k:]. The gradient of `values` gathers dy at the same indices.
    """

    def __init__(self, indices: Any, shape: tuple) -> None:
        self.indices = indices
        self.shape = tuple(shape)

    def key(self) -> tuple:
        return tuple(self.indices[..., i] for i in range(self.indices.shape[-1]))

    def forward(self, v: Any) -> Any:
        xp = get_xp(v)
        out = xp.zeros(self.shape, dtype=v.dtype)
        key = self.key()
        if xp is backend.host:
            mv._scatter_add(xp, out, key, v)
        elif v.dtype.kind == "b":
            out[key] = v
        else:
            import cupyx

            cupyx.scatter_add(out, key, v)
        return out

    def backward(self, dy: Tensor) -> tuple:
        return (mv.getitem(dy, self.key()),)


class ScatterReduce(Function):
    """zeros-free scatter with max/min/mul (`segment_max` ...): no gradient of its own.

    The composites in `keras.ops` route gradients through `ScatterAdd` and masks instead.
    """

    differentiable = False

    def __init__(self, indices: Any, shape: tuple, mode: str, fill: Any) -> None:
        self.indices = indices
        self.shape = tuple(shape)
        self.mode = mode
        self.fill = fill

    def forward(self, v: Any) -> Any:
        xp = get_xp(v)
        out = xp.full(self.shape, self.fill, dtype=v.dtype)
        key = tuple(self.indices[..., i] for i in range(self.indices.shape[-1]))
        ufunc = {"max": "maximum", "min": "minimum", "mul": "multiply"}[self.mode]
        if xp is backend.host:
            getattr(xp, ufunc).at(out, key, v)
        else:
            import cupyx

            if self.mode == "mul":
                raise UnimplementedError(None, None, "segment_prod: a multiplicative scatter is not "
                                         "available on the GPU (CuPy has no multiply.at); run it on the CPU.")
            getattr(cupyx, "scatter_" + self.mode)(out, key, v)
        return out


class ScatterNd(Function):
    """zeros(shape) with `values` added at the index tuples in the last axis of `indices`.

    Like `ScatterAdd` with the indices as a (non-differentiable) input tensor, so the indices
    may be a graph tensor inside `tf.function`.
    """

    def __init__(self, shape: tuple) -> None:
        self.shape = tuple(shape)

    def forward(self, v: Any, indices: Any) -> Any:
        return ScatterAdd(indices, self.shape).forward(v)

    def backward(self, dy: Tensor) -> tuple:
        idx = self.inputs[1]._value
        return mv.getitem(dy, tuple(idx[..., i] for i in range(idx.shape[-1]))), None


def _along_key(idx: Any, axis: int, xp: Any) -> tuple:
    """Index arrays addressing `take_along_axis(arr, idx, axis)`'s elements in `arr`."""
    nd = idx.ndim
    return tuple(idx if i == axis else xp.arange(idx.shape[i]).reshape([-1 if j == i else 1 for j in range(nd)])
                 for i in range(nd))


class GatherAlong(Function):
    """`take_along_axis(x, idx, axis)` for indices of x's rank (x broadcast to idx on the other
    axes; repeated indices allowed). The gradient scatter-adds dy back (`ScatterAlong`)."""

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x: Any, idx: Any) -> Any:
        xp = get_xp(x, idx)
        shape = [x.shape[i] if i == self.axis else max(x.shape[i], idx.shape[i]) for i in range(x.ndim)]
        ishape = [idx.shape[i] if i == self.axis else shape[i] for i in range(x.ndim)]
        xb = xp.broadcast_to(x, shape)
        ib = xp.broadcast_to(idx, ishape)
        ib = xp.where(ib < 0, ib + x.shape[self.axis], ib)
        return xp.take_along_axis(xb, ib, axis=self.axis)

    def backward(self, dy: Tensor) -> tuple:
        x, idx = self.inputs
        return ScatterAlong(self.axis, tuple(x.shape))(dy, idx), None


class ScatterAlong(Function):
    """The adjoint of `GatherAlong`: zeros of x's (broadcast) shape with dy added at the
    gathered positions; the tape sums broadcast axes back to x's shape."""

    def __init__(self, axis: int, x_shape: tuple) -> None:
        self.axis = axis
        self.x_shape = x_shape

    def forward(self, dy: Any, idx: Any) -> Any:
        xp = get_xp(dy, idx)
        shape = [self.x_shape[i] if i == self.axis else dy.shape[i] for i in range(dy.ndim)]
        ib = xp.broadcast_to(idx, dy.shape)
        ib = xp.where(ib < 0, ib + self.x_shape[self.axis], ib)
        out = xp.zeros(shape, dtype=dy.dtype)
        key = _along_key(ib, self.axis, xp)
        if xp is backend.host:
            mv._scatter_add(xp, out, key, dy)
        else:
            import cupyx

            cupyx.scatter_add(out, key, dy)
        return out

    def backward(self, ddx: Tensor) -> tuple:
        return GatherAlong(self.axis)(ddx, self.inputs[1]), None
