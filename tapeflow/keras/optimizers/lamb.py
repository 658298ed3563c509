"""`keras.optimizers.Lamb`: Adam with a layer-wise trust ratio (You et al., 2019), for large batches."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend as _backend
from tapeflow.keras.optimizers.optimizer import Optimizer, base_arguments


class Lamb(Optimizer):
    """LAMB (Keras 3 update rule).

    With t = iterations + 1: m += (g - m)(1 - beta_1); v += (g^2 - v)(1 - beta_2);
    u = (m / (1 - beta_1^t)) / (sqrt(v / (1 - beta_2^t)) + epsilon);
    w -= lr * r * u, where the trust ratio r = ||w|| / ||u|| (1 when either norm is 0).

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_1: decay of the first moment (0.9).
        beta_2: decay of the second moment (0.999).
        epsilon: added to the root of the second moment (1e-7).
        **kwargs: the base `Optimizer` arguments.

    Example:
        >>> opt = keras.optimizers.Lamb(learning_rate=0.01)
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
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])

    def _prepare(self, lr: float) -> None:
        self._lr = lr
        self._t = self._step() + 1

    def _update(self, g: Any, w: Any, slots: tuple) -> None:
        xp = _backend.get_xp(w)
        dt = w.dtype.type
        t = dt(self._t)
        b1p = np.power(dt(self.beta_1), t)
        b2p = np.power(dt(self.beta_2), t)
        m = slots[0]._value
        v = slots[1]._value
        m += (g - m) * dt(1 - self.beta_1)
        v += (g * g - v) * dt(1 - self.beta_2)
        update = (m / (dt(1) - b1p)) / (xp.sqrt(v / (dt(1) - b2p)) + dt(self.epsilon))
        w_norm = xp.sqrt(xp.sum(w * w))
        u_norm = xp.sqrt(xp.sum(update * update))
        ratio = w_norm / u_norm if (w_norm > 0 and u_norm > 0) else dt(1)
        w -= update * (dt(ratio) * dt(self._lr))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
