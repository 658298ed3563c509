"""`keras.initializers`: the starting values of weights, with Keras 3's defaults and formulas.

Seeds: an initializer built with an integer `seed` returns the same values on every call; one
without a seed draws from Tapeflow's global random state, so `tf.random.set_seed` (and
`keras.utils.set_random_seed`) make it reproducible.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow import backend as _backend
from tapeflow.keras import backend as _kbackend
from tapeflow.keras.saving.object_registration import deserialize_object, lookup_custom_object, serialize_object
from tapeflow.ops.random import Generator as _SeededGenerator
from tapeflow.tensor import Tensor

__all__ = [
    "Initializer", "Zeros", "Ones", "Constant", "Identity", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal",
    "LecunUniform", "LecunNormal", "Orthogonal", "STFT", "STFTInitializer", "IdentityInitializer",
    "OrthogonalInitializer", "get", "serialize", "deserialize",
]

# NOTE: the standard deviation of a unit normal truncated to [-2, 2]; dividing by it gives the
# truncated distribution the intended variance (Keras 3 uses the same constant).
_TRUNCATED_STDDEV = 0.87962566103423978


def _dtype(dtype: Any) -> Any:
    return tf.as_dtype(dtype or _kbackend.floatx())


def _shape(shape: Any) -> tuple:
    if isinstance(shape, int):
        return (shape,)
    return tuple(int(d) for d in shape)


class Initializer:
    """Base class: `initializer(shape, dtype=None)` returns a tensor of that shape.

    Subclasses implement `__call__` and, when they take arguments, `get_config`.
    """

    def __call__(self, shape: Any, dtype: Any = None) -> Tensor:
        raise NotImplementedError("Initializer subclasses must implement the `__call__()` method.")

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Initializer:
        return cls(**config)

    def clone(self) -> Initializer:
        return self.__class__.from_config(self.get_config())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# ---------------------------------------------------------------------------------------------
# Constant initializers
# ---------------------------------------------------------------------------------------------

class Zeros(Initializer):
    """All zeros.

    Example:
        >>> keras.initializers.Zeros()((2, 2))
    """

    def __call__(self, shape: Any, dtype: Any = None) -> Tensor:
        return tf.zeros(_shape(shape), dtype=_dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape: Any, dtype: Any = None) -> Tensor:
        return tf.ones(_shape(shape), dtype=_dtype(dtype))


class Constant(Initializer):
    """Every element equal to `value` (a scalar).

    Args:
        value: the fill value.
    """

    def __init__(self, value: Any = 0.0) -> None:
        self.value = value

    def __call__(self, shape: Any, dtype: Any = None) -> Tensor:
        d = _dtype(dtype)
        value = self.value
        if isinstance(value, Tensor):
            value = value.numpy()
        xp = _backend.default_xp()
        arr = xp.full(_shape(shape), np.asarray(value, dtype=d.as_numpy_dtype), dtype=d.as_numpy_dtype)
        return Tensor(arr)

    def get_config(self) -> dict:
        value = self.value
        if isinstance(value, (Tensor, np.ndarray, np.generic)):
            value = np.asarray(value).tolist()
        return {"value": value}


class Identity(Initializer):
    """`gain` times the identity matrix (2-D shapes only).

    Args:
        gain: multiplicative factor.
    """

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def __call__(self, shape: Any, dtype: Any = None) -> Tensor:
        shape = _shape(shape)
        if len(shape) != 2:
            raise ValueError(
                "Identity matrix initializer can only be used for 2D matrices. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        d = _dtype(dtype)
        xp = _backend.default_xp()
        return Tensor(xp.eye(*shape, dtype=d.as_numpy_dtype) * d.as_numpy_dtype(self.gain))

    def get_config(self) -> dict:
        return {"gain": self.gain}


def stft_window(window: Any, length: int, periodic: bool, owner: str = "STFT") -> np.ndarray:
    """A window of `length` samples (float64): hann/hamming from `tf.signal`, other names from
    `scipy.signal.get_window`, or the values given (a 1-D array of `length`)."""
    if not isinstance(window, str):
        win = np.asarray(window.numpy() if isinstance(window, Tensor) else window, np.float64)
        if win.ndim != 1 or win.shape[-1] != length:
            raise ValueError("The shape of `window` must be equal to [frame_length]."
                             f"Received: window shape={win.shape}")
        return win
    if window in ("hann", "hamming"):
        fn = tf.signal.hann_window if window == "hann" else tf.signal.hamming_window
        return fn(length, periodic=periodic, dtype="float64").numpy()
    try:
        import scipy.signal
    except ImportError:
        raise ValueError(f"{owner}: window {window!r} needs SciPy (pip install scipy); 'hann' and 'hamming' "
                         "work without it.") from None
    return np.asarray(scipy.signal.get_window(window, length, periodic), np.float64)


def stft_kernel(side: str, window: Any, scaling: Any, periodic: bool, shape: tuple, dtype: str) -> np.ndarray:
    """Keras's STFT kernels: cos (real) or sin (imag) Fourier kernels (frame_length, 1,
    fft_length // 2 + 1), times the window, divided by its L2 norm ('density') or sum ('spectrum')."""
    frame_length, _, bins = shape
    n_fft = (bins - 1) * 2
    freq = np.arange(bins, dtype=dtype).reshape(1, 1, bins) / np.asarray(n_fft, dtype)
    time = np.arange(frame_length, dtype=dtype).reshape(frame_length, 1, 1)
    args = (-2 * time * freq).astype(dtype) * np.arccos(np.asarray(-1, dtype))
    kernel = (np.cos(args) if side == "real" else np.sin(args)).astype(dtype)
    if window is not None:
        win = stft_window(window, frame_length, periodic).astype(dtype).reshape(frame_length, 1, 1)
        scale = np.sqrt(np.sum(win * win)) if scaling == "density" else np.sum(np.abs(win)) if scaling == "spectrum" \
            else 1
        kernel = (kernel * win / scale).astype(dtype)
    return kernel


class STFT(Initializer):
    """Kernels of a short-time Fourier transform as a 1-D convolution (used by `STFTSpectrogram`).

    For a shape (frame_length, 1, fft_length // 2 + 1) it gives cos(-2 pi t f / fft_length)
    (`side="real"`) or the sine (`side="imag"`), times the window, divided by the window's L2
    norm (`scaling="density"`) or L1 norm (`"spectrum"`).

    Args:
        side: "real" or "imag".
        window: a window name ("hann", "hamming"; other `scipy.signal.windows` names need SciPy),
            the window's values (frame_length,), or None.
        scaling: "density", "spectrum" or None.
        periodic: use the periodic form of the window.

    Example:
        >>> keras.initializers.STFT("real", "hann")(shape=(128, 1, 65)).shape
        (128, 1, 65)
    """

    def __init__(self, side: str = "real", window: Any = "hann", scaling: Any = "density",
                 periodic: bool = False) -> None:
        if side not in ("real", "imag"):
            raise ValueError(f"side should be 'real' or 'imag', not {side}")
        if isinstance(window, str):
            stft_window(window, 1, periodic)
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError("Scaling is invalid, it must be `None`, 'density' or 'spectrum'. "
                             f"Received scaling={scaling}")
        self.side = side
        self.window = window
        self.scaling = scaling
        self.periodic = periodic

    def __call__(self, shape: Any, dtype: Any = None) -> Tensor:
        shape = _shape(shape)
        if len(shape) != 3:
            raise ValueError("STFT initializer expects a shape (frame_length, input_channels, fft_bins). "
                             f"Received: shape={shape}")
        d = _dtype(dtype)
        value = stft_kernel(self.side, self.window, self.scaling, self.periodic, shape, d.as_numpy_dtype)
        return Tensor(_backend.asarray(value, value.dtype, _backend.default_xp()))

    def get_config(self) -> dict:
        return {"side": self.side, "window": self.window, "periodic": self.periodic, "scaling": self.scaling}


# ---------------------------------------------------------------------------------------------
# Random initializers
# ---------------------------------------------------------------------------------------------

class RandomInitializer(Initializer):
    """Base of the random initializers: holds `seed` (an int, or None for the global state)."""

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise ValueError(f"`seed` argument should be an integer or None. Received: seed={seed!r}")
        self.seed = None if seed is None else int(seed)

    def _generator(self) -> Any:
        # A fresh generator per call: a seeded initializer gives the same values every time.
        # NOTE: the NumPy-stream generator, so seeded initializers keep their values.
        return None if self.seed is None else _SeededGenerator.from_seed(self.seed)

    def _normal(self, shape: tuple, mean: float, stddev: float, dtype: Any) -> Tensor:
        g = self._generator()
        if g is None:
            return tf.random.normal(shape, mean=mean, stddev=stddev, dtype=dtype)
        return g.normal(shape, mean=mean, stddev=stddev, dtype=dtype)

    def _truncated_normal(self, shape: tuple, mean: float, stddev: float, dtype: Any) -> Tensor:
        g = self._generator()
        if g is None:
            return tf.random.truncated_normal(shape, mean=mean, stddev=stddev, dtype=dtype)
        return g.truncated_normal(shape, mean=mean, stddev=stddev, dtype=dtype)

    def _uniform(self, shape: tuple, minval: float, maxval: float, dtype: Any) -> Tensor:
        g = self._generator()
        if g is None:
            return tf.random.uniform(shape, minval=minval, maxval=maxval, dtype=dtype)
        return g.uniform(shape, minval=minval, maxval=maxval, dtype=dtype)

    def get_config(self) -> dict:
        return {"seed": self.seed}


class RandomNormal(RandomInitializer):
    """Normal samples with the given mean and standard deviation (Keras 3 default 0.05).

    Args:
        mean: mean of the distribution.
        stddev: standard deviation.
        seed: optional int for reproducible values.
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed)

    def __call__(self, shape: Any, dtype: Any = None) -> Tensor:
        return self._normal(_shape(shape), self.mean, self.stddev, _dtype(dtype))

    def get_config(self) -> dict:
        return {"seed": self.seed, "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Normal samples redrawn when more than two standard deviations from the mean.

    Args:
        mean: mean of the distribution.
        stddev: standard deviation before truncation (default 0.05).
        seed: optional int for reproducible values.
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed)

    def __call__(self, shape: Any, dtype: Any = None) -> Tensor:
        return self._truncated_normal(_shape(shape), self.mean, self.stddev, _dtype(dtype))

    def get_config(self) -> dict:
        return {"seed": self.seed, "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    """Uniform samples in [minval, maxval) (default [-0.05, 0.05)).

    Args:
        minval: lower bound.
        maxval: upper bound.
        seed: optional int for reproducible values.
    """

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None) -> None:
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed)

    def __call__(self, shape: Any, dtype: Any = None) -> Tensor:
        return self._uniform(_shape(shape), self.minval, self.maxval, _dtype(dtype))

    def get_config(self) -> dict:
        return {"seed": self.seed, "minval": self.minval, "maxval": self.maxval}


def compute_fans(shape: Any, input_axes: Any = None, output_axes: Any = None) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shape: (in, out) for 2-D kernels, times the receptive field
    size for convolution kernels (..., in, out)."""
    shape = _shape(shape)
    if input_axes is not None and output_axes is not None:
        fan_in = math.prod(shape[a] for a in input_axes)
        fan_out = math.prod(shape[a] for a in output_axes)
        return int(fan_in), int(fan_out)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(RandomInitializer):
    """Samples scaled to the weight's fan: variance `scale / n`.

    `n` is fan_in, fan_out or their average (`mode`); `distribution` is "truncated_normal"
    (stddev sqrt(scale / n) / 0.8796 before truncation), "untruncated_normal", or "uniform"
    (limit sqrt(3 scale / n)).

    Args:
        scale: positive scaling factor.
        mode: "fan_in", "fan_out" or "fan_avg".
        distribution: "truncated_normal" ("normal"), "untruncated_normal" or "uniform".
        seed: optional int for reproducible values.
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None, input_axes: Any = None, output_axes: Any = None) -> None:
        if scale <= 0.0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(
                f"Invalid `mode` argument: {mode!r}. Please use one of 'fan_in', 'fan_out', 'fan_avg'."
            )
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(
                f"Invalid `distribution` argument: {distribution!r}. Please use one of 'uniform', "
                "'truncated_normal', 'untruncated_normal'."
            )
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = input_axes
        self.output_axes = output_axes
        super().__init__(seed)

    def __call__(self, shape: Any, dtype: Any = None) -> Tensor:
        shape = _shape(shape)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        scale = self.scale
        if self.mode == "fan_in":
            scale /= max(1.0, fan_in)
        elif self.mode == "fan_out":
            scale /= max(1.0, fan_out)
        else:
            scale /= max(1.0, (fan_in + fan_out) / 2.0)
        d = _dtype(dtype)
        if self.distribution == "truncated_normal":
            return self._truncated_normal(shape, 0.0, math.sqrt(scale) / _TRUNCATED_STDDEV, d)
        if self.distribution == "untruncated_normal":
            return self._normal(shape, 0.0, math.sqrt(scale), d)
        limit = math.sqrt(3.0 * scale)
        return self._uniform(shape, -limit, limit, d)

    def get_config(self) -> dict:
        return {"seed": self.seed, "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class _FixedVarianceScaling(VarianceScaling):
    _scale = 1.0
    _mode = "fan_in"
    _distribution = "truncated_normal"

    def __init__(self, seed: int | None = None, input_axes: Any = None, output_axes: Any = None) -> None:
        super().__init__(scale=self._scale, mode=self._mode, distribution=self._distribution, seed=seed,
                         input_axes=input_axes, output_axes=output_axes)

    def get_config(self) -> dict:
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}


class GlorotUniform(_FixedVarianceScaling):
    """Uniform in [-limit, limit], limit = sqrt(6 / (fan_in + fan_out)) (Keras's default kernel)."""

    _mode = "fan_avg"
    _distribution = "uniform"


class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal with stddev sqrt(2 / (fan_in + fan_out))."""

    _mode = "fan_avg"


class HeUniform(_FixedVarianceScaling):
    """Uniform in [-limit, limit], limit = sqrt(6 / fan_in)."""

    _scale = 2.0
    _distribution = "uniform"


class HeNormal(_FixedVarianceScaling):
    """Truncated normal with stddev sqrt(2 / fan_in)."""

    _scale = 2.0


class LecunUniform(_FixedVarianceScaling):
    """Uniform in [-limit, limit], limit = sqrt(3 / fan_in)."""

    _distribution = "uniform"


class LecunNormal(_FixedVarianceScaling):
    """Truncated normal with stddev sqrt(1 / fan_in)."""


class Orthogonal(RandomInitializer):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal sample, times `gain`.

    Shapes of rank > 2 are treated as (prod(shape[:-1]), shape[-1]).

    Args:
        gain: multiplicative factor.
        seed: optional int for reproducible values.
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        self.gain = gain
        super().__init__(seed)

    def __call__(self, shape: Any, dtype: Any = None) -> Tensor:
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError(
                "The tensor to initialize must be at least two-dimensional. "
                f"Received: shape={shape} of rank {len(shape)}."
            )
        rows = math.prod(shape[:-1])
        cols = shape[-1]
        flat = (max(rows, cols), min(rows, cols))
        d = _dtype(dtype)
        a = _backend.to_numpy(self._normal(flat, 0.0, 1.0, tf.float64)._value)
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        # NOTE: q.T is F-ordered; values are row-major everywhere else (as in TF).
        out = (self.gain * q).reshape(shape).astype(d.as_numpy_dtype, order="C")
        return Tensor(_backend.asarray(out, None, _backend.default_xp()))

    def get_config(self) -> dict:
        return {"seed": self.seed, "gain": self.gain}


# ---------------------------------------------------------------------------------------------
# Lookup
# ---------------------------------------------------------------------------------------------

_CLASSES = (
    Initializer, Zeros, Ones, Constant, Identity, RandomNormal, RandomUniform, TruncatedNormal,
    VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal,
    Orthogonal, STFT,
)


def _snake(name: str) -> str:
    import re

    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


_ALL: dict[str, type] = {c.__name__: c for c in _CLASSES}
_ALL.update({_snake(c.__name__): c for c in _CLASSES})
_ALL.update({"normal": RandomNormal, "uniform": RandomUniform, "one": Ones, "zero": Zeros,
             "IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal, "STFTInitializer": STFT})

# Lowercase aliases, as in `keras.initializers.glorot_uniform(seed=1)`.
zeros = Zeros
ones = Ones
constant = Constant
identity = Identity
random_normal = RandomNormal
random_uniform = RandomUniform
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
glorot_uniform = GlorotUniform
glorot_normal = GlorotNormal
he_uniform = HeUniform
he_normal = HeNormal
lecun_uniform = LecunUniform
lecun_normal = LecunNormal
orthogonal = Orthogonal
stft = STFT
IdentityInitializer = Identity
OrthogonalInitializer = Orthogonal
STFTInitializer = STFT


def serialize(initializer: Any) -> dict | None:
    """A JSON-able dict `{"module", "class_name", "config", "registered_name"}` (None for None)."""
    return serialize_object(initializer, "keras.initializers")


def deserialize(config: Any, custom_objects: dict | None = None) -> Any:
    """Rebuild an initializer from `serialize`'s dict (or a name)."""
    if config is None:
        return None
    if isinstance(config, str):
        return get(config, custom_objects)
    return deserialize_object(config, "initializer", _ALL, None, custom_objects)


def get(identifier: Any, custom_objects: dict | None = None) -> Any:
    """Resolve an initializer: a name ("glorot_uniform", "zeros", ...), a class, an instance,
    a config dict, a callable `(shape, dtype) -> tensor`, or an array (used as the value).

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier, custom_objects)
    if isinstance(identifier, str):
        cls = _ALL.get(identifier) or lookup_custom_object(identifier, custom_objects)
        if cls is None:
            raise ValueError(
                f"Could not interpret initializer identifier: {identifier!r}. "
                f"Valid names: {', '.join(sorted(_ALL))}."
            )
        return cls()
    if isinstance(identifier, type):
        return identifier()
    if isinstance(identifier, (Tensor, np.ndarray, np.generic)):
        value = identifier

        def initialize_fn(shape: Any, dtype: Any = None) -> Tensor:
            if _shape(shape) != tuple(value.shape):
                raise ValueError(
                    f"Expected `shape` to be {tuple(value.shape)} for direct tensor as initializer. "
                    f"Received shape={tuple(shape)}"
                )
            return tf.cast(tf.convert_to_tensor(value), _dtype(dtype))

        return initialize_fn
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier!r}")
