"""`keras.optimizers.Adadelta`: step sizes from moving averages of squared gradients and updates."""

from __future__ import annotations

from typing import Any

from tapeflow import backend as _backend
from tapeflow.keras.optimizers.optimizer import Optimizer, base_arguments


class Adadelta(Optimizer):
    """Adadelta (Keras 3 update rule).

    E[g^2] = rho E[g^2] + (1 - rho) g^2; delta = -sqrt(E[dx^2] + eps) g / sqrt(E[g^2] + eps);
    E[dx^2] = rho E[dx^2] + (1 - rho) delta^2; w += lr delta.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        rho: decay rate (0.95).
        epsilon: added inside the square roots (1e-7).
        **kwargs: the base `Optimizer` arguments.
    """

    _slot_attrs = ("_accumulated_grads", "_accumulated_delta_vars")

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(**base_arguments(locals()))
        self.rho = rho
        self.epsilon = epsilon

    def build(self, var_list: list) -> None:
        if self.built:
            return
        super().build(var_list)
        self._accumulated_grads, self._accumulated_delta_vars = self.add_optimizer_variables(
            var_list, ["accumulated_grad", "accumulated_delta_var"])

    def _update(self, g: Any, w: Any, slots: tuple) -> None:
        rho = self.rho
        eps = self.epsilon
        xp = _backend.get_xp(w)
        acc_g = slots[0]._value
        acc_d = slots[1]._value
        acc_g *= rho
        acc_g += (g * g) * (1.0 - rho)
        delta = xp.sqrt(acc_d + eps)
        delta *= g
        delta /= xp.sqrt(acc_g + eps)
        xp.negative(delta, out=delta)
        acc_d *= rho
        acc_d += (delta * delta) * (1.0 - rho)
        delta *= self._lr
        w += delta

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
