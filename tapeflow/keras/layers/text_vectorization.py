"""TextVectorization: strings to token indices or bag-of-words vectors (standardize, split, ngrams,
then a StringLookup whose mask token "" is the padding index 0).

Text processing runs on the host on bytes, as TF's string kernels do: "lower" lowercases ASCII
letters only (`tf.strings.lower`), punctuation is TF's character class, "whitespace" splits on
ASCII whitespace dropping empty tokens, "character" splits UTF-8 code points, and n-grams of
each width are joined by " " in order of width (`tf.strings.ngrams`).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow.keras.layers import host_values as hv
from tapeflow.keras.layers.base import Layer
from tapeflow.keras.layers.lookup import StringLookup
from tapeflow.tensor import Tensor

_PUNCTUATION = re.compile(rb"[!\"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~']")
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")


def _check_option(value: Any, allowed: tuple, arg: str) -> None:
    if value is None or callable(value) or value in allowed:
        return
    raise ValueError(f"TextVectorization: invalid value for argument `{arg}`. Expected one of {allowed}, None or "
                     f"a callable. Received: {arg}={value!r}")


def _ngrams(tokens: np.ndarray, widths: tuple) -> np.ndarray:
    out = []
    for n in widths:
        if n == 1:
            out.extend(tokens.tolist())
        else:
            out.extend(b" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return np.array(out, dtype=object)


class TextVectorization(Layer):
    """Turn strings into token-index sequences or multi-hot / count / TF-IDF vectors.

    Args:
        max_tokens: the largest vocabulary, padding ("") and OOV ("[UNK]") included.
        standardize: "lower_and_strip_punctuation" (default), "lower", "strip_punctuation", None,
            or a callable of a string tensor returning one.
        split: "whitespace" (default), "character", None, or a callable of a 1-D string tensor
            returning a ragged (or dense) tensor of tokens.
        ngrams: None, an int n (widths 1..n), or a tuple of widths.
        output_mode: "int" (int64 indices, `(batch, length)`), "multi_hot", "count" (int64,
            `(batch, vocabulary)`), "tf_idf" (float32), or "one_hot".
        output_sequence_length: "int" mode: pad or truncate every sequence to this length
            (default: the longest in the batch).
        pad_to_max_tokens: encode to `max_tokens` columns.
        vocabulary / idf_weights: a given vocabulary (list, array, tensor or file path) instead of
            `adapt`, and its idf weights for "tf_idf".
        sparse: return a tf.SparseTensor of the encodings (not with "int").
        ragged: "int" mode: return a tf.RaggedTensor of unpadded sequences.
        encoding: the encoding of str inputs and returned vocabularies.

    Input: strings of shape `(batch,)` or `(batch, 1)` (lists, arrays or string tensors).

    Example:
        >>> layer = keras.layers.TextVectorization(output_sequence_length=4)
        >>> layer.adapt(["The cat sat.", "the dog"])
        >>> layer(["the cat"])   # [[2, 4, 0, 0]]
    """

    def __init__(self, max_tokens: int | None = None, standardize: Any = "lower_and_strip_punctuation",
                 split: Any = "whitespace", ngrams: Any = None, output_mode: str = "int",
                 output_sequence_length: int | None = None, pad_to_max_tokens: bool = False, vocabulary: Any = None,
                 idf_weights: Any = None, sparse: bool = False, ragged: bool = False, encoding: str = "utf-8",
                 name: str | None = None, **kwargs: Any) -> None:
        _check_option(standardize, _STANDARDIZE, "standardize")
        _check_option(split, _SPLIT, "split")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        modes = ("int", "one_hot", "multi_hot", "count", "tf_idf")
        if output_mode not in modes:
            raise ValueError(f"TextVectorization: invalid value for argument `output_mode`. Expected one of "
                             f"{modes}. Received: output_mode={output_mode!r}")
        if not (ngrams is None or isinstance(ngrams, int)
                or isinstance(ngrams, tuple) and all(isinstance(item, int) for item in ngrams)):
            raise ValueError(f"`ngrams` must be None, an integer, or a tuple of integers. Received: ngrams={ngrams}")
        if output_mode == "int" and not (output_sequence_length is None or isinstance(output_sequence_length, int)):
            raise ValueError("`output_sequence_length` must be either None or an integer when `output_mode` is "
                             f"'int'. Received: output_sequence_length={output_sequence_length}")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError("`output_sequence_length` must not be set if `output_mode` is not 'int'. Received "
                             f"output_sequence_length={output_sequence_length}.")
        if ragged and output_mode != "int":
            raise ValueError(f"`ragged` must not be true if `output_mode` is `'int'`. Received: ragged={ragged} "
                             f"and output_mode={output_mode}")
        if ragged and hv.ragged_type() is None:
            raise ValueError("TextVectorization: ragged=True needs tf.RaggedTensor, which this build of Tapeflow "
                             "does not have yet; use ragged=False (padded outputs).")
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, **kwargs)
        self._max_tokens = max_tokens
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._ragged = ragged
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding
        self._has_input_vocabulary = has_input_vocabulary
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode, sparse=sparse,
            has_input_vocabulary=has_input_vocabulary, encoding=encoding, vocabulary_size=vocabulary_size)
        self.built = self._lookup_layer.built

    # -- vocabulary -------------------------------------------------------------------------
    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary from strings: a batched `tf.data.Dataset`, an iterable of batches,
        or an array / list / tensor of strings (processed `batch_size` texts at a time)."""
        self.reset_state()
        if isinstance(data, tf.data.Dataset):
            if steps is not None:
                data = data.take(steps)
            for batch in data:
                self.update_state(batch)
        elif hasattr(data, "__iter__") and not isinstance(data, (list, tuple, np.ndarray, Tensor, str)):
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self.update_state(batch)
        else:
            a = self._strings(data)
            a = a.reshape(-1, 1) if a.ndim == 1 else a
            step = int(batch_size) if batch_size else max(len(a), 1)
            for start in range(0, len(a), step):  # `batch_size`: texts processed at a time
                self.update_state(a[start:start + step])
        self.finalize_state()

    def update_state(self, data: Any) -> None:
        kind, values = self._preprocess(data)
        if kind == "rows":
            self._lookup_layer._count(values)
        else:
            self._lookup_layer._count(values.reshape(1, -1) if values.ndim < 2 else values.reshape(len(values), -1))

    def finalize_state(self) -> None:
        self._lookup_layer.finalize_state()
        self.built = self._lookup_layer.built

    def reset_state(self) -> None:
        self._lookup_layer.reset_state()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary in index order ("" and "[UNK]" first unless told otherwise)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Replace the vocabulary (and "tf_idf" weights); see StringLookup.set_vocabulary."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)
        self.built = True

    # -- text processing --------------------------------------------------------------------
    def _strings(self, inputs: Any) -> np.ndarray:
        if isinstance(inputs, str):
            inputs = np.array(inputs, dtype=object)
        a = hv.to_array(inputs)
        if a.size and not hv.is_string_array(a):
            raise ValueError(f"TextVectorization '{self.name}': expected string inputs, received values of dtype "
                             f"{a.dtype}.")
        return hv.as_bytes(a, self._encoding) if a.size else a.astype(object)

    def _call_user(self, fn: Any, values: np.ndarray) -> Any:
        return fn(hv.string_tensor(values))

    def _preprocess(self, inputs: Any) -> tuple[str, Any]:
        """("dense", array of bytes) without `split`, else ("rows", a list of 1-D token arrays)."""
        a = self._strings(inputs)
        flat = a.reshape(-1)
        if self._standardize in ("lower", "lower_and_strip_punctuation"):
            flat = np.array([s.lower() for s in flat], dtype=object)
        if self._standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
            flat = np.array([_PUNCTUATION.sub(b"", s) for s in flat], dtype=object)
        a = flat.reshape(a.shape)
        if callable(self._standardize):
            a = self._strings(self._call_user(self._standardize, a))
        if self._split is None:
            rows = None
        else:
            if a.ndim > 1:
                if a.shape[-1] != 1:
                    raise ValueError("When using `TextVectorization` to tokenize strings, the input rank must be 1 "
                                     f"or the last shape dimension must be 1. Received: inputs.shape={a.shape} with "
                                     f"rank={a.ndim}")
                a = a.reshape(a.shape[:-1])
            if a.ndim > 1:
                raise ValueError(f"TextVectorization '{self.name}': expected strings of shape (batch,) or "
                                 f"(batch, 1), received shape {a.shape + (1,)}.")
            rows = self._split_rows(a.reshape(-1))
            if a.ndim == 0:
                rows = rows[0]
        if self._ngrams is not None:
            if rows is None:
                rows = [_ngrams(np.array([s], dtype=object), self._ngrams) for s in a.reshape(-1)]
            elif isinstance(rows, np.ndarray):
                rows = _ngrams(rows, self._ngrams)
            else:
                rows = [_ngrams(r, self._ngrams) for r in rows]
        if rows is None:
            return "dense", a
        if isinstance(rows, np.ndarray):  # a scalar input: one row of tokens, returned 1-D
            return "dense", rows
        return "rows", rows

    def _split_rows(self, texts: np.ndarray) -> list[np.ndarray]:
        if self._split == "whitespace":
            return [np.array(s.split(), dtype=object) for s in texts]
        if self._split == "character":
            return [np.array([c.encode("utf-8") for c in s.decode("utf-8", errors="replace")], dtype=object)
                    for s in texts]
        result = self._split(hv.string_tensor(texts))
        if hv.is_ragged(result):
            return hv.ragged_rows(result, self._strings)
        tokens = self._strings(result)
        return [row for row in tokens.reshape(len(texts), -1)]

    # -- call -------------------------------------------------------------------------------
    def _convert_inputs(self, inputs: Any) -> Any:
        return inputs

    def call(self, inputs: Any) -> Any:
        lookup = self._lookup_layer
        kind, values = self._preprocess(inputs)
        if kind == "dense":
            out = lookup.call(values)
            if self._output_mode == "int" and self._output_sequence_length is not None and values.ndim > 0:
                out = tf.constant(_fit_last_axis(out.numpy(), self._output_sequence_length))
            return out
        lengths = np.array([len(r) for r in values], np.int64)
        flat = np.concatenate(values) if values else np.zeros(0, object)
        indices = lookup._lookup_indices(flat.astype(object))
        if self._output_mode != "int":
            return lookup.encode_indices(indices, lengths)
        if self._ragged:
            return hv.ragged_from_rows(np.split(indices, np.cumsum(lengths)[:-1]), np.int64)
        width = self._output_sequence_length
        return tf.constant(hv.pad_rows(indices, lengths, int(lengths.max(initial=0)) if width is None else width,
                                       fill=0))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if self._output_mode == "int":
            if self._split is None:
                return shape[:-1] + (self._output_sequence_length,) if self._output_sequence_length else shape
            return (shape[0] if shape else None, self._output_sequence_length)
        depth = self._lookup_layer.max_tokens if self._lookup_layer.pad_to_max_tokens \
            else self._lookup_layer._frozen_vocab_size
        if self._split is None and self._ngrams is None:
            return self._lookup_layer.compute_output_shape(shape)
        batch = shape[0] if shape else None
        return (batch, None, depth) if self._output_mode == "one_hot" else (batch, depth)

    def _output_specs(self, args: tuple, kwargs: dict) -> tuple[list, bool]:
        dtype = "float32" if self._output_mode == "tf_idf" else "int64"
        return [(self.compute_output_shape(tuple(args[0].shape)), dtype)], True

    # -- config and saving ------------------------------------------------------------------
    def get_config(self) -> dict:
        from tapeflow.keras.layers.index_lookup import _listify
        lookup = self._lookup_layer
        config = super().get_config()
        config.update({
            "max_tokens": lookup.max_tokens, "standardize": self._standardize, "split": self._split,
            "ngrams": self._ngrams_arg, "output_mode": self._output_mode,
            "output_sequence_length": self._output_sequence_length, "pad_to_max_tokens": lookup.pad_to_max_tokens,
            "sparse": lookup.sparse, "ragged": self._ragged, "vocabulary": _listify(lookup.input_vocabulary),
            "idf_weights": _listify(lookup.input_idf_weights), "encoding": self._encoding,
            "vocabulary_size": self.vocabulary_size(),
        })
        return config

    @classmethod
    def from_config(cls, config: dict) -> TextVectorization:
        config = dict(config)
        from tapeflow.keras.saving.serialization import deserialize_keras_object
        for key in ("standardize", "split"):
            if config.get(key) is not None and not isinstance(config[key], str) and not callable(config[key]):
                config[key] = deserialize_keras_object(config[key])
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)

    def get_build_config(self) -> dict:
        return self._lookup_layer.get_build_config()

    def build_from_config(self, config: dict) -> None:
        self._lookup_layer.build_from_config(config)
        self.built = True

    def save_assets(self, dir_path: str) -> None:
        self._lookup_layer.save_assets(dir_path)

    def load_assets(self, dir_path: str) -> None:
        self._lookup_layer.load_assets(dir_path)

    def save_own_variables(self, store: dict) -> None:
        self._lookup_layer.save_own_variables(store)

    def load_own_variables(self, store: dict) -> None:
        self._lookup_layer.load_own_variables(store)


def _fit_last_axis(a: np.ndarray, length: int) -> np.ndarray:
    a = a[..., :length]
    pad = [(0, 0)] * (a.ndim - 1) + [(0, length - a.shape[-1])]
    return np.pad(a, pad)
