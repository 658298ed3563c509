"""`tf.experimental.numpy.random`: NumPy-style random arrays from Tapeflow's seeded streams
(float64 by default, as NumPy)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.ops import random as _r
from tapeflow.tensor import Tensor


def _dt() -> str:
    from tapeflow.experimental.numpy.api import _default_float

    return np.dtype(_default_float()).name


def seed(s: int) -> None:
    """Seed the global random state (`tf.random.set_seed`)."""
    _r.set_seed(int(s))


def _shape(size: Any) -> tuple:
    if size is None:
        return ()
    return (int(size),) if isinstance(size, (int, np.integer)) else tuple(int(d) for d in size)


def random(size: Any = None) -> Tensor:
    """Uniform floats in [0, 1)."""
    return _r.uniform(_shape(size), dtype=_dt())


def rand(*size: int) -> Tensor:
    """Uniform floats in [0, 1) of shape `size`."""
    return _r.uniform(tuple(size), dtype=_dt())


def uniform(low: float = 0.0, high: float = 1.0, size: Any = None) -> Tensor:
    """Uniform floats in [low, high)."""
    return _r.uniform(_shape(size), minval=low, maxval=high, dtype=_dt())


def standard_normal(size: Any = None) -> Tensor:
    """Standard normal floats."""
    return _r.normal(_shape(size), dtype=_dt())


def randn(*args: int) -> Tensor:
    """Standard normal floats of shape `args`."""
    return _r.normal(tuple(args), dtype=_dt())


def randint(low: int, high: Any = None, size: Any = None, dtype: Any = "int64") -> Tensor:
    """Integers in [low, high) (or [0, low) without high)."""
    lo, hi = (0, low) if high is None else (low, high)
    return _r.uniform(_shape(size), minval=int(lo), maxval=int(hi), dtype=np.dtype(dtype).name)


def poisson(lam: float = 1.0, size: Any = None) -> Tensor:
    """Poisson(lam) counts (int64)."""
    from tapeflow.random_samplers import poisson as _poisson

    return _poisson(_shape(size), lam, dtype="int64")
