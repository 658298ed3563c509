"""`keras.optimizers.Muon`: momentum orthogonalised by Newton-Schulz iterations for 2-D weights
(Jordan et al., 2024), AdamW for every other variable."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from tapeflow import backend as _backend
from tapeflow.keras.optimizers.optimizer import Optimizer, base_arguments
from tapeflow.tensor import Tensor


def _swap_last_axes(x: Any) -> Any:
    return _backend.get_xp(x).swapaxes(x, -1, -2)


class Muon(Optimizer):
    """Muon (Keras 3 update rule).

    A 2-D variable (not an embedding when `exclude_embeddings`, not matching `exclude_layers`)
    takes m += g + (momentum - 1) m, then w -= lr * rms_rate * sqrt(max(rows, cols)) * O, where O
    is `ns_steps` quintic Newton-Schulz iterations (coefficients muon_a, muon_b, muon_c) that
    approximately orthogonalise g + momentum m (Nesterov) or m, after scaling to unit Frobenius
    norm. Every other variable takes an AdamW step with learning rate lr * adam_lr_ratio and
    moments adam_beta_1 / adam_beta_2. Weight decay is `weight_decay` for Muon variables and
    `adam_weight_decay` for the others.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        adam_beta_1, adam_beta_2: the AdamW moments' decays (0.9, 0.999).
        adam_weight_decay: AdamW variables' weight decay (0.004).
        epsilon: AdamW's epsilon (1e-7).
        weight_decay: Muon variables' weight decay (0.004).
        exclude_layers: regular expressions; variables whose path matches one use AdamW.
        exclude_embeddings: embeddings (path containing "embedding") use AdamW.
        muon_a, muon_b, muon_c: Newton-Schulz coefficients (3.4445, -4.7750, 2.0315).
        adam_lr_ratio: AdamW's learning rate relative to `learning_rate` (1).
        momentum: Muon's momentum (0.95).
        ns_steps: Newton-Schulz iterations (5).
        nesterov: use Nesterov momentum.
        rms_rate: match the update's RMS to AdamW's (0.2); None leaves the update unscaled.
        **kwargs: the base `Optimizer` arguments.

    Example:
        >>> opt = keras.optimizers.Muon(learning_rate=0.02, exclude_layers=["head"])
    """

    _slot_attrs = ("momentums", "adam_velocities")

    def __init__(self, learning_rate: Any = 0.001, adam_beta_1: float = 0.9, adam_beta_2: float = 0.999,
                 adam_weight_decay: float | None = 0.004, epsilon: float = 1e-7,
                 weight_decay: float | None = 0.004, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, exclude_layers: list | None = None, exclude_embeddings: bool = True,
                 muon_a: float = 3.4445, muon_b: float = -4.7750, muon_c: float = 2.0315,
                 adam_lr_ratio: float = 1, momentum: float = 0.95, ns_steps: int = 5, nesterov: bool = True,
                 rms_rate: float | None = 0.2, **kwargs: Any) -> None:
        super().__init__(**base_arguments(locals()))
        self.adam_beta_1 = adam_beta_1
        self.adam_beta_2 = adam_beta_2
        self.epsilon = epsilon
        self.muon_a = muon_a
        self.muon_b = muon_b
        self.muon_c = muon_c
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum = momentum
        self.ns_steps = ns_steps
        self.nesterov = nesterov
        self.exclude_embeddings = exclude_embeddings
        self.exclude_layers = exclude_layers or []
        self.adam_weight_decay = adam_weight_decay
        self.rms_rate = rms_rate

    def _should_use_adamw(self, variable: Any) -> bool:
        """Whether `variable` takes AdamW steps: not 2-D, an embedding, or an excluded layer's."""
        if len(variable.shape) != 2:
            return True
        path = getattr(variable, "path", None) or str(variable.name)
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(keyword, path) for keyword in self.exclude_layers)

    def build(self, var_list: list) -> None:
        if self.built:
            return
        super().build(var_list)
        self.momentums = []
        self.adam_velocities = []
        for var in var_list:
            self.momentums.append(self.add_variable_from_reference(var, name="momentum"))
            self.adam_velocities.append(
                self.add_variable_from_reference(var, name="velocity") if self._should_use_adamw(var) else None)

    def _prepare(self, lr: float) -> None:
        self._lr = lr
        self._t = self._step() + 1

    def _update(self, g: Any, w: Any, slots: tuple) -> None:
        m, v = slots
        if v is not None:
            self._adamw_update(g, w, m._value, v._value)
        else:
            self._muon_update(g, w, m._value)

    def _muon_update(self, g: Any, w: Any, m: Any) -> None:
        dt = w.dtype.type
        m += g + m * dt(self.momentum - 1)
        direction = g + dt(self.momentum) * m if self.nesterov else m
        w -= self.lr_adjust(dt(self._lr) * self.zeropower_via_newtonschulz5(direction, self.ns_steps))

    def lr_adjust(self, x: Any) -> Any:
        """The Muon step `x` (lr times the orthogonalised update, 2-D) times
        rms_rate * sqrt(max(rows, cols)), so its RMS matches AdamW's (Moonlight); unchanged when
        `rms_rate` is None. Takes and returns a tensor or an array."""
        if self.rms_rate is None:
            return x
        a = x._value if isinstance(x, Tensor) else x
        dt = a.dtype.type
        out = a * dt(np.sqrt(max(a.shape[0], a.shape[1]))) * dt(self.rms_rate)
        return Tensor(out) if isinstance(x, Tensor) else out

    def transpose_last_axis(self, x: Any) -> Any:
        """`x` with its last two axes swapped (a tensor or an array)."""
        if isinstance(x, Tensor):
            return Tensor(_swap_last_axes(x._value))
        return _swap_last_axes(x)

    def _adamw_update(self, g: Any, w: Any, m: Any, v: Any) -> None:
        xp = _backend.get_xp(w)
        dt = w.dtype.type
        lr = dt(self._lr * self.adam_lr_ratio)
        t = dt(self._t)
        b1p = np.power(dt(self.adam_beta_1), t)
        b2p = np.power(dt(self.adam_beta_2), t)
        alpha = lr * np.sqrt(dt(1) - b2p) / (dt(1) - b1p)
        m += (g - m) * dt(1 - self.adam_beta_1)
        v += (g * g - v) * dt(1 - self.adam_beta_2)
        w -= (m * alpha) / (xp.sqrt(v) + dt(self.epsilon))

    def zeropower_via_newtonschulz5(self, x: Any, steps: int) -> Any:
        """Approximately orthogonalise the last two axes of `x` (U V^T of its SVD) with `steps`
        quintic Newton-Schulz iterations; takes and returns a tensor or an array."""
        if isinstance(x, Tensor):
            return Tensor(self.zeropower_via_newtonschulz5(x._value, steps))
        if x.ndim < 2:
            raise ValueError(f"Expected gradient or momentum to have at least 2 dimensions. Received: shape={x.shape}")
        xp = _backend.get_xp(x)
        dt = x.dtype.type
        a, b, c = dt(self.muon_a), dt(self.muon_b), dt(self.muon_c)
        tall = x.shape[-2] > x.shape[-1]
        if tall:
            x = _swap_last_axes(x)
        x = x / (xp.sqrt(xp.sum(x * x, axis=(-2, -1), keepdims=True)) + dt(1e-7))
        for _ in range(steps):
            gram = x @ _swap_last_axes(x)
            poly = b * gram + c * gram @ gram
            x = a * x + poly @ x
        return _swap_last_axes(x) if tall else x

    def _decays_weights(self) -> bool:
        return bool(self.weight_decay) or bool(self.adam_weight_decay)

    def _apply_weight_decay_arrays(self, variables: list, warrs: list, lr: float) -> None:
        for var, w in zip(variables, warrs, strict=True):
            if not self._use_weight_decay(var):
                continue
            decay = self.adam_weight_decay if self._should_use_adamw(var) else self.weight_decay
            if decay:
                w -= w * float(np.float32(decay) * np.float32(lr))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "adam_beta_1": self.adam_beta_1, "adam_beta_2": self.adam_beta_2, "epsilon": self.epsilon,
            "exclude_layers": self.exclude_layers, "muon_a": self.muon_a, "muon_b": self.muon_b,
            "muon_c": self.muon_c, "adam_lr_ratio": self.adam_lr_ratio, "momentum": self.momentum,
            "ns_steps": self.ns_steps, "nesterov": self.nesterov, "exclude_embeddings": self.exclude_embeddings,
            "adam_weight_decay": self.adam_weight_decay, "rms_rate": self.rms_rate,
        })
        return config
