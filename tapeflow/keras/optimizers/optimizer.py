"""`keras.optimizers.Optimizer`: the base class (learning rate, clipping, weight decay, EMA,
gradient accumulation, constraints, `iterations`) shared by every optimizer.

Built-in optimizers update the variables' arrays in place with array operations (`var._value`,
NumPy or CuPy): no tape recording, no new parameter arrays per step. A subclass implements
`build(var_list)` (creating its slot variables) and `_update(g, w, slots)` on arrays; a user
subclass may instead override Keras's `update_step(gradient, variable, learning_rate)` with
tensor operations and `self.assign*`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow import backend as _backend
from tapeflow import tensor as _tensor
from tapeflow import tracking as _tracking
from tapeflow.distribute import training as _distribute
from tapeflow.distribute.context import _state as _distribute_state
from tapeflow.keras import backend as _kbackend
from tapeflow.keras.optimizers import schedules as _schedules
from tapeflow.tensor import Tensor, Variable
from tapeflow.tracing import func_graph as _func_graph
from tapeflow.tracing import state as _trace_state

# NOTE: optimizer state (moments of weights whose gradient stays zero) decays geometrically and
# then sticks in the denormal range, where NumPy arithmetic is several times slower. Every
# _FLUSH_EVERY steps the state arrays are flushed with (a + c) - c: c is so large that every
# denormal rounds away, and so small that normal-sized values are unchanged.
_FLUSH_EVERY = 100
_FLUSH_CONSTANT = {
    np.dtype(np.float32): float(np.finfo(np.float32).tiny) * 2.0**24,
    np.dtype(np.float64): float(np.finfo(np.float64).tiny) * 2.0**53,
}


def _snake(name: str) -> str:
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _to_float(value: Any) -> float:
    if isinstance(value, Tensor):
        return float(np.asarray(value.numpy()))
    return float(value)


_BASE_ARGUMENTS = ("learning_rate", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema",
                   "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps",
                   "name")


def base_arguments(arguments: dict) -> dict:
    """The base `Optimizer.__init__` arguments found in a subclass `__init__`'s `locals()`, with its
    `**kwargs`: subclasses keep Keras's explicit signatures and pass them on with
    `super().__init__(**base_arguments(locals()))`."""
    out = {k: arguments[k] for k in _BASE_ARGUMENTS if k in arguments}
    out.update(arguments.get("kwargs") or {})
    return out


class Optimizer:
    """Base class of optimizers (Keras 3 API).

    Args:
        learning_rate: a float, a `LearningRateSchedule`, or a zero-argument callable.
        weight_decay: if set, each step first shrinks weights by `weight * weight_decay * lr`.
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient element to [-clipvalue, clipvalue].
        global_clipnorm: clip all gradients together to this global L2 norm.
        use_ema: keep an exponential moving average of the weights.
        ema_momentum: the EMA's momentum.
        ema_overwrite_frequency: every this many steps, overwrite the weights with their EMA.
        loss_scale_factor: gradients are divided by it (use `scale_loss` on the loss).
        gradient_accumulation_steps: apply the mean of this many steps' gradients at once.
        name: optional name (default: the snake-case class name, made unique).

    Only one of `clipnorm`, `clipvalue` and `global_clipnorm` may be set.
    """

    _slot_attrs: tuple = ()

    def __init__(self, learning_rate: Any, weight_decay: float | None = None, clipnorm: float | None = None,
                 clipvalue: float | None = None, global_clipnorm: float | None = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: int | None = None,
                 loss_scale_factor: float | None = None, gradient_accumulation_steps: int | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=3)
        if "lr" in kwargs:
            warnings.warn("Argument `lr` is deprecated: use `learning_rate`.", stacklevel=3)
            learning_rate = kwargs.pop("lr")
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        self.name = name or _kbackend.unique_name(_snake(type(self).__name__))
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.clipvalue = clipvalue
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        if gradient_accumulation_steps is not None and not gradient_accumulation_steps >= 2:
            raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. Received: "
                             f"gradient_accumulation_steps={gradient_accumulation_steps}")
        if use_ema:
            if not 0 <= ema_momentum <= 1:
                raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: "
                                 f"ema_momentum={ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                                 f"ema_overwrite_frequency={ema_overwrite_frequency}")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
            )
        self.built = False
        self._variables: list = []
        self._trainable_variables: list = []
        self._index: dict[int, int] = {}
        self._slot_table: list | None = None
        # During a distributed fit the slots may be kept sharded: each worker holds only its own
        # chunks up to date (distribute/sharded_update.ShardedSlots); reading the state gathers them.
        self._sharded_slots: Any = None
        self._flush_countdown = _FLUSH_EVERY
        self._exclude_ids: set = set()
        self._exclude_pattern: Any = None
        self._wd_cache: dict[int, bool] = {}
        self._iterations = _host_variable(np.int64(0), f"{self.name}/iteration")
        self._variables.append(self._iterations)
        self._learning_rate: Any = None
        self._set_learning_rate(learning_rate)

    # -- learning rate ------------------------------------------------------------------------
    def _set_learning_rate(self, learning_rate: Any) -> None:
        current = self._learning_rate
        if isinstance(learning_rate, _schedules.LearningRateSchedule) or (
                callable(learning_rate) and not isinstance(learning_rate, Tensor)):
            if isinstance(current, Variable):
                self._variables = [v for v in self._variables if v is not current]
            self._learning_rate = learning_rate
            return
        if isinstance(current, _schedules.LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not settable. If you "
                "need the learning rate to be settable, you should instantiate the optimizer with a "
                "float `learning_rate` argument."
            )
        try:
            value = _to_float(learning_rate)
        except (TypeError, ValueError):
            raise ValueError(
                "Argument `learning_rate` should be float, or an instance of LearningRateSchedule, or "
                "a callable (that takes in the current iteration value and returns the corresponding "
                f"learning rate value). Received instead: learning_rate={learning_rate!r}"
            ) from None
        if isinstance(current, Variable):
            current.assign(value)
            return
        var = _host_variable(np.asarray(value, dtype=_kbackend.floatx()), f"{self.name}/learning_rate")
        self._learning_rate = var
        self._variables.insert(1, var)

    @property
    def learning_rate(self) -> Any:
        """The learning rate: a variable (float learning rates), or the schedule's current value."""
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            return lr(self._iterations)
        if isinstance(lr, Variable):
            return lr
        return lr()

    @learning_rate.setter
    def learning_rate(self, learning_rate: Any) -> None:
        self._set_learning_rate(learning_rate)

    lr = learning_rate  # Keras 2 name

    def _current_lr(self) -> float:
        """The learning rate for this step as a Python float."""
        lr = self._learning_rate
        if type(lr) is Variable:
            return float(lr._value)
        if isinstance(lr, _schedules.LearningRateSchedule):
            return lr._value(int(self._iterations._value))
        if isinstance(lr, Variable):
            return float(lr._value)
        return _to_float(lr())

    # -- iterations ---------------------------------------------------------------------------
    @property
    def iterations(self) -> Any:
        """The number of update steps applied so far (an int64 variable)."""
        if self.gradient_accumulation_steps:
            return tf.constant(int(self._iterations._value) // self.gradient_accumulation_steps,
                               dtype=tf.int64)
        return self._iterations

    @iterations.setter
    def iterations(self, value: Any) -> None:
        self._iterations.assign(np.int64(_to_float(value)))

    def _step(self) -> int:
        """`iterations` as an int (counting accumulated steps as one)."""
        n = int(self._iterations._value)
        steps = self.gradient_accumulation_steps
        return n // steps if steps else n

    # -- variables ----------------------------------------------------------------------------
    @property
    def variables(self) -> list:
        """All optimizer state: iterations, the learning rate variable, then slot variables."""
        if self._sharded_slots is not None:
            self._sharded_slots.gather()
        return self._variables[:]

    def _checkpoint_children(self) -> list:
        """The checkpoint edges (attributes), read with the whole state (sharded slots gathered)."""
        if self._sharded_slots is not None:
            self._sharded_slots.gather()
        return _tracking.attribute_children(self)

    def add_variable(self, shape: Any, initializer: Any = "zeros", dtype: Any = None,
                     aggregation: str = "none", layout: Any = None, name: str | None = None) -> Variable:
        """Create and track a non-trainable state variable."""
        from tapeflow.keras import initializers

        init = initializers.get(initializer)
        value = init(tuple(shape), dtype=tf.as_dtype(dtype or _kbackend.floatx()))
        var = Variable(value, trainable=False, name=name or "variable")
        self._variables.append(var)
        return var

    def add_variable_from_reference(self, reference_variable: Any, name: str | None = None,
                                    initializer: Any = "zeros") -> Variable:
        """A state variable with the shape, dtype and device of `reference_variable`."""
        path = getattr(reference_variable, "path", None) or str(reference_variable.name).split(":")[0]
        full = f"{path.replace('/', '_')}_{name or 'var'}"
        ref = reference_variable._value
        xp = _backend.get_xp(ref)
        if isinstance(initializer, str) and initializer in ("zeros", "zero", "Zeros"):
            value = xp.zeros_like(ref)
        else:
            from tapeflow.keras import initializers

            init = initializers.get(initializer)
            value = init(tuple(ref.shape), dtype=tf.as_dtype(ref.dtype.name))._value
            value = _backend.asarray(value, ref.dtype, xp)
        var = Variable(value, trainable=False, name=full)
        self._variables.append(var)
        return var

    def add_optimizer_variables(self, trainable_variables: list, name: Any,
                                initializer: Any = "zeros") -> Any:
        """One state variable per trainable variable (for each name in `name`), interleaved as
        Keras does; returns a list (or a tuple of lists when `name` is a list)."""
        names = [name] if isinstance(name, str) else list(name)
        inits = initializer if isinstance(initializer, (list, tuple)) else [initializer] * len(names)
        if len(names) != len(inits):
            raise ValueError(f"The number of provided names must match the number of provided "
                             f"initializers. Received name={name!r}, initializer={initializer!r}")
        out: tuple = tuple([] for _ in names)
        for var in trainable_variables:
            for i, (n, init) in enumerate(zip(names, inits, strict=True)):
                out[i].append(self.add_variable_from_reference(var, name=n, initializer=init))
        return out[0] if isinstance(name, str) else out

    def build(self, var_list: list) -> None:
        """Register the trainable variables and create the optimizer's state for them."""
        var_list = list(var_list)
        if self.use_ema:
            self._model_variables_moving_average = self.add_optimizer_variables(var_list, "average")
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = self.add_optimizer_variables(var_list, "gradient_accumulator")
        self._index = {id(v): i for i, v in enumerate(var_list)}
        self._trainable_variables = var_list
        self._slot_table = None
        self._sharded_slots = None
        self.built = True

    def _get_variable_index(self, variable: Any) -> int:
        return self._index[id(variable)]

    def _var_key(self, variable: Any) -> int:
        return id(variable)

    def _make_slot_table(self) -> list:
        n = len(self._trainable_variables)
        cols = [getattr(self, a) for a in self._slot_attrs]
        table = [tuple(col[i] for col in cols) for i in range(n)]
        self._slot_table = table
        self._custom_update = type(self).update_step is not Optimizer.update_step
        return table

    def set_weights(self, weights: list) -> None:
        """Set the optimizer state from a list of arrays (in `variables` order)."""
        if not self.built:
            raise ValueError(
                "You are calling `set_weights()` on an optimizer that has not yet been built. Please "
                "call `optimizer.build(trainable_variables)` to create the optimizer weights before "
                "calling `set_weights()`."
            )
        for var, w in zip(self.variables, weights, strict=False):
            if tuple(var.shape) != tuple(np.shape(w)):
                raise ValueError(f"Optimizer variable {var.name} has shape {tuple(var.shape)} not "
                                 f"compatible with provided weight shape {tuple(np.shape(w))}.")
            var.assign(w)

    def get_weights(self) -> list:
        """The optimizer state as NumPy arrays (in `variables` order)."""
        return [v.numpy() for v in self.variables]

    def save_own_variables(self, store: dict) -> None:
        for i, var in enumerate(self.variables):
            store[str(i)] = var.numpy()

    def load_own_variables(self, store: dict) -> None:
        variables = self.variables
        if len(store.keys()) != len(variables):
            warnings.warn(
                f"Skipping variable loading for optimizer '{self.name}', because it has "
                f"{len(variables)} variables whereas the saved optimizer has {len(store.keys())} "
                "variables.",
                stacklevel=2,
            )
            return
        for i, var in enumerate(variables):
            var.assign(store[str(i)])

    # -- applying gradients -------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars: Iterable) -> Variable:
        """Apply `(gradient, variable)` pairs; `None` gradients are skipped. Returns `iterations`."""
        pairs = list(grads_and_vars)
        if _trace_state.graphs and _trace_state.graphs[-1] is not None:
            # Inside tf.function: built now (its variables belong to the first trace, as in TF),
            # then one node that runs this update on every call.
            self.apply([p[0] for p in pairs], [p[1] for p in pairs])
            return self._iterations
        if not pairs:
            return self._iterations
        grads = [p[0] for p in pairs]
        variables = [p[1] for p in pairs]
        self.apply(grads, variables)
        return self._iterations

    def _build_in_trace(self, variables: Any) -> None:
        if not self.built and variables is not None:
            with _trace_state.suspended():
                self.build(list(variables))

    def apply(self, grads: list, trainable_variables: list | None = None) -> None:
        """Update `trainable_variables` (default: those the optimizer was built with) in place.

        Steps: (1) build on first use, (2) drop `None` gradients, (3) unscale, accumulate and clip
        the gradients, (4) weight decay, (5) the update rule, (6) constraints, (7) EMA,
        (8) `iterations += 1`.
        """
        if len(grads) == 0:
            return
        if _trace_state.graphs and _trace_state.graphs[-1] is not None:
            self._apply_in_trace(list(grads), trainable_variables)
            return
        if _distribute_state.replica:  # tf.distribute: all-reduce the gradients across workers first
            if _distribute.apply_sharded(self, grads, trainable_variables):
                return  # (each worker updated its share of the weights, then all were shared)
            grads = _distribute.reduce_gradients(grads, self)
            if grads is None:
                return  # (a replica of this process before the last: the last one applies all)
        if self._sharded_slots is not None:  # a replicated update needs the whole state
            self._sharded_slots.gather()
        # 1. Build on first use; check the variables are known.
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer must already be built on "
                    "a list of variables. Call `optimizer.build(trainable_variables)` first."
                )
            if len(grads) != len(self._trainable_variables):
                raise ValueError(
                    f"When passing `grads` as a list of gradient tensors, the gradients must match the "
                    f"optimizer's variables one-to-one. Received a list of {len(grads)} gradients, but "
                    f"the optimizer is tracking {len(self._trainable_variables)} trainable variables."
                )
            trainable_variables = self._trainable_variables
        elif not self.built:
            self.build(list(trainable_variables))
        if any(getattr(v, "_overwrite", False) for v in trainable_variables):
            grads, trainable_variables = self._overwrite_with_gradients(list(grads), list(trainable_variables))
            if not grads:
                self._count_step()
                return
        if _tensor._assign_hooks:  # inside keras.StatelessScope: the step changes the scope's copies
            _tensor.notify_writes([*trainable_variables, *self.variables])
        table = self._slot_table
        if table is None:
            table = self._make_slot_table()
        index = self._index
        if self._plain_update():
            self._apply_plain(grads, trainable_variables, table, index)
            return
        # 2. Arrays of the non-None gradients, with their variables and slots.
        garrs = []
        warrs = []
        variables = []
        slots = []
        missing = None
        for g, v in zip(grads, trainable_variables, strict=True):
            i = index.get(id(v))
            if i is None:
                raise _unknown_variable(v)
            if g is None:
                if missing is None:
                    missing = []
                missing.append(v.name)
                continue
            w = v._value
            ga = g._value if isinstance(g, Tensor) else _backend.asarray(g, w.dtype, _backend.get_xp(w))
            if ga.dtype != w.dtype:
                ga = ga.astype(w.dtype)
            garrs.append(ga)
            warrs.append(w)
            variables.append(v)
            slots.append(table[i])
        if not garrs:
            raise ValueError("No gradients provided for any variable.")
        if missing:
            _warn_missing(missing)
        # 3. Unscale; accumulate (most steps end here); clip.
        if self.loss_scale_factor is not None:
            garrs = [g / self.loss_scale_factor for g in garrs]
        if self.gradient_accumulation_steps:
            garrs = self._accumulate(garrs, variables)
        if garrs is not None:
            if self.clipnorm or self.global_clipnorm or self.clipvalue:
                garrs = self._clip_arrays(garrs)
            lr = self._current_lr()
            # 4. Weight decay.
            if self._decays_weights():
                self._apply_weight_decay_arrays(variables, warrs, lr)
            # 5. The update rule.
            if self._custom_update:
                lr_t = tf.constant(lr, dtype=_kbackend.floatx())
                for g, v in zip(garrs, variables, strict=True):
                    self.update_step(Tensor(g), v, lr_t)
            else:
                self._update_all(garrs, warrs, slots, lr)
        # 6. Constraints (on an untracked view, so no tape ever records them).
        for v in variables:
            c = v.constraint
            if c is not None:
                v.assign(c(Tensor(v._value)))
        # 7. Moving average of the weights.
        if self.use_ema:
            self._update_ema()
        # 8. Count the step; now and then flush denormals out of the state.
        self._count_step()

    def stateless_apply(self, optimizer_variables: list, grads: list, trainable_variables: list) -> tuple:
        """`apply` on given values instead of the variables' own (Keras 3's functional API).

        Args:
            optimizer_variables: values for `self.variables`, in that order.
            grads: one gradient per trainable variable.
            trainable_variables: values for the variables the optimizer was built with.

        Returns:
            (new trainable values, new optimizer values), as lists of tensors; the optimizer's
            and the model's variables keep their own values.

        Keras's TensorFlow backend refuses this method (tf.distribute cannot run it); Tapeflow
        runs it as Keras's JAX backend documents it, eagerly.
        """
        if not self.built:
            raise ValueError(f"To call `stateless_apply`, {type(self).__name__} must be built (i.e. its variables "
                             "must have been created). You can build it via `optimizer.build(trainable_variables)`.")
        if _trace_state.graphs and _trace_state.graphs[-1] is not None:
            raise RuntimeError(f"{type(self).__name__}.stateless_apply runs eagerly (it swaps the variables' arrays); "
                               "inside tf.function, call `apply` on the variables instead.")
        from tapeflow.keras import stateless_values

        own = self.variables
        stateless_values.check_count("optimizer_variables", type(self).__name__, optimizer_variables, own)
        targets = list(self._trainable_variables)
        if len(trainable_variables) != len(targets):
            raise ValueError("Argument `trainable_variables` must be a list of tensors corresponding 1:1 to the "
                             "trainable variables list that the optimizer was built with. Received "
                             f"len(trainable_variables) == {len(trainable_variables)} whereas the optimizer was "
                             f"built with {len(targets)} variables.")
        with stateless_values.substituted(targets + own, list(trainable_variables) + list(optimizer_variables)):
            self.apply(list(grads))
            return stateless_values.current_values(targets), stateless_values.current_values(own)

    def _apply_in_trace(self, grads: list, trainable_variables: list | None) -> None:
        """`apply` inside a tf.function: one stateful node that updates the variables' arrays
        on every replay (as TF's graph holds one ResourceApply op per variable). Which
        gradients are None is known at trace time, so that check and its warning happen once."""
        self._build_in_trace(trainable_variables)
        variables = list(trainable_variables) if trainable_variables is not None else list(self._trainable_variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"Optimizer.apply: expected one gradient per variable, received {len(grads)} gradients "
                f"for {len(variables)} variables."
            )
        kept = [(g, v) for g, v in zip(grads, variables, strict=True) if g is not None]
        if not kept:
            raise ValueError("No gradients provided for any variable.")
        missing = [v.name for g, v in zip(grads, variables, strict=True) if g is None]
        if missing:
            _warn_missing(missing)
        tensors = [g if isinstance(g, Tensor) else tf.convert_to_tensor(g, dtype=v.dtype) for g, v in kept]
        targets = [v for _, v in kept]

        casts = [None if t.dtype == v.dtype else v.dtype._np for t, v in zip(tensors, targets, strict=True)]
        if self._traces_update_step(targets, casts):
            lr = self._learning_rate_in_trace()
            for g, v in zip(tensors, targets, strict=True):
                self.update_step(g, v, lr)
            self._iterations.assign_add(1)
            return
        if (type(self).apply is not Optimizer.apply or any(v.constraint is not None for v in targets)
                or any(casts) or any(v.overwrite_with_gradient for v in targets)):
            def update(*garrs: Any) -> None:
                self.apply(list(garrs), targets)
        else:
            update = self._plain_replay(targets)
        node = _func_graph.lift_array_call(update, tensors, name="apply", captured=targets)
        node.optimizer = (self, targets)  # what a SavedModel saves instead of `update`

    def _traces_update_step(self, targets: list, casts: list) -> bool:
        """Whether a custom `update_step` is traced into the graph as the ops it runs (so the step
        is primitives and assignments, as in TF, and saves without the Python class): a custom
        update rule with nothing else around it (clipping, decay, EMA, accumulation, loss
        scaling, constraints, casts, overwrite-with-gradient variables, a distribution strategy,
        a learning-rate schedule)."""
        custom = type(self).update_step is not Optimizer.update_step
        if not custom or type(self).apply is not Optimizer.apply or any(casts):
            return False
        if any(v.constraint is not None or v.overwrite_with_gradient for v in targets):
            return False
        if _distribute_state.replica or tf.distribute.has_strategy():
            return False
        if not isinstance(self._learning_rate, Variable):  # schedules give Python floats: read at replay
            return False
        return not (self.gradient_accumulation_steps or self.clipnorm or self.global_clipnorm or self.clipvalue
                    or self._decays_weights() or self.use_ema or self.loss_scale_factor is not None)

    def _learning_rate_in_trace(self) -> Tensor:
        """This step's learning rate as a graph tensor: the learning-rate variable, read on every
        replay (so `optimizer.learning_rate = ...` between calls takes effect)."""
        return tf.cast(self._learning_rate, _kbackend.floatx())

    def _plain_update(self) -> bool:
        """Whether `apply` is the update rule alone: no custom `update_step`, accumulation,
        clipping, weight decay, EMA or loss scaling."""
        custom = self.__dict__.get("_custom_update")
        if custom is None:  # (not built yet)
            custom = type(self).update_step is not Optimizer.update_step
        return not (custom or self.gradient_accumulation_steps or self.clipnorm
                    or self.global_clipnorm or self.clipvalue or self._decays_weights() or self.use_ema
                    or self.loss_scale_factor is not None)

    def _plain_replay(self, targets: list) -> Any:
        """The replayed update for gradients whose dtypes match their unconstrained variables
        (checked at trace time): the plain update rule straight on the arrays, with the full
        `apply` taken whenever the configuration needs more (clipping, decay, EMA, ...), a
        distribution strategy has gradients to all-reduce first, or a keras.StatelessScope
        takes the writes."""

        def update(*garrs: Any) -> None:
            if (_distribute_state.replica or _tensor._assign_hooks or self._sharded_slots is not None
                    or not self._plain_update()):
                self.apply(list(garrs), targets)
                return
            table = self._slot_table
            if table is None:
                table = self._make_slot_table()
            index = self._index
            self._prepare(self._current_lr())
            rule = self._update
            for g, v in zip(garrs, targets, strict=True):
                i = index.get(id(v))
                if i is None:
                    raise _unknown_variable(v)
                w = v._value
                if type(g) is not type(w):
                    g = _backend.asarray(g, w.dtype, _backend.get_xp(w))
                rule(g, w, table[i])
            self._count_step()

        return update

    def _apply_plain(self, grads: list, trainable_variables: list, table: list, index: dict) -> None:
        """`apply` without clipping, decay, accumulation or EMA: one pass, no intermediate lists."""
        self._prepare(self._current_lr())
        update = self._update
        applied = 0
        missing = None
        for g, v in zip(grads, trainable_variables, strict=True):
            i = index.get(id(v))
            if i is None:
                raise _unknown_variable(v)
            if g is None:
                if missing is None:
                    missing = []
                missing.append(v.name)
                continue
            w = v._value
            if type(g) is type(w):
                ga = g
            else:
                ga = g._value if isinstance(g, Tensor) else _backend.asarray(g, w.dtype, _backend.get_xp(w))
            if ga.dtype != w.dtype:
                ga = ga.astype(w.dtype)
            update(ga, w, table[i])
            applied += 1
            c = v.constraint
            if c is not None:
                v.assign(c(Tensor(w)))
        if not applied:
            raise ValueError("No gradients provided for any variable.")
        if missing:
            _warn_missing(missing)
        self._count_step()

    def _count_step(self) -> None:
        it = self._iterations._value
        it[()] = int(it) + 1
        self._flush_countdown -= 1
        if self._flush_countdown <= 0:
            self._flush_countdown = _FLUSH_EVERY
            self._flush_denormals()

    def _update_all(self, garrs: list, warrs: list, slots: list, lr: float) -> None:
        """Apply the update rule to every variable (arrays, in place)."""
        self._prepare(lr)
        update = self._update
        for g, w, s in zip(garrs, warrs, slots, strict=True):
            update(g, w, s)

    def _prepare(self, lr: float) -> None:
        """Per-step scalars (bias corrections, ...) computed once for all variables."""
        self._lr = lr

    def _update(self, g: Any, w: Any, slots: tuple) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement `update_step` or `_update`.")

    def update_step(self, gradient: Any, variable: Variable, learning_rate: Any) -> None:
        """Apply the update rule to one variable (Keras's hook; override it with tensor ops in a
        custom optimizer, using `self.assign`, `assign_add`, `assign_sub`)."""
        if self._slot_table is None:
            self._make_slot_table()
        if self._sharded_slots is not None:
            self._sharded_slots.gather()
        slots = self._slot_table[self._get_variable_index(variable)]
        g = gradient._value if isinstance(gradient, Tensor) else np.asarray(gradient)
        self._prepare(_to_float(learning_rate))
        self._update(g.astype(variable._value.dtype, copy=False), variable._value, slots)

    def assign(self, variable: Variable, value: Any) -> None:
        variable.assign(tf.cast(value, variable.dtype) if isinstance(value, Tensor) else value)

    def assign_add(self, variable: Variable, value: Any) -> None:
        variable.assign_add(tf.cast(value, variable.dtype) if isinstance(value, Tensor) else value)

    def assign_sub(self, variable: Variable, value: Any) -> None:
        variable.assign_sub(tf.cast(value, variable.dtype) if isinstance(value, Tensor) else value)

    def minimize(self, loss: Any, var_list: Any, tape: Any = None) -> Variable:
        """Compute the gradients of `loss` (a zero-argument callable, or a tensor with `tape`) with
        respect to `var_list` (a list or a callable returning one) and apply them."""
        if callable(loss):
            with tf.GradientTape() as tape:
                if callable(var_list):
                    var_list = var_list()
                tape.watch(var_list)
                value = loss()
        else:
            if tape is None:
                raise ValueError("`tape` is required when a `Tensor` loss is passed. Received: "
                                 f"loss={loss!r}, tape={tape!r}.")
            value = loss
            if callable(var_list):
                var_list = var_list()
        var_list = list(var_list)
        grads = tape.gradient(value, var_list)
        return self.apply_gradients(zip(grads, var_list, strict=True))

    def scale_loss(self, loss: Any) -> Any:
        """`loss * loss_scale_factor` when a loss scale factor is set."""
        if self.loss_scale_factor is not None:
            return loss * self.loss_scale_factor
        return loss

    # -- helpers of `apply` -------------------------------------------------------------------
    def _clip_arrays(self, garrs: list) -> list:
        if self.clipnorm and self.clipnorm > 0:
            c = self.clipnorm
            out = []
            for g in garrs:
                xp = _backend.get_xp(g)
                norm = float(xp.sqrt((g * g).sum()))
                out.append(g * (c / max(norm, c)) if norm > c else g)
            return out
        if self.global_clipnorm and self.global_clipnorm > 0:
            c = self.global_clipnorm
            total = sum(float((g * g).sum()) for g in garrs)
            norm = float(np.sqrt(total))
            if not np.isfinite(norm):
                return [g * np.nan for g in garrs]
            scale = c * min(1.0 / norm if norm > 0 else np.inf, 1.0 / c)
            return [g * scale for g in garrs] if scale != 1.0 else garrs
        if self.clipvalue and self.clipvalue > 0:
            v = self.clipvalue
            return [_backend.get_xp(g).clip(g, -v, v) for g in garrs]
        return garrs

    def exclude_from_weight_decay(self, var_list: list | None = None, var_names: list | None = None) -> None:
        """Exempt variables (or variables whose name matches one of `var_names`) from weight decay."""
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the optimizer "
                             "is built.")
        self._exclude_ids = {id(v) for v in var_list} if var_list else set()
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None
        self._wd_cache = {}

    def _use_weight_decay(self, variable: Any) -> bool:
        key = id(variable)
        hit = self._wd_cache.get(key)
        if hit is None:
            hit = key not in self._exclude_ids and not (
                self._exclude_pattern is not None and self._exclude_pattern.search(variable.name))
            self._wd_cache[key] = hit
        return hit

    def _decays_weights(self) -> bool:
        """Whether `apply` runs the weight decay step (Muon also decays with `adam_weight_decay`)."""
        return bool(self.weight_decay)

    def _apply_weight_decay_arrays(self, variables: list, warrs: list, lr: float) -> None:
        factor = float(np.float32(lr) * np.float32(self.weight_decay))
        for v, w in zip(variables, warrs, strict=True):
            if self._use_weight_decay(v):
                w -= w * factor

    def _overwrite_with_gradients(self, grads: list, variables: list) -> tuple[list, list]:
        """Assign each `overwrite_with_gradient` variable its gradient (Keras's float8 scales and
        amax histories) and return the other pairs. With gradient accumulation the variable takes
        the maximum of the accumulated gradients on the update step, as in Keras."""
        kept_g, kept_v = [], []
        steps = self.gradient_accumulation_steps
        update_step = steps and (int(self._iterations._value) + 1) % steps == 0
        for g, v in zip(grads, variables, strict=True):
            if g is None or not v.overwrite_with_gradient:
                kept_g.append(g)
                kept_v.append(v)
                continue
            w = v._value
            arr = g._value if isinstance(g, Tensor) else _backend.asarray(g, w.dtype, _backend.get_xp(w))
            xp = _backend.get_xp(w)
            if steps:
                acc = self._accumulated_gradients[self._index[id(v)]]._value
                if update_step:
                    v.assign(xp.maximum(arr, acc).astype(w.dtype))
                    acc[...] = 0
                else:
                    acc[...] = xp.maximum(arr, acc)
            else:
                v.assign(arr.astype(w.dtype, copy=False))
        return kept_g, kept_v

    def _accumulate(self, garrs: list, variables: list) -> list | None:
        steps = self.gradient_accumulation_steps
        accs = [self._accumulated_gradients[self._index[id(v)]]._value for v in variables]
        if (int(self._iterations._value) + 1) % steps == 0:
            out = [(g + a) / steps for g, a in zip(garrs, accs, strict=True)]
            for a in accs:
                a[...] = 0
            return out
        for g, a in zip(garrs, accs, strict=True):
            a += g
        return None

    def _update_ema(self) -> None:
        momentum = self.ema_momentum if self._step() != 0 else 0.0
        for var, avg in zip(self._trainable_variables, self._model_variables_moving_average, strict=True):
            a = avg._value
            a *= momentum
            a += var._value * (1.0 - momentum)
        freq = self.ema_overwrite_frequency
        if freq and (self._step() + 1) % freq == 0:
            self._overwrite_model_variables_with_average_value(self._trainable_variables)

    def _overwrite_model_variables_with_average_value(self, trainable_variables: list) -> None:
        for var, avg in zip(trainable_variables, self._model_variables_moving_average, strict=True):
            var._value[...] = avg._value

    def finalize_variable_values(self, var_list: list) -> None:
        """With `use_ema`, set the weights to their moving averages (called at the end of fit)."""
        if self.use_ema:
            self._overwrite_model_variables_with_average_value(var_list)

    def _flush_denormals(self) -> None:
        table = self._slot_table or ()
        for slots in table:
            for s in slots:
                if s is None:
                    continue
                a = s._value
                c = _FLUSH_CONSTANT.get(a.dtype)
                if c is not None:
                    a += c
                    a -= c

    # -- config -------------------------------------------------------------------------------
    def get_config(self) -> dict:
        lr = self._learning_rate
        if isinstance(lr, _schedules.LearningRateSchedule):
            learning_rate: Any = _schedules.serialize(lr)
        elif isinstance(lr, Variable):
            learning_rate = float(lr.numpy())
        else:
            learning_rate = getattr(lr, "__name__", None) or repr(lr)
        return {
            "name": self.name,
            "learning_rate": learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Optimizer:
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = _schedules.deserialize(config["learning_rate"], custom_objects)
        config.pop("is_legacy_optimizer", None)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name} learning_rate={self._current_lr():g}>"



def _unknown_variable(v: Any) -> ValueError:
    return ValueError(
        f"Unknown variable: {getattr(v, 'name', v)}. This optimizer can only be called for the variables "
        "it was originally built with. When working with a new set of variables, you should recreate a "
        "new optimizer instance."
    )


def _warn_missing(names: list) -> None:
    warnings.warn(
        f"Gradients do not exist for variables {names} when minimizing the loss. If using "
        "`model.compile()`, did you forget to provide a `loss` argument?",
        stacklevel=3,
    )


def _host_variable(value: np.ndarray, name: str) -> Variable:
    """A non-trainable scalar state variable kept in host memory whatever the default device:
    the optimizer reads it from Python every step (a GPU copy would cost a sync each time)."""
    with _backend.device("/CPU:0"):
        return Variable(value, trainable=False, name=name)
