"""Categorical preprocessing layers: CategoryEncoding and Discretization (with `adapt`).

Both end in the same encoding step (`encode_categorical`): integer indices become themselves
("int"), a one-hot row per index, a multi-hot row per sample, or per-sample (weighted) counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow import backend as _backend
from tapeflow.keras.layers import host_values as hv
from tapeflow.keras.layers.base import Layer
from tapeflow.tensor import Tensor

_MODES = ("int", "one_hot", "multi_hot", "count")


def encode_categorical(indices: Tensor, output_mode: str, depth: int, dtype: Any,
                       count_weights: Any = None) -> Tensor:
    """Encode int `indices` (...,) as Keras does; one_hot/multi_hot/count end in `(..., depth)`.

    one_hot encodes every element (a trailing axis of size 1 is replaced); multi_hot and count
    treat the last axis as the sample and reduce over it. Out-of-range indices encode as zeros.
    """
    if output_mode == "int":
        return tf.cast(indices, dtype)
    if indices.shape.rank == 0:
        indices = tf.reshape(indices, (1,))
        if count_weights is not None:
            count_weights = tf.reshape(count_weights, (1,))
    if output_mode == "one_hot":
        if indices.shape.rank > 1 and indices.shape[-1] == 1:
            indices = tf.squeeze(indices, -1)
        return tf.one_hot(indices, depth, dtype=dtype)
    if output_mode == "multi_hot":
        return tf.reduce_max(tf.one_hot(indices, depth, dtype=dtype), axis=-2)
    if count_weights is None:
        return tf.reduce_sum(tf.one_hot(indices, depth, dtype=dtype), axis=-2)
    hot = tf.one_hot(indices, depth, dtype=count_weights.dtype)
    return tf.reduce_sum(hot * tf.expand_dims(count_weights, -1), axis=-2)


def _encoded_shape(input_shape: Any, output_mode: str, depth: int) -> tuple:
    shape = tuple(input_shape)
    if output_mode == "int":
        return shape
    if not shape:
        return (depth,)
    if output_mode == "one_hot":
        return (shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape) + (depth,)
    return shape[:-1] + (depth,)


def _check_mode(layer: str, output_mode: str, allowed: tuple) -> str:
    if output_mode == "binary" and "multi_hot" in allowed:
        return "multi_hot"
    if output_mode not in allowed:
        raise ValueError(f"{layer}: unknown value for `output_mode`; expected one of {allowed}, "
                         f"received output_mode={output_mode!r}.")
    return output_mode


def _check_sparse(sparse: bool, output_mode: str) -> None:
    if sparse and output_mode == "int":
        raise ValueError("`sparse=True` may only be used if `output_mode` is `'one_hot'`, `'multi_hot'`, or "
                         f"`'count'`. Received: sparse=True and output_mode={output_mode}")


class CategoryEncoding(Layer):
    """Encode integer features in `[0, num_tokens)` as one-hot, multi-hot or count vectors.

    Args:
        num_tokens: the number of categories; the output's last axis.
        output_mode: "one_hot" (one row per element), "multi_hot" (default; one row per sample,
            the last input axis being the sample) or "count" (like multi_hot, with counts, or
            sums of `count_weights` when those are passed to `call`).

    Input `(batch,)` or `(batch, sample)` ints; output float (the layer's dtype).
    """

    def __init__(self, num_tokens: int | None = None, output_mode: str = "multi_hot",
                 sparse: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        output_mode = _check_mode("CategoryEncoding", output_mode, _MODES[1:])
        if num_tokens is None:
            raise ValueError("CategoryEncoding: num_tokens must be set to use this layer. If the number "
                             "of tokens is not known beforehand, use the IntegerLookup layer instead.")
        if num_tokens < 1:
            raise ValueError(f"CategoryEncoding: `num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        _check_sparse(sparse, output_mode)
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = sparse

    def call(self, inputs: Any, count_weights: Any = None) -> Tensor:
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError("CategoryEncoding: `count_weights` is not used when `output_mode` is not "
                                 f"'count'. Received count_weights={count_weights}.")
            count_weights = tf.cast(count_weights, self._np_dtype)
        x = tf.convert_to_tensor(inputs)
        if x.dtype.is_floating:
            x = tf.cast(x, "int64")
        if tf.executing_eagerly():
            self._check_range(x)
        out = encode_categorical(x, self.output_mode, self.num_tokens, self._np_dtype, count_weights)
        return hv.to_sparse(out) if self.sparse else out

    def _check_range(self, x: Tensor) -> None:
        try:
            values = np.asarray(_backend.to_numpy(x._value))
        except Exception:
            return
        if values.size and (values.min() < 0 or values.max() >= self.num_tokens):
            raise ValueError(f"CategoryEncoding '{self.name}': input values must be in the range "
                             f"0 <= values < num_tokens with num_tokens={self.num_tokens}; received values "
                             f"from {values.min()} to {values.max()}.")

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return _encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"num_tokens": self.num_tokens, "output_mode": self.output_mode})
        return config


class Discretization(Layer):
    """Bucket continuous features: `bin_boundaries=[0., 1., 2.]` gives bins (-inf, 0), [0, 1),
    [1, 2), [2, inf), numbered 0..3 (int32), or encoded as in CategoryEncoding.

    `num_bins` with `adapt(data)` learns the boundaries as approximate quantiles: each batch is
    reduced to about `1/epsilon` weighted points, summaries are merged by weighted
    interpolation of their cumulative weights, and the final summary is interpolated at
    `1/num_bins, 2/num_bins, ...` (the same estimate Keras computes).
    """

    def __init__(self, bin_boundaries: Any = None, num_bins: int | None = None, epsilon: float = 0.01,
                 output_mode: str = "int", sparse: bool = False, dtype: Any = None,
                 name: str | None = None) -> None:
        super().__init__(name=name, dtype=dtype)
        output_mode = _check_mode("Discretization", output_mode, _MODES)
        _check_sparse(sparse, output_mode)
        if num_bins is not None and num_bins < 0:
            raise ValueError(f"Discretization: `num_bins` must be greater than or equal to 0. "
                             f"Received: `num_bins={num_bins}`")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError(f"Discretization: Both `num_bins` and `bin_boundaries` should not be set. "
                             f"Received: `num_bins={num_bins}` and `bin_boundaries={bin_boundaries}`")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("Discretization: You need to set either `num_bins` or `bin_boundaries`.")
        self.bin_boundaries = None if bin_boundaries is None else list(bin_boundaries)
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = sparse
        self._summary = np.zeros((2, 0), np.float32)

    @property
    def output_dtype(self) -> Any:
        return "int32" if self.output_mode == "int" else self._np_dtype

    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Learn `num_bins` boundaries from arrays, tensors, a batched Dataset or batches."""
        if self.num_bins is None:
            raise ValueError("Discretization: Cannot adapt a Discretization layer that has been initialized "
                             "with `bin_boundaries`, use `num_bins` instead.")
        self.reset_state()
        if isinstance(data, (np.ndarray, Tensor)):
            if steps is not None:
                raise ValueError("Discretization.adapt: `steps` is not supported with array inputs.")
            self.update_state(data)
        else:
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self.update_state(batch)
        self.finalize_state()

    def update_state(self, data: Any) -> None:
        values = np.asarray(data.numpy() if isinstance(data, Tensor) else data, np.float32)
        self._summary = _compress(_merge(_summarize(values, self.epsilon), self._summary), self.epsilon)

    def finalize_state(self) -> None:
        if self.num_bins is not None:
            self.bin_boundaries = _compress(self._summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def reset_state(self) -> None:
        if self.num_bins is not None:
            self._summary = np.zeros((2, 0), np.float32)

    def call(self, inputs: Any) -> Tensor:
        if self.bin_boundaries is None:
            raise ValueError("Discretization: You need to either pass the `bin_boundaries` argument at "
                             "construction time or call `adapt(dataset)` before you can start using the "
                             "`Discretization` layer.")
        from tapeflow.keras import ops as kops
        x = tf.convert_to_tensor(inputs)
        if not x.dtype.is_floating:
            x = tf.cast(x, "float32")
        indices = kops.digitize(x, np.asarray(self.bin_boundaries, np.float32))
        out = encode_categorical(indices, self.output_mode, len(self.bin_boundaries) + 1, self.output_dtype)
        return hv.to_sparse(out) if self.sparse else out

    def compute_output_shape(self, input_shape: Any) -> tuple:
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins
        return _encoded_shape(input_shape, self.output_mode, depth)

    def _output_specs(self, args: tuple, kwargs: dict) -> tuple[list, bool]:
        """Symbolic outputs carry the bin indices' integer dtype (or the encoding's float dtype)."""
        return [(self.compute_output_shape(tuple(args[0].shape)), self.output_dtype)], True

    def get_config(self) -> dict:
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": self.sparse, "name": self.name,
                "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> Discretization:
        config = dict(config)
        boundaries = config.pop("bin_boundaries", None)
        if config.get("num_bins") is None:
            return cls(bin_boundaries=boundaries, **config)
        layer = cls(**config)
        layer.bin_boundaries = boundaries
        return layer


def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """About `1/epsilon` evenly spaced order statistics of `values`, each weighing its spacing.

    Returns (2, n): row 0 the values, row 1 their weights.
    """
    ordered = np.sort(values.reshape(-1))
    step = max(ordered.size / (1.0 / epsilon), 1)
    picked = ordered[int(step - 1)::int(step)]
    return np.stack([picked, np.full_like(picked, step)])


def _merge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    both = np.concatenate([a, b], axis=1)
    return both[:, np.argsort(both[0])]


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """Re-sample a summary at cumulative-weight fractions epsilon, 2*epsilon, ..., 1."""
    if summary.shape[1] * epsilon < 1:
        return summary
    fractions = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    where = cumulative / cumulative[-1]
    points = np.interp(fractions, where, summary[0])
    at = np.interp(fractions, where, cumulative)
    return np.stack([points, np.diff(at, prepend=0.0)]).astype(np.float32)
