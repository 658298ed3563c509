"""`tf.data.TFRecordDataset` (the records of TFRecord files) and
`tf.data.experimental.TFRecordWriter` (a dataset of strings written as one TFRecord file)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow.data.dataset import Dataset
from tapeflow.data.text_files import TextLineDataset
from tapeflow.io import records
from tapeflow.tracing.spec import TensorSpec


class TFRecordDataset(TextLineDataset):
    """The records of one or more TFRecord files, as `tf.string` scalars (`tf.data.TFRecordDataset`).

    Args:
        filenames: a file name, a list of them, a string tensor, or a Dataset of file names.
        compression_type: None/"" (plain), "GZIP" or "ZLIB".
        buffer_size: the read buffer in bytes (default 256 KiB).
        num_parallel_reads: read this many files at once, interleaving their records one at a
            time (in file order, deterministically); None reads the files one after another.

    Checksums are verified: a damaged record raises `tf.errors.DataLossError`.

    Example:
        >>> ds = tf.data.TFRecordDataset(["a.tfrecord"]).map(
        ...     lambda r: tf.io.parse_single_example(r, {"x": tf.io.FixedLenFeature([], tf.int64)}))
    """

    _tf_repr = "TFRecordDatasetV2"  # as TF's repr names it

    def _read(self, path: str) -> Iterator[bytes]:
        return records.read_records(path, self._compression, self._buffer_size)


class TFRecordWriter:
    """Writes a dataset of scalar strings to one TFRecord file (`tf.data.experimental.TFRecordWriter`).

    Example:
        >>> tf.data.experimental.TFRecordWriter("out.tfrecord").write(serialized_dataset)
    """

    def __init__(self, filename: Any, compression_type: Any = None) -> None:
        self._filename = filename
        self._compression = records.check_compression(compression_type, "TFRecordWriter")

    def write(self, dataset: Dataset) -> None:
        """Write every element of `dataset` (scalar `tf.string` elements) as one record."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"TFRecordWriter.write: `dataset` must be a tf.data.Dataset, received "
                            f"{type(dataset).__name__}.")
        spec = dataset.element_spec
        if not isinstance(spec, TensorSpec) or spec.dtype != _dt.string or (spec.shape.rank not in (0, None)):
            raise TypeError(f"TFRecordWriter.write: `dataset` must produce scalar string elements, but it "
                            f"produces elements with spec {spec}.")
        with records.TFRecordWriter(self._filename, self._compression) as writer:
            for element in dataset._iter_elements():
                writer.write(np.asarray(element).reshape(())[()])
