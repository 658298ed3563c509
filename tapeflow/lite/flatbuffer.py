"""A small FlatBuffers writer and reader: just what a .tflite file needs (tables, strings, vectors
of scalars and of tables), so `tf.lite` needs no extra package.

The writer lays objects out front to back: the root offset first, then each table (its vtable
right before it), then its children after it, so every uoffset points forward as FlatBuffers
requires. Every scalar is aligned to its size from the buffer start.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Table:
    """A table to write: `fields` maps a field index (slot 0, 1, ...) to a value.

    A value is `(fmt, number)` for a scalar (struct format: "b", "B", "h", "i", "I", "f", "?", "q"),
    or a `Table`, `Vector`, `TableVector` or `str` child."""

    fields: dict[int, Any] = field(default_factory=dict)


@dataclass
class Vector:
    """A vector of scalars (`fmt` as in struct) or raw bytes (`fmt="B"` with a bytes `data`)."""

    fmt: str
    data: Any
    align: int = 4


@dataclass
class TableVector:
    """A vector of tables."""

    tables: list


class Builder:
    """Serializes a root `Table` into FlatBuffers bytes with a 4-character file identifier."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def _align(self, n: int) -> None:
        self.buf.extend(b"\0" * (-len(self.buf) % n))

    def _patch(self, at: int, target: int) -> None:
        struct.pack_into("<I", self.buf, at, target - at)

    def finish(self, root: Table, identifier: bytes) -> bytes:
        self.buf.extend(b"\0\0\0\0" + identifier)
        self._patch(0, self._table(root))
        self._align(16)
        return bytes(self.buf)

    def _child(self, value: Any) -> int:
        if isinstance(value, Table):
            return self._table(value)
        if isinstance(value, str):
            return self._string(value)
        if isinstance(value, Vector):
            return self._vector(value)
        if isinstance(value, TableVector):
            return self._table_vector(value)
        raise TypeError(f"cannot serialize {type(value).__name__} in a flatbuffer")

    def _table(self, table: Table) -> int:
        # inline layout: soffset to the vtable, then fields (largest first, so each is aligned)
        items = sorted(table.fields.items())
        sized = []
        for index, value in items:
            if isinstance(value, tuple):
                sized.append((struct.calcsize("<" + value[0]), index, value))
            else:
                sized.append((4, index, value))
        sized.sort(key=lambda s: -s[0])
        layout, pos = {}, 4
        for size, index, _ in sized:
            pos += -pos % size
            layout[index] = pos
            pos += size
        inline_size = pos + (-pos % 4)
        nslots = (max(table.fields) + 1) if table.fields else 0
        vtable = struct.pack(f"<HH{nslots}H", 4 + 2 * nslots, inline_size,
                             *[layout.get(i, 0) for i in range(nslots)])
        big = max([s for s, _, _ in sized] + [4])
        # the table must start aligned to `big`, right after its vtable
        self._align(2)
        while (len(self.buf) + len(vtable)) % big:
            self.buf.extend(b"\0\0")
        vt_pos = len(self.buf)
        self.buf.extend(vtable)
        start = len(self.buf)
        self.buf.extend(b"\0" * inline_size)
        struct.pack_into("<i", self.buf, start, start - vt_pos)
        children = []
        for _, index, value in sized:
            if isinstance(value, tuple):
                struct.pack_into("<" + value[0], self.buf, start + layout[index], value[1])
            else:
                children.append((start + layout[index], value))
        for at, value in children:
            self._patch(at, self._child(value))
        return start

    def _string(self, text: str) -> int:
        data = text.encode("utf-8")
        self._align(4)
        start = len(self.buf)
        self.buf.extend(struct.pack("<I", len(data)) + data + b"\0")
        return start

    def _vector(self, vec: Vector) -> int:
        if isinstance(vec.data, (bytes, bytearray)):
            data, count = bytes(vec.data), len(vec.data)
        else:
            count = len(vec.data)
            data = struct.pack(f"<{count}{vec.fmt}", *vec.data)
        align = max(vec.align, struct.calcsize("<" + vec.fmt), 4)
        while (len(self.buf) + 4) % align:
            self.buf.append(0)
        start = len(self.buf)
        self.buf.extend(struct.pack("<I", count) + data)
        return start

    def _table_vector(self, vec: TableVector) -> int:
        self._align(4)
        start = len(self.buf)
        self.buf.extend(struct.pack("<I", len(vec.tables)) + b"\0" * (4 * len(vec.tables)))
        for i, table in enumerate(vec.tables):
            self._patch(start + 4 + 4 * i, self._table(table))
        return start


class TableView:
    """Reads one table of a FlatBuffers byte string by field index."""

    __slots__ = ("buf", "pos", "_vt", "_vt_size")

    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf = buf
        self.pos = pos
        self._vt = pos - struct.unpack_from("<i", buf, pos)[0]
        self._vt_size = struct.unpack_from("<H", buf, self._vt)[0]

    @classmethod
    def root(cls, buf: bytes) -> TableView:
        return cls(buf, struct.unpack_from("<I", buf, 0)[0])

    def _offset(self, index: int) -> int:
        slot = 4 + 2 * index
        if slot >= self._vt_size:
            return 0
        return struct.unpack_from("<H", self.buf, self._vt + slot)[0]

    def has(self, index: int) -> bool:
        return self._offset(index) != 0

    def scalar(self, index: int, fmt: str, default: Any = 0) -> Any:
        off = self._offset(index)
        return struct.unpack_from("<" + fmt, self.buf, self.pos + off)[0] if off else default

    def _deref(self, index: int) -> int | None:
        off = self._offset(index)
        if not off:
            return None
        at = self.pos + off
        return at + struct.unpack_from("<I", self.buf, at)[0]

    def table(self, index: int) -> TableView | None:
        at = self._deref(index)
        return None if at is None else TableView(self.buf, at)

    def string(self, index: int, default: str = "") -> str:
        at = self._deref(index)
        if at is None:
            return default
        n = struct.unpack_from("<I", self.buf, at)[0]
        return bytes(self.buf[at + 4: at + 4 + n]).decode("utf-8")

    def vector(self, index: int, dtype: str) -> np.ndarray | None:
        """A vector of scalars as a NumPy array (a copy), or None when absent."""
        at = self._deref(index)
        if at is None:
            return None
        n = struct.unpack_from("<I", self.buf, at)[0]
        dt = np.dtype(dtype).newbyteorder("<")
        return np.frombuffer(self.buf, dtype=dt, count=n, offset=at + 4).copy()

    def tables(self, index: int) -> list:
        at = self._deref(index)
        if at is None:
            return []
        n = struct.unpack_from("<I", self.buf, at)[0]
        out = []
        for i in range(n):
            elem = at + 4 + 4 * i
            out.append(TableView(self.buf, elem + struct.unpack_from("<I", self.buf, elem)[0]))
        return out
