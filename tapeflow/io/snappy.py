"""Snappy decompression (the raw block format, as LevelDB tables compress their blocks) in pure
Python, for reading files; nothing here compresses.

A block is the uncompressed length (a varint) followed by elements: literals (tag 0: the bytes
follow) and copies of earlier output (tag 1: 3-bit length - 4 and an 11-bit offset; tag 2: a
16-bit offset; tag 3: a 32-bit offset; tags 2 and 3 hold length - 1 in the tag's upper 6 bits).
Every length and offset is checked before it is used: the declared size must be one the input
can produce (at most 64 output bytes per 2 input bytes, and `max_size`), a literal must lie in
the input, a copy must start inside the output so far, and the output must end at exactly the
declared size. A hostile block raises `SnappyError` and allocates at most its declared size.
"""

from __future__ import annotations

from tapeflow.io.wire import read_varint

# A copy of up to 64 bytes costs 2 (tag 1: up to 11 bytes) or 3 input bytes: 32 bytes of output per
# input byte bounds every valid block.
_MAX_EXPANSION = 32


class SnappyError(ValueError):
    """A Snappy block is corrupt, truncated or larger than allowed."""


def uncompressed_length(data: bytes) -> tuple[int, int]:
    """(the declared uncompressed length, the position after its varint of at most 5 bytes)."""
    try:
        return read_varint(data, 0, SnappyError, max_bytes=5)
    except SnappyError as exc:
        raise SnappyError(f"the uncompressed length: {exc}") from None


def decompress(data: bytes, max_size: int = 1 << 30) -> bytes:
    """The bytes of one raw Snappy block `data`.

    Raises:
        SnappyError: for a corrupt or truncated block, or one declaring more than `max_size`
            bytes (or more than its input can encode).
    """
    data = bytes(data)
    size, pos = uncompressed_length(data)
    if size > max_size:
        raise SnappyError(f"the block declares {size} uncompressed bytes, more than the {max_size} allowed")
    if size > _MAX_EXPANSION * (len(data) - pos):
        raise SnappyError(f"the block declares {size} uncompressed bytes, more than its {len(data)} bytes can hold")
    out = bytearray()
    end = len(data)
    while pos < end:
        tag = data[pos]
        kind = tag & 3
        pos += 1
        if kind == 0:  # a literal
            length = tag >> 2
            if length >= 60:
                extra = length - 59
                if pos + extra > end:
                    raise SnappyError("a literal's length runs past the end of the block")
                length = int.from_bytes(data[pos:pos + extra], "little")
                pos += extra
            length += 1
            if pos + length > end:
                raise SnappyError(f"a {length}-byte literal runs past the end of the block")
            if len(out) + length > size:
                raise SnappyError("the block decodes to more bytes than it declares")
            out += data[pos:pos + length]
            pos += length
            continue
        if kind == 1:
            if pos + 1 > end:
                raise SnappyError("a copy runs past the end of the block")
            length = 4 + ((tag >> 2) & 7)
            offset = ((tag >> 5) << 8) | data[pos]
            pos += 1
        else:
            width = 2 if kind == 2 else 4
            if pos + width > end:
                raise SnappyError("a copy runs past the end of the block")
            length = 1 + (tag >> 2)
            offset = int.from_bytes(data[pos:pos + width], "little")
            pos += width
        if offset == 0 or offset > len(out):
            raise SnappyError(f"a copy's offset {offset} lies outside the {len(out)} bytes decoded so far")
        if len(out) + length > size:
            raise SnappyError("the block decodes to more bytes than it declares")
        start = len(out) - offset
        if length <= offset:
            out += out[start:start + length]
        else:  # overlapping: the copied bytes repeat with period `offset`
            pattern = bytes(out[start:])
            out += (pattern * (length // offset + 1))[:length]
    if len(out) != size:
        raise SnappyError(f"the block decodes to {len(out)} bytes, it declares {size}")
    return bytes(out)


__all__ = ["SnappyError", "decompress", "uncompressed_length"]
