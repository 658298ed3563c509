"""`keras.optimizers.Lion`: the sign of an interpolated momentum (Chen et al., 2023)."""

from __future__ import annotations

from typing import Any

from tapeflow import backend as _backend
from tapeflow.keras.optimizers.optimizer import Optimizer, base_arguments


class Lion(Optimizer):
    """Lion, "evolved sign momentum" (Keras 3 update rule).

    w -= lr * sign(beta_1 m + (1 - beta_1) g); then m = beta_2 m + (1 - beta_2) g. Every
    element moves by exactly lr, so Lion wants a learning rate 3-10x smaller than AdamW's.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_1: interpolation of the update direction, in (0, 1] (0.9).
        beta_2: decay of the momentum (0.99).
        **kwargs: the base `Optimizer` arguments.

    Example:
        >>> opt = keras.optimizers.Lion(learning_rate=1e-4)
    """

    _slot_attrs = ("_momentums",)

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.99,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(**base_arguments(locals()))
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer degenerates "
                             f"to SignSGD. Received: beta_1={beta_1}.")

    def build(self, var_list: list) -> None:
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")

    def _update(self, g: Any, w: Any, slots: tuple) -> None:
        xp = _backend.get_xp(w)
        dt = w.dtype.type
        b1 = dt(self.beta_1)
        b2 = dt(self.beta_2)
        m = slots[0]._value
        direction = m * b1
        direction += g * (dt(1) - b1)
        w -= dt(self._lr) * xp.sign(direction)
        m *= b2
        m += g * (dt(1) - b2)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2})
        return config
