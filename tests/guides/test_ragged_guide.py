"""guide/ragged_tensor.ipynb cells that run with only the import changed (values as TF 2.21)."""

import tapeflow as tf


def test_dense_to_ragged_batch():  # cell 37
    ds = tf.data.Dataset.from_tensor_slices([1, 5, 3, 2, 8]).map(tf.range)
    got = [b.to_list() for b in ds.apply(tf.data.experimental.dense_to_ragged_batch(2))]
    assert got == [[[0], [0, 1, 2, 3, 4]], [[0, 1, 2], [0, 1]], [[0, 1, 2, 3, 4, 5, 6, 7]]]
