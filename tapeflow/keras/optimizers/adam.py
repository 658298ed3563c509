"""`keras.optimizers.Adam` and `AdamW`: adaptive moment estimation (with decoupled weight decay)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend as _backend
from tapeflow.backend import kernels as _kernels
from tapeflow.keras.optimizers.optimizer import Optimizer, base_arguments

# Elements per block of the blocked update (5 float32 blocks of 256 KB stay in a core's L2).
_BLOCK = 1 << 16


class Adam(Optimizer):
    """Adam (Keras 3 update rule).

    With t = iterations + 1: m += (g - m)(1 - beta_1); v += (g^2 - v)(1 - beta_2);
    alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t); w -= alpha m / (sqrt(v) + epsilon).
    With `amsgrad`, v is replaced by the running maximum of v.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_1: decay of the first moment (0.9).
        beta_2: decay of the second moment (0.999).
        epsilon: added to sqrt(v) (1e-7).
        amsgrad: use the AMSGrad variant.
        **kwargs: the base `Optimizer` arguments.

    Example:
        >>> opt = keras.optimizers.Adam(learning_rate=0.01)
    """

    _slot_attrs = ("_momentums", "_velocities", "_velocity_hat_slots")

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**base_arguments(locals()))
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad
        self._block_buffers: dict = {}

    def build(self, var_list: list) -> None:
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        self._velocity_hats = []
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")
        self._velocity_hat_slots = self._velocity_hats or [None] * len(var_list)

    def _prepare(self, lr: float) -> None:
        # NOTE: the bias corrections in float32, as Keras computes them.
        t = np.float32(self._step() + 1)
        b1p = np.power(np.float32(self.beta_1), t)
        b2p = np.power(np.float32(self.beta_2), t)
        self._alpha = float(np.float32(lr) * np.sqrt(np.float32(1) - b2p) / (np.float32(1) - b1p))

    def _update(self, g: Any, w: Any, slots: tuple) -> None:
        m = slots[0]._value
        v = slots[1]._value
        if g.size >= 2 * _BLOCK and type(g) is type(w) is type(m) is type(v) is np.ndarray and \
                m.flags.c_contiguous and v.flags.c_contiguous and w.flags.c_contiguous and g.flags.c_contiguous:
            self._update_blocks(g, w, m, v, slots[2]._value if self.amsgrad else None)
            return
        xp = _backend.get_xp(w)
        if xp is not _backend.host and m.dtype == g.dtype == w.dtype:
            dt = g.dtype.type
            args = (g, dt(1.0 - self.beta_1), dt(1.0 - self.beta_2), dt(self._alpha), dt(self.epsilon), w, m, v)
            if self.amsgrad:
                args += (slots[2]._value,)
            _kernels.adam(xp, self.amsgrad)(*args)
            return
        d = g - m
        d *= 1.0 - self.beta_1
        m += d
        d = g * g
        d -= v
        d *= 1.0 - self.beta_2
        v += d
        if self.amsgrad:
            vhat = slots[2]._value
            xp.maximum(vhat, v, out=vhat)
            v = vhat
        denom = xp.sqrt(v)
        denom += self.epsilon
        step = m * self._alpha
        step /= denom
        w -= step

    def _update_blocks(self, g: Any, w: Any, m: Any, v: Any, vhat: Any) -> None:
        """The update of a large host variable, a block of `_BLOCK` elements at a time, with the
        same operations in the same order as the whole-array path (so the same bits).

        NOTE: done whole-array, each of the ~8 passes streams its arrays from memory (tens of MB
        for a big Dense kernel); a block's moments, square root and quotient stay in cache, so
        g, m, v and w cross memory once per step. NumPy runs each op on one thread: OpenBLAS's
        threaded axpy (used here before) was ~8% faster on a quiet machine but waited for its
        descheduled worker threads on a busy one (160k weights: 0.2 ms in NumPy against a 36 ms
        median with axpy, with other processes on both cores).
        """
        bufs = self._block_buffers.get(g.dtype)
        if bufs is None:
            bufs = self._block_buffers[g.dtype] = (np.empty(_BLOCK, dtype=g.dtype), np.empty(_BLOCK, dtype=g.dtype))
        gf, mf, vf, wf = g.reshape(-1), m.reshape(-1), v.reshape(-1), w.reshape(-1)
        hf = vhat.reshape(-1) if vhat is not None else None
        c1, c2 = 1.0 - self.beta_1, 1.0 - self.beta_2
        eps, alpha = self.epsilon, self._alpha
        sqrt, multiply, subtract, maximum = np.sqrt, np.multiply, np.subtract, np.maximum
        size = g.size
        for i in range(0, size, _BLOCK):
            j = min(i + _BLOCK, size)
            d, e = bufs[0][: j - i], bufs[1][: j - i]
            gb, mb, vb = gf[i:j], mf[i:j], vf[i:j]
            subtract(gb, mb, out=d)
            d *= c1
            mb += d
            multiply(gb, gb, out=d)
            d -= vb
            d *= c2
            vb += d
            if hf is not None:
                vb = maximum(hf[i:j], vb, out=hf[i:j])
            sqrt(vb, out=d)
            d += eps
            multiply(mb, alpha, out=e)
            e /= d
            wf[i:j] -= e

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config


class AdamW(Adam):
    """Adam with decoupled weight decay: each step first does w -= w * weight_decay * lr.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        weight_decay: the decay factor (default 0.004).
        beta_1, beta_2, epsilon, amsgrad: as in `Adam`.
        **kwargs: the base `Optimizer` arguments.
    """

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, loss_scale_factor: float | None = None,
                 gradient_accumulation_steps: int | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, **kwargs)
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")


