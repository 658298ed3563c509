"""Discrete cosine transforms of `tf.signal` (types 1-4, SciPy's unnormalised scaling or
'ortho') as a product with a constant basis matrix: differentiable, batched over leading axes."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import errors
from tapeflow.ops import elementwise as ew
from tapeflow.ops import linalg as la
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor, constant


def _basis(kind: int, n: int, norm: Any) -> np.ndarray:
    """M (n, n) with y = x @ M for the DCT of `kind` along the last axis."""
    i = np.arange(n)[:, None]  # input index
    k = np.arange(n)[None, :]  # output index
    if kind == 1:
        m = 2.0 * np.cos(np.pi * i * k / (n - 1))
        m[0, :] = 1.0
        m[-1, :] = (-1.0) ** np.arange(n)
    elif kind == 2:
        m = 2.0 * np.cos(np.pi * k * (2 * i + 1) / (2 * n))
        if norm == "ortho":
            m[:, 0] *= np.sqrt(1.0 / (4 * n))
            m[:, 1:] *= np.sqrt(1.0 / (2 * n))
    elif kind == 3:
        m = 2.0 * np.cos(np.pi * i * (2 * k + 1) / (2 * n))
        m[0, :] = 1.0
        if norm == "ortho":
            m[0, :] /= np.sqrt(n)
            m[1:, :] *= np.sqrt(1.0 / (2 * n))
    else:
        m = 2.0 * np.cos(np.pi * (2 * i + 1) * (2 * k + 1) / (4 * n))
        if norm == "ortho":
            m *= np.sqrt(1.0 / (2 * n))
    return m


def dct(input: Any, type: int = 2, n: Any = None, axis: int = -1, norm: Any = None,  # noqa: A002
        name: Any = None) -> Tensor:
    """The DCT of `type` (1-4) along the last axis, truncated/zero-padded to `n`; norm None
    (SciPy's scaling) or 'ortho' (not for type 1)."""
    x = ew.unary_operand(input, "dct")
    if type not in (1, 2, 3, 4):
        raise ValueError(f"dct: type must be 1, 2, 3 or 4, received {type!r}.")
    if axis not in (-1, len(x.shape) - 1):
        raise errors.UnimplementedError(None, None, f"dct: only axis=-1 is supported, as in TF; received axis={axis}.")
    if norm not in (None, "ortho"):
        raise ValueError(f"dct: norm must be None or 'ortho', received {norm!r}.")
    if type == 1 and norm == "ortho":
        raise ValueError("dct: normalization 'ortho' is not supported for type 1 (as TF).")
    if x.dtype.name not in ("float32", "float64", "float16"):
        raise TypeError(f"dct: expected a float tensor, received {x.dtype.name}.")
    if n is not None:
        n = int(n)
        m = x.shape[-1]
        if n < m:
            x = x[..., :n]
        elif n > m:
            x = mv.pad(x, [[0, 0]] * (len(x.shape) - 1) + [[0, n - m]])
    size = x.shape[-1]
    if type == 1 and size < 2:
        raise ValueError(f"dct: type 1 needs at least 2 samples, received {size}.")
    return la.matmul(x, constant(_basis(type, size, norm).astype(x.dtype._np)))


def idct(input: Any, type: int = 2, n: Any = None, axis: int = -1, norm: Any = None,  # noqa: A002
         name: Any = None) -> Tensor:
    """The inverse DCT: the DCT of the inverse type (2 <-> 3; 1 and 4 are their own), so that
    with norm='ortho' idct(dct(x)) == x and otherwise it is x scaled by 2N (2(N-1) for type 1)."""
    if type not in (1, 2, 3, 4):
        raise ValueError(f"idct: type must be 1, 2, 3 or 4, received {type!r}.")
    return dct(input, type={1: 1, 2: 3, 3: 2, 4: 4}[type], n=n, axis=axis, norm=norm)
