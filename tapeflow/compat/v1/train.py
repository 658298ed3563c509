"""`tf.train` (TF1): optimizers with TF1 update rules, global step, learning-rate decay, Saver.

`minimize(loss)` = `compute_gradients` (symbolic gradients, see `gradients.py`) +
`apply_gradients` (an `Operation`). When a session runs it, the loss is evaluated under a
tape, the gradients taken, and the update applied in place on the variables' arrays.
Optimizer state (slots, Adam's beta powers) lives in non-trainable graph variables, created
by `apply_gradients`, so `global_variables_initializer()` resets it as in TF1.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from tapeflow import backend, errors
from tapeflow.compat.v1.gradients import gradients as _gradients
from tapeflow.compat.v1.gradients import layers_upstream
from tapeflow.compat.v1.graph import GraphKeys, get_default_graph
from tapeflow.compat.v1.lift import graph_call
from tapeflow.compat.v1.operations import Operation, engine_variable, value_of
from tapeflow.compat.v1.variables import Variable, global_variables, trainable_variables, wrap_layer_weights
from tapeflow.tensor import Tensor

# NOTE: optimizer state of weights whose gradient stays zero decays into the denormal range,
# where NumPy arithmetic is several times slower. Every _FLUSH_EVERY steps the slot arrays are
# flushed with (a + c) - c, which rounds every denormal away and leaves normal values unchanged.
_FLUSH_EVERY = 100
_FLUSH_CONSTANT = {
    np.dtype(np.float32): float(np.finfo(np.float32).tiny) * 2.0**24,
    np.dtype(np.float64): float(np.finfo(np.float64).tiny) * 2.0**53,
}


def _scalar(value: Any, values: dict) -> float:
    """A hyperparameter's value in this run: a number, a tensor, a variable or a fed tensor."""
    if callable(value) and not isinstance(value, Tensor):
        value = value()
    if isinstance(value, Tensor):
        value = value_of(value, values)
        return float(np.asarray(backend.to_numpy(value._value)))
    return float(value)


class ApplyGradients(Operation):
    """Applies the optimizer's update rule to each (gradient, variable) pair when run."""

    type = "ApplyGradients"

    def __init__(self, optimizer: Optimizer, pairs: list, global_step: Any, name: str) -> None:
        super().__init__(name)
        self.optimizer = optimizer
        self.pairs = [(g, engine_variable(v, "apply_gradients")) for g, v in pairs]
        self.global_step = global_step

    def _tensors(self) -> list:
        out = [g for g, _ in self.pairs if g._value is None]
        out.extend(h for h in self.optimizer._hyper.values() if isinstance(h, Tensor) and h._value is None)
        return out

    def _execute(self, values: dict) -> None:
        self.optimizer._apply(self.pairs, values)
        if self.global_step is not None:
            engine_variable(self.global_step, "global_step").assign_add(1)


class Optimizer:
    """Base class of TF1 optimizers (`tf.train.Optimizer`).

    Subclasses set hyperparameters in `_hyper`, create state in `_create_slots`, compute per-step
    scalars in `_prepare` and update one variable's array in place in `_apply_dense`.
    """

    GATE_NONE = 0
    GATE_OP = 1
    GATE_GRAPH = 2

    def __init__(self, use_locking: bool, name: str) -> None:
        if not name:
            raise ValueError("Must specify the optimizer name")
        self._name = name
        self._use_locking = use_locking
        self._hyper: dict[str, Any] = {}
        self._slots: dict[str, dict[int, Variable]] = {}
        self._non_slots: dict[str, Variable] = {}
        self._flush_countdown = _FLUSH_EVERY
        self._buffers: dict = {}
        self._slot_cache: dict = {}

    def get_name(self) -> str:
        return self._name

    # -- the TF1 API ----------------------------------------------------------------------------
    def minimize(self, loss: Any, global_step: Any = None, var_list: Any = None, gate_gradients: int = 1,
                 aggregation_method: Any = None, colocate_gradients_with_ops: bool = False,
                 name: str | None = None, grad_loss: Any = None) -> Operation:
        """An operation that computes the gradients of `loss` and updates the variables.

        Args:
            loss: a scalar tensor of the graph.
            global_step: optional variable incremented by one per update.
            var_list: the variables to train (default: `trainable_variables()`).
            name: the operation's name.
            grad_loss: optional gradient of `loss` to start from.

        Returns:
            The update `Operation` (run it with `sess.run(op, feed_dict)` or `op.run(...)`).

        Raises:
            ValueError: there are no variables, or `loss` depends on none of them.
        """
        grads_and_vars = self.compute_gradients(loss, var_list=var_list, grad_loss=grad_loss)
        if all(g is None for g, _ in grads_and_vars):
            names = [v.name for _, v in grads_and_vars]
            raise ValueError(
                f"No gradients provided for any variable, check your graph for ops that do not support "
                f"gradients, between variables {names} and loss {loss!r}."
            )
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def compute_gradients(self, loss: Any, var_list: Any = None, gate_gradients: int = 1,
                          aggregation_method: Any = None, colocate_gradients_with_ops: bool = False,
                          grad_loss: Any = None) -> list:
        """[(symbolic gradient or None, variable)] for the variables `loss` may depend on.

        Args:
            loss: a scalar tensor.
            var_list: the variables (default: `trainable_variables()`).
            grad_loss: optional gradient of `loss` to start from.

        Returns:
            A list of (gradient, variable) pairs; the gradient is None where `loss` does not
            depend on the variable.
        """
        if callable(loss) and not isinstance(loss, Tensor):
            loss = loss()
        if var_list is None:
            # Keras layers called directly on graph tensors join the graph's collections, as
            # in TF1, so their weights are trained (and initialised) too.
            for layer in layers_upstream([loss]):
                wrap_layer_weights(layer)
            var_list = trainable_variables() + get_default_graph().get_collection(
                GraphKeys.TRAINABLE_RESOURCE_VARIABLES)
        else:
            var_list = list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        grads = _gradients(loss, var_list, grad_ys=None if grad_loss is None else [grad_loss])
        return list(zip(grads, var_list, strict=False))

    def apply_gradients(self, grads_and_vars: Any, global_step: Any = None,
                        name: str | None = None) -> Operation:
        """An operation applying the update rule to each (gradient, variable) pair.

        Pairs whose gradient is None are skipped.

        Raises:
            ValueError: no pairs, or every gradient is None.
        """
        pairs = list(grads_and_vars)
        if not pairs:
            raise ValueError("No variables provided.")
        kept = [(g, v) for g, v in pairs if g is not None]
        if not kept:
            raise ValueError(f"No gradients provided for any variable: {[v.name for _, v in pairs]}.")
        for g, v in kept:
            if not isinstance(g, Tensor):
                raise TypeError(
                    f"apply_gradients: the gradient for {v.name} must be a tensor, received {g!r}."
                )
        engines = [engine_variable(v, "apply_gradients") for _, v in kept]
        g = get_default_graph()
        saved = g._name_scope
        g._name_scope = []
        try:
            self._create_non_slots(engines)
            self._create_slots(engines)
        finally:
            g._name_scope = saved
        return ApplyGradients(self, kept, global_step, name or self._name)

    def get_slot(self, var: Any, name: str) -> Variable | None:
        """The slot variable `name` ("m", "v", "momentum", ...) of `var`, or None."""
        return self._slots.get(name, {}).get(id(engine_variable(var, "get_slot")))

    def get_slot_names(self) -> list:
        return sorted(self._slots)

    def variables(self) -> list:
        """The optimizer's own variables (slots and non-slot state)."""
        out = list(self._non_slots.values())
        for table in self._slots.values():
            out.extend(table.values())
        return out

    # -- state ----------------------------------------------------------------------------------
    def _state_variable(self, name: str, init: Any, like: Any = None) -> Variable:
        """A non-trainable global variable holding optimizer state."""
        if like is not None:
            arr = like._value

            def thunk() -> Tensor:
                return Tensor(backend.get_xp(arr).full(arr.shape, init, dtype=arr.dtype))

            value = thunk()
        else:
            value = Tensor(np.asarray(init, dtype=np.float32))
            thunk = None
        v = Variable(value, trainable=False, name=name)
        if thunk is not None:
            v._init = thunk
        return v

    def _slot(self, var: Any, slot_name: str, init: float, display: str) -> Variable:
        table = self._slots.setdefault(slot_name, {})
        slot = table.get(id(var))
        if slot is None:
            base = var.name.split(":")[0]
            slot = self._state_variable(f"{base}/{display}", init, like=var)
            table[id(var)] = slot
        return slot

    def _create_slots(self, var_list: list) -> None:
        """Create per-variable state (override)."""

    def _create_non_slots(self, var_list: list) -> None:
        """Create state shared by all variables (override)."""

    def _slot_arrays(self, var: Any) -> dict:
        # Slot arrays are updated in place (initializers assign in place too), so they are cached.
        cached = self._slot_cache.get(id(var))
        if cached is None:
            cached = {name: table[id(var)]._variable._value for name, table in self._slots.items()
                      if id(var) in table}
            self._slot_cache[id(var)] = cached
        return cached

    def _scratch(self, like: Any) -> Any:
        """A scratch array shaped like `like`, reused across steps and variables."""
        # NOTE: allocating fresh arrays of a large weight's size every step costs page faults
        # comparable to the arithmetic; one flat buffer per dtype and device avoids that.
        key = (like.dtype, type(like))
        buf = self._buffers.get(key)
        n = like.size
        if buf is None or buf.size < n:
            buf = backend.get_xp(like).empty(n, dtype=like.dtype)
            self._buffers[key] = buf
        return buf[:n].reshape(like.shape)

    # -- applying -------------------------------------------------------------------------------
    def _apply(self, pairs: list, values: dict) -> None:
        from tapeflow.compat.v1.session import NONE_GRADIENTS

        hyper = {k: _scalar(v, values) for k, v in self._hyper.items()}
        self._prepare(hyper)
        none_ids = values.get(NONE_GRADIENTS, ())
        for g, var in pairs:
            if id(g) in none_ids:
                continue
            gv = value_of(g, values)
            w = var._value
            ga = gv._value
            if ga.dtype != w.dtype:
                ga = ga.astype(w.dtype)
            if ga.shape != w.shape:
                raise ValueError(
                    f"{self._name}: the gradient for {var.name} has shape {tuple(ga.shape)}, the variable "
                    f"{tuple(w.shape)}."
                )
            self._apply_dense(ga, w, self._slot_arrays(var))
            c = var.constraint
            if c is not None:
                var.assign(c(Tensor(w)))
        self._finish()
        self._flush_countdown -= 1
        if self._flush_countdown <= 0:
            self._flush_countdown = _FLUSH_EVERY
            for table in self._slots.values():
                for slot in table.values():
                    a = slot._variable._value
                    c = _FLUSH_CONSTANT.get(a.dtype)
                    if c is not None:
                        a += c
                        a -= c

    def _prepare(self, hyper: dict) -> None:
        self._h = hyper

    def _apply_dense(self, g: Any, w: Any, slots: dict) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """Per-step work after all variables are updated (override)."""


class GradientDescentOptimizer(Optimizer):
    """Plain gradient descent: `var -= learning_rate * grad`.

    Args:
        learning_rate: a float, or a tensor (a placeholder or a decay schedule).
    """

    def __init__(self, learning_rate: Any, use_locking: bool = False, name: str = "GradientDescent") -> None:
        super().__init__(use_locking, name)
        self._hyper = {"learning_rate": learning_rate}

    def _apply_dense(self, g: Any, w: Any, slots: dict) -> None:
        t = self._scratch(w)
        backend.get_xp(w).multiply(g, self._h["learning_rate"], out=t)
        w -= t


class MomentumOptimizer(Optimizer):
    """Momentum: `accum = momentum * accum + grad; var -= lr * accum` (TF1 rule).

    With `use_nesterov`: `var -= lr * grad + lr * momentum * accum` after the accumulator update.
    """

    def __init__(self, learning_rate: Any, momentum: Any, use_locking: bool = False, name: str = "Momentum",
                 use_nesterov: bool = False) -> None:
        super().__init__(use_locking, name)
        self._hyper = {"learning_rate": learning_rate, "momentum": momentum}
        self._use_nesterov = use_nesterov

    def _create_slots(self, var_list: list) -> None:
        for v in var_list:
            self._slot(v, "momentum", 0.0, self._name)

    def _apply_dense(self, g: Any, w: Any, slots: dict) -> None:
        lr, mu = self._h["learning_rate"], self._h["momentum"]
        accum = slots["momentum"]
        accum *= mu
        accum += g
        xp = backend.get_xp(w)
        t = self._scratch(w)
        if self._use_nesterov:
            xp.multiply(g, lr, out=t)
            w -= t
            xp.multiply(accum, lr * mu, out=t)
        else:
            xp.multiply(accum, lr, out=t)
        w -= t


class AdamOptimizer(Optimizer):
    """Adam with TF1's rule: `lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)`;
    `m += (g - m) * (1 - beta1)`; `v += (g^2 - v) * (1 - beta2)`; `var -= lr_t * m / (sqrt(v) + epsilon)`.

    Args:
        learning_rate: default 0.001 (a float or tensor).
        beta1, beta2: moment decays (0.9, 0.999).
        epsilon: added to sqrt(v) (TF1 default 1e-8).
    """

    def __init__(self, learning_rate: Any = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, use_locking: bool = False, name: str = "Adam") -> None:
        super().__init__(use_locking, name)
        self._hyper = {"learning_rate": learning_rate, "beta1": beta1, "beta2": beta2, "epsilon": epsilon}

    def _create_non_slots(self, var_list: list) -> None:
        if "beta1_power" not in self._non_slots:
            self._non_slots["beta1_power"] = self._state_variable("beta1_power", self._hyper["beta1"])
            self._non_slots["beta2_power"] = self._state_variable("beta2_power", self._hyper["beta2"])
            # NOTE: the powers start at beta (not 1), so the first step uses 1 - beta^1.

    def _create_slots(self, var_list: list) -> None:
        for v in var_list:
            self._slot(v, "m", 0.0, self._name)
            self._slot(v, "v", 0.0, self._name + "_1")

    def _prepare(self, hyper: dict) -> None:
        super()._prepare(hyper)
        b1p = float(self._non_slots["beta1_power"]._variable._value)
        b2p = float(self._non_slots["beta2_power"]._variable._value)
        self._lr_t = hyper["learning_rate"] * math.sqrt(1.0 - b2p) / (1.0 - b1p)
        self._one_minus_b1 = 1.0 - hyper["beta1"]
        self._one_minus_b2 = 1.0 - hyper["beta2"]

    def _apply_dense(self, g: Any, w: Any, slots: dict) -> None:
        m, v = slots["m"], slots["v"]
        xp = backend.get_xp(w)
        t = self._scratch(w)
        xp.subtract(g, m, out=t)  # m += (g - m)(1 - beta1)
        t *= self._one_minus_b1
        m += t
        xp.multiply(g, g, out=t)  # v += (g^2 - v)(1 - beta2)
        t -= v
        t *= self._one_minus_b2
        v += t
        xp.sqrt(v, out=t)  # var -= lr_t m / (sqrt(v) + epsilon)
        t += self._h["epsilon"]
        xp.divide(m, t, out=t)
        t *= self._lr_t
        w -= t

    def _finish(self) -> None:
        b1 = self._non_slots["beta1_power"]._variable._value
        b2 = self._non_slots["beta2_power"]._variable._value
        b1 *= self._h["beta1"]
        b2 *= self._h["beta2"]


class RMSPropOptimizer(Optimizer):
    """RMSProp with TF1's rule (mean square starts at 1):
    `ms += (g^2 - ms) * (1 - decay)`; `mom = momentum * mom + lr * g / sqrt(ms + epsilon)`;
    `var -= mom`. Centered: `mg += (g - mg) * (1 - decay)` and `ms - mg^2 + epsilon` under the root.

    Args:
        learning_rate: a float or tensor.
        decay: the moving-average decay (0.9).
        momentum: 0.0.
        epsilon: 1e-10.
        centered: normalise by the estimated variance.
    """

    def __init__(self, learning_rate: Any, decay: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-10,
                 use_locking: bool = False, centered: bool = False, name: str = "RMSProp") -> None:
        super().__init__(use_locking, name)
        self._hyper = {"learning_rate": learning_rate, "decay": decay, "momentum": momentum,
                       "epsilon": epsilon}
        self._centered = centered

    def _create_slots(self, var_list: list) -> None:
        for v in var_list:
            self._slot(v, "rms", 1.0, self._name)
            if self._centered:
                self._slot(v, "mg", 0.0, self._name + "_mg")
            self._slot(v, "momentum", 0.0, self._name + "_1")

    def _apply_dense(self, g: Any, w: Any, slots: dict) -> None:
        h = self._h
        ms, mom = slots["rms"], slots["momentum"]
        rho = 1.0 - h["decay"]
        xp = backend.get_xp(w)
        t = self._scratch(w)
        xp.multiply(g, g, out=t)  # ms += (g^2 - ms)(1 - decay)
        t -= ms
        t *= rho
        ms += t
        if self._centered:
            mg = slots["mg"]
            xp.subtract(g, mg, out=t)  # mg += (g - mg)(1 - decay)
            t *= rho
            mg += t
            xp.multiply(mg, mg, out=t)
            xp.subtract(ms, t, out=t)
        else:
            t[...] = ms
        t += h["epsilon"]  # mom = momentum mom + lr g / sqrt(denominator)
        xp.sqrt(t, out=t)
        xp.divide(g, t, out=t)
        t *= h["learning_rate"]
        mom *= h["momentum"]
        mom += t
        w -= mom


class AdagradOptimizer(Optimizer):
    """Adagrad (TF1): `accum += g^2; var -= lr * g / sqrt(accum)`, accumulators start at 0.1."""

    def __init__(self, learning_rate: Any, initial_accumulator_value: float = 0.1, use_locking: bool = False,
                 name: str = "Adagrad") -> None:
        super().__init__(use_locking, name)
        if initial_accumulator_value <= 0.0:
            raise ValueError(f"initial_accumulator_value must be positive: {initial_accumulator_value}")
        self._hyper = {"learning_rate": learning_rate}
        self._initial = initial_accumulator_value

    def _create_slots(self, var_list: list) -> None:
        for v in var_list:
            self._slot(v, "accumulator", self._initial, self._name)

    def _apply_dense(self, g: Any, w: Any, slots: dict) -> None:
        acc = slots["accumulator"]
        xp = backend.get_xp(w)
        t = self._scratch(w)
        xp.multiply(g, g, out=t)
        acc += t
        xp.sqrt(acc, out=t)
        xp.divide(g, t, out=t)
        t *= self._h["learning_rate"]
        w -= t


# -- global step and learning-rate schedules ------------------------------------------------------

def get_global_step(graph: Any = None) -> Variable | None:
    """The graph's global step variable, or None."""
    g = graph or get_default_graph()
    found = g.get_collection(GraphKeys.GLOBAL_STEP)
    return found[0] if found else None


def create_global_step(graph: Any = None) -> Variable:
    """Create the global step: a non-trainable int64 scalar variable starting at 0."""
    g = graph or get_default_graph()
    if get_global_step(g) is not None:
        raise ValueError("\"global_step\" already exists.")
    with g.as_default():
        saved = g._name_scope
        g._name_scope = []
        try:
            step = Variable(np.zeros((), dtype=np.int64), trainable=False, name="global_step",
                            collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP])
        finally:
            g._name_scope = saved
    return step


def get_or_create_global_step(graph: Any = None) -> Variable:
    """The global step, created on first use."""
    return get_global_step(graph) or create_global_step(graph)


def exponential_decay(learning_rate: float, global_step: Any, decay_steps: int, decay_rate: float,
                      staircase: bool = False, name: str | None = None) -> Tensor:
    """`learning_rate * decay_rate ** (global_step / decay_steps)` (floored with `staircase`)."""
    if global_step is None:
        raise ValueError("global_step is required for exponential_decay.")

    def schedule(step: Tensor) -> Tensor:
        p = float(step) / float(decay_steps)
        if staircase:
            p = math.floor(p)
        return Tensor(np.asarray(learning_rate * decay_rate ** p, dtype=np.float32))

    return graph_call(schedule, (global_step,), name=name or "ExponentialDecay", specs=[((), "float32")])


def piecewise_constant(x: Any, boundaries: list, values: list, name: str | None = None) -> Tensor:
    """`values[i]` for `boundaries[i-1] < x <= boundaries[i]` (`values[0]` below the first)."""
    if len(values) != len(boundaries) + 1:
        raise ValueError("The length of boundaries should be 1 less than the length of values")

    def schedule(step: Tensor) -> Tensor:
        s = float(step)
        i = 0
        while i < len(boundaries) and s > boundaries[i]:
            i += 1
        return Tensor(np.asarray(values[i], dtype=np.float32))

    return graph_call(schedule, (x,), name=name or "PiecewiseConstant", specs=[((), "float32")])


piecewise_constant_decay = piecewise_constant


def _decay(name: str, global_step: Any, fn: Any) -> Tensor:
    """A float32 scalar node computing `fn(step)` from `global_step` at every Session.run."""
    if global_step is None:
        raise ValueError(f"global_step is required for {name}.")

    def schedule(step: Tensor) -> Tensor:
        return Tensor(np.asarray(fn(float(step)), dtype=np.float32))

    return graph_call(schedule, (global_step,), name=name, specs=[((), "float32")])


def cosine_decay(learning_rate: float, global_step: Any, decay_steps: int, alpha: float = 0.0,
                 name: str | None = None) -> Tensor:
    """Cosine decay from `learning_rate` to `alpha * learning_rate` over `decay_steps` (TF 1 form)."""
    def fn(step: float) -> float:
        p = min(step, decay_steps) / decay_steps
        return learning_rate * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * p)) + alpha)

    return _decay(name or "CosineDecay", global_step, fn)


def cosine_decay_restarts(learning_rate: float, global_step: Any, first_decay_steps: int, t_mul: float = 2.0,
                          m_mul: float = 1.0, alpha: float = 0.0, name: str | None = None) -> Tensor:
    """Cosine decay with warm restarts (SGDR): periods growing by `t_mul`, peaks scaled by `m_mul`."""
    def fn(step: float) -> float:
        done = step / first_decay_steps
        if t_mul == 1.0:
            i = math.floor(done)
            done -= i
        else:
            i = math.floor(math.log(1 - done * (1 - t_mul)) / math.log(t_mul))
            total = (1 - t_mul ** i) / (1 - t_mul)
            done = (done - total) / t_mul ** i
        cosine = 0.5 * (m_mul ** i) * (1 + math.cos(math.pi * done))
        return learning_rate * ((1 - alpha) * cosine + alpha)

    return _decay(name or "SGDRDecay", global_step, fn)


def inverse_time_decay(learning_rate: float, global_step: Any, decay_steps: int, decay_rate: float,
                       staircase: bool = False, name: str | None = None) -> Tensor:
    """`learning_rate / (1 + decay_rate * step / decay_steps)` (floored ratio with `staircase`)."""
    def fn(step: float) -> float:
        p = step / decay_steps
        return learning_rate / (1 + decay_rate * (math.floor(p) if staircase else p))

    return _decay(name or "InverseTimeDecay", global_step, fn)


def natural_exp_decay(learning_rate: float, global_step: Any, decay_steps: int, decay_rate: float,
                      staircase: bool = False, name: str | None = None) -> Tensor:
    """`learning_rate * exp(-decay_rate * step / decay_steps)` (floored ratio with `staircase`)."""
    def fn(step: float) -> float:
        p = step / decay_steps
        return learning_rate * math.exp(-decay_rate) ** (math.floor(p) if staircase else p)

    return _decay(name or "ExponentialDecay", global_step, fn)


def polynomial_decay(learning_rate: float, global_step: Any, decay_steps: int, end_learning_rate: float = 0.0001,
                     power: float = 1.0, cycle: bool = False, name: str | None = None) -> Tensor:
    """Polynomial decay to `end_learning_rate` over `decay_steps` (restarting with `cycle`)."""
    def fn(step: float) -> float:
        steps = decay_steps
        if cycle:
            steps = decay_steps * max(1.0, math.ceil(step / decay_steps))
        else:
            step = min(step, decay_steps)
        return (learning_rate - end_learning_rate) * (1 - step / steps) ** power + end_learning_rate

    return _decay(name or "PolynomialDecay", global_step, fn)


def linear_cosine_decay(learning_rate: float, global_step: Any, decay_steps: int, num_periods: float = 0.5,
                        alpha: float = 0.0, beta: float = 0.001, name: str | None = None) -> Tensor:
    """Linear times cosine decay (arXiv:1709.07417): ((alpha + linear) * cosine + beta) * lr."""
    def fn(step: float) -> float:
        step = min(step, decay_steps)
        linear = (decay_steps - step) / decay_steps
        cosine = 0.5 * (1 + math.cos(math.pi * 2 * num_periods * step / decay_steps))
        return learning_rate * ((alpha + linear) * cosine + beta)

    return _decay(name or "LinearCosineDecay", global_step, fn)


# -- Saver ----------------------------------------------------------------------------------------

class Saver:
    """Save and restore variable values by name (`tf.train.Saver`): a name-based checkpoint.

    `save(sess, "dir/model.ckpt", global_step=100)` writes the checkpoint `dir/model.ckpt-100`
    (Tapeflow's checkpoint files, each tensor keyed by its variable's name as TF's Saver keys it:
    `scoped/c`) and returns that prefix, which `restore`, `tf.train.load_checkpoint`,
    `tf.train.list_variables`, `tf.train.Checkpoint.restore` (matching by name) and
    `latest_checkpoint("dir")` understand. `restore` also reads TF's own Saver checkpoints.
    """

    def __init__(self, var_list: Any = None, max_to_keep: int = 5, **kwargs: Any) -> None:
        if isinstance(var_list, dict):
            self._vars = dict(var_list)
            items = []
        else:
            items = (global_variables() + get_default_graph().get_collection(GraphKeys.SAVEABLE_OBJECTS)
                     if var_list is None else list(var_list))
            self._vars = {v.name.split(":")[0]: v for v in items if not hasattr(v, "save_value")}
        # Saveable objects (tf.data.experimental.make_saveable_from_iterator): their own arrays.
        self._saveables = {s.key: s for s in items if hasattr(s, "save_value")}
        self._max_to_keep = max_to_keep
        self._kept: list = []

    def save(self, sess: Any, save_path: str, global_step: Any = None, latest_filename: str | None = None,
             write_meta_graph: bool = True, **kwargs: Any) -> str:
        """Write the variables; returns the checkpoint prefix. (No `.meta` graph file is written:
        Tapeflow has no MetaGraphDef; `write_meta_graph` changes nothing.)"""
        from tapeflow.train import format as ckpt_format
        from tapeflow.train import state as ckpt_state

        if global_step is not None:
            step = global_step if isinstance(global_step, int) else int(np.asarray(sess.run(global_step)))
            prefix = f"{save_path}-{step}"
        else:
            prefix = save_path
        arrays = {name: np.asarray(engine_variable(v, "Saver").numpy()) for name, v in self._vars.items()}
        arrays.update({key: np.asarray(s.save_value()) for key, s in self._saveables.items()})
        ckpt_format.write(prefix, [{"children": [], "key": None}], arrays)
        if prefix in self._kept:
            self._kept.remove(prefix)
        self._kept.append(prefix)
        while self._max_to_keep and len(self._kept) > self._max_to_keep:
            old = self._kept.pop(0)
            for suffix in (ckpt_format.INDEX_SUFFIX, ckpt_format.DATA_SUFFIX):
                if os.path.exists(old + suffix):
                    os.remove(old + suffix)
        folder = os.path.dirname(os.path.abspath(prefix))
        ckpt_state.update(folder, os.path.abspath(prefix), [os.path.abspath(p) for p in self._kept])
        if latest_filename and latest_filename != ckpt_state.STATE_FILE:
            os.replace(os.path.join(folder, ckpt_state.STATE_FILE), os.path.join(folder, latest_filename))
        return prefix

    def restore(self, sess: Any, save_path: str) -> None:
        """Assign the saved values to the variables (by name)."""
        from tapeflow.train import format as ckpt_format
        from tapeflow.train import tf_bundle

        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        save_path = os.fspath(save_path)
        legacy = save_path if save_path.endswith(".npz") else save_path + ".npz"
        if ckpt_format.exists(save_path) or tf_bundle.is_tf_bundle(save_path):
            reader = ckpt_format.open_reader(save_path)
            values = {}
            for key in [*self._vars, *self._saveables]:
                if not reader.has_tensor(key):
                    raise errors.NotFoundError(f"Restoring from checkpoint failed: Key {key} not found in "
                                               f"checkpoint {save_path}")
                values[key] = reader.get_tensor(key)
        elif os.path.exists(legacy):  # written by an earlier Tapeflow as one .npz file
            with np.load(legacy, allow_pickle=False) as data:
                missing = [n for n in [*self._vars, *self._saveables] if n not in data.files]
                if missing:
                    raise errors.NotFoundError(f"Restoring from checkpoint failed: Key {missing[0]} not found in "
                                               f"checkpoint {save_path}")
                values = {n: data[n] for n in [*self._vars, *self._saveables]}
        else:
            raise ValueError(f"The passed save_path is not a valid checkpoint: {save_path}")
        for name, v in self._vars.items():
            var = engine_variable(v, "Saver")
            var.assign(np.asarray(values[name]).astype(var.dtype._np, copy=False))
        for key, s in self._saveables.items():
            s.restore_value(values[key])


def init_from_checkpoint(ckpt_dir_or_file: str, assignment_map: Any) -> None:
    """Make variables start from a checkpoint's values (`tf.compat.v1.train.init_from_checkpoint`).

    `assignment_map` (a dict or a list of pairs) maps checkpoint names to the current graph's
    variables: `'ckpt_scope/': 'scope/'` every checkpoint tensor under the scope to the variable of
    the same name under `scope/` (`'/'` is the checkpoint's root), `'ckpt/name': 'scope/var'` one
    tensor to one variable, `'ckpt/name': variable` (or a list of partitions) a tensor to a given
    variable. TF 1 graph variables get the value as their initializer (loaded when
    `global_variables_initializer()` runs, as TF); eager variables are assigned now.
    """
    from tapeflow.compat.v1 import variables as v1vars
    from tapeflow.tensor import Variable as EagerVariable
    from tapeflow.train import load_checkpoint

    reader = load_checkpoint(ckpt_dir_or_file)  # (a directory means its latest checkpoint)
    path = reader.prefix
    shapes = reader.get_variable_to_shape_map()
    pairs = list(assignment_map.items()) if isinstance(assignment_map, dict) else list(assignment_map)
    graph_vars = {v.name.split(":")[0]: v for v in v1vars.global_variables()}

    def start_from(var: Any, key: str) -> None:
        value = np.asarray(reader.get_tensor(key))
        if tuple(value.shape) != tuple(var.shape):
            raise ValueError(f"Shape of variable {var.name} ({tuple(var.shape)}) doesn't match with shape of "
                             f"tensor {key} ({list(value.shape)}) from checkpoint reader.")
        value = value.astype(var.dtype._np, copy=False)
        if isinstance(var, v1vars.Variable):
            var._init = Tensor(value)
        elif isinstance(var, EagerVariable):
            var.assign(value)
        else:
            raise TypeError(f"init_from_checkpoint: expected a variable for {key!r}, received {var!r}.")

    for ckpt_name, target in pairs:
        if not isinstance(target, str):
            parts = target if isinstance(target, (list, tuple)) else [target]
            if ckpt_name not in shapes:
                raise ValueError(f"Tensor {ckpt_name} is not found in {path} checkpoint {shapes}")
            if len(parts) == 1:
                start_from(parts[0], ckpt_name)
                continue
            value = np.asarray(reader.get_tensor(ckpt_name))
            offset = 0
            for part in parts:  # partitions split the first axis, in order
                n = int(part.shape[0])
                piece = value[offset:offset + n]
                offset += n
                if isinstance(part, v1vars.Variable):
                    part._init = Tensor(piece.astype(part.dtype._np, copy=False))
                else:
                    part.assign(piece)
            continue
        if ckpt_name.endswith("/") or ckpt_name == "/":
            if target and not target.endswith("/"):
                raise ValueError(f"Assignment map with scope only name {ckpt_name} should map to scope only "
                                 f"{target}. Should be 'scope/': 'other_scope/'.")
            src = "" if ckpt_name == "/" else ckpt_name
            for key in shapes:
                if not key.startswith(src):
                    continue
                var = graph_vars.get(target + key[len(src):])
                if var is not None:
                    start_from(var, key)
            continue
        if ckpt_name not in shapes:
            raise ValueError(f"Tensor {ckpt_name} is not found in {path} checkpoint {shapes}")
        var = graph_vars.get(target)
        if var is None:
            raise ValueError(f"Tensor {target} is not found in the current graph's global variables.")
        start_from(var, ckpt_name)


def latest_checkpoint(checkpoint_dir: str, latest_filename: str | None = None) -> str | None:
    """The prefix of the last checkpoint saved in `checkpoint_dir`, or None."""
    path = os.path.join(checkpoint_dir, latest_filename or "checkpoint")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        for line in f:
            if line.startswith("model_checkpoint_path:"):
                name = line.split(":", 1)[1].strip().strip('"')
                return os.path.join(checkpoint_dir, name)
    return None


__all__ = [
    "Optimizer", "GradientDescentOptimizer", "MomentumOptimizer", "AdamOptimizer", "RMSPropOptimizer",
    "AdagradOptimizer", "get_global_step", "create_global_step", "get_or_create_global_step",
    "exponential_decay", "piecewise_constant", "Saver", "latest_checkpoint", "init_from_checkpoint",
]


_HOOK_MODULES = {
    "session_run_hook": ("SessionRunHook", "SessionRunArgs", "SessionRunContext", "SessionRunValues"),
    "basic_session_run_hooks": ("StopAtStepHook", "LoggingTensorHook", "CheckpointSaverHook",
                                "CheckpointSaverListener", "StepCounterHook",
                                "SummarySaverHook", "NanTensorHook", "NanLossDuringTrainingError", "FeedFnHook",
                                "FinalOpsHook", "SecondOrStepTimer"),
    "training_util": ("global_step", "assert_global_step", "checkpoint_exists", "get_checkpoint_mtimes",
                      "remove_checkpoint", "summary_iterator"),
    "monitored_session": ("MonitoredSession", "SingularMonitoredSession", "MonitoredTrainingSession", "Scaffold",
                          "SessionCreator", "ChiefSessionCreator"),
}


def __getattr__(name: str) -> object:
    for module, names in _HOOK_MODULES.items():
        if name in names:
            import importlib

            return getattr(importlib.import_module(f"tapeflow.compat.v1.{module}"), name)
    # TF 1 names that are TF 2 objects (the generated table compat/v1/v2_names.py), on first use.
    from tapeflow.compat.v1.v2_alias import lookup

    return lookup("train", name)
