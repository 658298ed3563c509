"""CRC-32C (Castagnoli), the checksum of TFRecord files, and TF's "masked" form of it.

Short inputs go through a byte-at-a-time table loop. Long ones are cut into equal lanes whose
CRCs NumPy computes side by side (one table lookup per byte position for all lanes at once),
then folded pairwise: CRC(A + B) = shift_len(B)(CRC(A)) ^ CRC(B) for the register with no
pre/post inversion, where shifting by n zero bytes is linear in the register and so is four
256-entry tables, squared from one level to the next. Leading zero bytes leave that register at
zero, so the message is padded in front to a whole number of lanes.
"""

from __future__ import annotations

import numpy as np

_POLY = 0x82F63B78  # reflected Castagnoli polynomial
_MASK_DELTA = 0xA282EAD8
_LANE = 256  # bytes per lane in the vectorized path
_SHORT = 4096  # inputs up to this length use the plain loop


def _make_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _make_table()
_NP_TABLE = np.array(_TABLE, np.uint32)


def _raw_loop(data: bytes, crc: int) -> int:
    table = _TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def _zero_bytes(values: np.ndarray, n: int) -> np.ndarray:
    """The registers `values` after `n` zero bytes."""
    for _ in range(n):
        values = _NP_TABLE[values & 0xFF] ^ (values >> 8)
    return values


def _apply(tables: np.ndarray, c: np.ndarray) -> np.ndarray:
    return (tables[0][c & 0xFF] ^ tables[1][(c >> 8) & 0xFF] ^ tables[2][(c >> 16) & 0xFF]
            ^ tables[3][c >> 24])


def _shift_tables(n: int) -> np.ndarray:
    """Four tables: the shift by n zero bytes of each byte of the register."""
    base = np.arange(256, dtype=np.uint32)
    return np.stack([_zero_bytes(base << np.uint32(8 * k), n) for k in range(4)])


_LANE_SHIFT = _shift_tables(_LANE)
_BYTE_SHIFT = _shift_tables(1)


def _raw_vectorized(data: bytes) -> int:
    """The register (init 0, no inversion) after `data`."""
    lanes = 1 << max(0, (len(data) + _LANE - 1) // _LANE - 1).bit_length()
    padded = np.zeros(lanes * _LANE, np.uint8)
    padded[len(padded) - len(data):] = np.frombuffer(data, np.uint8)
    block = padded.reshape(lanes, _LANE).T.copy()  # block[j] = byte j of every lane
    crc = np.zeros(lanes, np.uint32)
    for j in range(_LANE):
        crc = _NP_TABLE[(crc ^ block[j]) & 0xFF] ^ (crc >> 8)
    tables = _LANE_SHIFT
    while len(crc) > 1:
        crc = _apply(tables, crc[0::2]) ^ crc[1::2]
        if len(crc) > 1:
            tables = np.stack([_apply(tables, t) for t in tables])  # shift twice as far
    return int(crc[0])


def crc32c(data: bytes) -> int:
    """The CRC-32C of `data` (as `crc32c` libraries and TF's `crc32c::Value` give it)."""
    data = bytes(data)
    if len(data) <= _SHORT:
        return _raw_loop(data, 0xFFFFFFFF) ^ 0xFFFFFFFF
    # The inverted start value, carried through len(data) bytes, is the loop's start: linear.
    return _shift_register(0xFFFFFFFF, len(data)) ^ _raw_vectorized(data) ^ 0xFFFFFFFF


def _shift_register(value: int, n: int) -> int:
    """The register `value` after n zero bytes, by squaring (log n table steps)."""
    out = np.array([value], np.uint32)
    tables = _BYTE_SHIFT
    while n:
        if n & 1:
            out = _apply(tables, out)
        n >>= 1
        if n:
            tables = np.stack([_apply(tables, t) for t in tables])
    return int(out[0])


def masked_crc32c(data: bytes) -> int:
    """TF's masked CRC of a TFRecord length or payload: rotate right by 15, add a constant."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF
