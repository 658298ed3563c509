"""`tf.data`: input pipelines (`tf.data.Dataset`) that feed models, with TF's element specs.

Example:
    >>> ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(10_000).batch(32)
    >>> model.fit(ds.prefetch(tf.data.AUTOTUNE), epochs=5)
"""

from tapeflow.data import experimental
from tapeflow.data.dataset import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset
from tapeflow.data.fixed_length import FixedLengthRecordDataset, NumpyIterator
from tapeflow.data.iterator import Iterator
from tapeflow.data.options import Options, ThreadingOptions
from tapeflow.data.text_files import TextLineDataset
from tapeflow.data.tfrecord import TFRecordDataset
from tapeflow.data.windows import DatasetSpec

__all__ = [
    "AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "Dataset", "DatasetSpec", "Iterator",
    "Options", "TextLineDataset", "TFRecordDataset", "ThreadingOptions", "experimental",
    "FixedLengthRecordDataset", "NumpyIterator",
]
