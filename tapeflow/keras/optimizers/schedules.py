"""`keras.optimizers.schedules`: learning rates as functions of the optimizer step.

A schedule is called with the step (an int or the optimizer's `iterations` variable) and returns
the learning rate as a float32 scalar tensor. Formulas follow Keras 3 and are evaluated in
float32, as Keras does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow.keras.activations import lookup_custom_object
from tapeflow.tensor import Tensor

__all__ = [
    "LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
    "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts", "serialize", "deserialize",
]

_f32 = np.float32


def _step_value(step: Any) -> float:
    if isinstance(step, Tensor):
        return float(np.asarray(step.numpy()))
    return float(step)


class LearningRateSchedule:
    """Base class: `schedule(step)` returns the learning rate at that optimizer step.

    Subclasses implement `__call__(step)` (or `_value(step) -> float`) and `get_config`.
    """

    def __call__(self, step: Any) -> Tensor:
        if type(self)._value is LearningRateSchedule._value:
            raise NotImplementedError(
                f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`."
            )
        steps = np.asarray(step.numpy() if isinstance(step, Tensor) else step)
        if steps.ndim:  # an array of steps (e.g. to plot the schedule): one rate per step
            rates = [self._value(float(s)) for s in steps.reshape(-1).tolist()]
            return tf.constant(np.asarray(rates, _f32).reshape(steps.shape), dtype=tf.float32)
        return tf.constant(self._value(_step_value(step)), dtype=tf.float32)

    def _value(self, step: float) -> float:
        """The learning rate at `step` as a Python float (the optimizer's fast path)."""
        return float(np.asarray(tf.convert_to_tensor(self(step)).numpy()))

    def get_config(self) -> dict:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` in order "
            "to be serializable."
        )

    @classmethod
    def from_config(cls, config: dict) -> LearningRateSchedule:
        return cls(**config)


def _check_decay_steps(name: str, value: Any) -> None:
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class _StepDecay(LearningRateSchedule):
    """State and progress shared by the decays of `decay_rate` per `decay_steps` steps."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool, name: str) -> None:
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name
        _check_decay_steps("decay_steps", decay_steps)

    def _progress(self, step: float) -> Any:
        """step / decay_steps in float32 (floored with `staircase`), as Keras computes it."""
        p = _f32(step) / _f32(self.decay_steps)
        return np.floor(p) if self.staircase else p

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_StepDecay):
    """initial_learning_rate * decay_rate ^ (step / decay_steps) (the exponent floored when
    `staircase`).

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps per decay period (> 0).
        decay_rate: factor per period.
        staircase: decay in discrete jumps.
        name: optional name.

    Example:
        >>> s = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
        >>> float(s(100))  # 0.05
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay") -> None:
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def _value(self, step: float) -> float:
        return float(_f32(self.initial_learning_rate) * np.power(_f32(self.decay_rate), self._progress(step)))


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] for step <= boundaries[0], values[i] for boundaries[i-1] < step <= boundaries[i],
    values[-1] after the last boundary.

    Args:
        boundaries: increasing step boundaries.
        values: one more value than boundaries.
        name: optional name.
    """

    def __init__(self, boundaries: list, values: list, name: str = "PiecewiseConstant") -> None:
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. Received: "
                f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of length "
                f"{len(values)}."
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def _value(self, step: float) -> float:
        for b, v in zip(self.boundaries, self.values, strict=False):
            if step <= b:
                return float(_f32(v))
        return float(_f32(self.values[-1]))

    def get_config(self) -> dict:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """(initial - end) * (1 - step / decay_steps) ^ power + end, holding `end` after decay_steps
    (or restarting with a longer period when `cycle`).

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: length of the decay (> 0).
        end_learning_rate: the final rate (default 1e-4).
        power: the polynomial's power (1.0: linear).
        cycle: restart after `decay_steps`.
        name: optional name.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False, name: str = "PolynomialDecay") -> None:
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name
        _check_decay_steps("decay_steps", decay_steps)

    def _value(self, step: float) -> float:
        initial = _f32(self.initial_learning_rate)
        end = _f32(self.end_learning_rate)
        step32 = _f32(step)
        decay_steps = _f32(self.decay_steps)
        if self.cycle:
            multiplier = _f32(1.0) if step32 == 0 else np.ceil(step32 / decay_steps)
            decay_steps = decay_steps * multiplier
        else:
            step32 = min(step32, decay_steps)
        p = step32 / decay_steps
        return float((initial - end) * np.power(_f32(1) - p, _f32(self.power)) + end)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class InverseTimeDecay(_StepDecay):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps) (the ratio floored when
    `staircase`).

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: steps per decay unit (> 0).
        decay_rate: the decay rate.
        staircase: decay in discrete jumps.
        name: optional name.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay") -> None:
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def _value(self, step: float) -> float:
        return float(_f32(self.initial_learning_rate) / (_f32(1) + _f32(self.decay_rate) * self._progress(step)))


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the initial (or warmup target) rate to alpha times it, after an optional
    linear warmup.

    Without `warmup_target`: lr(step) = initial * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps))
    + alpha), s = min(step, decay_steps). With it, the rate first rises linearly from
    `initial_learning_rate` to `warmup_target` over `warmup_steps`, then decays from the target.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: length of the decay (> 0).
        alpha: the final rate as a fraction of the decayed-from rate.
        name: optional name.
        warmup_target: the rate reached at the end of warmup (None: no warmup).
        warmup_steps: length of the warmup.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None,
                 warmup_steps: int = 0) -> None:
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target
        _check_decay_steps("decay_steps", decay_steps)

    def _decay(self, step: Any, decay_steps: Any, decay_from: Any) -> float:
        fraction = step / decay_steps
        cosine = _f32(0.5) * (_f32(1) + np.cos(_f32(math.pi) * fraction))
        decayed = _f32(1 - self.alpha) * cosine + _f32(self.alpha)
        return float(decay_from * decayed)

    def _value(self, step: float) -> float:
        initial = _f32(self.initial_learning_rate)
        decay_steps = _f32(self.decay_steps)
        step32 = _f32(step)
        if self.warmup_target is None:
            return self._decay(min(step32, decay_steps), decay_steps, initial)
        target = _f32(self.warmup_target)
        warmup = _f32(self.warmup_steps)
        step32 = min(step32, decay_steps + warmup)
        if step32 < warmup:
            return float((target - initial) * (step32 / warmup) + initial)
        return self._decay(step32 - warmup, decay_steps, target)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods grow by `t_mul`, peaks shrink by `m_mul`.

    Args:
        initial_learning_rate: the rate at step 0.
        first_decay_steps: length of the first period (> 0).
        t_mul: period growth factor.
        m_mul: peak decay factor per restart.
        alpha: the minimum rate as a fraction of the initial rate.
        name: optional name.
    """

    def __init__(self, initial_learning_rate: float, first_decay_steps: int, t_mul: float = 2.0,
                 m_mul: float = 1.0, alpha: float = 0.0, name: str = "SGDRDecay") -> None:
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name
        _check_decay_steps("first_decay_steps", first_decay_steps)

    def _value(self, step: float) -> float:
        fraction = _f32(step) / _f32(self.first_decay_steps)
        t_mul = _f32(self._t_mul)
        if t_mul == 1.0:
            i_restart = np.floor(fraction)
            fraction = fraction - i_restart
        else:
            i_restart = np.floor(np.log(_f32(1) - fraction * (_f32(1) - t_mul)) / np.log(t_mul))
            sum_r = (_f32(1) - np.power(t_mul, i_restart)) / (_f32(1) - t_mul)
            fraction = (fraction - sum_r) / np.power(t_mul, i_restart)
        m_fac = np.power(_f32(self._m_mul), i_restart)
        cosine = _f32(0.5) * m_fac * (_f32(1) + np.cos(_f32(math.pi) * fraction))
        decayed = _f32(1 - self.alpha) * cosine + _f32(self.alpha)
        return float(_f32(self.initial_learning_rate) * decayed)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul, "m_mul": self._m_mul,
                "alpha": self.alpha, "name": self.name}


_ALL = {c.__name__: c for c in (LearningRateSchedule, ExponentialDecay, PiecewiseConstantDecay,
                                PolynomialDecay, InverseTimeDecay, CosineDecay, CosineDecayRestarts)}


def serialize(learning_rate_schedule: LearningRateSchedule) -> dict:
    """A JSON-able dict `{"module", "class_name", "config", "registered_name"}`."""
    return {"module": "keras.optimizers.schedules", "class_name": type(learning_rate_schedule).__name__,
            "config": learning_rate_schedule.get_config(), "registered_name": None}


def deserialize(config: dict, custom_objects: dict | None = None) -> LearningRateSchedule:
    """Rebuild a schedule from `serialize`'s dict."""
    name = config["class_name"]
    cls = _ALL.get(name) or lookup_custom_object(name, custom_objects)
    if cls is None:
        raise ValueError(f"Unknown learning rate schedule: {name!r}. Valid names: {', '.join(sorted(_ALL))}.")
    return cls.from_config(dict(config.get("config") or {}))
