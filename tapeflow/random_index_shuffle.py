"""`tf.random_index_shuffle` and `tf.random.experimental.index_shuffle`: the position of an index
under a seeded permutation of [0, max_index], with TF's numbers.

TF's construction: a Simon-style Feistel block cipher on blocks of B bits (B even, at least 16,
enough for max_index), keyed by the three seed words and run for `rounds` rounds; values that
land above max_index are encrypted again until they fall inside (cycle walking), so the map is
a bijection of [0, max_index].
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.tensor import Tensor, convert_to_tensor

_Z = 0x7369F885192C0EF5
_C = 0xFFFFFFFC
_PAD_WORD = 498247692  # the word tf.random.experimental.index_shuffle puts before a 2-word seed


def _round_keys(key: tuple, rounds: int, w: int) -> list[int]:
    mask = (1 << w) - 1

    def rotr(x: int, r: int) -> int:
        return ((x >> r) | (x << (w - r))) & mask

    keys = [k & mask for k in key]
    z = _Z & mask
    for i in range(3, rounds):
        keys.append((_C & mask) ^ (z & 1) ^ keys[i - 3] ^ rotr(keys[i - 1], 3) ^ rotr(keys[i - 1], 4))
        z >>= 1
    return keys[:max(rounds, 3)] if rounds >= 3 else keys


def _encrypt(value: int, keys: list[int], w: int, rounds: int) -> int:
    mask = (1 << w) - 1

    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (w - r))) & mask

    def f(x: int) -> int:
        return (rotl(x, 1) & rotl(x, 8)) ^ rotl(x, 2)

    left, right = (value >> w) & mask, value & mask
    for i in range(0, rounds, 2):
        left ^= f(right)
        left ^= keys[i]
        right ^= f(left)
        right ^= keys[i + 1]
    return (left << w) | right


def shuffle_one(index: int, key: tuple, max_index: int, rounds: int = 4) -> int:
    """The shuffled position of one index (TF's RandomIndexShuffle kernel)."""
    if max_index == 0:
        return 0
    block = math.ceil(math.log2(max_index)) if max_index > 1 else 0
    block = max(block + block % 2, 16)
    w = min(block, 64) // 2
    keys = _round_keys(key, rounds, w)
    value = index
    while True:
        value = _encrypt(value, keys, w, rounds)
        if value <= max_index:
            return value


def random_index_shuffle(index: Any, seed: Any, max_index: Any, rounds: int = 4, name: Any = None) -> Tensor:
    """The raw op: `seed` has 3 words (or [n, 3]); index and max_index are scalars or vectors."""
    if rounds < 4 or rounds % 2:
        raise ValueError(f"random_index_shuffle: rounds must be an even number >= 4, received {rounds}.")
    idx_t = index if isinstance(index, Tensor) else convert_to_tensor(index)
    if idx_t.dtype.name not in ("int32", "int64", "uint32", "uint64"):
        raise TypeError(f"random_index_shuffle: index must be int32, int64, uint32 or uint64, received "
                        f"{idx_t.dtype.name}.")
    idx = backend.to_numpy(idx_t._value)
    seeds = np.asarray(backend.to_numpy(seed._value) if isinstance(seed, Tensor) else seed).astype(np.int64)
    top = np.asarray(backend.to_numpy(max_index._value) if isinstance(max_index, Tensor) else max_index)
    if seeds.shape[-1:] != (3,) or seeds.ndim > 2:
        raise ValueError(f"random_index_shuffle: seed must have shape [3] or [n, 3], received {seeds.shape}.")
    n = max(idx.size if idx.ndim else 1, seeds.shape[0] if seeds.ndim == 2 else 1, top.size if top.ndim else 1)
    idx_b = np.broadcast_to(idx.reshape(-1) if idx.ndim else idx, (n,))
    top_b = np.broadcast_to(top.reshape(-1) if top.ndim else top, (n,))
    seed_b = np.broadcast_to(seeds.reshape(-1, 3), (n, 3))
    out = []
    for i, m, s in zip(idx_b.tolist(), top_b.tolist(), seed_b.tolist(), strict=True):
        if not 0 <= i <= m:
            from tapeflow.errors import InvalidArgumentError

            raise InvalidArgumentError(None, None, f"random_index_shuffle: index {i} is outside [0, {m}].")
        out.append(shuffle_one(int(i), tuple(int(w) & 0xFFFFFFFF for w in s), int(m), rounds))
    result = np.asarray(out, idx.dtype)
    scalar = idx.ndim == 0 and seeds.ndim == 1 and top.ndim == 0
    result = result.reshape(()) if scalar else result
    return Tensor(backend.asarray(result, None, backend.get_xp(idx_t._value)))


def index_shuffle(index: Any, seed: Any, max_index: Any) -> Tensor:
    """`tf.random.experimental.index_shuffle`: `seed` of shape [2] (or [n, 2]), TF's numbers."""
    s = np.asarray(backend.to_numpy(seed._value) if isinstance(seed, Tensor) else seed).astype(np.int64)
    pad = np.full(s.shape[:-1] + (1,), _PAD_WORD, np.int64)
    return random_index_shuffle(index, np.concatenate([pad, s], axis=-1), max_index, rounds=4)
