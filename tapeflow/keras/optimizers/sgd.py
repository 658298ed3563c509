"""`keras.optimizers.SGD`: gradient descent with optional (Nesterov) momentum."""

from __future__ import annotations

from typing import Any

from tapeflow.keras.optimizers.optimizer import Optimizer, base_arguments


class SGD(Optimizer):
    """Stochastic gradient descent (Keras 3 update rule).

    Without momentum: w -= lr * g. With momentum: m = momentum * m - lr * g, then w += m, or
    with Nesterov w += momentum * m - lr * g.

    Args:
        learning_rate: float, schedule or callable (default 0.01).
        momentum: in [0, 1] (default 0).
        nesterov: use Nesterov momentum.
        **kwargs: the base `Optimizer` arguments (weight_decay, clipnorm, clipvalue, ...).

    Example:
        >>> opt = keras.optimizers.SGD(learning_rate=0.1)
        >>> var = tf.Variable(1.0)
        >>> opt.minimize(lambda: (var ** 2) / 2.0, [var])
        >>> var.numpy()  # 0.9
    """

    _slot_attrs = ("_momentum_slots",)

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(**base_arguments(locals()))
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = nesterov

    def build(self, variables: list) -> None:
        if self.built:
            return
        super().build(variables)
        self.momentums = []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(variables, "momentum")
            self._momentum_slots = self.momentums
        else:
            self._momentum_slots = [None] * len(variables)

    def _make_slot_table(self) -> list:
        table = super()._make_slot_table()
        if self.momentum == 0:
            self._slot_table = table = [()] * len(table)
        return table

    def _update(self, g: Any, w: Any, slots: tuple) -> None:
        lr = self._lr
        if not slots:
            w -= g * lr
            return
        m = slots[0]._value
        mom = self.momentum
        glr = g * lr
        m *= mom
        m -= glr
        if self.nesterov:
            step = m * mom
            step -= glr
            w += step
        else:
            w += m

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
