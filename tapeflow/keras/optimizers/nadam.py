"""`keras.optimizers.Nadam`: Adam with Nesterov momentum."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend as _backend
from tapeflow.keras.optimizers.optimizer import Optimizer, _host_variable, base_arguments


class Nadam(Optimizer):
    """Nadam (Keras 3 update rule, with its momentum schedule u_t = beta_1 (1 - 0.5 * 0.96^t)).

    With t = iterations + 1 and U_t = prod(u_1..u_t): m += (g - m)(1 - beta_1);
    v += (g^2 - v)(1 - beta_2); m_hat = u_{t+1} m / (1 - U_t u_{t+1}) + (1 - u_t) g / (1 - U_t);
    v_hat = v / (1 - beta_2^t); w -= lr m_hat / (sqrt(v_hat) + epsilon).

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_1: decay of the first moment (0.9).
        beta_2: decay of the second moment (0.999).
        epsilon: added to sqrt(v_hat) (1e-7).
        **kwargs: the base `Optimizer` arguments.
    """

    _slot_attrs = ("_momentums", "_velocities")

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
        dtype = var_list[0].dtype.name if var_list else "float32"
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        self._u_product = _host_variable(np.ones((), dtype=dtype), f"{self.name}/u_product")
        self._variables.append(self._u_product)
        self._u_step = -1

    def _prepare(self, lr: float) -> None:
        # NOTE: the momentum-schedule scalars in float32, as Keras computes them.
        f = np.float32
        t = f(self._step() + 1)
        b1 = f(self.beta_1)
        decay = f(0.96)
        u_prod = self._u_product._value
        if self._u_step != int(t):  # once per step, even when update_step is called per variable
            u_prod *= b1 * (f(1) - f(0.5) * np.power(decay, t))
            self._u_step = int(t)
        u_t = b1 * (f(1) - f(0.5) * np.power(decay, t))
        u_t1 = b1 * (f(1) - f(0.5) * np.power(decay, t + f(1)))
        u_product_t = f(u_prod)
        u_product_t1 = u_product_t * u_t1
        self._c_m = float(u_t1 / (f(1) - u_product_t1))
        self._c_g = float((f(1) - u_t) / (f(1) - u_product_t))
        self._c_v = float(f(1) / (f(1) - np.power(f(self.beta_2), t)))
        self._lr = lr

    def _update(self, g: Any, w: Any, slots: tuple) -> None:
        xp = _backend.get_xp(w)
        m = slots[0]._value
        v = slots[1]._value
        d = g - m
        d *= 1.0 - self.beta_1
        m += d
        d = g * g
        d -= v
        d *= 1.0 - self.beta_2
        v += d
        m_hat = m * self._c_m
        m_hat += g * self._c_g
        denom = xp.sqrt(v * self._c_v)
        denom += self.epsilon
        m_hat *= self._lr
        m_hat /= denom
        w -= m_hat

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
