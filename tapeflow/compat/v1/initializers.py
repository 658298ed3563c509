"""TF1 initializers (`tf.zeros_initializer()`, `tf.truncated_normal_initializer(stddev=0.1)`, ...).

The Keras initializers with TF1's defaults (stddev 1.0, uniform [0, 1)) and call signature
`initializer(shape, dtype=None, partition_info=None)`.
"""

from __future__ import annotations

from typing import Any

from tapeflow import dtypes as _dt
from tapeflow.keras import initializers as _k
from tapeflow.tensor import Tensor


class _TF1:
    """Mixin: a constructor `dtype` used when the call gives none; `partition_info` accepted."""

    _default_dtype: Any = None

    def __call__(self, shape: Any, dtype: Any = None, partition_info: Any = None) -> Tensor:
        return super().__call__(shape, dtype=dtype or self._default_dtype)  # type: ignore[misc]


class zeros_initializer(_TF1, _k.Zeros):  # noqa: N801 - TF1's name
    """All zeros."""

    def __init__(self, dtype: Any = _dt.float32) -> None:
        super().__init__()
        self._default_dtype = dtype


class ones_initializer(_TF1, _k.Ones):  # noqa: N801
    """All ones."""

    def __init__(self, dtype: Any = _dt.float32) -> None:
        super().__init__()
        self._default_dtype = dtype


class constant_initializer(_TF1, _k.Constant):  # noqa: N801
    """A constant value (a scalar, or values reshaped to the requested shape)."""

    def __init__(self, value: Any = 0, dtype: Any = _dt.float32, verify_shape: bool = False) -> None:
        super().__init__(value)
        self._default_dtype = dtype


class random_normal_initializer(_TF1, _k.RandomNormal):  # noqa: N801
    """Normal samples (TF1 defaults: mean 0, stddev 1)."""

    def __init__(self, mean: float = 0.0, stddev: float = 1.0, seed: int | None = None,
                 dtype: Any = _dt.float32) -> None:
        super().__init__(mean=mean, stddev=stddev, seed=seed)
        self._default_dtype = dtype


class truncated_normal_initializer(_TF1, _k.TruncatedNormal):  # noqa: N801
    """Normal samples redrawn beyond two standard deviations (TF1 defaults: mean 0, stddev 1)."""

    def __init__(self, mean: float = 0.0, stddev: float = 1.0, seed: int | None = None,
                 dtype: Any = _dt.float32) -> None:
        super().__init__(mean=mean, stddev=stddev, seed=seed)
        self._default_dtype = dtype


class random_uniform_initializer(_TF1, _k.RandomUniform):  # noqa: N801
    """Uniform samples in [minval, maxval) (TF1 defaults: [0, 1))."""

    def __init__(self, minval: float = 0.0, maxval: float | None = None, seed: int | None = None,
                 dtype: Any = _dt.float32) -> None:
        super().__init__(minval=minval, maxval=1.0 if maxval is None else maxval, seed=seed)
        self._default_dtype = dtype


class variance_scaling_initializer(_TF1, _k.VarianceScaling):  # noqa: N801
    """Samples with variance `scale / fan` (TF1 defaults: scale 1, fan_in, truncated normal)."""

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None, dtype: Any = _dt.float32) -> None:
        super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed)
        self._default_dtype = dtype


class glorot_uniform_initializer(_TF1, _k.GlorotUniform):  # noqa: N801
    """Glorot/Xavier uniform (TF1's default for `get_variable` and `tf.layers`)."""

    def __init__(self, seed: int | None = None, dtype: Any = _dt.float32) -> None:
        super().__init__(seed=seed)
        self._default_dtype = dtype


class glorot_normal_initializer(_TF1, _k.GlorotNormal):  # noqa: N801
    """Glorot/Xavier truncated normal."""

    def __init__(self, seed: int | None = None, dtype: Any = _dt.float32) -> None:
        super().__init__(seed=seed)
        self._default_dtype = dtype


class orthogonal_initializer(_TF1, _k.Orthogonal):  # noqa: N801
    """A (semi-)orthogonal matrix times `gain`."""

    def __init__(self, gain: float = 1.0, seed: int | None = None, dtype: Any = _dt.float32) -> None:
        super().__init__(gain=gain, seed=seed)
        self._default_dtype = dtype


def he_normal(seed: int | None = None) -> Any:
    return _k.HeNormal(seed=seed)


def he_uniform(seed: int | None = None) -> Any:
    return _k.HeUniform(seed=seed)


def lecun_normal(seed: int | None = None) -> Any:
    return _k.LecunNormal(seed=seed)


def lecun_uniform(seed: int | None = None) -> Any:
    return _k.LecunUniform(seed=seed)


# The `tf.initializers` / `tf.keras.initializers`-style aliases TF1 also exports.
zeros = zeros_initializer
ones = ones_initializer
constant = constant_initializer
random_normal = random_normal_initializer
truncated_normal = truncated_normal_initializer
random_uniform = random_uniform_initializer
variance_scaling = variance_scaling_initializer
glorot_uniform = glorot_uniform_initializer
glorot_normal = glorot_normal_initializer
orthogonal = orthogonal_initializer
