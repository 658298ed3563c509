"""`keras.utils.set_random_seed`: one seed for Python, NumPy and Tapeflow random streams."""

from __future__ import annotations

import random

import numpy as np

__all__ = ["get_random_seed", "set_random_seed"]

_SEED: list = [None]


def set_random_seed(seed: int) -> None:
    """Seed Python's `random`, NumPy's global generator and Tapeflow (`tf.random.set_seed`).

    With the same seed, weight initialisation, dropout masks and `fit`'s shuffling repeat
    exactly, so training on the CPU is bit-identical from run to run.

    Args:
        seed: a non-negative integer.

    Example:
        >>> keras.utils.set_random_seed(42)
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(
            f"Expected `seed` argument to be an integer. Received: seed={seed!r} (of type {type(seed)})"
        )
    seed = int(seed)
    import tapeflow as tf

    _SEED[0] = seed
    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)


def get_random_seed() -> int | None:
    """The seed last given to `set_random_seed`, or None."""
    return _SEED[0]
