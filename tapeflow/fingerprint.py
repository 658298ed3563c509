"""TF's string hashes on the host: FarmHash Fingerprint64, SipHash-2-4 and FingerprintCat64.

These are the functions behind `tf.strings.to_hash_bucket_fast` (Fingerprint64, i.e.
farmhash's `farmhashna::Hash64`), `tf.strings.to_hash_bucket_strong` (SipHash-2-4 keyed by two
uint64s) and `tf.sparse.cross_hashed` (FingerprintCat64). They take a sequence of `bytes` and
return uint64 arrays. Strings are grouped by length and each group is hashed at once with
wrapping uint64 NumPy arithmetic, since every string of one length takes the same branches.
Hashing bytes is host work (TF runs these kernels on the CPU too), so this uses NumPy directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

_U = np.uint64
_K0 = _U(0xC3A5C85C97CB3127)
_K1 = _U(0xB492B66FBE98F273)
_K2 = _U(0x9AE16A3B2F90404F)
_KMUL = _U(0xC6A4A7935BD1E995)


def _rot(v: np.ndarray, shift: int) -> np.ndarray:
    """Rotate right by `shift` bits (farmhash's Rotate)."""
    return (v >> _U(shift)) | (v << _U(64 - shift))


def _rotl(v: np.ndarray, shift: int) -> np.ndarray:
    return (v << _U(shift)) | (v >> _U(64 - shift))


def _shift_mix(v: np.ndarray) -> np.ndarray:
    return v ^ (v >> _U(47))


def _hash_len16(u: np.ndarray, v: np.ndarray, mul: np.ndarray) -> np.ndarray:
    a = (u ^ v) * mul
    a ^= a >> _U(47)
    b = (v ^ a) * mul
    b ^= b >> _U(47)
    return b * mul


class _Bytes:
    """n strings of one length L as an (n, L) uint8 matrix, read as little-endian words."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.n, self.length = rows.shape

    def word(self, offset: int) -> np.ndarray:
        return np.ascontiguousarray(self.rows[:, offset:offset + 8]).view("<u8")[:, 0].astype(_U)

    def word32(self, offset: int) -> np.ndarray:
        return np.ascontiguousarray(self.rows[:, offset:offset + 4]).view("<u4")[:, 0].astype(_U)

    def byte(self, offset: int) -> np.ndarray:
        return self.rows[:, offset].astype(_U)


def _farm_0_to_16(s: _Bytes) -> np.ndarray:
    n = s.length
    if n >= 8:
        mul = _K2 + _U(n * 2)
        a = s.word(0) + _K2
        b = s.word(n - 8)
        c = _rot(b, 37) * mul + a
        d = (_rot(a, 25) + b) * mul
        return _hash_len16(c, d, mul)
    if n >= 4:
        mul = _K2 + _U(n * 2)
        a = s.word32(0)
        return _hash_len16(_U(n) + (a << _U(3)), s.word32(n - 4), mul)
    if n > 0:
        y = s.byte(0) + (s.byte(n >> 1) << _U(8))
        z = _U(n) + (s.byte(n - 1) << _U(2))
        return _shift_mix((y * _K2) ^ (z * _K0)) * _K2
    return np.full(s.n, _K2, _U)


def _farm_17_to_32(s: _Bytes) -> np.ndarray:
    n = s.length
    mul = _K2 + _U(n * 2)
    a = s.word(0) * _K1
    b = s.word(8)
    c = s.word(n - 8) * mul
    d = s.word(n - 16) * _K2
    return _hash_len16(_rot(a + b, 43) + _rot(c, 30) + d, a + _rot(b + _K2, 18) + c, mul)


def _farm_33_to_64(s: _Bytes) -> np.ndarray:
    n = s.length
    mul = _K2 + _U(n * 2)
    a = s.word(0) * _K2
    b = s.word(8)
    c = s.word(n - 8) * mul
    d = s.word(n - 16) * _K2
    y = _rot(a + b, 43) + _rot(c, 30) + d
    z = _hash_len16(y, a + _rot(b + _K2, 18) + c, mul)
    e = s.word(16) * mul
    f = s.word(24)
    g = (y + s.word(n - 32)) * mul
    h = (z + s.word(n - 24)) * mul
    return _hash_len16(_rot(e + f, 43) + _rot(g, 30) + h, e + _rot(f + a, 18) + g, mul)


def _weak32(s: _Bytes, at: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w, x, y, z = s.word(at), s.word(at + 8), s.word(at + 16), s.word(at + 24)
    a = a + w
    b = _rot(b + a + z, 21)
    c = a
    a = a + x + y
    b = b + _rot(a, 44)
    return a + z, b + c


def _farm_long(s: _Bytes) -> np.ndarray:
    n = s.length
    seed = _U(81)
    x = np.full(s.n, seed, _U)
    y = np.full(s.n, seed * _K1 + _U(113), _U)
    z = _shift_mix(y * _K2 + _U(113)) * _K2
    zero = np.zeros(s.n, _U)
    v, w = (zero, zero), (zero, zero)
    x = x * _K2 + s.word(0)
    for at in range(0, ((n - 1) // 64) * 64, 64):
        x = _rot(x + y + v[0] + s.word(at + 8), 37) * _K1
        y = _rot(y + v[1] + s.word(at + 48), 42) * _K1
        x = x ^ w[1]
        y = y + v[0] + s.word(at + 40)
        z = _rot(z + w[0], 33) * _K1
        v = _weak32(s, at, v[1] * _K1, x + w[0])
        w = _weak32(s, at + 32, z + w[1], y + s.word(at + 16))
        z, x = x, z
    mul = _K1 + ((z & _U(0xFF)) << _U(1))
    at = ((n - 1) // 64) * 64 + ((n - 1) & 63) - 63
    w0 = w[0] + _U((n - 1) & 63)
    v0 = v[0] + w0
    w0 = w0 + v0
    v, w = (v0, v[1]), (w0, w[1])
    x = _rot(x + y + v[0] + s.word(at + 8), 37) * mul
    y = _rot(y + v[1] + s.word(at + 48), 42) * mul
    x = x ^ (w[1] * _U(9))
    y = y + v[0] * _U(9) + s.word(at + 40)
    z = _rot(z + w[0], 33) * mul
    v = _weak32(s, at, v[1] * mul, x + w[0])
    w = _weak32(s, at + 32, z + w[1], y + s.word(at + 16))
    z, x = x, z
    return _hash_len16(_hash_len16(v[0], w[0], mul) + _shift_mix(y) * _K0 + z,
                       _hash_len16(v[1], w[1], mul) + x, mul)


def _farm64(s: _Bytes) -> np.ndarray:
    if s.length <= 16:
        return _farm_0_to_16(s)
    if s.length <= 32:
        return _farm_17_to_32(s)
    if s.length <= 64:
        return _farm_33_to_64(s)
    return _farm_long(s)


def _siphash(s: _Bytes, key: tuple[int, int]) -> np.ndarray:
    k0, k1 = _U(key[0]), _U(key[1])
    v = [np.full(s.n, k0 ^ _U(0x736F6D6570736575), _U), np.full(s.n, k1 ^ _U(0x646F72616E646F6D), _U),
         np.full(s.n, k0 ^ _U(0x6C7967656E657261), _U), np.full(s.n, k1 ^ _U(0x7465646279746573), _U)]

    def rounds(count: int) -> None:
        for _ in range(count):
            v[0] = v[0] + v[1]
            v[1] = _rotl(v[1], 13) ^ v[0]
            v[0] = _rotl(v[0], 32)
            v[2] = v[2] + v[3]
            v[3] = _rotl(v[3], 16) ^ v[2]
            v[0] = v[0] + v[3]
            v[3] = _rotl(v[3], 21) ^ v[0]
            v[2] = v[2] + v[1]
            v[1] = _rotl(v[1], 17) ^ v[2]
            v[2] = _rotl(v[2], 32)

    full = s.length // 8 * 8
    for at in range(0, full, 8):
        m = s.word(at)
        v[3] ^= m
        rounds(2)
        v[0] ^= m
    tail = np.zeros((s.n, 8), np.uint8)
    tail[:, :s.length - full] = s.rows[:, full:]
    tail[:, 7] = s.length & 0xFF
    m = tail.view("<u8")[:, 0].astype(_U)
    v[3] ^= m
    rounds(2)
    v[0] ^= m
    v[2] ^= _U(0xFF)
    rounds(4)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


_MAX_PADDED_BYTES = 1 << 26  # above this, groups are gathered by joining instead of one padded copy


def _by_length(strings: Sequence[bytes], fn: Callable[[_Bytes], np.ndarray]) -> np.ndarray:
    """Apply `fn` to each group of equal-length strings; results in the input order.

    The strings are laid out once as a zero-padded (n, longest) byte matrix (NumPy's fixed-width
    bytes, whose buffer keeps every byte, trailing NULs included), and each group is a slice of
    its rows; when that matrix would be much larger than the text itself, groups are joined.
    """
    if isinstance(strings, np.ndarray):
        flat = strings.reshape(-1)
    else:
        flat = np.empty(len(strings), dtype=object)
        flat[:] = list(strings)
    out = np.zeros(flat.size, _U)
    lengths = np.fromiter(map(len, flat.tolist()), np.int64, flat.size)
    width = int(lengths.max(initial=0))
    padded = None
    if flat.size * width <= max(_MAX_PADDED_BYTES, 4 * int(lengths.sum())) and width:
        padded = flat.astype(f"S{width}").view(np.uint8).reshape(flat.size, width)
    with np.errstate(over="ignore"):
        for length in np.unique(lengths):
            where = np.flatnonzero(lengths == length)
            if padded is not None:
                rows = padded[where, :int(length)]
            else:
                joined = b"".join(flat[i] for i in where.tolist())
                rows = np.frombuffer(joined, np.uint8).reshape(len(where), int(length))
            out[where] = fn(_Bytes(rows))
    return out


def fingerprint64(strings: Sequence[bytes] | np.ndarray) -> np.ndarray:
    """FarmHash Fingerprint64 of each byte string (a sequence or an object array of `bytes`;
    uint64, flat), as TF's `Fingerprint64`."""
    return _by_length(strings, _farm64)


def siphash64(strings: Sequence[bytes], key: tuple[int, int]) -> np.ndarray:
    """SipHash-2-4 of each byte string under the 128-bit `key` (two uint64s), as TF's strong hash."""
    if len(key) != 2:
        raise ValueError(f"siphash64: `key` must be two unsigned integers, received key={key!r}.")
    return _by_length(strings, lambda s: _siphash(s, (int(key[0]), int(key[1]))))


def fingerprint_cat64(fp1: np.ndarray, fp2: np.ndarray) -> np.ndarray:
    """TF's `FingerprintCat64`: combine two uint64 fingerprints (order matters)."""
    with np.errstate(over="ignore"):
        fp1, fp2 = np.asarray(fp1, _U), np.asarray(fp2, _U)
        result = fp1 ^ _KMUL
        result = result ^ (_shift_mix(fp2 * _KMUL) * _KMUL)
        result = result * _KMUL
        result = _shift_mix(result) * _KMUL
        return _shift_mix(result)
