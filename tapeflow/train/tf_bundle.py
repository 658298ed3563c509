"""TensorFlow's checkpoint files (the "tensor bundle" that `tf.train.Checkpoint` and tf.keras's
`save_weights("ckpt")` write), read in pure Python.

A checkpoint `P` is `P.index` and `P.data-0000k-of-0000n`:

* `P.index` is a LevelDB-style table: data blocks of prefix-compressed `(key, value)` entries
  sorted by key, an index block of block handles, and a 48-byte footer ending in a magic
  number; every block carries a masked CRC-32C. The entry with the empty key holds a
  `BundleHeaderProto` (shard count, endianness); every other key is a tensor name whose value
  is a `BundleEntryProto` (dtype, shape, shard, offset, size, masked CRC-32C of the bytes).
* The data shards hold the tensors' raw little-endian bytes; a string tensor is its lengths
  (varints), a masked CRC-32C of them, then the bytes.
* A partitioned variable (tf.compat.v1 partitioners, or a checkpoint split by
  `tf.train.experimental.MaxShardSizePolicy`) has an entry with its full shape and the extents
  of its slices; each slice is an entry of its own, under a binary key that encodes the name and
  the extents (TF's OrderedCode, `slice_key`), possibly in another data shard.
* Table blocks may be Snappy-compressed (`tapeflow.io.snappy`; TF writes them uncompressed).

The `_CHECKPOINTABLE_OBJECT_GRAPH` tensor is a `TrackableObjectGraph` proto: the saved objects
with their named children and, for variables, the key of their value. Protobufs are decoded
from the wire format by `tapeflow.io.wire` (no protobuf dependency). Every length, offset and
size is checked against the bytes that are there before anything is allocated or read, so a
truncated or hostile file raises `DataLossError` naming the file and the entry.
"""

from __future__ import annotations

import os
import struct
from typing import Any

import numpy as np

from tapeflow import errors
from tapeflow.io import crc32c, wire

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_BYTES = 48
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
_MAX_INDEX_BYTES = 256 * 2**20
_MAX_RANK = 64
# TF DataType enum -> NumPy dtype (the numeric types a variable can have).
_DTYPES = {1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 8: "complex64",
           9: "int64", 10: "bool", 17: "uint16", 18: "complex128", 19: "float16", 22: "uint32", 23: "uint64"}
_DT_STRING, _DT_BFLOAT16 = 7, 14


class DataLossError(errors.DataLossError, ValueError):
    """A TensorFlow checkpoint file is truncated or corrupt (`tf.errors.DataLossError`)."""


def is_tf_bundle(prefix: str) -> bool:
    """Whether `prefix.index` is a TensorFlow tensor-bundle index (ends in the table magic)."""
    path = os.fspath(prefix) + ".index"
    try:
        size = os.path.getsize(path)
        if size < FOOTER_BYTES:
            return False
        with open(path, "rb") as f:
            f.seek(size - 8)
            return struct.unpack("<Q", f.read(8))[0] == TABLE_MAGIC
    except OSError:
        return False


# -- the protobuf wire format ---------------------------------------------------------------------


class _Malformed(Exception):
    """Raised inside the decoders; the reader turns it into DataLossError naming file and entry."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    return wire.read_varint(buf, pos, _Malformed)


def parse_message(buf: bytes) -> dict[int, list]:
    """{field number: [values]} of one protobuf message (varints as ints, length-delimited fields
    as bytes, fixed32/fixed64 as ints)."""
    out: dict[int, list] = {}
    for number, wire_type, value in wire.fields(buf, _Malformed):
        if wire_type == 1:
            value = struct.unpack("<Q", value)[0]
        elif wire_type == 5:
            value = struct.unpack("<I", value)[0]
        elif wire_type == 2:
            value = bytes(value)
        out.setdefault(number, []).append(value)
    return out


def _one(fields: dict, number: int, default: Any, kind: type) -> Any:
    values = fields.get(number)
    if not values:
        return default
    if not isinstance(values[-1], kind):
        raise _Malformed(f"field {number} has the wrong wire type")
    return values[-1]


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Malformed("a name is not UTF-8") from exc


# -- the table (.index) ---------------------------------------------------------------------------


def _block(data: bytes, handle: bytes | tuple, what: str) -> bytes:
    """The contents of the block at `handle` (offset, size), its CRC checked."""
    offset, size = handle
    if offset < 0 or size < 0 or offset + size + 5 > len(data):
        raise _Malformed(f"the {what} block lies outside the file")
    contents = data[offset:offset + size]
    kind, stored = data[offset + size], struct.unpack_from("<I", data, offset + size + 1)[0]
    if crc32c.masked_crc32c(contents + bytes([kind])) != stored:
        raise _Malformed(f"the {what} block fails its checksum")
    if kind == 1:  # Snappy
        from tapeflow.io import snappy

        try:
            return snappy.decompress(contents, max_size=_MAX_INDEX_BYTES)
        except snappy.SnappyError as exc:
            raise _Malformed(f"the {what} block's Snappy compression is damaged: {exc}") from None
    if kind != 0:
        raise _Malformed(f"the {what} block uses compression type {kind} (uncompressed and Snappy blocks are read)")
    return contents


def _handle(buf: bytes, pos: int) -> tuple[tuple[int, int], int]:
    offset, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return (offset, size), pos


def _entries(block: bytes, what: str) -> list[tuple[bytes, bytes]]:
    """The (key, value) entries of a block (keys rebuilt from their shared prefixes)."""
    if len(block) < 4:
        raise _Malformed(f"the {what} block is too short")
    restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * restarts
    if restarts < 1 or end < 0:
        raise _Malformed(f"the {what} block's restart array is damaged")
    out, pos, key = [], 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        length, pos = _varint(block, pos)
        if shared > len(key) or pos + unshared + length > end:
            raise _Malformed(f"an entry of the {what} block is damaged")
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        out.append((key, block[pos:pos + length]))
        pos += length
    return out


def read_table(data: bytes) -> list[tuple[bytes, bytes]]:
    """Every (key, value) of a LevelDB-style table held in `data`, in key order."""
    if len(data) < FOOTER_BYTES or struct.unpack_from("<Q", data, len(data) - 8)[0] != TABLE_MAGIC:
        raise _Malformed("the footer's magic number is missing (not a TensorFlow checkpoint index)")
    footer = data[len(data) - FOOTER_BYTES:]
    _, pos = _handle(footer, 0)  # the metaindex block (TF writes it empty)
    index_handle, _ = _handle(footer, pos)
    out = []
    for _, value in _entries(_block(data, index_handle, "index"), "index"):
        handle, _ = _handle(value, 0)
        out.extend(_entries(_block(data, handle, "data"), "data"))
    return out


# -- the bundle -----------------------------------------------------------------------------------


def _shape(value: bytes) -> list[int]:
    fields = parse_message(value)
    if _one(fields, 3, 0, int):
        raise _Malformed("the shape has an unknown rank")
    dims = fields.get(2, [])
    if len(dims) > _MAX_RANK:
        raise _Malformed(f"the shape has {len(dims)} dimensions")
    shape = []
    for dim in dims:
        if not isinstance(dim, bytes):
            raise _Malformed("a dimension has the wrong wire type")
        size = _signed(_one(parse_message(dim), 1, 0, int))
        if size < 0:
            raise _Malformed(f"a dimension is {size}")
        shape.append(size)
    return shape


def _slice(value: Any, shape: list[int]) -> list[tuple[int, int]]:
    """A TensorSliceProto as [(start, length)] per dimension (length -1: the whole dimension)."""
    if not isinstance(value, bytes):
        raise _Malformed("a slice has the wrong wire type")
    extents = parse_message(value).get(1, [])
    if len(extents) != len(shape):
        raise _Malformed(f"a slice has {len(extents)} extents for a tensor of rank {len(shape)}")
    out = []
    for extent, dim in zip(extents, shape, strict=True):
        if not isinstance(extent, bytes):
            raise _Malformed("a slice extent has the wrong wire type")
        fields = parse_message(extent)
        start = _signed(_one(fields, 1, 0, int))
        length = _signed(_one(fields, 2, -1, int)) if fields.get(2) else -1
        if length == -1 and start != 0 or length != -1 and (start < 0 or length < 0 or start + length > dim):
            raise _Malformed(f"a slice extent (start {start}, length {length}) lies outside dimension {dim}")
        out.append((start, length))
    return out


def _entry(value: bytes) -> dict:
    """A BundleEntryProto as {dtype, shape, shard, offset, size, crc, slices}; `slices` lists
    the extents of a partitioned variable's parts (stored under their own keys)."""
    fields = parse_message(value)
    shape = _shape(_one(fields, 2, b"", bytes))
    return {"dtype": _one(fields, 1, 0, int), "shape": shape,
            "shard": _one(fields, 3, 0, int), "offset": _signed(_one(fields, 4, 0, int)),
            "size": _signed(_one(fields, 5, 0, int)), "crc": _one(fields, 6, None, int),
            "slices": [_slice(v, shape) for v in fields.get(7, [])]}


# -- partitioned variables: the keys of their slices (TF's OrderedCode) ---------------------------


def _ordered_unsigned(value: int) -> bytes:
    """OrderedCode::WriteNumIncreasing: a length byte, then the big-endian bytes."""
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
    return bytes([len(raw)]) + raw


def _ordered_signed(value: int) -> bytes:
    """OrderedCode::WriteSignedNumIncreasing: `n` big-endian two's-complement bytes whose first
    bits (n - 1 ones then a zero, for positive values) give the length."""
    x = ~value if value < 0 else value
    if x < 64:
        return bytes([(0x80 ^ value) & 0xFF])
    n = x.bit_length() // 7 + 1
    raw = bytearray((value & ((1 << (8 * 10)) - 1)).to_bytes(10, "big")[-n:])
    header = (1 << 16) - (1 << (16 - n))  # n leading ones over the first two bytes
    raw[0] ^= header >> 8
    raw[1] ^= header & 0xFF
    return bytes(raw)


def slice_key(name: str, extents: list[tuple[int, int]]) -> bytes:
    """The key of one slice of a partitioned variable (`checkpoint::EncodeTensorNameSlice`)."""
    escaped = b"".join(b"\x00\xff" if c == 0 else b"\xff\x00" if c == 0xFF else bytes([c])
                       for c in name.encode("utf-8"))
    out = _ordered_unsigned(0) + escaped + b"\x00\x01" + _ordered_unsigned(len(extents))
    for start, length in extents:
        out += _ordered_signed(start) + _ordered_signed(length)
    return out


def _object_graph(value: bytes, keys: set) -> list[dict]:
    """A TrackableObjectGraph as Tapeflow's node list: [{"children": [[name, id]], "key": ...}]."""
    nodes = []
    raw = parse_message(value).get(1, [])
    for node in raw:
        if not isinstance(node, bytes):
            raise _Malformed("an object graph node has the wrong wire type")
        fields = parse_message(node)
        children = []
        for ref in fields.get(1, []):
            r = parse_message(ref if isinstance(ref, bytes) else b"")
            node_id = _one(r, 1, 0, int)
            if node_id >= len(raw):
                raise _Malformed(f"a child refers to node {node_id} of {len(raw)}")
            children.append([_text(_one(r, 2, b"", bytes)), node_id])
        key = None
        for attribute in fields.get(2, []):
            a = parse_message(attribute if isinstance(attribute, bytes) else b"")
            if _text(_one(a, 1, b"", bytes)) == "VARIABLE_VALUE":
                key = _text(_one(a, 3, b"", bytes))
                if key not in keys:
                    raise _Malformed(f"a variable's key {key!r} has no tensor")
        nodes.append({"children": children, "key": key})
    if not nodes:
        raise _Malformed("the object graph is empty")
    return nodes


class TFBundleReader:
    """Reads a TensorFlow checkpoint (`tf.train.load_checkpoint` returns one for such files).

    Args:
        prefix: the checkpoint prefix (`P` for `P.index` and `P.data-*`).

    Raises:
        DataLossError: for a truncated, corrupt or unsupported file, naming it and the entry.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix = os.fspath(prefix)
        index_path = prefix + ".index"
        size = os.path.getsize(index_path)
        if size > _MAX_INDEX_BYTES:
            raise self._bad(index_path, f"the index is larger than {_MAX_INDEX_BYTES} bytes")
        with open(index_path, "rb") as f:
            data = f.read()
        entry_key = "the table"
        try:
            table = read_table(data)
            entry_key = "the header"
            if not table or table[0][0] != b"":
                raise _Malformed("the header entry is missing")
            header = parse_message(table[0][1])
            shards = _one(header, 1, 0, int)
            if not 1 <= shards <= 100000:
                raise _Malformed(f"it declares {shards} data shards")
            if _one(header, 2, 0, int) != 0:
                raise _Malformed("the tensors are big-endian")
            self._tensors: dict[str, dict] = {}
            self._slices: dict[bytes, dict] = {}  # the parts of partitioned variables, by slice key
            for key, value in table[1:]:
                entry_key = repr(key[:200])
                if key.startswith(b"\x00"):  # a slice (its key is binary, see `slice_key`)
                    self._slices[key] = self._check(_entry(value), shards)
                    continue
                name = _text(key)
                entry_key = repr(name)
                self._tensors[name] = self._check(_entry(value), shards)
            for name, t in self._tensors.items():
                entry_key = repr(name)
                self._check_slices(name, t)
        except _Malformed as exc:
            raise self._bad(index_path, f"{entry_key}: {exc}") from None
        self._shards = shards
        self._check_extents()
        self._graph_value = None
        self.nodes: list = [{"children": [], "key": None}]
        if OBJECT_GRAPH_KEY in self._tensors:
            self._graph_value = self._read(OBJECT_GRAPH_KEY).reshape(())[()]
            keys = {k for k in self._tensors if k != OBJECT_GRAPH_KEY}
            try:
                self.nodes = _object_graph(self._graph_value, keys)
            except _Malformed as exc:
                raise self._bad(self._data_path(self._tensors[OBJECT_GRAPH_KEY]["shard"]),
                                f"entry {OBJECT_GRAPH_KEY!r}: {exc}") from None

    def _bad(self, path: str, why: str) -> DataLossError:
        return DataLossError(f"Unable to read TensorFlow checkpoint file '{path}': {why}. The file is truncated, "
                             "corrupt, or of a kind Tapeflow does not read.")

    def _check_slices(self, name: str, t: dict) -> None:
        """A partitioned variable: every slice is stored, with the variable's dtype and the slice's
        shape, and the slices' bytes can fill the whole tensor (which bounds its size by the
        data files' sizes before it is allocated)."""
        if not t["slices"]:
            return
        if t["np"] == "string":
            raise _Malformed("it is a partitioned string tensor (only numeric partitioned variables are read)")
        parts, stored = [], 0
        for extents in t["slices"]:
            key = slice_key(name, extents)
            part = self._slices.get(key)
            if part is None:
                raise _Malformed(f"its slice {extents} is missing")
            want = [d if length == -1 else length for (_, length), d in zip(extents, t["shape"], strict=True)]
            if part["dtype"] != t["dtype"] or part["shape"] != want or part["slices"]:
                raise _Malformed(f"its slice {extents} holds dtype enum {part['dtype']} and shape {part['shape']}, "
                                 f"expected {t['dtype']} and {want}")
            parts.append((extents, part))
            stored += part["size"]
        count = 1
        for d in t["shape"]:
            count *= d
        itemsize = 2 if t["np"] == "bfloat16" else np.dtype(t["np"]).itemsize
        if count * itemsize > stored:
            raise _Malformed(f"its slices hold {stored} bytes, too few for shape {t['shape']}")
        t["parts"] = parts

    def _check_extents(self) -> None:
        """Every entry lies inside its data file (checked before any tensor is read)."""
        sizes: dict[int, int] = {}
        for key, t in [*self._tensors.items(), *((repr(k), v) for k, v in self._slices.items())]:
            shard = t["shard"]
            if shard not in sizes:
                try:
                    sizes[shard] = os.path.getsize(self._data_path(shard))
                except OSError:
                    raise self._bad(self._data_path(shard), f"entry {key!r}: the data file is missing") from None
            if t["offset"] + t["size"] > sizes[shard]:
                raise self._bad(self._data_path(shard), f"entry {key!r} lies outside the data file ({t['offset']} + "
                                                        f"{t['size']} bytes of {sizes[shard]})")

    def _data_path(self, shard: int) -> str:
        return f"{self.prefix}.data-{shard:05d}-of-{self._shards:05d}"

    def _check(self, entry: dict, shards: int) -> dict:
        dtype = entry["dtype"]
        if dtype == _DT_BFLOAT16:
            entry["np"] = "bfloat16"
        elif dtype != _DT_STRING and dtype not in _DTYPES:
            raise _Malformed(f"dtype enum {dtype} is not a numeric, bool or string type")
        else:
            entry["np"] = _DTYPES.get(dtype, "string")
        if not 0 <= entry["shard"] < shards or entry["offset"] < 0 or entry["size"] < 0:
            raise _Malformed("its shard, offset or size is out of range")
        if dtype != _DT_STRING and not entry["slices"]:  # a partitioned variable's bytes are in its slices
            count = 1
            for d in entry["shape"]:
                count *= d
            itemsize = 2 if dtype == _DT_BFLOAT16 else np.dtype(entry["np"]).itemsize
            if count * itemsize != entry["size"]:
                raise _Malformed(f"its {entry['size']} bytes do not hold shape {entry['shape']}")
        return entry

    # -- the CheckpointReader interface --------------------------------------------------------

    def get_variable_to_shape_map(self) -> dict:
        """{key: shape as a list} for every tensor."""
        return {k: list(t["shape"]) for k, t in self._tensors.items()}

    def get_variable_to_dtype_map(self) -> dict:
        """{key: tf.DType} for every tensor."""
        from tapeflow import dtypes

        return {k: dtypes.as_dtype(t["np"]) for k, t in self._tensors.items()}

    def has_tensor(self, key: str) -> bool:
        return key in self._tensors

    def get_tensor(self, key: str) -> Any:
        """The value stored under `key` as a NumPy array (strings as an object array of bytes)."""
        if key not in self._tensors:
            raise errors.NotFoundError(f"Key {key} not found in checkpoint")
        return self._read(key)

    def _read(self, key: str) -> np.ndarray:
        t = self._tensors[key]
        if not t["slices"]:
            return self._read_entry(key, t)
        values = [self._read_entry(key, part) for _, part in t["parts"]]
        out = np.zeros(t["shape"], values[0].dtype)
        covered = np.zeros(t["shape"], bool)
        for (extents, _), value in zip(t["parts"], values, strict=True):
            index = tuple(slice(None) if length == -1 else slice(start, start + length) for start, length in extents)
            out[index] = value
            covered[index] = True
        if not covered.all():
            raise self._bad(self.prefix + ".index", f"entry {key!r}: its slices do not cover the whole tensor")
        return out

    def _read_entry(self, key: str, t: dict) -> np.ndarray:
        path = self._data_path(t["shard"])
        try:
            file_size = os.path.getsize(path)
        except OSError:
            raise self._bad(path, f"entry {key!r}: the data file is missing") from None
        if t["offset"] + t["size"] > file_size:
            raise self._bad(path, f"entry {key!r} lies outside the data file ({t['offset']} + {t['size']} bytes "
                                  f"of {file_size})")
        with open(path, "rb") as f:
            f.seek(t["offset"])
            raw = f.read(t["size"])
        if t["np"] == "string":
            try:
                values, checked = self._strings(raw, t["shape"])
            except _Malformed as exc:
                raise self._bad(path, f"entry {key!r}: {exc}") from None
        else:
            values, checked = None, raw
        if t["crc"] is not None and crc32c.masked_crc32c(checked) != t["crc"]:
            raise self._bad(path, f"entry {key!r} fails its checksum")
        if values is not None:
            return values
        if t["np"] == "bfloat16":
            from tapeflow import dtypes

            return np.frombuffer(raw, dtypes.bfloat16.as_numpy_dtype).reshape(t["shape"]).copy()
        dtype = np.dtype(t["np"]).newbyteorder("<")
        return np.frombuffer(raw, dtype).astype(dtype.newbyteorder("="), copy=True).reshape(t["shape"])

    @staticmethod
    def _strings(raw: bytes, shape: list) -> tuple[np.ndarray, bytes]:
        """The strings of a string entry, and the bytes its checksum covers (TF sums the lengths
        as uint32s, not as the varints it stores)."""
        count = 1
        for d in shape:
            count *= d
        if count > len(raw):
            raise _Malformed(f"{count} strings cannot fit in {len(raw)} bytes")
        lengths, pos = [], 0
        for _ in range(count):
            n, pos = _varint(raw, pos)
            lengths.append(n)
        if pos + 4 + sum(lengths) > len(raw):
            raise _Malformed("the strings run past the end of the entry")
        if any(n >= 1 << 32 for n in lengths):
            raise _Malformed("a string is longer than 4 GiB")
        checked = struct.pack(f"<{count}I", *lengths) + raw[pos:]
        pos += 4  # the masked CRC-32C of the lengths
        out = np.empty(count, dtype=object)
        for i, n in enumerate(lengths):
            out[i] = raw[pos:pos + n]
            pos += n
        return out.reshape(shape), checked
