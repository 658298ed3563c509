"""TF's legacy string hash (`Hash64`: MurmurHash64A with seed 0xDECAFCAFFE), behind
`tf.strings.to_hash_bucket`; written from the published algorithm. (The FarmHash Fingerprint64
and SipHash behind `to_hash_bucket_fast` / `_strong` live in `tapeflow.fingerprint`.)
"""

from __future__ import annotations

M64 = (1 << 64) - 1


def _fetch64(s: bytes, i: int) -> int:
    return int.from_bytes(s[i:i + 8], "little")


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
