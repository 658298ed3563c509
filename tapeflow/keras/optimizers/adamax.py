"""`keras.optimizers.Adamax`: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend as _backend
from tapeflow.keras.optimizers.optimizer import Optimizer, base_arguments


class Adamax(Optimizer):
    """Adamax (Keras 3 update rule).

    With t = iterations + 1: m += (g - m)(1 - beta_1); u = max(beta_2 u, |g|);
    w -= lr m / ((1 - beta_1^t)(u + epsilon)).

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_1: decay of the first moment (0.9).
        beta_2: decay of the infinity norm (0.999).
        epsilon: added to u (1e-7).
        **kwargs: the base `Optimizer` arguments.
    """

    _slot_attrs = ("_m", "_u")

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(**base_arguments(locals()))
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list: list) -> None:
        if self.built:
            return
        super().build(var_list)
        self._m, self._u = self.add_optimizer_variables(var_list, ["momentum", "norm"])

    def _prepare(self, lr: float) -> None:
        t = np.float32(self._step() + 1)
        self._lr = lr
        self._one_minus_b1p = float(np.float32(1) - np.power(np.float32(self.beta_1), t))

    def _update(self, g: Any, w: Any, slots: tuple) -> None:
        xp = _backend.get_xp(w)
        m = slots[0]._value
        u = slots[1]._value
        d = g - m
        d *= 1.0 - self.beta_1
        m += d
        u *= self.beta_2
        xp.maximum(u, xp.abs(g), out=u)
        denom = u + self.epsilon
        denom *= self._one_minus_b1p
        step = m * self._lr
        step /= denom
        w -= step

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
