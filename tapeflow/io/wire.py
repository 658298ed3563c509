"""The protobuf wire format by hand (no protobuf dependency): the one varint reader and writer,
and the field splitter, that TensorProto and Example (`tensor_proto`, `parse_features`), the
`protobuf` message classes, TensorFlow checkpoints (`train/tf_bundle`), the profiler's XSpace
(`profiler/xplane`) and Snappy's length prefix (`snappy`) share.

Readers check every length against the bytes that are there before slicing, and raise the
caller's error class (`ProtoError` by default) for truncated or malformed input.
"""

from __future__ import annotations

_MASK64 = (1 << 64) - 1


class ProtoError(ValueError):
    """The bytes are not a protobuf message this reader understands."""


def write_varint(n: int) -> bytes:
    """`n` as a base-128 varint; negative numbers as their 64-bit two's complement (10 bytes)."""
    n &= _MASK64
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_varint(data: bytes, pos: int, error: type[Exception] = ProtoError, max_bytes: int = 10) -> tuple[int, int]:
    """(value, position after it) of the varint at `data[pos]`, at most `max_bytes` long."""
    result = shift = 0
    for _ in range(max_bytes):
        if pos >= len(data):
            raise error("a varint runs past the end of its bytes")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
    raise error(f"a varint is longer than {max_bytes} bytes")


def tag(number: int, wire_type: int) -> bytes:
    """A field's key: its number and wire type."""
    return write_varint(number << 3 | wire_type)


def length_delimited(number: int, payload: bytes) -> bytes:
    """A wire-type-2 field (bytes, string, message or packed values)."""
    return tag(number, 2) + write_varint(len(payload)) + payload


def fields(data: bytes, error: type[Exception] = ProtoError) -> list[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of every field of one message, in order: varints as ints,
    length-delimited and fixed32/fixed64 fields as their bytes."""
    out, pos = [], 0
    while pos < len(data):
        key, pos = read_varint(data, pos, error)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise error("field number 0")
        if wire_type == 0:
            value, pos = read_varint(data, pos, error)
        elif wire_type in (1, 5):
            size = 8 if wire_type == 1 else 4
            if pos + size > len(data):
                raise error(f"a fixed{size * 8} field runs past the end")
            value, pos = data[pos:pos + size], pos + size
        elif wire_type == 2:
            size, pos = read_varint(data, pos, error)
            if pos + size > len(data):
                raise error(f"a {size}-byte field runs past the end")
            value, pos = data[pos:pos + size], pos + size
        else:
            raise error(f"wire type {wire_type}")
        out.append((number, wire_type, value))
    return out


def map_entry(data: bytes, error: type[Exception] = ProtoError) -> tuple[str, bytes]:
    """(key, value bytes) of a `map<string, message>` entry (fields 1 and 2; missing ones empty)."""
    key, value = "", b""
    for number, wire_type, item in fields(data, error):
        if number == 1 and wire_type == 2:
            try:
                key = bytes(item).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise error("a map key is not UTF-8") from exc
        elif number == 2 and wire_type == 2:
            value = item
    return key, value


__all__ = ["ProtoError", "fields", "length_delimited", "map_entry", "read_varint", "tag", "write_varint"]
