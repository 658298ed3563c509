"""tapeflow.io.snappy: raw Snappy blocks decode exactly, and damaged or hostile ones raise
SnappyError before any large allocation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tapeflow.io.snappy import SnappyError, decompress


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def compress(data: bytes) -> bytes:
    """A valid Snappy block (a test encoder): greedy 4-byte matches, emitted in turn as copies
    with 1-, 2- and 4-byte offsets where the length and offset allow, literals of every length
    form between them."""
    out = bytearray(_varint(len(data)))
    kinds = itertools.cycle((1, 2, 3))

    def literal(chunk: bytes) -> None:
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        else:
            width = (n.bit_length() + 7) // 8
            out.append((59 + width) << 2)
            out.extend(n.to_bytes(width, "little"))
        out.extend(chunk)

    def copy(offset: int, length: int) -> None:
        kind = next(kinds)
        if kind == 1 and (length > 11 or offset >= 2048):
            kind = 2
        if kind == 2 and offset >= 65536:
            kind = 3
        if kind == 1:
            out.extend([1 | ((length - 4) << 2) | ((offset >> 8) << 5), offset & 0xFF])
        else:
            out.append(kind | ((length - 1) << 2))
            out.extend(offset.to_bytes(2 if kind == 2 else 4, "little"))

    table: dict[bytes, int] = {}
    i = start = 0
    while i + 4 <= len(data):
        key = data[i:i + 4]
        j = table.get(key)
        table[key] = i
        if j is None:
            i += 1
            continue
        length = 4
        while i + length < len(data) and length < 64 and data[j + length] == data[i + length]:
            length += 1
        if start < i:
            literal(data[start:i])
        copy(i - j, length)
        i += length
        start = i
    if start < len(data):
        literal(data[start:])
    return bytes(out)


def _samples() -> list[bytes]:
    rng = np.random.default_rng(0)
    text = b"the quick brown fox jumps over the lazy dog; " * 40
    return [b"", b"a", b"ab" * 300, b"\x00" * 5000, text, rng.integers(0, 256, 3000, dtype=np.uint8).tobytes(),
            rng.integers(0, 4, 100000, dtype=np.uint8).tobytes(),  # offsets past 2048 and 65536
            bytes(range(256)) * 300 + b"tail" * 20]


@pytest.mark.parametrize("index", range(len(_samples())))
def test_round_trip(index):
    data = _samples()[index]
    block = compress(data)
    assert decompress(block) == data


def test_every_element_kind_is_exercised():
    block = compress(_samples()[6])
    assert len(block) < 100000  # copies were used


def test_a_known_block():
    # "abcabcabcabc": literal "abc", then an overlapping 9-byte copy at offset 3 (tag 1).
    assert decompress(bytes([12, 2 << 2]) + b"abc" + bytes([1 | (5 << 2), 3])) == b"abcabcabcabc"
    # A literal whose length (61) is held in one extra byte (tag 60).
    assert decompress(_varint(61) + bytes([60 << 2, 60]) + b"x" * 61) == b"x" * 61


@pytest.mark.parametrize("block, message", [
    (b"", "uncompressed length: a varint runs past"),
    (b"\xff\xff\xff\xff\xff\x01", "uncompressed length: a varint is longer than 5 bytes"),
    (_varint(1 << 29) + b"\x00a", "more than its 7 bytes can hold"),
    (_varint(5) + bytes([4 << 2]) + b"ab", "literal runs past the end"),
    (_varint(2) + bytes([61 << 2]), "literal's length runs past"),
    (_varint(8) + bytes([0]) + b"a" + bytes([1 | (3 << 2), 0]), "offset 0 lies outside"),
    (_varint(8) + bytes([0]) + b"a" + bytes([1 | (3 << 2), 2]), "offset 2 lies outside"),
    (_varint(8) + bytes([0]) + b"a" + bytes([2 | (6 << 2)]) + b"\x01", "copy runs past the end"),
    (_varint(4) + bytes([0]) + b"a" + bytes([2 | (9 << 2), 1, 0]), "more bytes than it declares"),
    (_varint(3) + bytes([4]) + b"ab", "decodes to 2 bytes, it declares 3"),
])
def test_damaged_blocks_raise(block, message):
    with pytest.raises(SnappyError, match=message):
        decompress(block)


def test_declared_size_is_bounded_before_decoding():
    block = compress(b"z" * 4096)
    with pytest.raises(SnappyError, match="more than the 1000 allowed"):
        decompress(block, max_size=1000)
