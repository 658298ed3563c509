"""guide/ragged_tensor.ipynb cells that run with only the import changed (values as TF 2.21)."""

import tapeflow as tf


def test_dense_to_ragged_batch():  # cell 37
    ds = tf.data.Dataset.from_tensor_slices([1, 5, 3, 2, 8]).map(tf.range)
    got = [b.to_list() for b in ds.apply(tf.data.experimental.dense_to_ragged_batch(2))]
    assert got == [[[0], [0, 1, 2, 3, 4]], [[0, 1, 2], [0, 1]], [[0, 1, 2, 3, 4, 5, 6, 7]]]


def test_gather_dense_rows_by_ragged_indices():  # cell 20 (TF 2.21 gives these values)
    queries = tf.ragged.constant([[0, 2], [1], [2, 1, 0]])
    emb = tf.reshape(tf.range(6.0), [3, 2])
    got = tf.gather(emb, queries)
    assert got.to_list() == [[[0.0, 1.0], [4.0, 5.0]], [[2.0, 3.0]], [[4.0, 5.0], [2.0, 3.0], [0.0, 1.0]]]
    assert tf.reduce_mean(got, axis=1).numpy().tolist() == [[2.0, 3.0]] * 3
    x = tf.Variable(emb)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.gather(x, queries).flat_values)
    assert tape.gradient(loss, x).numpy().tolist() == [[2.0, 2.0], [2.0, 2.0], [2.0, 2.0]]
