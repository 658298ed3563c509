"""`keras.datasets.reuters`: 11,228 Reuters newswires as word-index sequences over 46 topics."""

from __future__ import annotations

import numpy as np

from tapeflow.keras.datasets import _sequences as seq
from tapeflow.keras.datasets._common import KERAS_ORIGIN, fetch, split_path
from tapeflow.keras.datasets._formats import load_npz

__all__ = ["get_label_names", "get_word_index", "load_data"]

NPZ_SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"

LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee",
    "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx",
    "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock",
    "retail", "ipi", "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
    "dlr", "gas", "silver", "wpi", "hog", "lead",
)

Split = tuple[np.ndarray, np.ndarray]


def load_data(
    path: str = "reuters.npz",
    num_words: int | None = None,
    skip_top: int = 0,
    maxlen: int | None = None,
    test_split: float = 0.2,
    seed: int = 113,
    start_char: int | None = 1,
    oov_char: int | None = 2,
    index_from: int = 3,
) -> tuple[Split, Split]:
    """Load the Reuters newswire topic classification dataset.

    Sequences are encoded as in `imdb.load_data()`; the whole set is shuffled and then split.

    Args:
        path: where to cache the file (relative to the datasets cache, or absolute).
        num_words: keep only the `num_words` most frequent words; None keeps all.
        skip_top: also replace the `skip_top` most frequent words by `oov_char`.
        maxlen: drop newswires with `maxlen` or more words; None keeps all.
        test_split: fraction of the data used as the test set.
        seed: shuffle seed.
        start_char: index marking the start of every sequence (None: no marker).
        oov_char: index of cut-out words (None: drop them).
        index_from: offset added to every word index.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: 1-D object arrays of Python lists of ints and
        integer topic labels 0-45 of shape `(N,)`; `get_label_names()[label]` names a topic.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = reuters.load_data(num_words=10000)  # doctest: +SKIP
        >>> len(x_train), len(x_test)
        (8982, 2246)
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"reuters.load_data: test_split must be in [0, 1), received {test_split}")
    folder, fname = split_path(path)
    npz = fetch(fname, (KERAS_ORIGIN + "reuters.npz",), NPZ_SHA256, folder)
    arrays = load_npz(npz, ("x", "y"), allow_object_arrays=True)
    seq.check_pair(npz, arrays["x"], arrays["y"], "x")

    rng = np.random.RandomState(seed)
    xs, labels = seq.permute(rng, arrays["x"], arrays["y"])
    xs = seq.shift(xs, start_char, index_from)
    xs, labels = seq.drop_long(maxlen, xs, labels)
    xs = seq.cut_vocabulary(xs, num_words, skip_top, oov_char)
    n = int(len(xs) * (1 - test_split))
    return (seq.object_array(xs[:n]), np.array(labels[:n])), (seq.object_array(xs[n:]), np.array(labels[n:]))


def get_word_index(path: str = "reuters_word_index.json") -> dict[str, int]:
    """The `{word: index}` mapping of the Reuters dataset (indices before `index_from` is added)."""
    folder, fname = split_path(path)
    origin = KERAS_ORIGIN + "reuters_word_index.json"
    return seq.read_word_index(fetch(fname, (origin,), WORD_INDEX_MD5, folder))


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names, indexed like the labels."""
    return LABEL_NAMES
