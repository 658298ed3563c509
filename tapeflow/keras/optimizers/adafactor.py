"""`keras.optimizers.Adafactor`: Adam-like steps with a factored second moment (Shazeer & Stern,
2018): a matrix keeps row and column averages instead of one value per element."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend as _backend
from tapeflow.keras.optimizers import schedules as _schedules
from tapeflow.keras.optimizers.optimizer import Optimizer, base_arguments


class Adafactor(Optimizer):
    """Adafactor (Keras 3 update rule).

    With t = iterations + 1, beta_t = 1 - t^beta_2_decay and G = g^2 + epsilon_1: for variables
    of rank >= 2 the last two axes are factored, r = beta_t r + (1 - beta_t) mean(G, -1),
    c = beta_t c + (1 - beta_t) mean(G, -2), v = (r / mean(r)) outer c; lower ranks keep
    v = beta_t v + (1 - beta_t) G. Then u = g / sqrt(v), clipped to RMS <= clip_threshold, and
    w -= max(epsilon_2, RMS(w)) * min(lr, 1 / sqrt(t)) * u.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_2_decay: exponent of the second-moment decay (-0.8).
        epsilon_1: added to g^2 (1e-30).
        epsilon_2: lower bound of the relative step scale (1e-3).
        clip_threshold: the update's RMS bound (1.0).
        relative_step: Keras's flag to cap a float learning rate by 1 / sqrt(t); the step scale
            min(lr, 1 / sqrt(t)) above applies that cap anyway, so (as in Keras) it changes nothing.
        **kwargs: the base `Optimizer` arguments.

    Example:
        >>> opt = keras.optimizers.Adafactor(learning_rate=0.01)
    """

    _slot_attrs = ("_r", "_c", "_v")

    def __init__(self, learning_rate: Any = 0.001, beta_2_decay: float = -0.8, epsilon_1: float = 1e-30,
                 epsilon_2: float = 1e-3, clip_threshold: float = 1.0, relative_step: bool = True,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(**base_arguments(locals()))
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def build(self, var_list: list) -> None:
        if self.built:
            return
        super().build(var_list)
        self._r, self._c, self._v = [], [], []
        for var in var_list:
            shape = tuple(var.shape)
            if len(shape) < 2:
                # NOTE: an unfactored variable still gets two scalar placeholders, so that
                # `variables` (and get_weights/set_weights) line up with Keras's.
                self._r.append(self.add_variable(shape=(), dtype="int32", name=var.name))
                self._c.append(self.add_variable(shape=(), dtype="int32", name=var.name))
            else:
                self._r.append(self.add_variable(shape=shape[:-1], dtype=var.dtype, name=var.name))
                self._c.append(self.add_variable(shape=shape[:-2] + shape[-1:], dtype=var.dtype, name=var.name))
            self._v.append(self.add_variable_from_reference(var, name="velocity"))

    def _prepare(self, lr: float) -> None:
        self._lr = lr
        self._t = self._step() + 1

    def _update(self, g: Any, w: Any, slots: tuple) -> None:
        xp = _backend.get_xp(w)
        dt = w.dtype.type
        t = dt(self._t)
        lr = dt(self._lr)
        inv_sqrt_t = dt(1) / np.sqrt(t)
        if self.relative_step and not isinstance(self._learning_rate, _schedules.LearningRateSchedule) \
                and not callable(self._learning_rate):
            lr = min(lr, inv_sqrt_t)
        rho = min(lr, inv_sqrt_t)
        alpha = max(dt(self.epsilon_2), dt(xp.sqrt(xp.mean(w * w)))) * rho
        squared = g * g + dt(self.epsilon_1)
        beta = dt(1) - np.power(t, dt(self.beta_2_decay))
        r, c, v = (s._value for s in slots)
        if w.ndim >= 2:
            r[...] = beta * r + (dt(1) - beta) * xp.mean(squared, axis=-1)
            c[...] = beta * c + (dt(1) - beta) * xp.mean(squared, axis=-2)
            v[...] = xp.expand_dims(r / xp.mean(r, axis=-1, keepdims=True), -1) * xp.expand_dims(c, -2)
        else:
            v[...] = beta * v + (dt(1) - beta) * squared
        u = g / xp.sqrt(v)
        u_rms = dt(xp.sqrt(xp.mean(u * u)))
        u /= max(dt(1), u_rms / dt(self.clip_threshold))
        w -= alpha * u

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1,
                       "epsilon_2": self.epsilon_2, "clip_threshold": self.clip_threshold,
                       "relative_step": self.relative_step})
        return config
