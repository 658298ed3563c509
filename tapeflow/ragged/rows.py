"""Row-partition arithmetic on index arrays (splits, lengths, row ids) and the two row primitives.

Everything here is vectorised over rows with the array module `xp` of the splits: no Python loop
over rows. `PadRows` scatters ragged rows into a padded dense block (its gradient gathers them
back), which is how `to_tensor` and the reductions along ragged axes stay differentiable.
"""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor

get_xp = backend.get_xp


def splits_from_lengths(xp: Any, lengths: Any, dtype: Any = "int64") -> Any:
    """[0, l0, l0+l1, ...] for row lengths `lengths`."""
    out = xp.zeros(len(lengths) + 1, dtype=dtype)
    if len(lengths):
        xp.cumsum(lengths, out=out[1:])
    return out


def row_ids(xp: Any, splits: Any) -> Any:
    """The row of each value: [0, 0, 1, 2, 2, ...] (int64, length splits[-1])."""
    lengths = (splits[1:] - splits[:-1]).astype("int64")
    return xp.repeat(xp.arange(len(lengths), dtype="int64"), lengths)


def positions(xp: Any, splits: Any, ids: Any | None = None) -> Any:
    """Each value's position inside its row (int64, length splits[-1])."""
    if ids is None:
        ids = row_ids(xp, splits)
    return xp.arange(len(ids), dtype="int64") - splits[:-1].astype("int64")[ids]


def gather_ranges(xp: Any, starts: Any, limits: Any) -> tuple[Any, Any]:
    """Indices of the concatenated ranges [starts[i], limits[i]) and the splits between them."""
    lengths = xp.maximum(limits - starts, 0).astype("int64")
    splits = splits_from_lengths(xp, lengths)
    ids = xp.repeat(xp.arange(len(lengths), dtype="int64"), lengths)
    idx = xp.arange(int(splits[-1]), dtype="int64") - splits[:-1][ids] + starts.astype("int64")[ids]
    return idx, splits


def take(values: Any, idx: Any) -> Any:
    """values[idx] along the first axis for a Tensor or a RaggedTensor (differentiable)."""
    if isinstance(values, Tensor):
        return mv.Gather(0)(values, Tensor(idx))
    return values._gather_rows(idx)


class PadRows(Function):
    """Ragged rows (values (n, *inner), row of each value, position in it) -> (nrows, width, *inner).

    Cells no row reaches hold `fill`; the gradient of `values` gathers dy at the same cells.
    """

    def __init__(self, ids: Any, pos: Any, nrows: int, width: int, fill: Any) -> None:
        self.ids = ids
        self.pos = pos
        self.nrows = nrows
        self.width = width
        self.fill = fill

    def forward(self, v: Any) -> Any:
        xp = get_xp(v)
        out = xp.full((self.nrows, self.width) + v.shape[1:], self.fill, dtype=v.dtype)
        keep = self.pos < self.width
        if bool(keep.all()):
            out[self.ids, self.pos] = v
        else:  # `to_tensor(shape=...)` narrower than the longest row
            out[self.ids[keep], self.pos[keep]] = v[keep]
        return out

    def backward(self, dy: Tensor) -> tuple:
        xp = get_xp(dy._value)
        keep = self.pos < self.width
        if bool(keep.all()):
            return (mv.getitem(dy, (self.ids, self.pos)),)
        # Values cut off by a narrow shape get no gradient: gather from a zero-padded dy.
        padded = mv.pad(dy, [[0, 0], [0, 1]] + [[0, 0]] * (dy.ndim - 2))
        pos = xp.where(keep, self.pos, self.width)
        return (mv.getitem(padded, (self.ids, pos)),)
