"""`keras.optimizers.Ftrl`: follow-the-regularized-leader (McMahan et al., 2013), for wide, sparse
linear models."""

from __future__ import annotations

from typing import Any

from tapeflow import backend as _backend
from tapeflow.keras.optimizers.optimizer import Optimizer, base_arguments


class Ftrl(Optimizer):
    """FTRL-Proximal (Keras 3 update rule), with L1, L2 and L2-shrinkage regularization.

    With p = -learning_rate_power, n the accumulated squared gradients and z the linear term:
    n' = n + g^2; z += g + 2 l2_shrinkage w - (n'^p - n^p) / lr * w;
    w = (clip(z, -l1, l1) - z) / (n'^p / lr + 2 (l2 + beta / (2 lr))).

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        learning_rate_power: <= 0 (-0.5).
        initial_accumulator_value: starting value of n, >= 0 (0.1).
        l1_regularization_strength: >= 0 (0).
        l2_regularization_strength: >= 0 (0).
        l2_shrinkage_regularization_strength: >= 0 (0); a magnitude penalty on the gradient.
        beta: the beta of the FTRL paper (0).
        **kwargs: the base `Optimizer` arguments.

    Example:
        >>> opt = keras.optimizers.Ftrl(learning_rate=0.1, l1_regularization_strength=0.01)
    """

    _slot_attrs = ("_accumulators", "_linears")

    def __init__(self, learning_rate: Any = 0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, l2_shrinkage_regularization_strength: float = 0.0,
                 beta: float = 0.0, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(**base_arguments(locals()))
        for arg, value, rule in (
                ("initial_accumulator_value", initial_accumulator_value, "positive or zero"),
                ("learning_rate_power", -learning_rate_power, "negative or zero"),
                ("l1_regularization_strength", l1_regularization_strength, "positive or zero"),
                ("l2_regularization_strength", l2_regularization_strength, "positive or zero"),
                ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength,
                 "positive or zero")):
            if value < 0.0:
                shown = learning_rate_power if arg == "learning_rate_power" else value
                raise ValueError(f"`{arg}` needs to be {rule}. Received: {arg}={shown}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, var_list: list) -> None:
        if self.built:
            return
        super().build(var_list)
        from tapeflow.keras import initializers

        self._accumulators, self._linears = self.add_optimizer_variables(
            var_list, ["accumulator", "linear"],
            initializer=[initializers.Constant(self.initial_accumulator_value), "zeros"])

    def _update(self, g: Any, w: Any, slots: tuple) -> None:
        xp = _backend.get_xp(w)
        dt = w.dtype.type
        lr = dt(self._lr)
        power = dt(-self.learning_rate_power)
        accum = slots[0]._value
        linear = slots[1]._value
        l2 = dt(self.l2_regularization_strength) + dt(self.beta) / (dt(2) * lr)
        grad = g + w * dt(2 * self.l2_shrinkage_regularization_strength)
        new_accum = accum + g * g
        new_pow = xp.power(new_accum, power)
        linear += grad - (new_pow - xp.power(accum, power)) / lr * w
        quadratic = new_pow / lr + dt(2) * l2
        l1 = dt(self.l1_regularization_strength)
        w[...] = (xp.clip(linear, -l1, l1) - linear) / quadratic
        accum[...] = new_accum

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        })
        return config
