"""`tf.math.sobol_sample`: points of the Sobol' low-discrepancy sequence, as TensorFlow gives them.

The direction numbers are Joe & Kuo's (new-joe-kuo-6.21201, as TF's kernel), stored bit-packed in
sobol_directions.npz (tools/gen_sobol_directions.py). Point n is the XOR of the direction numbers
selected by the bits of n's Gray code, divided by 2**32; TF starts at n = skip + 1 (it drops the
all-zero first point), so the first row is [0.5, 0.5, ...].
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow.errors import InvalidArgumentError
from tapeflow.tensor import Tensor, convert_to_tensor

MAX_DIM = 21200  # TF's limit
_BITS = 32


@functools.lru_cache(maxsize=1)
def _table() -> tuple[Any, Any, list]:
    """(degree per dimension, interior polynomial bits, [m_1..m_s] per dimension)."""
    data = np.load(os.path.join(os.path.dirname(__file__), "sobol_directions.npz"))
    degree = data["degree"].astype(np.int64)
    widths = np.concatenate([np.concatenate([[s - 1], np.arange(s)]) if s else np.zeros(0, np.int64)
                             for s in degree.tolist()]).astype(np.int64)
    bits = np.unpackbits(data["bits"])[: int(widths.sum())]
    offsets = np.concatenate([[0], np.cumsum(widths)[:-1]])
    values = np.zeros(widths.size, np.int64)
    for w in range(1, int(widths.max()) + 1):
        idx = np.flatnonzero(widths == w)
        chunk = bits[offsets[idx, None] + np.arange(w)].astype(np.int64)
        values[idx] = chunk @ (1 << np.arange(w - 1, -1, -1, dtype=np.int64))
    interior = np.zeros(degree.size, np.int64)
    m: list = [np.zeros(0, np.int64)] * degree.size
    pos = 0
    for j, s in enumerate(degree.tolist()):
        if s:
            interior[j] = values[pos]
            m[j] = values[pos + 1:pos + 1 + s] * 2 + 1
            pos += 1 + s
    return degree, interior, m


def _directions(dim: int) -> Any:
    """uint64 [dim, 32] direction numbers v[j, k] (bit k of the index selects v[j, k])."""
    degree, interior, m = _table()
    v = np.zeros((dim, _BITS), np.uint64)
    v[0] = np.uint64(1) << np.arange(_BITS - 1, -1, -1, dtype=np.uint64)  # dimension 0: the van der Corput
    for j in range(1, dim):
        s, a = int(degree[j]), int(interior[j])
        row = [int(m[j][k]) << (_BITS - 1 - k) for k in range(min(s, _BITS))]
        for k in range(s, _BITS):
            new = row[k - s] ^ (row[k - s] >> s)
            for i in range(1, s):
                if (a >> (s - 1 - i)) & 1:
                    new ^= row[k - i]
            row.append(new)
        v[j] = row
    return v


@functools.lru_cache(maxsize=8)
def _cached_directions(dim: int) -> Any:
    return _directions(dim)


def sobol_sample(dim: Any, num_results: Any, skip: Any = 0, dtype: Any = _dt.float32, name: Any = None) -> Tensor:
    """`num_results` points of the `dim`-dimensional Sobol' sequence, after skipping `skip`.

    Args:
        dim: 1..21200. num_results >= 1, skip >= 0, num_results + skip < 2**31 - 1.
        dtype: float32 or float64.

    Returns:
        Tensor [num_results, dim] in [0, 1); row i is point skip + 1 + i (TF's numbering).

    Example:
        >>> tf.math.sobol_sample(3, 4)   # [[0.5 0.5 0.5] [0.75 0.25 0.25] [0.25 0.75 0.75] [0.375 0.375 0.625]]
    """
    op = "sobol_sample"
    dim, num_results, skip = (int(convert_to_tensor(v).numpy()) for v in (dim, num_results, skip))
    out_dtype = _dt.as_dtype(dtype)
    if out_dtype not in (_dt.float32, _dt.float64):
        raise InvalidArgumentError(None, None, f"{op}: dtype must be float32 or float64, received {out_dtype.name}")
    if dim < 1:
        raise InvalidArgumentError(None, None, f"{op}: dim must be at least one, received {dim}")
    if dim > MAX_DIM:
        raise InvalidArgumentError(None, None, f"{op}: dim must be at most {MAX_DIM}, received {dim}")
    if num_results < 1:
        raise InvalidArgumentError(None, None, f"{op}: num_results must be at least one, received {num_results}")
    if skip < 0:
        raise InvalidArgumentError(None, None, f"{op}: skip must be non-negative, received {skip}")
    if skip + num_results >= 2**31 - 1:  # TF's int32 counters
        raise InvalidArgumentError(None, None, f"{op}: num_results+skip must be less than 2147483647, received "
                                               f"{skip + num_results}")
    v = _cached_directions(dim)
    n = np.arange(skip + 1, skip + 1 + num_results, dtype=np.uint64)
    gray = n ^ (n >> np.uint64(1))
    x = np.zeros((num_results, dim), np.uint64)
    for k in range(_BITS):
        selected = ((gray >> np.uint64(k)) & np.uint64(1)).astype(bool)
        if selected.any():
            x[selected] ^= v[:, k]
    values = x.astype(np.float64) / float(1 << _BITS)
    return Tensor(values.astype(out_dtype.as_numpy_dtype))
