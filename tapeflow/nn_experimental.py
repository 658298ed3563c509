"""`tf.nn.experimental`: dropout with a caller-supplied sampler, and stateless (seeded) dropout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tapeflow.tensor import Tensor

__all__ = ["general_dropout", "stateless_dropout"]


def general_dropout(x: Any, rate: float, uniform_sampler: Callable, noise_shape: Any = None,
                    name: Any = None) -> Tensor:
    """Dropout whose keep mask is `uniform_sampler(shape=noise_shape, dtype=x.dtype) >= rate`;
    kept elements are scaled by 1 / (1 - rate)."""
    from tapeflow.ops import elementwise as ew
    from tapeflow.ops import movement as mv

    t = ew.unary_operand(x, "Dropout")
    if not t.dtype.is_floating:
        raise ValueError(f"Dropout: x must be a floating point tensor, received {t.dtype.name}.")
    rate = float(rate)
    if not 0 <= rate < 1:
        raise ValueError(f"Dropout: rate must be a scalar tensor or a float in the range [0, 1), received {rate}.")
    shape = list(t.shape) if noise_shape is None else [t.shape[i] if d is None else int(d)
                                                          for i, d in enumerate(noise_shape)]
    if rate == 0:
        return t
    keep = ew.greater_equal(uniform_sampler(shape=shape, dtype=t.dtype), rate)
    scaled = ew.multiply(t, 1.0 / (1.0 - rate))
    keep = mv.broadcast_to(keep, list(t.shape)) if list(keep.shape) != list(t.shape) else keep
    return ew.where(keep, scaled, ew.zeros_like_t(t))


def stateless_dropout(x: Any, rate: float, seed: Any, rng_alg: Any = None, noise_shape: Any = None,
                      name: Any = None) -> Tensor:
    """Dropout with a mask drawn by `tf.random.stateless_uniform(seed=seed)`: the same seed gives
    the same mask (and TF's mask for the Philox algorithm)."""
    from tapeflow.random_stateless import stateless_uniform

    def sampler(shape: Any, dtype: Any) -> Tensor:
        return stateless_uniform(shape, seed=seed, dtype=dtype, alg=rng_alg if rng_alg is not None else "auto_select")

    return general_dropout(x, rate, sampler, noise_shape)
