"""Per-string results of varying length (split pieces, code points): a dense vector for one
string, a `tf.RaggedTensor` with one row per string for a batch, as TF returns them."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.strings.base import apply
from tapeflow.tensor import Tensor


def rows_to_ragged(rows: list, lead_shape: tuple, dtype: Any) -> Any:
    """A RaggedTensor of `lead_shape` + [(row length)] from flat row arrays (row-major)."""
    try:
        from tapeflow.ragged import RaggedTensor
    except ImportError:  # tf.ragged is being added to Tapeflow separately
        raise TypeError("a batch of strings gives a tf.RaggedTensor, which this Tapeflow build "
                        "lacks; pass one string at a time.") from None

    lengths = np.array([len(r) for r in rows], np.int64)
    values = np.concatenate(rows).astype(dtype) if rows else np.empty(0, dtype)
    out = RaggedTensor.from_row_lengths(Tensor(values), Tensor(lengths))
    for dim in reversed(lead_shape[1:]):
        out = RaggedTensor.from_uniform_row_length(out, dim)
    return out


def per_string(x: Tensor, row_fn: Any, dtype: Any, op: str) -> Any:
    """`row_fn(bytes) -> 1-D array` on every string: a dense vector for a scalar, ragged rows for
    a batch."""
    if len(x.shape) == 0:  # a dense vector: an op, so it also traces
        return apply(op, lambda a: np.asarray(row_fn(a[()]), dtype=dtype), x)
    if x._value is None:  # inside tf.function: one node giving the ragged rows' components
        from tapeflow.tracing.composite_calls import lift_composite_call

        return lift_composite_call(per_string, (x, row_fn, dtype, op), {}, op)
    arr = x._value
    rows = [np.asarray(row_fn(s), dtype=dtype) for s in arr.reshape(-1).tolist()]
    return rows_to_ragged(rows, arr.shape, dtype)


