"""tf.random_index_shuffle / tf.random.experimental.index_shuffle give TF's permutations."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf


@pytest.mark.oracle
def test_index_shuffle_matches_tensorflow():
    real = pytest.importorskip("tensorflow")
    for seed, max_index in [([1, 2], 9), ([0, 0], 1), ([7, 123456789], 1000), ([-5, 3], 2**20), ([9, 9], 2**40 + 7)]:
        index = np.arange(0, min(max_index, 50) + 1, dtype=np.int64)
        ours = tf.random.experimental.index_shuffle(index, seed, max_index)
        theirs = real.random.experimental.index_shuffle(index, seed, max_index)
        assert ours.numpy().tolist() == theirs.numpy().tolist(), (seed, max_index)
    raw_args = (np.array([0, 3, 5], np.int64), np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], np.int64), np.int64(5))
    assert (tf.random_index_shuffle(*raw_args, rounds=6).numpy().tolist()
            == real.random_index_shuffle(*raw_args, rounds=6).numpy().tolist())
    assert int(tf.random_index_shuffle(np.int32(2), [1, 2, 3], np.int32(7))) == int(
        real.random_index_shuffle(np.int32(2), [1, 2, 3], np.int32(7)))


def test_index_shuffle_is_a_permutation():
    out = tf.random.experimental.index_shuffle(np.arange(100), [3, 4], 99).numpy()
    assert sorted(out.tolist()) == list(range(100)) and out.dtype == np.int64
    with pytest.raises(ValueError, match="rounds"):
        tf.random_index_shuffle(np.int64(0), [1, 2, 3], np.int64(5), rounds=3)
