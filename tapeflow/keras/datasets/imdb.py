"""`keras.datasets.imdb`: 50,000 movie reviews as word-index sequences, labelled by sentiment."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras.datasets import _sequences as seq
from tapeflow.keras.datasets._common import KERAS_ORIGIN, fetch, split_path
from tapeflow.keras.datasets._formats import load_npz

__all__ = ["get_word_index", "load_data"]

NPZ_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"

Split = tuple[np.ndarray, np.ndarray]


def load_data(
    path: str = "imdb.npz",
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
    **kwargs: Any,
) -> tuple[Split, Split]:
    """Load the IMDB sentiment dataset: 25,000 training and 25,000 test reviews.

    Each review is a list of word indices, ranked by frequency in the training set (index `i` is
    the i-th most frequent word, before the `index_from` offset). The file is cached in the
    datasets folder (`$TAPEFLOW_DATA_DIR`, else `~/.keras/datasets`) and checked against its
    published SHA-256; its ragged arrays are read without executing pickle code.

    Args:
        path: where to cache the file (relative to the datasets cache, or absolute).
        num_words: keep only the `num_words` most frequent words (others become `oov_char`);
            None keeps all.
        skip_top: also replace the `skip_top` most frequent words by `oov_char`.
        maxlen: drop reviews with `maxlen` or more words (after `start_char`); None keeps all.
        seed: seed of the shuffle applied to each split.
        start_char: index marking the start of every sequence (None: no marker).
        oov_char: index of cut-out words (None: drop them).
        index_from: offset added to every word index (0 is padding, 1 start, 2 out-of-vocabulary).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: 1-D object arrays of Python lists of ints, and
        int labels (1 positive, 0 negative) of shape `(N,)`.

    Example:
        >>> (x_train, y_train), _ = imdb.load_data(num_words=10000)  # doctest: +SKIP
        >>> len(x_train), y_train.shape
        (25000, (25000,))
    """
    num_words = seq.legacy_kwargs("imdb.load_data", num_words, kwargs)
    folder, fname = split_path(path)
    npz = fetch(fname, (KERAS_ORIGIN + "imdb.npz",), NPZ_SHA256, folder)
    arrays = load_npz(npz, ("x_train", "y_train", "x_test", "y_test"), allow_object_arrays=True)
    seq.check_pair(npz, arrays["x_train"], arrays["y_train"], "x_train")
    seq.check_pair(npz, arrays["x_test"], arrays["y_test"], "x_test")

    # 1. Shuffle each split with one RandomState, train first (Keras's order, so results match).
    rng = np.random.RandomState(seed)
    x_train, labels_train = seq.permute(rng, arrays["x_train"], arrays["y_train"])
    x_test, labels_test = seq.permute(rng, arrays["x_test"], arrays["y_test"])
    # 2. Offset the indices, mark the starts, drop long reviews.
    x_train = seq.shift(x_train, start_char, index_from)
    x_test = seq.shift(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = seq.drop_long(maxlen, x_train, labels_train)
        x_test, labels_test = seq.drop_long(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(f"imdb.load_data: no sequence is shorter than maxlen={maxlen}; increase maxlen.")
    # 3. Cut the vocabulary over both splits together.
    xs = seq.cut_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    n = len(x_train)
    return (seq.object_array(xs[:n]), labels[:n]), (seq.object_array(xs[n:]), labels[n:])


def get_word_index(path: str = "imdb_word_index.json") -> dict[str, int]:
    """The `{word: index}` mapping of the IMDB dataset (indices before `index_from` is added).

    Args:
        path: where to cache the file (relative to the datasets cache, or absolute).

    Returns:
        A dict from word to its frequency rank (1 = most frequent).
    """
    folder, fname = split_path(path)
    return seq.read_word_index(fetch(fname, (KERAS_ORIGIN + "imdb_word_index.json",), WORD_INDEX_MD5, folder))
