"""Random draws for the `tf.image` random ops, made on the host: stateful ones follow
`tf.random`'s seeding (global seed and op seed); stateless ones depend only on a seed pair."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.ops import random as rnd
from tapeflow.tensor import Tensor


def uniform_array(shape: tuple, seed: Any = None, minval: float = 0.0, maxval: float = 1.0) -> np.ndarray:
    """Uniform [minval, maxval) float64 draws with `tf.random.uniform`'s seeding."""
    t = rnd.uniform(shape, 0.0, 1.0, dtype="float64", seed=seed)
    return minval + (maxval - minval) * np.asarray(backend.to_numpy(t._value), np.float64)


def stateless_uniform_array(shape: tuple, seed: Any, minval: float = 0.0, maxval: float = 1.0) -> np.ndarray:
    """Uniform draws that depend only on the shape-(2,) integer `seed` (Philox keyed by it)."""
    if isinstance(seed, Tensor):
        seed = backend.to_numpy(seed._value)
    pair = np.asarray(seed).reshape(-1)
    if pair.size != 2 or pair.dtype.kind not in "iu":
        raise ValueError(f"stateless random op: seed must be a shape [2] integer tensor, received {seed!r}.")
    key = np.asarray([int(v) & 0xFFFFFFFFFFFFFFFF for v in pair], np.uint64)
    rng = np.random.Generator(np.random.Philox(key=key))
    return minval + (maxval - minval) * rng.random(shape)
