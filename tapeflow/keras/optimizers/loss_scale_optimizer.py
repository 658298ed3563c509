"""`keras.optimizers.LossScaleOptimizer`: dynamic loss scaling around another optimizer, so that
small float16 gradients do not underflow to zero."""

from __future__ import annotations

from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow import backend as _backend
from tapeflow.keras.optimizers.optimizer import Optimizer, _host_variable
from tapeflow.tensor import Tensor
from tapeflow.tracing import state as _trace_state

_BASE_DEFAULTS = {
    "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None, "use_ema": False,
    "ema_momentum": 0.99, "ema_overwrite_frequency": None, "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


class LossScaleOptimizer(Optimizer):
    """Dynamic loss scaling (Keras 3): the loss is multiplied by a scale before differentiation
    (`scale_loss`, which `fit` calls), and the gradients divided by it before the inner
    optimizer's step.

    A step whose gradients hold an inf or NaN is skipped: the weights and the inner optimizer do
    not change, and the scale halves. After `dynamic_growth_steps` finite steps in a row the
    scale doubles. `learning_rate` and `iterations` are the inner optimizer's.

    Args:
        inner_optimizer: the `Optimizer` that applies the unscaled gradients.
        initial_scale: the starting scale (2**15).
        dynamic_growth_steps: finite steps between doublings (2000).
        name: optional name.

    Example:
        >>> opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam())
        >>> model.compile(optimizer=opt, loss="mse")
    """

    def __init__(self, inner_optimizer: Optimizer, initial_scale: float = 2.0**15, dynamic_growth_steps: int = 2000,
                 name: str | None = None, **kwargs: Any) -> None:
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports `dynamic=False`. Instead, simply set "
                             "`loss_scale_factor` directly on the `inner_optimizer`.")
        for arg, default in _BASE_DEFAULTS.items():
            if arg in kwargs and kwargs.pop(arg) != default:
                raise ValueError(f"LossScaleOptimizer does not support `{arg}`. Instead, set `{arg}` on the "
                                 "`inner_optimizer`.")
        if kwargs:
            raise ValueError(f"LossScaleOptimizer does not support arguments: `{'`, `'.join(kwargs)}`.")
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError(f"LossScaleOptimizer: `inner_optimizer` must be a keras.optimizers.Optimizer. "
                            f"Received: inner_optimizer={inner_optimizer!r}")
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer
        self.initial_scale = initial_scale
        self.dynamic_growth_steps = dynamic_growth_steps
        self.inner_optimizer.loss_scale_factor = None
        # NOTE: created now (listed in `variables` once built, as in Keras) so that `scale_loss`
        # in a traced training step reads the variable, not a constant, even before the build.
        self.step_counter = _host_variable(np.int64(0), f"{self.name}/step_counter")
        self.dynamic_scale = _host_variable(np.float32(initial_scale), f"{self.name}/dynamic_scale")

    def build(self, var_list: list) -> None:
        if self.built:
            return
        self._variables += [self.step_counter, self.dynamic_scale]
        self.inner_optimizer.build(var_list)
        super().build(var_list)

    @property
    def variables(self) -> list:
        return self._variables + self.inner_optimizer.variables

    def check_finite(self, grads: list) -> bool:
        """Whether every gradient (None ones skipped) is finite."""
        for g in grads:
            if g is None:
                continue
            a = g._value if isinstance(g, Tensor) else g
            if not bool(_backend.get_xp(a).isfinite(a).all()):
                return False
        return True

    def apply(self, grads: list, trainable_variables: list | None = None) -> None:
        """Unscale and apply `grads` with the inner optimizer when all are finite (then count the
        step, doubling the scale every `dynamic_growth_steps`); otherwise halve the scale."""
        if len(grads) == 0:
            return
        if _trace_state.graphs and _trace_state.graphs[-1] is not None:
            self._apply_in_trace(list(grads), trainable_variables)
            return
        if not self.built:
            if trainable_variables is None:
                raise ValueError("When passing `grads` without `variables`, the optimizer must already be built "
                                 "on a list of variables. Call `optimizer.build(trainable_variables)` first.")
            self.build(list(trainable_variables))
        counter = self.step_counter._value
        scale = self.dynamic_scale._value
        if not self.check_finite(grads):
            counter[()] = 0
            scale[()] = scale * np.float32(0.5)
            return
        inverse = float(scale)
        unscaled = [None if g is None else (g._value if isinstance(g, Tensor) else g) / inverse for g in grads]
        self.inner_optimizer.apply(unscaled, trainable_variables)
        if int(counter) == self.dynamic_growth_steps - 1:
            counter[()] = 0
            scale[()] = scale * np.float32(2.0)
        else:
            counter[()] = int(counter) + 1

    @property
    def learning_rate(self) -> Any:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate: Any) -> None:
        if hasattr(self, "inner_optimizer"):
            self.inner_optimizer.learning_rate = learning_rate
        else:  # the base constructor's placeholder rate
            self._set_learning_rate(learning_rate)

    def _current_lr(self) -> float:
        return self.inner_optimizer._current_lr()

    @property
    def iterations(self) -> Any:
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, value: Any) -> None:
        self.inner_optimizer.iterations = value

    def scale_loss(self, loss: Any) -> Any:
        """`loss * dynamic_scale`, in float32 (float64 for a float64 loss), as Keras promotes."""
        loss = tf.convert_to_tensor(loss)
        if loss.dtype == tf.float64:
            return loss * tf.cast(self.dynamic_scale, tf.float64)
        return tf.cast(loss, tf.float32) * self.dynamic_scale

    def finalize_variable_values(self, var_list: list) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self) -> dict:
        from tapeflow.keras.optimizers import serialize

        return {"name": self.name, "inner_optimizer": serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> LossScaleOptimizer:
        from tapeflow.keras.optimizers import deserialize

        config = dict(config)
        if "inner_optimizer" not in config:
            raise ValueError("LossScaleOptimizer needs an `inner_optimizer` (a serialized optimizer in its config). "
                             f"Received config keys: {sorted(config)}")
        inner = deserialize(config.pop("inner_optimizer"), custom_objects=custom_objects)
        return cls(inner, **config)

    def __repr__(self) -> str:
        return f"<LossScaleOptimizer name={self.name} inner={self.inner_optimizer!r}>"
