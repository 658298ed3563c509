"""The string hashes of `tf.strings.to_hash_bucket*`, bit for bit as TF computes them.

* `fingerprint64`: FarmHash's Fingerprint64 (the "na" Hash64), TF's `Fingerprint64`, used by
  `to_hash_bucket_fast` and Keras's `Hashing` layer;
* `siphash24`: SipHash-2-4 with a 128-bit key (two little-endian 64-bit words), TF's
  `StrongKeyedHash`, used by `to_hash_bucket_strong`;
* `murmur64`: TF's legacy `Hash64` (MurmurHash64A with seed 0xDECAFCAFFE), used by
  `to_hash_bucket`.

Each hashes one `bytes` value to a Python int in [0, 2**64); callers map them over object
arrays. Written from the published algorithms (64-bit arithmetic masked in Python ints).
"""

from __future__ import annotations

import numpy as np

M64 = (1 << 64) - 1

# FarmHash constants.
K0 = 0xC3A5C85C97CB3127
K1 = 0xB492B66FBE98F273
K2 = 0x9AE16A3B2F90404F


def _fetch64(s: bytes, i: int) -> int:
    return int.from_bytes(s[i:i + 8], "little")


def _fetch32(s: bytes, i: int) -> int:
    return int.from_bytes(s[i:i + 4], "little")


def _rotr(v: int, shift: int) -> int:
    return v if shift == 0 else ((v >> shift) | (v << (64 - shift))) & M64


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def _hash_len16(u: int, v: int, mul: int) -> int:
    a = ((u ^ v) * mul) & M64
    a ^= a >> 47
    b = ((v ^ a) * mul) & M64
    b ^= b >> 47
    return (b * mul) & M64


def _len0to16(s: bytes, n: int) -> int:
    if n >= 8:
        mul = K2 + n * 2
        a = (_fetch64(s, 0) + K2) & M64
        b = _fetch64(s, n - 8)
        c = (_rotr(b, 37) * mul + a) & M64
        d = ((_rotr(a, 25) + b) * mul) & M64
        return _hash_len16(c, d, mul)
    if n >= 4:
        mul = K2 + n * 2
        a = _fetch32(s, 0)
        return _hash_len16((n + (a << 3)) & M64, _fetch32(s, n - 4), mul)
    if n > 0:
        y = (s[0] + (s[n >> 1] << 8)) & 0xFFFFFFFF
        z = (n + (s[n - 1] << 2)) & 0xFFFFFFFF
        return (_shift_mix(((y * K2) ^ (z * K0)) & M64) * K2) & M64
    return K2


def _len17to32(s: bytes, n: int) -> int:
    mul = K2 + n * 2
    a = (_fetch64(s, 0) * K1) & M64
    b = _fetch64(s, 8)
    c = (_fetch64(s, n - 8) * mul) & M64
    d = (_fetch64(s, n - 16) * K2) & M64
    return _hash_len16((_rotr((a + b) & M64, 43) + _rotr(c, 30) + d) & M64,
                       (a + _rotr((b + K2) & M64, 18) + c) & M64, mul)


def _len33to64(s: bytes, n: int) -> int:
    mul = K2 + n * 2
    a = (_fetch64(s, 0) * K2) & M64
    b = _fetch64(s, 8)
    c = (_fetch64(s, n - 8) * mul) & M64
    d = (_fetch64(s, n - 16) * K2) & M64
    y = (_rotr((a + b) & M64, 43) + _rotr(c, 30) + d) & M64
    z = _hash_len16(y, (a + _rotr((b + K2) & M64, 18) + c) & M64, mul)
    e = (_fetch64(s, 16) * mul) & M64
    f = _fetch64(s, 24)
    g = ((y + _fetch64(s, n - 32)) * mul) & M64
    h = ((z + _fetch64(s, n - 24)) * mul) & M64
    return _hash_len16((_rotr((e + f) & M64, 43) + _rotr(g, 30) + h) & M64,
                       (e + _rotr((f + a) & M64, 18) + g) & M64, mul)


def _weak32(s: bytes, i: int, a: int, b: int) -> tuple[int, int]:
    w, x, y, z = _fetch64(s, i), _fetch64(s, i + 8), _fetch64(s, i + 16), _fetch64(s, i + 24)
    a = (a + w) & M64
    b = _rotr((b + a + z) & M64, 21)
    c = a
    a = (a + x + y) & M64
    b = (b + _rotr(a, 44)) & M64
    return (a + z) & M64, (b + c) & M64


def fingerprint64(s: bytes) -> int:
    """FarmHash Fingerprint64 of `s` (TF's `Fingerprint64`)."""
    n = len(s)
    if n <= 16:
        return _len0to16(s, n)
    if n <= 32:
        return _len17to32(s, n)
    if n <= 64:
        return _len33to64(s, n)
    seed = 81
    y = (seed * K1 + 113) & M64
    z = (_shift_mix((y * K2 + 113) & M64) * K2) & M64
    v0 = v1 = w0 = w1 = 0
    x = (seed * K2 + _fetch64(s, 0)) & M64
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    i = 0
    while True:
        x = (_rotr((x + y + v0 + _fetch64(s, i + 8)) & M64, 37) * K1) & M64
        y = (_rotr((y + v1 + _fetch64(s, i + 48)) & M64, 42) * K1) & M64
        x ^= w1
        y = (y + v0 + _fetch64(s, i + 40)) & M64
        z = (_rotr((z + w0) & M64, 33) * K1) & M64
        v0, v1 = _weak32(s, i, (v1 * K1) & M64, (x + w0) & M64)
        w0, w1 = _weak32(s, i + 32, (z + w1) & M64, (y + _fetch64(s, i + 16)) & M64)
        z, x = x, z
        i += 64
        if i == end:
            break
    mul = K1 + ((z & 0xFF) << 1)
    i = last64
    w0 = (w0 + ((n - 1) & 63)) & M64
    v0 = (v0 + w0) & M64
    w0 = (w0 + v0) & M64
    x = (_rotr((x + y + v0 + _fetch64(s, i + 8)) & M64, 37) * mul) & M64
    y = (_rotr((y + v1 + _fetch64(s, i + 48)) & M64, 42) * mul) & M64
    x ^= (w1 * 9) & M64
    y = (y + v0 * 9 + _fetch64(s, i + 40)) & M64
    z = (_rotr((z + w0) & M64, 33) * mul) & M64
    v0, v1 = _weak32(s, i, (v1 * mul) & M64, (x + w0) & M64)
    w0, w1 = _weak32(s, i + 32, (z + w1) & M64, (y + _fetch64(s, i + 16)) & M64)
    z, x = x, z
    return _hash_len16((_hash_len16(v0, w0, mul) + _shift_mix(y) * K0 + z) & M64,
                       (_hash_len16(v1, w1, mul) + x) & M64, mul)


def _sip_round(v0: int, v1: int, v2: int, v3: int) -> tuple[int, int, int, int]:
    v0 = (v0 + v1) & M64
    v1 = _rotl(v1, 13) ^ v0
    v0 = _rotl(v0, 32)
    v2 = (v2 + v3) & M64
    v3 = _rotl(v3, 16) ^ v2
    v0 = (v0 + v3) & M64
    v3 = _rotl(v3, 21) ^ v0
    v2 = (v2 + v1) & M64
    v1 = _rotl(v1, 17) ^ v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def _rotl(v: int, shift: int) -> int:
    return ((v << shift) | (v >> (64 - shift))) & M64


def siphash24(s: bytes, k0: int, k1: int) -> int:
    """SipHash-2-4 of `s` with key words `k0`, `k1` (TF's `StrongKeyedHash`)."""
    v0 = k0 ^ 0x736F6D6570736575
    v1 = k1 ^ 0x646F72616E646F6D
    v2 = k0 ^ 0x6C7967656E657261
    v3 = k1 ^ 0x7465646279746573
    n = len(s)
    full = n - n % 8
    for i in range(0, full, 8):
        m = _fetch64(s, i)
        v3 ^= m
        v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
        v0 ^= m
    m = ((n & 0xFF) << 56) | int.from_bytes(s[full:], "little")
    v3 ^= m
    v0, v1, v2, v3 = _sip_round(*_sip_round(v0, v1, v2, v3))
    v0 ^= m
    v2 ^= 0xFF
    for _ in range(4):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


MURMUR_SEED = 0xDECAFCAFFE


def murmur64(s: bytes, seed: int = MURMUR_SEED) -> int:
    """TF's legacy `Hash64` (MurmurHash64A) of `s`."""
    m, r = 0xC6A4A7935BD1E995, 47
    n = len(s)
    h = (seed ^ (n * m)) & M64
    full = n - n % 8
    for i in range(0, full, 8):
        k = (_fetch64(s, i) * m) & M64
        k ^= k >> r
        k = (k * m) & M64
        h = ((h ^ k) * m) & M64
    if n > full:
        h = ((h ^ int.from_bytes(s[full:], "little")) * m) & M64
    h ^= h >> r
    h = (h * m) & M64
    return h ^ (h >> r)


# ---------------------------------------------------------------------------------------------
# Fingerprint64 of many strings at once: the length <= 64 branches have no loops, so they run
# as uint64 array arithmetic (wrapping like C) over all strings of a branch together.
# ---------------------------------------------------------------------------------------------

_U = np.uint64


def _rotr_v(v: np.ndarray, shift: int) -> np.ndarray:
    return (v >> _U(shift)) | (v << _U(64 - shift))


def _shift_mix_v(v: np.ndarray) -> np.ndarray:
    return v ^ (v >> _U(47))


def _hash_len16_v(u: np.ndarray, v: np.ndarray, mul: np.ndarray) -> np.ndarray:
    a = (u ^ v) * mul
    a ^= a >> _U(47)
    b = (v ^ a) * mul
    b ^= b >> _U(47)
    return b * mul


def _fetch_v(buf: np.ndarray, offsets: np.ndarray, width: int) -> np.ndarray:
    if not offsets.any():  # the common fixed offset 0: a slice, no gather
        return np.ascontiguousarray(buf[:, :width]).view("<u8" if width == 8 else "<u4").ravel().astype(np.uint64)
    rows = np.arange(len(buf))[:, None]
    raw = np.ascontiguousarray(buf[rows, offsets[:, None] + np.arange(width)])
    return raw.view("<u8" if width == 8 else "<u4").ravel().astype(np.uint64)


def _group_hash(buf: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Fingerprint64 of rows of `buf` (zero-padded bytes) whose lengths `n` share one branch."""
    f8 = lambda off: _fetch_v(buf, np.asarray(off, np.int64) + np.zeros(len(n), np.int64), 8)  # noqa: E731
    mul = _U(K2) + n.astype(np.uint64) * _U(2)
    top = int(n.max())
    if top >= 33:
        a, b = f8(0) * _U(K2), f8(8)
        c, d = f8(n - 8) * mul, f8(n - 16) * _U(K2)
        y = _rotr_v(a + b, 43) + _rotr_v(c, 30) + d
        z = _hash_len16_v(y, a + _rotr_v(b + _U(K2), 18) + c, mul)
        e, f = f8(16) * mul, f8(24)
        g, h = (y + f8(n - 32)) * mul, (z + f8(n - 24)) * mul
        return _hash_len16_v(_rotr_v(e + f, 43) + _rotr_v(g, 30) + h, e + _rotr_v(f + a, 18) + g, mul)
    if top >= 17:
        a, b = f8(0) * _U(K1), f8(8)
        c, d = f8(n - 8) * mul, f8(n - 16) * _U(K2)
        return _hash_len16_v(_rotr_v(a + b, 43) + _rotr_v(c, 30) + d, a + _rotr_v(b + _U(K2), 18) + c, mul)
    if top >= 8:
        a, b = f8(0) + _U(K2), f8(n - 8)
        c = _rotr_v(b, 37) * mul + a
        d = (_rotr_v(a, 25) + b) * mul
        return _hash_len16_v(c, d, mul)
    if top >= 4:
        a = _fetch_v(buf, np.zeros(len(n), np.int64), 4)
        b = _fetch_v(buf, n - 4, 4)
        return _hash_len16_v(n.astype(np.uint64) + (a << _U(3)), b, mul)
    rows = np.arange(len(buf))
    a = buf[rows, 0].astype(np.uint64)
    b = buf[rows, n >> 1].astype(np.uint64)
    c = buf[rows, n - 1].astype(np.uint64)
    y = (a + (b << _U(8))) & _U(0xFFFFFFFF)
    z = (n.astype(np.uint64) + (c << _U(2))) & _U(0xFFFFFFFF)
    return _shift_mix_v((y * _U(K2)) ^ (z * _U(K0))) * _U(K2)


_BRANCHES = ((1, 3), (4, 7), (8, 16), (17, 32), (33, 64))


def fingerprint64_many(strings: list) -> np.ndarray:
    """`fingerprint64` of each bytes value, as a uint64 array (vectorised up to 64 bytes)."""
    lengths = np.fromiter(map(len, strings), np.int64, len(strings))
    data = np.frombuffer(b"".join(strings) + bytes(72), np.uint8)
    starts = np.cumsum(lengths) - lengths
    out = np.empty(len(strings), dtype=np.uint64)
    out.fill(K2)  # the empty string's hash
    with np.errstate(over="ignore"):
        for lo, hi in _BRANCHES:
            idx = np.flatnonzero((lengths >= lo) & (lengths <= hi))
            if idx.size:
                # Each string's bytes, zero-padded to 72: one gather from the joined buffer.
                cols = np.arange(hi + 8)
                buf = data[starts[idx][:, None] + cols]
                buf[cols >= lengths[idx][:, None]] = 0
                out[idx] = _group_hash(buf, lengths[idx])
    for i in np.flatnonzero(lengths > 64).tolist():
        out[i] = fingerprint64(strings[i])
    return out
