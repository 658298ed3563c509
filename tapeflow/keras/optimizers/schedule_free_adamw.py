"""`keras.optimizers.ScheduleFreeAdamW`: AdamW without a learning-rate schedule (Defazio et al.,
2024): the weights are an interpolation of a fast iterate and its running average."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend as _backend
from tapeflow.keras.optimizers.optimizer import Optimizer, base_arguments


class ScheduleFreeAdamW(Optimizer):
    """Schedule-free AdamW (Keras 3 update rule).

    The model holds y = (1 - beta_1) z + beta_1 x, where z (the `momentum` slot, started at the
    weights) takes Adam-normalised gradient steps z -= lr g / (sqrt(v / (1 - beta_2^t)) + eps)
    and x is the uniform average of the z's, x = (1 - 1/t) x + z / t (x recovered from y and z:
    see the NOTE in `_update`). With `warmup_steps`, lr
    ramps up linearly over the first steps.

    Args:
        learning_rate: float, schedule or callable (default 0.0025).
        beta_1: interpolation between z and x (0.9).
        beta_2: decay of the second moment (0.999).
        epsilon: added to the denominator (1e-8).
        warmup_steps: linear warm-up length (0: none).
        **kwargs: the base `Optimizer` arguments.

    Example:
        >>> opt = keras.optimizers.ScheduleFreeAdamW(learning_rate=0.0025, warmup_steps=100)
    """

    _slot_attrs = ("_momentums", "_velocities")

    def __init__(self, learning_rate: Any = 0.0025, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, warmup_steps: int = 0, weight_decay: float | None = None,
                 clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(**base_arguments(locals()))
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.warmup_steps = warmup_steps

    def build(self, var_list: list) -> None:
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        for z, var in zip(self._momentums, var_list, strict=True):
            z._value[...] = var._value

    def _prepare(self, lr: float) -> None:
        self._lr = lr
        self._t = self._step() + 1

    def _update(self, g: Any, w: Any, slots: tuple) -> None:
        xp = _backend.get_xp(w)
        dt = w.dtype.type
        t = dt(self._t)
        lr = dt(self._lr)
        b1 = dt(self.beta_1)
        b2 = dt(self.beta_2)
        if self.warmup_steps > 0:
            lr = lr * min(t / dt(self.warmup_steps), dt(1))
        z = slots[0]._value
        v = slots[1]._value
        v += (g * g - v) * (dt(1) - b2)
        denom = xp.sqrt(v / (dt(1) - np.power(b2, t))) + dt(self.epsilon)
        z -= (lr * g) / denom
        weight = dt(1) / t
        # NOTE: x is recovered from y with the z just updated, as Keras 3.15 computes it on its
        # TensorFlow and PyTorch backends (its `momentum.value` there reads the variable after
        # the update; the paper, and Keras on JAX, use the z before it).
        x_old = (w - (dt(1) - b1) * z) / b1
        x_new = (dt(1) - weight) * x_old + weight * z
        w[...] = (dt(1) - b1) * z + b1 * x_new

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "warmup_steps": self.warmup_steps})
        return config
