"""`rt[key]` for RaggedTensors: ints and slices on the row axis, the ragged axes and inner axes.

`rt[i]` is row i; `rt[a:b]` a RaggedTensor of those rows; `rt[:, j]` is refused on a ragged
axis (as in TF) and picks element j on a uniform one; `rt[:, a:b]` each row sliced (clamped per row).
"""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow.ops import movement as mv
from tapeflow.ragged import rows
from tapeflow.tensor import Tensor

get_xp = backend.get_xp


def _index(values: Any, key: tuple) -> Any:
    if not key:
        return values
    if isinstance(values, Tensor):
        return mv.getitem(values, key)
    return getitem(values, key)


def getitem(rt: Any, key: Any) -> Any:
    """See module docstring."""
    if not isinstance(key, tuple):
        key = (key,)
    if any(k is Ellipsis or k is None for k in key):
        raise TypeError("RaggedTensor indexing: Ellipsis and tf.newaxis are not supported, "
                        f"received {key!r}.")
    if len(key) > rt.ndim:
        raise ValueError(f"RaggedTensor indexing: too many indices ({len(key)}) for a tensor of "
                         f"rank {rt.ndim}.")
    first, rest = key[0], key[1:]
    if isinstance(first, Tensor):
        first = int(first._value)
    if not isinstance(first, slice):
        return _index(rt._row(int(first)), rest)
    s = rt.row_splits._value
    xp = get_xp(s)
    picked = rt
    if first != slice(None):
        idx = xp.arange(len(s) - 1, dtype="int64")[first]
        picked = rt._gather_rows(idx)
    if not rest:
        return picked
    return _index_rows(picked, rest)


def _index_rows(rt: Any, key: tuple) -> Any:
    """Apply `key[0]` inside every row of `rt` (axis 1) and `key[1:]` below it."""
    k, rest = key[0], key[1:]
    s = rt.row_splits._value
    xp = get_xp(s)
    starts, limits = s[:-1].astype("int64"), s[1:].astype("int64")
    lengths = limits - starts
    if isinstance(k, Tensor):
        k = int(k._value)
    if not isinstance(k, slice) and rt.shape[1] is None:
        raise ValueError("Cannot index into an inner ragged dimension.")
    if not isinstance(k, slice):
        k = int(k)
        if len(lengths) and (bool((k >= lengths).any()) if k >= 0 else bool((-k > lengths).any())):
            raise IndexError(f"RaggedTensor indexing: index {k} is out of range for a row of "
                             f"length {int(lengths.min())}.")
        picked = rows.take(rt.values, (starts if k >= 0 else limits) + k)
        return _index(picked, (slice(None),) + rest) if rest else picked
    step = 1 if k.step is None else int(k.step)
    if step != 1:
        raise ValueError(f"RaggedTensor indexing: slices of a ragged axis need step 1, received "
                         f"{step}.")
    lo = _clamp(xp, k.start, lengths, 0)
    hi = _clamp(xp, k.stop, lengths, None)
    idx, splits = rows.gather_ranges(xp, starts + lo, starts + xp.maximum(hi, lo))
    values = rows.take(rt.values, idx)
    if rest:
        values = _index(values, (slice(None),) + rest)
    return type(rt)(values, Tensor(splits.astype(s.dtype)), internal=True)


def _clamp(xp: Any, bound: Any, lengths: Any, default: Any) -> Any:
    """A slice bound per row, Python-style: negative counts from the end, clamped to [0, len]."""
    if bound is None:
        return xp.zeros_like(lengths) if default == 0 else lengths
    b = int(bound)
    return xp.clip(lengths + b, 0, lengths) if b < 0 else xp.minimum(b, lengths)
