"""`IndexLookup`: the vocabulary machinery shared by IntegerLookup, StringLookup and TextVectorization.

A vocabulary maps tokens to indices laid out as Keras does: `[mask] + [OOV] * num_oov_indices +
tokens` (the mask slot only in "int" mode). Tokens outside the vocabulary go to the single OOV
index, or with several OOV indices to `floormod(token, n)` (integers) or a FarmHash bucket
(strings, or integers with `oov_method="farmhash"`). `adapt` counts tokens (and, for "tf_idf",
the documents holding each token) and keeps the most frequent, ties broken by the larger token.

Lookups run on the host over whole NumPy arrays (`np.searchsorted` on the sorted vocabulary),
like TF's hash tables; results are encoded as in CategoryEncoding.
"""

from __future__ import annotations

import collections
import itertools
import os
from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow.errors import InvalidArgumentError
from tapeflow.fingerprint import fingerprint64, siphash64
from tapeflow.keras.layers import host_values as hv
from tapeflow.keras.layers.base import Layer
from tapeflow.keras.layers.categorical import encode_categorical
from tapeflow.tensor import Tensor

_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


class _Table:
    """Keys with their values: `get(queries, default)` looks up a whole array at once (a binary
    search over the sorted keys for integers, a dict for strings)."""

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        self.strings = keys.dtype == object
        if self.strings:
            self.index = dict(zip(keys.tolist(), values.tolist(), strict=True))
        order = np.argsort(keys, kind="stable")
        self.keys, self.values = keys[order], values[order]

    def get(self, queries: np.ndarray, default: int) -> np.ndarray:
        flat = queries.reshape(-1)
        if self.strings:
            found = map(self.index.get, flat.tolist(), itertools.repeat(default))
            return np.fromiter(found, np.int64, flat.size).reshape(queries.shape)
        if not self.keys.size:
            return np.full(queries.shape, default, np.int64)
        pos = np.minimum(np.searchsorted(self.keys, flat), self.keys.size - 1)
        hit = self.keys[pos] == flat
        return np.where(hit, self.values[pos], default).astype(np.int64).reshape(queries.shape)


class IndexLookup(Layer):
    """Maps tokens (int64 or strings) to vocabulary indices, or indices back to tokens (`invert`).

    See IntegerLookup and StringLookup for the arguments; `vocabulary_dtype` is "int64" or "string".
    """

    def __init__(self, max_tokens: int | None, num_oov_indices: int, mask_token: Any, oov_token: Any,
                 vocabulary_dtype: str, vocabulary: Any = None, idf_weights: Any = None, invert: bool = False,
                 output_mode: str = "int", sparse: bool = False, pad_to_max_tokens: bool = False,
                 oov_method: str = "floormod", name: str | None = None, salt: Any = None,
                 **kwargs: Any) -> None:
        label = type(self).__name__
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"{label}: if set, `max_tokens` must be greater than 1. Received: "
                             f"max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{label}: if pad_to_max_tokens is True, must set `max_tokens`. Received: "
                             f"max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError(f"{label}: `num_oov_indices` must be greater than or equal to 0. Received: "
                             f"num_oov_indices={num_oov_indices}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"{label}: `oov_method` must be one of ('floormod', 'farmhash'). Received: "
                             f"oov_method={oov_method!r}")
        if salt is not None:
            if vocabulary_dtype != "string" and oov_method != "farmhash":
                raise ValueError(f"{label}: `salt` can only be used when `oov_method='farmhash'`. "
                                 f"Received: oov_method={oov_method}")
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = list(salt)
            elif isinstance(salt, int):
                salt = [salt, salt]
            else:
                raise ValueError(f"{label}: the `salt` argument can only be a tuple of 2 integers, or a "
                                 f"single integer. Received: salt={salt}.")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in _MODES:
            raise ValueError(f"{label}: invalid value for argument `output_mode`. Expected one of {_MODES}. "
                             f"Received: output_mode={output_mode!r}")
        if invert and output_mode != "int":
            raise ValueError(f"{label}: `output_mode` must be `'int'` when `invert` is true. Received: "
                             f"output_mode={output_mode}")
        if sparse and output_mode == "int":
            raise ValueError(f"{label}: `sparse` may only be true if `output_mode` is `'one_hot'`, "
                             f"`'multi_hot'`, `'count'` or `'tf_idf'`. Received: sparse={sparse} and "
                             f"output_mode={output_mode}")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{label}: `idf_weights` should only be set if `output_mode` is `'tf_idf'`. "
                             f"Received: idf_weights={idf_weights} and output_mode={output_mode}")
        frozen = kwargs.pop("vocabulary_size", None)
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        if kwargs:
            raise ValueError(f"{label}: unrecognized keyword argument(s): {kwargs}")
        super().__init__(name=name)
        self.invert = invert
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.output_mode = output_mode
        self.sparse = sparse
        self.pad_to_max_tokens = pad_to_max_tokens
        self.vocabulary_dtype = vocabulary_dtype
        self.oov_method = oov_method
        self.salt = salt
        self._frozen_vocab_size = frozen
        self.input_vocabulary = vocabulary if not isinstance(vocabulary, str) else None
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = has_input_vocabulary
        self._tokens = self._host([])  # the learned/set tokens, in index order from token_start
        self._idf: np.ndarray | None = None
        self.reset_state()
        if output_mode == "tf_idf" and has_input_vocabulary and idf_weights is None:
            raise ValueError(f"{label}: when specifying the `vocabulary` argument, in TF-IDF output mode, "
                             "the `idf_weights` argument must also be provided.")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # -- values -----------------------------------------------------------------------------
    @property
    def _is_string(self) -> bool:
        return self.vocabulary_dtype == "string"

    def _host(self, values: Any) -> np.ndarray:
        """Tokens as a host array of the vocabulary's kind (int64, or object array of bytes)."""
        a = hv.to_array(values)
        if self._is_string:
            if a.size and not hv.is_string_array(a):
                raise ValueError(f"{type(self).__name__} '{self.name}': expected string inputs, received "
                                 f"values of dtype {a.dtype}.")
            return hv.as_bytes(a, getattr(self, "encoding", "utf-8")) if a.size else a.astype(object)
        if hv.is_string_array(a) and a.size:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected integer inputs, received "
                             f"strings.")
        return hv.as_int64(a, type(self).__name__) if a.size else a.astype(np.int64)

    def _call_keys(self, inputs: Any) -> np.ndarray:
        """The inputs of a call as keys: tokens, or int64 indices when inverting."""
        if not self.invert:
            return self._host(inputs)
        a = hv.to_array(inputs)
        if hv.is_string_array(a) and a.size:
            raise ValueError(f"{type(self).__name__} '{self.name}': with invert=True the inputs are integer "
                             "indices, received strings.")
        return hv.as_int64(a, type(self).__name__)

    def _key(self, token: Any) -> Any:
        return self._host(np.asarray([token], dtype=object if self._is_string else None))[0]

    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    # -- vocabulary -------------------------------------------------------------------------
    def vocabulary_size(self) -> int:
        """The size of the vocabulary, mask and OOV indices included."""
        return int(self._tokens.size) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary in index order (with the mask and OOV tokens unless told otherwise)."""
        vocab = [self.oov_token] * self._token_start_index() + [
            hv.decode(t, getattr(self, "encoding", "utf-8")) if self._is_string else int(t) for t in self._tokens]
        if self.mask_token is not None and self.output_mode == "int":
            vocab[0] = self.mask_token
        if not include_special_tokens:
            vocab = vocab[self._token_start_index():]
        return vocab

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Replace the vocabulary (an array, list, 1-D tensor or the path of a one-token-per-line
        file) and, for "tf_idf", the inverse document frequencies (one per vocabulary entry)."""
        label = f"{type(self).__name__} '{self.name}'"
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(f"{label}: `idf_weights` must be set if output_mode is 'tf_idf'.")
        elif idf_weights is not None:
            raise ValueError(f"{label}: `idf_weights` should only be set if output_mode is `'tf_idf'`. "
                             f"Received: output_mode={self.output_mode} and idf_weights={idf_weights}")
        if isinstance(vocabulary, (str, os.PathLike)):
            if self.output_mode == "tf_idf":
                raise ValueError(f"{label}: output_mode `'tf_idf'` does not support loading a vocabulary "
                                 "from file.")
            vocabulary = self._read_vocabulary_file(os.fspath(vocabulary))
        tokens = self._host(vocabulary).reshape(-1)
        if tokens.size == 0:
            raise ValueError(f"{label}: cannot set an empty vocabulary. Received: vocabulary={vocabulary}")
        token_start = self._token_start_index()
        special = [self.mask_token] * self._oov_start_index() + [self.oov_token] * self.num_oov_indices
        special_keys = [self._key(t) for t in special] if None not in special else None
        found_special = special_keys is not None and tokens.size >= token_start and all(
            a == b for a, b in zip(tokens[:token_start], special_keys, strict=False))
        if found_special:
            tokens = tokens[token_start:]
        unique, counts = np.unique(tokens, return_counts=True)
        if np.any(counts > 1):
            repeated = [hv.decode(t) for t in unique[counts > 1]]
            raise ValueError(f"{label}: the passed vocabulary has at least one repeated term. Please "
                             f"uniquify your dataset. The repeated terms are: {repeated}")
        for token, which in ((self.mask_token, "mask"), (self.oov_token if self.invert else None, "OOV")):
            if token is not None and np.any(tokens == self._key(token)):
                raise ValueError(
                    f"{label}: found reserved {which} token at unexpected location in `vocabulary`. Note "
                    "that passed `vocabulary` does not need to include the OOV and mask tokens. Either "
                    "remove all mask and OOV tokens, or include them only at the start of the vocabulary "
                    f"in precisely this order: {special}. Received: {which.lower()}_token={token!r}")
        new_size = token_start + tokens.size
        if self.max_tokens is not None and new_size > self.max_tokens:
            raise ValueError(f"{label}: attempted to set a vocabulary larger than the maximum vocab size. "
                             f"Received vocabulary size is {new_size}; `max_tokens` is {self.max_tokens}.")
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            weights = np.asarray(hv.to_array(idf_weights), np.float64)
            if weights.ndim != 1:
                raise ValueError(f"{label}: TF-IDF data must be a 1-index array. Received: idf_weights "
                                 f"of shape {weights.shape}")
            if len(weights) != len(hv.to_array(vocabulary).reshape(-1)):
                raise ValueError(f"{label}: `idf_weights` must be the same length as vocabulary. "
                                 f"len(idf_weights) is {len(weights)}; len(vocabulary) is "
                                 f"{len(hv.to_array(vocabulary).reshape(-1))}")
            front = 0 if found_special else token_start
            self._set_idf(weights, front, float(np.average(weights)) if not found_special else 0.0)

    def _read_vocabulary_file(self, path: str) -> list:
        if not os.path.isfile(path):
            raise ValueError(f"{type(self).__name__} '{self.name}': vocabulary file {path} does not exist.")
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        if self._is_string:
            return lines
        try:
            return [int(line) for line in lines]
        except ValueError as exc:
            raise ValueError(f"{type(self).__name__} '{self.name}': vocabulary file {path} holds a line "
                             f"that is not an integer ({exc}).") from exc

    def _set_tokens(self, tokens: np.ndarray) -> None:
        self._tokens = tokens
        indices = np.arange(self._token_start_index(), self._token_start_index() + tokens.size, dtype=np.int64)
        self._table = _Table(tokens, indices)
        self.built = True  # no weights; a built layer's learned vocabulary is saved with a model
        self._record_vocabulary_size()

    def _set_idf(self, weights: np.ndarray, front: int, front_value: float) -> None:
        back = self.max_tokens - front - len(weights) if self.pad_to_max_tokens and self.max_tokens else 0
        self._idf = np.pad(weights, (front, back), constant_values=(front_value, 0.0)).astype(np.float32)

    @property
    def idf_weights(self) -> Tensor | None:
        """The inverse document frequencies ("tf_idf" mode), one per output index."""
        return None if self._idf is None else tf.constant(self._idf)

    def _record_vocabulary_size(self) -> None:
        size = self.vocabulary_size()
        if self.output_mode != "int" and not self.pad_to_max_tokens and self._frozen_vocab_size is not None \
                and size != self._frozen_vocab_size:
            raise RuntimeError(
                f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, the vocabulary "
                f"size cannot be changed after the layer is called. Old vocab size is "
                f"{self._frozen_vocab_size}, new vocab size is {size}")
        self._frozen_vocab_size = size

    # -- adapt ------------------------------------------------------------------------------
    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Learn the vocabulary (most frequent tokens first) from a batched `tf.data.Dataset`, an
        iterable of batches, or an array / list / tensor of tokens."""
        self.reset_state()
        if isinstance(data, tf.data.Dataset):
            if steps is not None:
                data = data.take(steps)
            for batch in data:
                self.update_state(batch)
        elif hasattr(data, "__iter__") and not isinstance(data, (list, tuple, np.ndarray, Tensor, str)) \
                and not hv.is_ragged(data):
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self.update_state(batch)
        else:
            if steps is not None:
                raise ValueError(f"{type(self).__name__}.adapt: `steps` is not supported with array inputs.")
            rows = self._documents(data, expand_last=True)
            self._count(rows)
        self.finalize_state()

    def _documents(self, data: Any, expand_last: bool = False) -> list[np.ndarray] | np.ndarray:
        """The data as documents: a 2-D host array (one row each), or a list of rows when ragged."""
        if hv.is_ragged(data):
            return hv.ragged_rows(data, self._host)
        a = self._host(data)
        if a.ndim == 0:
            a = a.reshape(1, 1) if expand_last else a.reshape(1, 1)
        elif a.ndim == 1:
            a = a.reshape(-1, 1) if expand_last else a.reshape(1, -1)
        return a.reshape(a.shape[0], -1) if a.ndim > 2 else a

    def update_state(self, data: Any) -> None:
        """Count the tokens of one batch (rank 1 is one document)."""
        self._count(self._documents(data))

    def _count(self, docs: Any) -> None:
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static vocabulary via "
                             "`vocabulary` argument or `set_vocabulary()` method.")
        rows = docs if isinstance(docs, list) else list(docs)
        for row in rows:  # NOTE: Counter counts hashable values in C, faster than sorting strings
            self._counts.update(row.tolist())
        if self.output_mode == "tf_idf":
            self._doc_counts.update(itertools.chain.from_iterable(set(r.tolist()) for r in rows))
            self._num_documents += len(rows)

    def finalize_state(self) -> None:
        """Turn the counts into the vocabulary (and idf weights)."""
        tokens = self._host(np.array(list(self._counts), dtype=object if self._is_string else np.int64))
        counts = np.fromiter(self._counts.values(), np.int64, len(self._counts))
        if self._has_input_vocabulary or tokens.size == 0:
            self._record_vocabulary_size()
            return
        keep = np.ones(tokens.size, bool)
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                keep &= tokens != self._key(special)
        tokens, counts = tokens[keep], counts[keep]
        by_token = np.argsort(tokens, kind="stable")
        order = by_token[np.argsort(counts[by_token], kind="stable")][::-1]
        if self.max_tokens:
            order = order[:self.max_tokens - self._token_start_index()]
        tokens = tokens[order]
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            per_token = np.fromiter(map(self._doc_counts.get, tokens.tolist(), itertools.repeat(0)), np.int64,
                                    tokens.size)
            idf = np.log(1 + self._num_documents / (1 + per_token)).astype(np.float32)
            self._set_idf(idf, self._token_start_index(), float(np.mean(idf)))
        self.reset_state()

    def reset_state(self) -> None:
        self._counts: collections.Counter = collections.Counter()
        self._doc_counts: collections.Counter = collections.Counter()
        self._num_documents = 0

    # -- call -------------------------------------------------------------------------------
    def _convert_inputs(self, inputs: Any) -> Any:
        return inputs  # strings stay host values; `call` converts

    def call(self, inputs: Any) -> Any:
        if hv.is_sparse(inputs):
            return hv.map_sparse_values(inputs, lambda v: self._lookup_values(self._call_keys(v)),
                                        type(self).__name__, self.output_mode)
        if hv.is_ragged(inputs):
            keys = self._call_keys(inputs.flat_values)
            if self.output_mode == "int":
                return inputs.with_flat_values(self._lookup_values(keys))
            return self.encode_indices(self._lookup_indices(keys.reshape(-1)), hv.row_lengths(inputs))
        x = self._call_keys(inputs)
        if self.output_mode == "int":
            return self._lookup_values(x)
        return self.encode_indices(self._lookup_indices(x.reshape(1) if x.ndim == 0 else x))

    def encode_indices(self, indices: np.ndarray, lengths: np.ndarray | None = None) -> Any:
        """Encode looked-up indices in the layer's output mode (one row per input row); with
        `lengths`, `indices` are the flat values of ragged rows. The mask (-1) encodes as nothing."""
        depth = self._depth()
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        if lengths is not None:
            out = hv.encode_rows(indices, lengths, mode, depth, "int64")
        else:
            out = encode_categorical(tf.constant(np.where(indices < 0, depth, indices)), mode, depth, "int64")
        if self.output_mode == "tf_idf":
            if self._idf is None:
                raise ValueError("When `output_mode` is `'tf_idf'`, `idf_weights` must be provided.")
            out = tf.cast(out, "float32") * tf.constant(self._idf)
        if self.sparse:
            if hv.is_ragged(out):
                raise ValueError(f"{type(self).__name__} '{self.name}': sparse=True with output_mode='one_hot' on "
                                 "ragged rows is not supported (the one-hot rows are ragged).")
            out = hv.to_sparse(out)
        return out

    def _depth(self) -> int:
        """The encoded width: `max_tokens` when padding to it, else the vocabulary size."""
        if self.pad_to_max_tokens:
            return self.max_tokens
        if self._frozen_vocab_size is None:
            raise RuntimeError(f"When using `output_mode={self.output_mode}` and `pad_to_max_tokens=False`, you "
                               "must set the layer's vocabulary before calling it. Either pass a `vocabulary` "
                               "argument to the layer, or call `adapt` with some sample data.")
        return self._frozen_vocab_size

    def _lookup_values(self, x: np.ndarray) -> Tensor:
        if self.invert:
            return self._invert_lookup(x)
        return tf.constant(self._lookup_indices(x))

    def _lookup_indices(self, x: np.ndarray) -> np.ndarray:
        """Indices of the tokens `x`; the mask gets 0 ("int") or -1 (encoded as nothing)."""
        oov_start = self._oov_start_index()
        default = oov_start if self.num_oov_indices == 1 else -1
        table = getattr(self, "_table", None)
        out = table.get(x, default) if table is not None else np.full(x.shape, default, np.int64)
        masked = None
        if self.mask_token is not None:
            masked = x == self._key(self.mask_token)
            out = np.where(masked, 0 if self.output_mode == "int" else -1, out)
        oov = out == default if default == -1 else None
        if masked is not None and oov is not None:
            oov &= ~masked
        if self.num_oov_indices == 0 and oov is not None and oov.any():
            raise InvalidArgumentError(
                None, None, "When `num_oov_indices=0` all inputs should be in vocabulary, found OOV values "
                f"{[hv.decode(v) for v in x[oov].tolist()]}, consider setting `num_oov_indices=1`.")
        if self.num_oov_indices > 1 and oov is not None and oov.any():
            out = np.where(oov, self._oov_buckets(x) + oov_start, out)
        return out

    def _oov_buckets(self, x: np.ndarray) -> np.ndarray:
        n = self.num_oov_indices
        if not self._is_string and self.oov_method != "farmhash":
            return np.mod(x, n)
        flat = x.reshape(-1)
        if self._is_string:
            keys = flat
        else:
            keys = np.empty(flat.size, dtype=object)
            keys[:] = [str(v).encode() for v in flat.tolist()]
        hashed = siphash64(keys, self.salt) if self.salt is not None else fingerprint64(keys)
        return (hashed % np.uint64(n)).astype(np.int64).reshape(x.shape)

    def _invert_lookup(self, x: np.ndarray) -> Tensor:
        vocab = self.get_vocabulary()
        if self._is_string:
            table = hv.as_bytes(np.array([str(v) for v in vocab] + [str(self.oov_token)], dtype=object))
        else:
            table = np.array(vocab + [self.oov_token], np.int64)
        idx = np.where((x >= 0) & (x < len(vocab)), x, len(vocab))
        idx = np.where((x >= self._oov_start_index()) & (x < self._token_start_index()), len(vocab), idx)
        values = table[idx]
        return hv.string_tensor(values) if self._is_string else tf.constant(values)

    # -- shapes and config ------------------------------------------------------------------
    def _output_dtype(self) -> str:
        if self.invert:
            return self.vocabulary_dtype
        return "float32" if self.output_mode == "tf_idf" else "int64"

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        if not shape:
            return (depth,)
        if self.output_mode == "one_hot":
            return (shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape) + (depth,)
        return shape[:-1] + (depth,)

    def _output_specs(self, args: tuple, kwargs: dict) -> tuple[list, bool]:
        return [(self.compute_output_shape(tuple(args[0].shape)), self._output_dtype())], True

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "invert": self.invert, "max_tokens": self.max_tokens, "num_oov_indices": self.num_oov_indices,
            "oov_token": self.oov_token, "mask_token": self.mask_token, "output_mode": self.output_mode,
            "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary_dtype": self.vocabulary_dtype, "idf_weights": _listify(self.input_idf_weights),
            "vocabulary": _listify(self.input_vocabulary), "vocabulary_size": self._frozen_vocab_size,
            "oov_method": self.oov_method, "salt": self.salt,
        })
        return config

    # -- learned state with the model (Keras keeps it in assets; here the build config) ----
    def get_build_config(self) -> dict:
        """The learned vocabulary (and idf weights) of an adapted layer, saved with the model."""
        if self.input_vocabulary is not None or not self._tokens.size:
            return {}
        state: dict = {"input_shape": [], "learned_vocabulary": self.get_vocabulary(True)}
        if self._idf is not None:
            state["learned_idf_weights"] = self._idf.tolist()
        return state

    def build_from_config(self, config: dict) -> None:
        vocab = config.get("learned_vocabulary")
        if vocab:
            self._has_input_vocabulary = False
            frozen, self._frozen_vocab_size = self._frozen_vocab_size, None
            self._set_tokens(self._host(vocab[self._token_start_index():]))
            self._frozen_vocab_size = frozen or self._frozen_vocab_size
            if config.get("learned_idf_weights") is not None:
                self._idf = np.asarray(config["learned_idf_weights"], np.float32)
        self.built = True

    def save_assets(self, dir_path: str) -> None:
        """Keras's asset hook: write the adapted vocabulary to `dir_path/vocabulary.txt`."""
        if self.input_vocabulary is not None:
            return
        text = "\n".join(str(w) for w in self.get_vocabulary(include_special_tokens=True))
        path = os.path.join(dir_path, "vocabulary.txt")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)

    def load_assets(self, dir_path: str) -> None:
        """Keras's asset hook: read the vocabulary written by `save_assets`."""
        if self.input_vocabulary is not None:
            return
        values = self._read_vocabulary_file(os.path.join(dir_path, "vocabulary.txt"))
        if self.output_mode == "tf_idf":
            self.set_vocabulary(values, idf_weights=self._idf)
        else:
            self.set_vocabulary(values)

    def save_own_variables(self, store: dict) -> None:
        if self.output_mode == "tf_idf" and self._idf is not None:
            store["idf_weights"] = self._idf

    def load_own_variables(self, store: dict) -> None:
        if self.output_mode == "tf_idf" and "idf_weights" in store:
            self._idf = np.asarray(store["idf_weights"], np.float32)


def _listify(x: Any) -> Any:
    if isinstance(x, Tensor):
        x = x.numpy()
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, (list, tuple)):
        return [hv.decode(v) for v in x]
    return x
