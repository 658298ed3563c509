"""Index arithmetic for SparseTensors (linear positions, ordering, grouping) and `ScatterInto`.

All on the array module `xp` of the indices, vectorised over the stored elements.
"""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function
from tapeflow.errors import InvalidArgumentError
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor

get_xp = backend.get_xp


def linear(xp: Any, idx: Any, shape: tuple) -> Any:
    """Row-major position of each index row in a tensor of `shape` (int64)."""
    out = xp.zeros(len(idx), dtype="int64")
    for i, d in enumerate(shape):
        out = out * int(d) + idx[:, i]
    return out


def unravel(xp: Any, lin: Any, shape: tuple) -> Any:
    """The inverse of `linear`: [N, len(shape)] int64 indices."""
    cols = []
    for d in reversed(shape):
        d = max(int(d), 1)
        cols.append(lin % d)
        lin = lin // d
    return xp.stack(cols[::-1], axis=1) if cols else xp.zeros((len(lin), 0), "int64")


def group(xp: Any, keys: Any) -> tuple[Any, Any]:
    """(sorted unique keys, the group of each key) for int64 keys."""
    uniq, inverse = xp.unique(keys, return_inverse=True)
    return uniq, inverse.reshape(-1)


def check_in_bounds(idx: Any, shape: tuple, op: str) -> None:
    xp = get_xp(idx)
    if len(idx) and (bool((idx < 0).any()) or bool((idx >= xp.asarray(shape)).any())):
        bad = int(xp.nonzero(((idx < 0) | (idx >= xp.asarray(shape))).any(axis=1))[0][0])
        raise InvalidArgumentError(f"{op}: indices[{bad}] = {backend.to_numpy(idx[bad]).tolist()} "
                                   f"is out of bounds: need 0 <= index < {list(shape)}")


def check_ordered(idx: Any, shape: tuple, op: str) -> None:
    """TF's validate_indices: in bounds, lexicographically increasing, no repeats."""
    check_in_bounds(idx, shape, op)
    xp = get_xp(idx)
    lin = linear(xp, idx, shape)
    if len(lin) > 1:
        step = lin[1:] - lin[:-1]
        if bool((step <= 0).any()):
            k = int(xp.nonzero(step <= 0)[0][0]) + 1
            what = "is repeated" if int(step[k - 1]) == 0 else "is out of order"
            raise InvalidArgumentError(
                f"{op}: indices[{k}] = {backend.to_numpy(idx[k]).tolist()} {what}. Many sparse ops "
                "require sorted indices. Use `tf.sparse.reorder` to create a correctly ordered copy.")


class ScatterInto(Function):
    """A dense `shape` tensor holding `fill`, with values[i] written at index row i.

    Index rows are distinct (a later duplicate overwrites an earlier one); the gradient of the
    values gathers dy at the same positions.
    """

    def __init__(self, idx: Any, shape: tuple, fill: Any) -> None:
        self.key = tuple(idx[:, i] for i in range(idx.shape[1]))
        self.shape = tuple(shape)
        self.fill = fill

    def forward(self, v: Any) -> Any:
        xp = get_xp(v)
        out = xp.full(self.shape, self.fill, dtype=v.dtype)
        out[self.key] = v
        return out

    def backward(self, dy: Tensor) -> tuple:
        return (mv.getitem(dy, self.key),)
