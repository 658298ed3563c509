"""TFRecord files: `tf.io.TFRecordWriter`, `tf.io.TFRecordOptions` and the record reader behind
`tf.data.TFRecordDataset` and `tf.compat.v1.io.tf_record_iterator`.

A record is `uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)`,
little-endian; the whole file may be GZIP- or ZLIB-compressed. As in TF, a file that ends inside
a record ends the records (a writer may still be appending); a checksum that does not match
raises `tf.errors.DataLossError` naming the file and offset.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from collections.abc import Iterator
from typing import Any

from tapeflow import errors
from tapeflow.io.crc32c import masked_crc32c

_COMPRESSIONS = {None: "", "": "", "GZIP": "GZIP", "ZLIB": "ZLIB"}
_DEFAULT_BUFFER = 256 * 1024


class TFRecordCompressionType:
    """The compression of a TFRecord file (`tf.compat.v1.io.TFRecordCompressionType`)."""

    NONE = 0
    ZLIB = 1
    GZIP = 2


_BY_ENUM = {0: "", 1: "ZLIB", 2: "GZIP"}


class TFRecordOptions:
    """How a TFRecord file is compressed (`tf.io.TFRecordOptions`).

    Args:
        compression_type: "GZIP", "ZLIB" or ""/None (none); or a `TFRecordCompressionType`.
        compression_level: zlib level 0-9 (default 6 as TF); window_bits, mem_level and
            compression_strategy are passed to zlib. flush_mode, input_buffer_size,
            output_buffer_size and compression_method are accepted for TF's signature and
            do not change the bytes written.
    """

    compression_type_map = {TFRecordCompressionType.ZLIB: "ZLIB", TFRecordCompressionType.GZIP: "GZIP",
                            TFRecordCompressionType.NONE: ""}

    def __init__(self, compression_type: Any = None, flush_mode: Any = None, input_buffer_size: Any = None,
                 output_buffer_size: Any = None, window_bits: Any = None, compression_level: Any = None,
                 compression_method: Any = None, mem_level: Any = None, compression_strategy: Any = None) -> None:
        if isinstance(compression_type, int) and not isinstance(compression_type, bool):
            if compression_type not in _BY_ENUM:
                raise ValueError(f"TFRecordOptions: unknown compression_type {compression_type!r}; expected "
                                 "TFRecordCompressionType.NONE, ZLIB or GZIP.")
            compression_type = _BY_ENUM[compression_type]
        check_compression(compression_type, "TFRecordOptions")
        self.compression_type = compression_type
        self.flush_mode = flush_mode
        self.input_buffer_size = input_buffer_size
        self.output_buffer_size = output_buffer_size
        self.window_bits = window_bits
        self.compression_level = compression_level
        self.compression_method = compression_method
        self.mem_level = mem_level
        self.compression_strategy = compression_strategy

    @classmethod
    def get_compression_type_string(cls, options: Any) -> str:
        """"GZIP", "ZLIB" or "" for options, a compression string, an enum value or None."""
        if options is None:
            return ""
        if isinstance(options, TFRecordOptions):
            return _COMPRESSIONS[options.compression_type]
        return _COMPRESSIONS[TFRecordOptions(options).compression_type]

    def __repr__(self) -> str:
        return f"TFRecordOptions(compression_type={self.compression_type!r})"


def check_compression(value: Any, what: str) -> str:
    """The compression as "", "GZIP" or "ZLIB"; a ValueError naming `what` for anything else."""
    if isinstance(value, bytes):
        value = value.decode()
    if value not in _COMPRESSIONS:
        raise ValueError(f"{what}: `compression_type` must be None, '', 'GZIP' or 'ZLIB', received {value!r}.")
    return _COMPRESSIONS[value]


def _options(options: Any, what: str) -> TFRecordOptions:
    if options is None:
        return TFRecordOptions()
    if isinstance(options, TFRecordOptions):
        return options
    if isinstance(options, (str, bytes, int)):
        return TFRecordOptions(options.decode() if isinstance(options, bytes) else options)
    raise TypeError(f"{what}: `options` must be a TFRecordOptions, a compression type string or None, "
                    f"received {type(options).__name__}.")


def encode_record(data: bytes) -> bytes:
    """One framed record: length, its masked CRC, the data, the data's masked CRC."""
    length = struct.pack("<Q", len(data))
    return (length + struct.pack("<I", masked_crc32c(length)) + data
            + struct.pack("<I", masked_crc32c(data)))


class TFRecordWriter:
    """Writes records to a TFRecord file (`tf.io.TFRecordWriter`), optionally GZIP/ZLIB compressed.

    Example:
        >>> with tf.io.TFRecordWriter("data.tfrecord", "GZIP") as w:
        ...     w.write(example.SerializeToString())
    """

    def __init__(self, path: Any, options: Any = None) -> None:
        what = "TFRecordWriter"
        self._path = os.fsdecode(path)
        opts = _options(options, what)
        compression = TFRecordOptions.get_compression_type_string(opts)
        level = 6 if opts.compression_level is None or opts.compression_level < 0 else int(opts.compression_level)
        try:
            self._file = open(self._path, "wb")  # noqa: SIM115 - closed by close()
        except FileNotFoundError:
            raise errors.NotFoundError(None, None, f"{self._path}; No such file or directory") from None
        except IsADirectoryError:
            raise errors.FailedPreconditionError(None, None, f"{self._path}; Is a directory") from None
        self._deflate: Any = None
        if compression:
            bits = 15 if opts.window_bits is None else int(opts.window_bits)
            wbits = bits + 16 if compression == "GZIP" else bits
            self._deflate = zlib.compressobj(level, zlib.DEFLATED, wbits,
                                             9 if opts.mem_level is None else int(opts.mem_level),
                                             zlib.Z_DEFAULT_STRATEGY if opts.compression_strategy is None
                                             else int(opts.compression_strategy))
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise errors.FailedPreconditionError(None, None, "Writer is closed.")

    def write(self, record: Any) -> None:
        """Append one record (bytes, str as UTF-8, or a scalar string tensor)."""
        self._check_open()
        if isinstance(record, str):
            record = record.encode("utf-8")
        elif not isinstance(record, (bytes, bytearray, memoryview)):
            value = getattr(record, "numpy", None)
            record = value() if value is not None else record
            if not isinstance(record, bytes):
                raise TypeError(f"TFRecordWriter.write: `record` must be bytes or a str, received "
                                f"{type(record).__name__}.")
        framed = encode_record(bytes(record))
        self._file.write(self._deflate.compress(framed) if self._deflate is not None else framed)

    def flush(self) -> None:
        """Push what was written to the file (compressed data up to a flush point)."""
        self._check_open()
        if self._deflate is not None:
            self._file.write(self._deflate.flush(zlib.Z_SYNC_FLUSH))
        self._file.flush()

    def close(self) -> None:
        """Finish the compressed stream and close the file (a second call does nothing)."""
        if self._closed:
            return
        if self._deflate is not None:
            self._file.write(self._deflate.flush())
        self._file.close()
        self._closed = True

    def __enter__(self) -> TFRecordWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.close()


# ---------------------------------------------------------------------------------------------

def _chunks(path: str, compression: str, buffer_size: int) -> Iterator[bytes]:
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, also when the generator is dropped
    except FileNotFoundError:
        raise errors.NotFoundError(None, None, f"{path}; No such file or directory") from None
    except IsADirectoryError:
        raise errors.FailedPreconditionError(None, None, f"{path}; Is a directory") from None
    with f:
        if compression == "GZIP":
            g = gzip.GzipFile(fileobj=f)
            try:
                while chunk := g.read(buffer_size):
                    yield chunk
            except (OSError, EOFError, zlib.error) as e:
                raise errors.DataLossError(None, None, f"{path}: GZIP data is damaged ({e})") from None
            return
        inflate = zlib.decompressobj() if compression == "ZLIB" else None
        try:
            while chunk := f.read(buffer_size):
                if inflate is None:
                    yield chunk
                    continue
                yield inflate.decompress(chunk, buffer_size * 4)
                while inflate.unconsumed_tail:
                    yield inflate.decompress(inflate.unconsumed_tail, buffer_size * 4)
            if inflate is not None:
                yield inflate.flush()
        except zlib.error as e:
            raise errors.DataLossError(None, None, f"{path}: ZLIB data is damaged ({e})") from None


def read_records(path: str, compression: Any = None, buffer_size: int | None = None) -> Iterator[bytes]:
    """The records of the TFRecord file `path`, checksums verified.

    Raises:
        tf.errors.NotFoundError: no such file.
        tf.errors.DataLossError: a length or data checksum does not match, or the compressed
            stream is damaged.
    """
    compression = check_compression(compression, "TFRecord reader")
    chunks = _chunks(path, compression, int(buffer_size) if buffer_size else _DEFAULT_BUFFER)
    buf, pos, offset = b"", 0, 0  # offset: of buf[pos] in the (decompressed) file

    def fill(n: int) -> bool:
        nonlocal buf, pos
        if len(buf) - pos >= n:
            return True
        parts = [buf[pos:]]
        have = len(parts[0])
        for chunk in chunks:
            parts.append(chunk)
            have += len(chunk)
            if have >= n:
                break
        buf, pos = b"".join(parts), 0
        return len(buf) >= n

    while fill(12):
        header = buf[pos:pos + 12]
        if struct.unpack("<I", header[8:])[0] != masked_crc32c(header[:8]):
            hint = " (Is this even a TFRecord file?)" if offset == 0 else ""
            raise errors.DataLossError(None, None, f"corrupted record at {offset}{hint}: the length's checksum "
                                       f"does not match, in {path}")
        length = struct.unpack("<Q", header[:8])[0]
        if not fill(12 + length + 4):
            return  # the file ends inside this record: as TF, the end of the records
        data = buf[pos + 12:pos + 12 + length]
        if struct.unpack("<I", buf[pos + 12 + length:pos + 16 + length])[0] != masked_crc32c(data):
            raise errors.DataLossError(None, None, f"corrupted record at {offset + 12}: the data's checksum does not "
                                       f"match, in {path}")
        pos += 16 + length
        offset += 16 + length
        yield data


def tf_record_iterator(path: Any, options: Any = None) -> Iterator[bytes]:
    """The records of a TFRecord file as bytes (`tf.compat.v1.io.tf_record_iterator`)."""
    opts = _options(options, "tf_record_iterator")
    return read_records(os.fsdecode(path), TFRecordOptions.get_compression_type_string(opts))
