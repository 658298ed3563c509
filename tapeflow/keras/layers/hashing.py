"""Hashing and HashedCrossing: integer or string features hashed into a fixed number of bins.

The bins are TF's: strings (and integers, written in decimal as `tf.as_string` does) hash with
FarmHash Fingerprint64, or SipHash-2-4 when a `salt` is given; crosses combine per-feature
fingerprints with FingerprintCat64 from TF's seed 0xDECAFCAFFE, as `tf.sparse.cross_hashed`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow.fingerprint import fingerprint64, fingerprint_cat64, siphash64
from tapeflow.keras.layers import host_values as hv
from tapeflow.keras.layers.base import Layer
from tapeflow.keras.layers.categorical import encode_categorical
from tapeflow.tensor import Tensor

_CROSS_SEED = 0xDECAFCAFFE


def _as_keys(a: np.ndarray) -> np.ndarray:
    """The byte strings TF hashes: strings themselves, integers in decimal (floats truncated)."""
    flat = a.reshape(-1)
    if hv.is_string_array(a):
        return hv.as_bytes(flat)
    out = np.empty(flat.size, dtype=object)
    out[:] = [str(v).encode() for v in flat.astype(np.int64).tolist()]
    return out


class Hashing(Layer):
    """Hash integer or string features into `num_bins` bins (TF's FarmHash64, or SipHash64 with `salt`).

    Args:
        num_bins: the number of bins, the mask bin included when `mask_value` is set.
        mask_value: inputs equal to it go to bin 0 (the others to 1..num_bins-1), or None.
        salt: an int or a pair of ints: the SipHash key (None: FarmHash, unkeyed).
        output_mode: "int" (bin indices, input shape), "one_hot", "multi_hot" or "count".
        sparse: return a tf.SparseTensor of the encodings ("one_hot", "multi_hot", "count").

    Input: ints, floats (truncated to int64) or strings, any shape. Output: int64 ("int", or the
    `dtype` given) or float32 encodings with a last axis of `num_bins`.

    Example:
        >>> keras.layers.Hashing(num_bins=3)([["A"], ["B"], ["C"]])   # [[1], [0], [1]]
    """

    def __init__(self, num_bins: int, mask_value: Any = None, salt: Any = None, output_mode: str = "int",
                 sparse: bool = False, **kwargs: Any) -> None:
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else "float32"
        super().__init__(**kwargs)
        if num_bins is None or num_bins <= 0:
            raise ValueError(f"The `num_bins` for `Hashing` cannot be `None` or non-positive values. "
                             f"Received: num_bins={num_bins}.")
        if output_mode == "int" and self.dtype not in ("int32", "int64"):
            raise ValueError("When `output_mode=\"int\"`, `dtype` should be an integer type, 'int32' or "
                             f"'int64'. Received: dtype={kwargs['dtype']}")
        modes = ("int", "one_hot", "multi_hot", "count")
        if output_mode not in modes:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of {modes}. Received: "
                             f"output_mode={output_mode}")
        if sparse and output_mode == "int":
            raise ValueError("`sparse` may only be true if `output_mode` is `\"one_hot\"`, `\"multi_hot\"`, "
                             f"or `\"count\"`. Received: sparse={sparse} and output_mode={output_mode}")
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = list(salt)
            elif isinstance(salt, int):
                salt = [salt, salt]
            else:
                raise ValueError("The `salt` argument for `Hashing` can only be a tuple of size 2 integers, "
                                 f"or a single integer. Received: salt={salt}.")
        self.num_bins = num_bins
        self.mask_value = mask_value
        self.strong_hash = salt is not None
        self.salt = salt
        self.output_mode = output_mode
        self.sparse = sparse

    def _convert_inputs(self, inputs: Any) -> Any:
        return inputs  # strings stay host values; `call` converts

    def call(self, inputs: Any) -> Any:
        if hv.is_sparse(inputs):
            return hv.map_sparse_values(inputs, lambda v: tf.constant(self._bins(hv.to_array(v)).astype(self.dtype)),
                                        "Hashing", self.output_mode)
        if hv.is_ragged(inputs):
            bins = self._bins(hv.to_array(inputs.flat_values)).reshape(-1)
            if self.output_mode == "int":
                return inputs.with_flat_values(tf.constant(bins.astype(self.dtype)))
            out = hv.encode_rows(bins, hv.row_lengths(inputs), self.output_mode, self.num_bins, self.dtype)
        else:
            out = encode_categorical(tf.constant(self._bins(hv.to_array(inputs))), self.output_mode, self.num_bins,
                                     self.dtype)
        if self.sparse:
            if hv.is_ragged(out):
                raise ValueError("Hashing: sparse=True with output_mode='one_hot' on ragged rows is not supported "
                                 "(the one-hot rows are ragged).")
            out = hv.to_sparse(out)
        return out

    def _bins(self, a: np.ndarray) -> np.ndarray:
        """Bin indices (int64) of the values `a`, the mask going to 0."""
        n = self.num_bins
        mask = None
        if self.mask_value is not None and n > 1:
            n -= 1
            mask_key = hv.as_bytes(np.array([self.mask_value], dtype=object))[0] \
                if isinstance(self.mask_value, (str, bytes)) else self.mask_value
            mask = (hv.as_bytes(a) if hv.is_string_array(a) else a) == mask_key
        keys = _as_keys(a)
        hashed = siphash64(keys, self.salt) if self.strong_hash else fingerprint64(keys)
        bins = (hashed % np.uint64(n)).astype(np.int64).reshape(a.shape)
        if mask is not None:
            bins = np.where(mask, 0, bins + 1)
        return bins

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        if not shape:
            return (self.num_bins,)
        if self.output_mode == "one_hot":
            return (shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape) + (self.num_bins,)
        return shape[:-1] + (self.num_bins,)

    def _output_specs(self, args: tuple, kwargs: dict) -> tuple[list, bool]:
        return [(self.compute_output_shape(tuple(args[0].shape)), self.dtype)], True

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"num_bins": self.num_bins, "salt": self.salt, "mask_value": self.mask_value,
                       "output_mode": self.output_mode, "sparse": self.sparse})
        return config


class HashedCrossing(Layer):
    """Cross two or more categorical features by hashing each combination into `num_bins` bins.

    The bin of a row is `FingerprintCat64` over its features' fingerprints (Fingerprint64 of a
    string, the int64 itself for integers) modulo `num_bins`, the values `tf.sparse.cross_hashed`
    gives.

    Args:
        num_bins: the number of bins.
        output_mode: "int" (bin indices) or "one_hot".
        sparse: return a tf.SparseTensor with "one_hot" (ignored with "int", as in Keras).

    Input: a list of int or string tensors, all of shape `()`, `(batch,)` or `(batch, 1)`.
    Output: their shape ("int", int64 by default) or `(batch, num_bins)` ("one_hot", float32).

    Example:
        >>> layer = keras.layers.HashedCrossing(num_bins=5)
        >>> layer(([1, 2, 3], ["A", "B", "C"]))
    """

    def __init__(self, num_bins: int, output_mode: str = "int", sparse: bool = False, name: str | None = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(name=name, dtype=dtype, **kwargs)
        if output_mode not in ("int", "one_hot"):
            raise ValueError("HashedCrossing: invalid value for argument `output_mode`. Expected one of "
                             f"('int', 'one_hot'). Received: output_mode={output_mode!r}")
        self.num_bins = num_bins
        self.output_mode = output_mode
        self.sparse = sparse

    def _convert_inputs(self, inputs: Any) -> Any:
        return inputs

    def call(self, inputs: Any) -> Tensor:
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"`HashedCrossing` should be called on a list or tuple of inputs. Received: "
                             f"inputs={inputs}")
        if len(inputs) < 2:
            raise ValueError(f"`HashedCrossing` should be called on at least two inputs. Received: "
                             f"inputs={inputs}")
        if any(hv.is_ragged(x) for x in inputs):
            raise ValueError(f"All `HashedCrossing` inputs should be dense tensors. Received: inputs={inputs}")
        arrays = [hv.to_array(x) for x in inputs]
        first = arrays[0].shape
        if len(first) > 2 or (len(first) == 2 and first[-1] != 1):
            raise ValueError("All `HashedCrossing` inputs should have shape `()`, `(batch_size)` or "
                             f"`(batch_size, 1)`. Received: input shapes {[a.shape for a in arrays]}")
        if any(a.shape != first for a in arrays[1:]):
            raise ValueError(f"All `HashedCrossing` inputs should have equal shape. Received: input shapes "
                             f"{[a.shape for a in arrays]}")
        if not all(a.dtype.kind in "iu" or hv.is_string_array(a) for a in arrays):
            raise ValueError("All `HashedCrossing` inputs should have an integer or string dtype. Received: "
                             f"dtypes {[str(a.dtype) for a in arrays]}")
        with np.errstate(over="ignore"):
            h = np.full(int(np.prod(first, dtype=np.int64)), np.uint64(_CROSS_SEED))
            for a in arrays:
                flat = a.reshape(-1)
                feature = fingerprint64(hv.as_bytes(flat)) if hv.is_string_array(a) \
                    else flat.astype(np.int64).view(np.uint64)
                h = fingerprint_cat64(h, feature)
        limit = self.num_bins if self.num_bins > 0 else np.iinfo(np.int64).max
        bins = (h % np.uint64(limit)).astype(np.int64).reshape(first)
        dtype = self.dtype if self.output_mode == "int" else self._np_dtype
        out = encode_categorical(tf.constant(bins), self.output_mode, self.num_bins, dtype)
        return hv.to_sparse(out) if self.sparse and self.output_mode != "int" else out

    def compute_output_shape(self, input_shape: Any) -> tuple:
        if len(input_shape) != 2 or not isinstance(input_shape[0], tuple) or not isinstance(input_shape[1], tuple):
            raise ValueError(f"Expected as input a list/tuple of 2 tensors. Received input_shape={input_shape}")
        first = tuple(input_shape[0])
        if self.output_mode == "int":
            return first
        if first and first[-1] != 1:
            return first + (self.num_bins,)
        return first[:-1] + (self.num_bins,)

    def _output_specs(self, args: tuple, kwargs: dict) -> tuple[list, bool]:
        first = tuple(args[0][0].shape)
        shape = first if self.output_mode == "int" else (
            first + (self.num_bins,) if first and first[-1] != 1 else first[:-1] + (self.num_bins,))
        return [(shape, self.dtype)], True

    def get_config(self) -> dict:
        return {"num_bins": self.num_bins, "output_mode": self.output_mode, "sparse": self.sparse,
                "name": self.name, "dtype": self.dtype}

