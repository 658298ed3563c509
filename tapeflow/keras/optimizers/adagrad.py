"""`keras.optimizers.Adagrad`: per-parameter rates scaled by accumulated squared gradients."""

from __future__ import annotations

from typing import Any

from tapeflow import backend as _backend
from tapeflow.keras.optimizers.optimizer import Optimizer, base_arguments


class Adagrad(Optimizer):
    """Adagrad (Keras 3 update rule): acc += g^2; w -= lr g / sqrt(acc + epsilon).

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        initial_accumulator_value: starting value of the accumulators (0.1).
        epsilon: added inside the square root (1e-7).
        **kwargs: the base `Optimizer` arguments.
    """

    _slot_attrs = ("_accumulators",)

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(**base_arguments(locals()))
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list: list) -> None:
        if self.built:
            return
        super().build(var_list)
        from tapeflow.keras.initializers import Constant

        self._accumulators = self.add_optimizer_variables(
            var_list, "accumulator", initializer=Constant(self.initial_accumulator_value))

    def _update(self, g: Any, w: Any, slots: tuple) -> None:
        acc = slots[0]._value
        acc += g * g
        denom = acc + self.epsilon
        xp = _backend.get_xp(w)
        step = g * self._lr
        step /= xp.sqrt(denom, out=denom)
        w -= step

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value,
                       "epsilon": self.epsilon})
        return config
