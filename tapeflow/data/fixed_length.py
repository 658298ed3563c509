"""`tf.data.FixedLengthRecordDataset`: the fixed-size records of binary files (CIFAR-10's format),
and `tf.data.NumpyIterator` (what `Dataset.as_numpy_iterator()` returns)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from tapeflow.data import structure
from tapeflow.data.text_files import TextLineDataset, _chunks
from tapeflow.errors import DataLossError, InvalidArgumentError


class FixedLengthRecordDataset(TextLineDataset):
    """Records of `record_bytes` bytes from one or more files, as `tf.string` scalars.

    Args:
        filenames: a file name, a list of them, a string tensor, or a Dataset of file names.
        record_bytes: the size of every record (> 0).
        header_bytes, footer_bytes: bytes skipped at the start / end of each file.
        buffer_size: the read buffer in bytes. compression_type: None/"" , "GZIP" or "ZLIB".
        num_parallel_reads: read this many files at once, interleaving their records.

    A file whose body (without header and footer) is not a whole number of records raises
    `InvalidArgumentError` before its first record (`DataLossError` at its end when compressed),
    as TF does.

    Example:
        >>> ds = tf.data.FixedLengthRecordDataset(files, record_bytes=1 + 32 * 32 * 3)   # CIFAR-10
    """

    def __init__(self, filenames: Any, record_bytes: int, header_bytes: int | None = None,
                 footer_bytes: int | None = None, buffer_size: int | None = None, compression_type: str | None = None,
                 num_parallel_reads: int | None = None, name: str | None = None) -> None:
        super().__init__(filenames, compression_type=compression_type, buffer_size=buffer_size,
                         num_parallel_reads=num_parallel_reads, name=name)
        self._record = int(record_bytes)
        self._header = int(header_bytes or 0)
        self._footer = int(footer_bytes or 0)
        if self._record <= 0:
            raise InvalidArgumentError(None, None, f"FixedLengthRecordDataset: record_bytes must be positive, "
                                                   f"received {record_bytes}")
        if self._header < 0 or self._footer < 0:
            raise InvalidArgumentError(None, None, f"FixedLengthRecordDataset: header_bytes and footer_bytes must "
                                                   f"be non-negative, received {header_bytes} and {footer_bytes}")

    def _mismatch(self, path: str, body: int) -> str:
        return (f"Excluding the header ({self._header} bytes) and footer ({self._footer} bytes), input file "
                f"\"{path}\" has body length {body} bytes, which is not an exact multiple of the record length "
                f"({self._record} bytes).")

    def _read(self, path: str) -> Iterator[bytes]:
        if self._compression is None and os.path.isfile(path):
            body = os.path.getsize(path) - self._header - self._footer
            if body < 0 or body % self._record:
                raise InvalidArgumentError(None, None, self._mismatch(path, body))
        return self._records(path)

    def _records(self, path: str) -> Iterator[bytes]:
        buf = b""
        skip, total = self._header, 0
        for chunk in _chunks(path, self._compression, self._buffer_size):
            total += len(chunk)
            if skip:
                cut = min(skip, len(chunk))
                chunk, skip = chunk[cut:], skip - cut
            buf += chunk
            usable = len(buf) - self._footer
            n = max(usable, 0) // self._record
            for i in range(n):
                yield buf[i * self._record:(i + 1) * self._record]
            buf = buf[n * self._record:]
        if len(buf) != self._footer:
            body = total - self._header - self._footer
            raise DataLossError(None, None, self._mismatch(path, body))


class NumpyIterator:
    """The elements of a dataset as NumPy values (`tf.data.NumpyIterator`; see `as_numpy_iterator`)."""

    def __init__(self, dataset: Any) -> None:
        self._dataset = dataset
        self._iterator = dataset._iter_elements()

    def __iter__(self) -> NumpyIterator:
        return self

    def __next__(self) -> Any:
        return structure.to_numpy(next(self._iterator))

    def next(self) -> Any:
        """The next element (Python 2's spelling, kept by TF)."""
        return self.__next__()

    def __repr__(self) -> str:
        return f"NumpyIterator(iterator={self._iterator!r})"
