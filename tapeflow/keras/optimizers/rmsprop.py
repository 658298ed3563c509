"""`keras.optimizers.RMSprop`: steps scaled by a moving average of squared gradients."""

from __future__ import annotations

from typing import Any

from tapeflow import backend as _backend
from tapeflow.keras.optimizers.optimizer import Optimizer, base_arguments


class RMSprop(Optimizer):
    """RMSprop (Keras 3 update rule).

    v = rho v + (1 - rho) g^2; with `centered`, a = rho a + (1 - rho) g and the denominator is
    v - a^2 + epsilon, else v + epsilon; increment = lr g / sqrt(denominator); with momentum,
    m = momentum m + increment and w -= m, else w -= increment.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        rho: discounting factor of the squared-gradient average (0.9).
        momentum: momentum (0.0).
        epsilon: added to the denominator (1e-7).
        centered: normalise by the estimated gradient variance.
        **kwargs: the base `Optimizer` arguments.
    """

    _slot_attrs = ("_velocities", "_momentum_slots", "_average_slots")

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**base_arguments(locals()))
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, var_list: list) -> None:
        if self.built:
            return
        super().build(var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = []
        if self.momentum > 0:
            self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._average_gradients = []
        if self.centered:
            self._average_gradients = self.add_optimizer_variables(var_list, "average_gradient")
        none = [None] * len(var_list)
        self._momentum_slots = self._momentums or none
        self._average_slots = self._average_gradients or none

    def _update(self, g: Any, w: Any, slots: tuple) -> None:
        rho = self.rho
        v = slots[0]._value
        sq = g * g
        sq *= 1.0 - rho
        v *= rho
        v += sq
        if self.centered:
            a = slots[2]._value
            a *= rho
            a += g * (1.0 - rho)
            denom = v - a * a
            denom += self.epsilon
        else:
            denom = v + self.epsilon
        xp = _backend.get_xp(w)
        inc = g * self._lr
        inc /= xp.sqrt(denom, out=denom)
        if self.momentum > 0:
            m = slots[1]._value
            m *= self.momentum
            m += inc
            w -= m
        else:
            w -= inc

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config
