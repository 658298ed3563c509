"""Shared IMDB / Reuters word-index sequence processing (shuffle, offsets, vocabulary cut)."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np

from tapeflow.keras.datasets._formats import DatasetFileError


def legacy_kwargs(name: str, num_words: int | None, kwargs: dict[str, Any]) -> int | None:
    """Accept Keras 1's `nb_words` spelling of `num_words`; refuse any other unknown argument."""
    if "nb_words" in kwargs:
        warnings.warn(f"{name}: `nb_words` is deprecated, use `num_words`.", stacklevel=3)
        num_words = kwargs.pop("nb_words")
    if kwargs:
        raise TypeError(f"{name}() got unexpected keyword arguments {sorted(kwargs)}")
    return num_words


def shift(seqs: Any, start_char: int | None, index_from: int) -> list[list[int]]:
    """Add `index_from` to every word index and prepend `start_char` (when not None)."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in s] for s in seqs]
    return [[w + index_from for w in s] for s in seqs]


def drop_long(maxlen: int | None, seqs: list, labels: Any) -> tuple[list, Any]:
    """Keep the sequences strictly shorter than `maxlen` (Keras's rule) and their labels."""
    if not maxlen:
        return seqs, labels
    kept = [(s, y) for s, y in zip(seqs, labels, strict=True) if len(s) < maxlen]
    return [s for s, _ in kept], [y for _, y in kept]


def cut_vocabulary(seqs: list, num_words: int | None, skip_top: int, oov_char: int | None) -> list:
    """Replace (or drop, when `oov_char` is None) indices outside `[skip_top, num_words)`.

    NOTE: like Keras, `num_words=None` means "the largest index present", and that index itself
    is outside the half-open range, so it becomes `oov_char` too.
    """
    if not num_words:
        num_words = max(max(s) for s in seqs if len(s)) if seqs else 0
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in s] for s in seqs]
    return [[w for w in s if skip_top <= w < num_words] for s in seqs]


def object_array(seqs: list) -> np.ndarray:
    """A 1-D object array of lists (Keras's container for ragged sequences)."""
    out = np.empty(len(seqs), dtype=object)
    out[:] = seqs
    return out


def permute(rng: np.random.RandomState, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Shuffle equally long arrays with one permutation drawn as Keras does (`rng.shuffle(arange)`)."""
    indices = np.arange(len(arrays[0]))
    rng.shuffle(indices)
    return tuple(a[indices] for a in arrays)


def read_word_index(path: str) -> dict[str, int]:
    """Read a `{word: index}` JSON file."""
    try:
        with open(path, encoding="utf-8") as f:
            index = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise DatasetFileError(f"{path!r} is not a valid JSON word index ({e}).") from e
    if not isinstance(index, dict):
        raise DatasetFileError(f"{path!r} holds a {type(index).__name__}, expected a {{word: index}} object.")
    return index


def check_pair(path: str, x: np.ndarray, y: np.ndarray, what: str) -> None:
    """Check that `x` is a 1-D array of sequences with one label each."""
    if x.ndim != 1 or y.shape != (len(x),):
        raise DatasetFileError(
            f"{path!r}: {what} has shape {x.shape} and its labels {y.shape}; expected (N,) and (N,)."
        )

