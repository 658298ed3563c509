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


def test_reverse_ragged_in_tf_function():  # cells 39-41 (TF 2.21 gives these values)
    @tf.function
    def make_palindrome(x, axis):
        return tf.concat([x, tf.reverse(x, [axis])], axis)

    assert make_palindrome(tf.constant([[1, 2], [3, 4], [5, 6]]), axis=1).numpy().tolist() == [
        [1, 2, 2, 1], [3, 4, 4, 3], [5, 6, 6, 5]]
    rt = tf.ragged.constant([[1, 2], [3], [4, 5, 6]])
    assert make_palindrome(rt, axis=1).to_list() == [[1, 2, 2, 1], [3, 3], [4, 5, 6, 6, 5, 4]]
    assert tf.reverse(rt, [0]).to_list() == [[4, 5, 6], [3], [1, 2]]
    assert tf.reverse(rt, [-1]).to_list() == [[2, 1], [3], [6, 5, 4]]


def test_tile_ragged():  # cell 2 (TF 2.21 gives these values)
    digits = tf.ragged.constant([[3, 1, 4, 1], [], [5, 9, 2], [6], []])
    assert tf.tile(digits, [1, 2]).to_list() == [[3, 1, 4, 1, 3, 1, 4, 1], [], [5, 9, 2, 5, 9, 2], [6, 6], []]
    assert tf.tile(digits, [2, 1]).to_list() == digits.to_list() * 2
    x = tf.Variable([1.0, 2.0, 3.0])
    with tf.GradientTape() as tape:
        rt = tf.RaggedTensor.from_row_lengths(x, [2, 1])
        loss = tf.reduce_sum(tf.tile(rt, [2, 3]).flat_values * tf.range(18.0))
    assert tape.gradient(loss, x).numpy().tolist() == [39.0, 45.0, 69.0]  # sums of x0/x1/x2 positions


def test_embedding_lookup_ragged_ids():  # cell 20
    table = tf.Variable(tf.reshape(tf.range(8.0), [4, 2]))
    ids = tf.ragged.constant([[0, 3], [1], []])
    with tf.GradientTape() as tape:
        got = tf.nn.embedding_lookup(table, ids)
        loss = tf.reduce_sum(got.flat_values)
    assert got.to_list() == [[[0.0, 1.0], [6.0, 7.0]], [[2.0, 3.0]], []]
    assert tf.convert_to_tensor(tape.gradient(loss, table)).numpy().tolist() == [[1, 1], [1, 1], [0, 0], [1, 1]]


def test_map_fn_over_ragged_rows():  # cell 2 (TF 2.21 gives this value)
    digits = tf.ragged.constant([[3, 1, 4, 1], [], [5, 9, 2], [6], []])
    assert tf.map_fn(tf.math.square, digits).to_list() == [[9, 1, 16, 1], [], [25, 81, 4], [36], []]


def test_strings_join_ragged_bigrams():  # cell 20
    queries = tf.ragged.constant([["Who", "is"], ["Pause"]])
    marker = tf.fill([queries.nrows(), 1], "#")
    padded = tf.concat([marker, queries, marker], axis=1)
    bigrams = tf.strings.join([padded[:, :-1], padded[:, 1:]], separator="+")
    assert bigrams.to_list() == [[b"#+Who", b"Who+is", b"is+#"], [b"#+Pause", b"Pause+#"]]
    assert tf.strings.join(["a", "b"], separator="-").numpy() == b"a-b"


def test_shape_of_ragged():  # cells 68, 70, 71 (TF 2.21 gives these)
    rt_shape = tf.shape(tf.ragged.constant([[1], [2, 3, 4], [], [5, 6]]))
    assert isinstance(rt_shape, tf.experimental.DynamicRaggedShape)
    assert rt_shape[0].dtype == tf.int32 and int(rt_shape[0]) == 4
    try:
        rt_shape[1]
        raise AssertionError("a ragged dimension has no single length")
    except ValueError as e:
        assert "not uniform" in str(e)
