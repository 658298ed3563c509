"""`keras.random`: seeded random tensors and `SeedGenerator`, as in Keras 3.

A `seed` is an int (the same draw on every call), a `SeedGenerator` (a new draw per call,
reproducible from its seed), or None (the global stream, which `keras.utils.set_random_seed`
and `tf.random.set_seed` reset). Samples are drawn on the host and placed on the default device.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.keras import backend as kbackend
from tapeflow.keras.ops.arguments import cast, int_list, to_tensor
from tapeflow.keras.ops.promotion import standardize_dtype
from tapeflow.ops import elementwise as ew
from tapeflow.ops import random as engine_random
from tapeflow.tensor import Tensor, Variable, notify_writes
from tapeflow.tracing.func_graph import lifted_when_tracing

__all__ = ["SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal",
           "randint", "shuffle", "truncated_normal", "uniform"]


class SeedGenerator:
    """A reproducible source of seeds: each random op given it draws a fresh, seeded stream.

    Args:
        seed: an int (None picks one at random).
        name: the generator's name.

    Example:
        >>> gen = keras.random.SeedGenerator(42)
        >>> a = keras.random.normal((2,), seed=gen)   # differs from
        >>> b = keras.random.normal((2,), seed=gen)   # this one; both repeat with SeedGenerator(42)
    """

    def __init__(self, seed: Any = None, name: str | None = None, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(f"SeedGenerator: unexpected keyword arguments {sorted(kwargs)}.")
        if seed is None:
            seed = int(np.random.default_rng().integers(0, 2**31 - 1))
        if not isinstance(seed, (int, np.integer)):
            raise ValueError(f"SeedGenerator: seed must be an int, received {seed!r}.")
        self._initial_seed = int(seed)
        self.name = name or kbackend.unique_name("seed_generator")
        self.state = Variable(np.array([int(seed), 0], dtype="int64"), trainable=False,
                              name=f"{self.name}/seed_generator_state")
        _GENERATORS.add(self)

    def next(self, ordered: bool = True) -> Tensor:
        """The current [seed, counter] state; advances the counter.

        `ordered` matters to JAX's tracing only (ordered side effects); the draw is the same.
        """
        # NOTE: the counter is advanced in place, eagerly, also when the draw is replayed inside a
        # tf.function (a lifted stateful node), never recorded as a graph assignment.
        notify_writes((self.state,))
        value = self.state._value
        current = Tensor(value.copy())
        value[1] += 1
        return current

    def get_config(self) -> dict:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> SeedGenerator:
        return cls(**config)


_GENERATORS: weakref.WeakSet = weakref.WeakSet()


class _state_preserved:  # noqa: N801 - a context manager
    """Undo what a draw changes (the global stream, SeedGenerator counters): a random op traced
    inside tf.function is probed once for its output shape, and that probe must not advance
    the sequence the calls draw from."""

    def __enter__(self) -> None:
        self._engine = engine_random.rng_state_preserved()
        self._engine.__enter__()
        self._counters = [(g, backend.to_numpy(g.state._value).copy()) for g in list(_GENERATORS)]

    def __exit__(self, *exc: Any) -> None:
        for g, value in self._counters:
            g.state._value[...] = backend.asarray(value, None, backend.get_xp(g.state._value))
        self._engine.__exit__(*exc)


def _stateful(fn: Any) -> Any:
    """Run `fn` anew on every call of a tf.function that traced it (not a constant draw)."""
    return lifted_when_tracing(_state_preserved)(fn)


def _rng(seed: Any) -> np.random.Generator:
    """A host generator for one draw, following Keras's seed semantics."""
    if seed is None:
        return engine_random._host_rng(None)
    if isinstance(seed, SeedGenerator):
        s, counter = (int(v) for v in backend.to_numpy(seed.next()._value))
        return np.random.default_rng([s, counter])
    if isinstance(seed, Tensor):
        return np.random.default_rng([int(v) for v in backend.to_numpy(seed._value).reshape(-1)])
    if isinstance(seed, (int, np.integer)):
        return np.random.default_rng(int(seed))
    raise ValueError(f"seed must be None, an int or a keras.random.SeedGenerator, received {seed!r}.")


def _place(array: Any, dtype: str) -> Tensor:
    return Tensor(backend.asarray(np.asarray(array).astype(dtype), None, backend.default_xp()))


def _float(dtype: Any) -> str:
    name = standardize_dtype(dtype)
    if np.dtype(name).kind != "f":
        raise ValueError(f"expected a floating-point dtype, received {name!r}.")
    return name


def _value(v: Any) -> Any:
    return backend.to_numpy(v._value) if isinstance(v, Tensor) else np.asarray(v)


@_stateful
def normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None, seed: Any = None) -> Tensor:
    """Samples from a normal distribution (floatx by default)."""
    d = _float(dtype)
    z = _rng(seed).standard_normal(tuple(int_list(shape)))
    return _place(z * _value(stddev) + _value(mean), d)


@_stateful
def uniform(shape: Any, minval: float = 0.0, maxval: float = 1.0, dtype: Any = None, seed: Any = None) -> Tensor:
    """Samples uniform in [minval, maxval) (float dtypes; use `randint` for integers)."""
    d = standardize_dtype(dtype)
    if np.dtype(d).kind != "f":
        raise ValueError(f"uniform: dtype must be a float dtype, received {d!r}; use "
                         "keras.random.randint for integers.")
    u = _rng(seed).random(tuple(int_list(shape)))
    lo, hi = _value(minval), _value(maxval)
    return _place(u * (hi - lo) + lo, d)


@_stateful
def randint(shape: Any, minval: int, maxval: int, dtype: Any = "int32", seed: Any = None) -> Tensor:
    """Integers uniform in [minval, maxval)."""
    d = standardize_dtype(dtype)
    if np.dtype(d).kind not in "iu":
        raise ValueError(f"randint: dtype must be an integer dtype, received {d!r}.")
    return _place(_rng(seed).integers(int(minval), int(maxval), tuple(int_list(shape))), d)


@_stateful
def truncated_normal(shape: Any, mean: float = 0.0, stddev: float = 1.0, dtype: Any = None,
                     seed: Any = None) -> Tensor:
    """Normal samples, redrawn when more than two standard deviations from the mean."""
    d = _float(dtype)
    rng = _rng(seed)
    z = rng.standard_normal(tuple(int_list(shape)))
    bad = np.abs(z) > 2
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2
    return _place(z * _value(stddev) + _value(mean), d)


@_stateful
def dropout(inputs: Any, rate: float, noise_shape: Any = None, seed: Any = None) -> Tensor:
    """Zero each element with probability `rate` and scale the rest by 1 / (1 - rate);
    `noise_shape` (broadcast to the input) shares the mask along axes of size 1."""
    x = to_tensor(inputs)
    if not 0 <= float(rate) < 1:
        raise ValueError(f"dropout: rate must be in [0, 1), received {rate}.")
    if not x.dtype.is_floating:
        x = cast(x, kbackend.floatx())
    shape = tuple(x.shape) if noise_shape is None else tuple(
        x.shape[i] if d is None else int(d) for i, d in enumerate(noise_shape))
    keep = _rng(seed).random(shape) >= float(rate)
    mask = Tensor(backend.asarray((keep / (1.0 - float(rate))).astype(x.dtype.as_numpy_dtype), None,
                                  backend.get_xp(x._value)))
    return ew.multiply(x, mask)


@_stateful
def shuffle(x: Any, axis: int = 0, seed: Any = None) -> Tensor:
    """`x` with the slices along `axis` randomly permuted (differentiable)."""
    from tapeflow.ops import movement as mv

    x = to_tensor(x)
    ax = int(axis) % max(x.ndim, 1)
    perm = _rng(seed).permutation(x.shape[ax])
    return mv.gather(x, Tensor(backend.asarray(perm, None, backend.get_xp(x._value))), axis=ax)


@_stateful
def categorical(logits: Any, num_samples: int, dtype: Any = "int32", seed: Any = None) -> Tensor:
    """`num_samples` class indices per row of unnormalized log-probabilities (batch, classes)."""
    z = _value(to_tensor(logits)).astype(np.float64)
    if z.ndim != 2:
        raise ValueError(f"categorical: logits must be 2-D (batch, classes), received shape {z.shape}.")
    u = _rng(seed).random((z.shape[0], int(num_samples), z.shape[1]))
    # NOTE: the Gumbel-max trick: argmax(logits + Gumbel noise) samples from softmax(logits).
    out = (z[:, None, :] - np.log(-np.log(u))).argmax(-1)
    return _place(out, standardize_dtype(dtype))


@_stateful
def gamma(shape: Any, alpha: float, dtype: Any = None, seed: Any = None) -> Tensor:
    """Samples from Gamma(alpha, 1)."""
    d = _float(dtype)
    return _place(_rng(seed).standard_gamma(_value(alpha), tuple(int_list(shape))), d)


@_stateful
def beta(shape: Any, alpha: float, beta: float, dtype: Any = None, seed: Any = None) -> Tensor:
    """Samples from Beta(alpha, beta)."""
    d = _float(dtype)
    return _place(_rng(seed).beta(_value(alpha), _value(beta), tuple(int_list(shape))), d)


@_stateful
def binomial(shape: Any, counts: Any, probabilities: Any, dtype: Any = None, seed: Any = None) -> Tensor:
    """Numbers of successes in `counts` trials of probability `probabilities` (floatx by default)."""
    d = standardize_dtype(dtype)
    n = _value(counts).astype(np.int64)
    p = _value(probabilities).astype(np.float64)
    return _place(_rng(seed).binomial(n, p, tuple(int_list(shape))), d)
