"""TF's Philox-4x32-10 counter-based generator and the sample conversions of its kernels, so
that `tf.random.stateless_*` and `tf.random.Generator` give TF's numbers bit for bit (up to the
last ulp of float32 log/sin/cos in Box-Muller).

A stream is (key: 2 x uint32, counter: 4 x uint32). Block i of a stream is Philox(counter + i,
key), 4 uint32 words; kernels consume blocks in order: uniform floats take one word each,
doubles two, Box-Muller pairs two words per two normals (four for doubles).
"""

from __future__ import annotations

from typing import Any

import numpy as np

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK = np.uint64(0xFFFFFFFF)


def blocks(key: tuple, counter: tuple, n: int, xp: Any = np) -> Any:
    """(n, 4) uint32: Philox-4x32-10 of counters counter + 0..n-1 (128-bit add) under `key`."""
    i = xp.arange(n, dtype=np.uint64)
    c = [int(w) for w in counter]
    lo = (c[0] | (c[1] << 32)) & 0xFFFFFFFFFFFFFFFF
    hi = (c[2] | (c[3] << 32)) & 0xFFFFFFFFFFFFFFFF
    new_lo = (i + np.uint64(lo)).astype(np.uint64)
    carry = (new_lo < np.uint64(lo)).astype(np.uint64)
    new_hi = (carry + np.uint64(hi)).astype(np.uint64)
    x0 = new_lo & _MASK
    x1 = new_lo >> np.uint64(32)
    x2 = new_hi & _MASK
    x3 = new_hi >> np.uint64(32)
    k0, k1 = int(key[0]) & 0xFFFFFFFF, int(key[1]) & 0xFFFFFFFF
    for r in range(10):
        p0 = _M0 * x0
        p1 = _M1 * x2
        x0, x1, x2, x3 = ((p1 >> np.uint64(32)) ^ x1 ^ np.uint64(k0), p1 & _MASK,
                          (p0 >> np.uint64(32)) ^ x3 ^ np.uint64(k1), p0 & _MASK)
        if r < 9:
            k0 = (k0 + _W0) & 0xFFFFFFFF
            k1 = (k1 + _W1) & 0xFFFFFFFF
    return xp.stack([x0, x1, x2, x3], axis=-1).astype(np.uint32)


def words(key: tuple, counter: tuple, n_words: int, xp: Any = np) -> Any:
    """The first n_words uint32 of the stream (whole blocks generated)."""
    return blocks(key, counter, -(-n_words // 4), xp).reshape(-1)[:n_words]


def skip(counter: tuple, count: int) -> tuple:
    """counter + count (128-bit, little-endian 32-bit words)."""
    c = [int(w) for w in counter]
    value = (c[0] | c[1] << 32 | c[2] << 64 | c[3] << 96) + int(count)
    value &= (1 << 128) - 1
    return tuple((value >> (32 * i)) & 0xFFFFFFFF for i in range(4))


def key_counter_from_seed(seed0: int, seed1: int) -> tuple:
    """TF's GenerateKey: the stateless ops' (key, counter) from a two-integer seed, scrambled
    by one Philox block so that either half of the seed may be weak."""
    s0, s1 = int(seed0) & 0xFFFFFFFFFFFFFFFF, int(seed1) & 0xFFFFFFFFFFFFFFFF
    counter = (s0 & 0xFFFFFFFF, s0 >> 32, s1 & 0xFFFFFFFF, s1 >> 32)
    mix = [int(v) for v in blocks((0x3EC8F720, 0x02461E29), counter, 1)[0]]
    return (mix[0], mix[1]), (0, 0, mix[2], mix[3])


# -- conversions (TF's random_distributions.h) ------------------------------------------------

def uint32_to_float(x: Any, xp: Any = np) -> Any:
    """[0, 1) float32 from the 23 low bits as a mantissa."""
    return ((x & np.uint32(0x7FFFFF)) | np.uint32(127 << 23)).view(np.float32) - np.float32(1.0)


def uint64_to_double(x0: Any, x1: Any, xp: Any = np) -> Any:
    """[0, 1) float64 from 52 bits: the 20 low bits of x0 (high part) and all of x1."""
    man = ((x0.astype(np.uint64) & np.uint64(0xFFFFF)) << np.uint64(32)) | x1.astype(np.uint64)
    return (man | np.uint64(1023 << 52)).view(np.float64) - 1.0


def uint16_to_half(x: Any, xp: Any = np) -> Any:
    """[0, 1) float16 from the 10 low bits as a mantissa."""
    return ((x.astype(np.uint16) & np.uint16(0x3FF)) | np.uint16(15 << 10)).view(np.float16) - np.float16(1.0)


def box_muller_float(x0: Any, x1: Any, xp: Any = np) -> tuple:
    """Two standard normals (float32) per pair of words, computed in float32 like TF."""
    u1 = xp.maximum(uint32_to_float(x0, xp), np.float32(1.0e-7))
    v1 = np.float32(2.0 * np.pi) * uint32_to_float(x1, xp)
    u2 = xp.sqrt(np.float32(-2.0) * xp.log(u1))
    return xp.sin(v1) * u2, xp.cos(v1) * u2


def box_muller_double(x0: Any, x1: Any, x2: Any, x3: Any, xp: Any = np) -> tuple:
    """Two standard normals (float64) per four words."""
    u1 = xp.maximum(uint64_to_double(x0, x1, xp), 1.0e-7)
    v1 = 2.0 * np.pi * uint64_to_double(x2, x3, xp)
    u2 = xp.sqrt(-2.0 * xp.log(u1))
    return xp.sin(v1) * u2, xp.cos(v1) * u2
