"""The steps of a loaded SavedModel function, one class per kind (see tapeflow.saved_model).

Each step is built from its JSON entry after every name in it was checked, and is called with
the values of its inputs; control-flow steps also read and write the function's environment.
"""

from __future__ import annotations

import copy
import importlib
from typing import TYPE_CHECKING, Any

from tapeflow import nest
from tapeflow.autodiff.function import recording_tapes
from tapeflow.saved_model.encoding import decode
from tapeflow.tensor import Variable

if TYPE_CHECKING:
    from tapeflow.saved_model.load import LoadedConcreteFunction, _Library

_ASSIGN_METHODS = ("assign", "assign_add", "assign_sub")


class _Primitive:
    """A primitive step; a tape recording the call gets its own copy of the op (the op keeps
    its inputs and outputs for backward)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def __call__(self, *xs: Any) -> Any:
        return (copy.copy(self.fn) if recording_tapes else self.fn)(*xs)


class _Assign:
    __slots__ = ("variable", "method")

    def __init__(self, variable: Variable, method: str) -> None:
        self.variable, self.method = variable, method

    def __call__(self, value: Any) -> tuple:
        getattr(self.variable, self.method)(value)
        return ()


class _Call:
    __slots__ = ("function", "slots")

    def __init__(self, function: LoadedConcreteFunction, slots: list) -> None:
        self.function, self.slots = function, slots

    def __call__(self, *xs: Any) -> tuple:
        flat = self.function._run_flat(list(xs))
        return tuple(flat[i] for i in self.slots)


class _Lifted:
    """A lifted engine function (random sampling, a shape-dependent composite), called by name
    with its saved arguments: the saved Python values with the step's inputs in their places."""

    __slots__ = ("fn", "skeleton", "slots")

    def __init__(self, fn: Any, skeleton: Any, slots: list) -> None:
        self.fn, self.skeleton, self.slots = fn, skeleton, slots

    def __call__(self, *leaves: Any) -> tuple:
        args, kwargs = nest.pack_sequence_as(self.skeleton, list(leaves))
        out = nest.flatten(self.fn(*args, **kwargs))
        if any(not 0 <= i < len(out) for i in self.slots):
            raise ValueError(f"SavedModel: a step reads output {self.slots} of a call with {len(out)} outputs.")
        return tuple(out[i] for i in self.slots)


class _PyFunction:
    """A `tf.py_function` saved by its token: the Python function registered under it in this
    process (TF's behaviour: a loaded py_function runs only where it was traced)."""

    __slots__ = ("token", "process", "slots")

    def __init__(self, token: str, process: str, slots: list) -> None:
        self.token, self.process, self.slots = token, process, slots

    def __call__(self, *leaves: Any) -> tuple:
        from tapeflow.tracing.py_function import registered_callback

        out = nest.flatten(registered_callback(self.token, self.process)(*leaves))
        return tuple(out[i] for i in self.slots)


class _TapeStep:
    """A tf.GradientTape operation: the function's real tapes live in its environment for the
    call (`tape:<id>`), entered, watched, paused and asked for gradients as the trace did."""

    def __init__(self, entry: dict, arrays: Any) -> None:
        self.op = entry["tape"]
        self.key = f"tape:{int(entry['tape_id'])}"
        self.persistent = bool(entry.get("persistent", False))
        self.watch_accessed = bool(entry.get("watch_accessed_variables", True))
        self.skeleton = decode(entry.get("structure"), arrays)
        self.connected = [bool(c) for c in entry.get("connected", [])]

    def run_in(self, fn: Any, env: dict, values: list) -> tuple:
        from tapeflow.autodiff.tape import GradientTape

        if self.op == "enter":
            tape = env[self.key] = GradientTape(persistent=self.persistent,
                                                watch_accessed_variables=self.watch_accessed)
            tape.__enter__()
            return ()
        tape = env.get(self.key)
        if tape is None:
            raise ValueError(f"SavedModel: function `{fn.name}` uses a tape it never entered.")
        if self.op in ("exit", "pause"):
            tape._stop()
        elif self.op == "resume":
            recording_tapes.append(tape)
        elif self.op == "reset":
            tape.reset()
        elif self.op == "watch":
            tape.watch(nest.pack_sequence_as(self.skeleton, values)[0][0])
        else:  # gradient
            (targets, sources, output_gradients), _ = nest.pack_sequence_as(self.skeleton, values)
            grads = tape.gradient(targets, sources, output_gradients=output_gradients)
            from tapeflow.ops.creation import zeros_like

            return tuple(zeros_like(s) if g is None else g
                         for s, g, c in zip(sources, grads, self.connected, strict=True) if c)
        return ()


class _OptimizerStep:
    """An optimizer update on the saved variables (see `_optimizer`)."""

    __slots__ = ("optimizer", "targets")

    def __init__(self, optimizer: Any, targets: list) -> None:
        self.optimizer, self.targets = optimizer, targets

    def __call__(self, *grads: Any) -> tuple:
        self.optimizer.apply(list(grads), self.targets)
        return ()


def _keras_class(key: Any, package: str, base_module: str, base_name: str, where: str, kind: str) -> type:
    """A built-in Keras class named by a file: only from `package`, a subclass of the base."""
    module, _, name = key.rpartition(".") if isinstance(key, str) else ("", "", "")
    cls = None
    if module.startswith(package) and name.isidentifier():
        base = getattr(importlib.import_module(base_module), base_name)
        try:
            cls = getattr(importlib.import_module(module), name, None)
        except ImportError:
            cls = None
        cls = cls if isinstance(cls, type) and issubclass(cls, base) else None
    if cls is None:
        raise ValueError(f"SavedModel: unknown {kind} {key!r} in function `{where}`.")
    return cls


def _bind_state(obj: Any, state: list, key: str, where: str) -> None:
    """Make the rebuilt object's variables the saved ones (its attributes and lists of them)."""
    own = obj.variables
    if len(own) != len(state) or any(tuple(a.shape) != tuple(b.shape) for a, b in zip(own, state, strict=True)):
        raise ValueError(f"SavedModel: {key!r} in function `{where}` has {len(state)} state variables, the rebuilt "
                         f"one {len(own)}.")
    mapping = {id(a): b for a, b in zip(own, state, strict=True)}

    def rebind(value: Any) -> Any:
        if isinstance(value, Variable) and id(value) in mapping:
            return mapping[id(value)]
        if type(value) in (list, tuple) and any(id(v) in mapping for v in value):
            return type(value)(rebind(v) for v in value)
        return value

    for attr, value in list(vars(obj).items()):
        obj.__dict__[attr] = rebind(value)


def _optimizer(entry: dict, library: _Library, where: str) -> Any:
    """The built-in Keras optimizer a step names, rebuilt from its config once per file and bound
    to the saved state variables (so `loaded.optimizer.iterations` is the one it counts)."""
    key = entry["optimizer"]
    cache = library.__dict__.setdefault("keras_objects", {})
    ident = (key, tuple(int(i) for i in entry["state"]))
    if ident in cache:
        return cache[ident]
    cls = _keras_class(key, "tapeflow.keras.optimizers.", "tapeflow.keras.optimizers.optimizer", "Optimizer", where,
                       "optimizer")
    optimizer = cls.from_config(decode(entry["config"], library.arrays))
    optimizer.build([library.variables[int(i)] for i in entry["built"]])
    _bind_state(optimizer, [library.variables[int(i)] for i in entry["state"]], key, where)
    optimizer._slot_table = None
    cache[ident] = optimizer
    return optimizer


class _MetricCall:
    """A built-in Keras metric's update_state / reset_state / result on the saved state."""

    __slots__ = ("metric", "method", "skeleton", "slots")

    def __init__(self, metric: Any, method: str, skeleton: Any, slots: list) -> None:
        self.metric, self.method, self.skeleton, self.slots = metric, method, skeleton, slots

    def __call__(self, *leaves: Any) -> tuple:
        args, kwargs = nest.pack_sequence_as(self.skeleton, list(leaves))
        out = nest.flatten(getattr(self.metric, self.method)(*args, **kwargs))
        return tuple(out[i] for i in self.slots)


def _metric(entry: dict, library: _Library, where: str) -> _MetricCall:
    key, method = entry["metric"], entry["method"]
    if method not in ("update_state", "reset_state", "result"):
        raise ValueError(f"SavedModel: unknown metric method {method!r} in function `{where}`.")
    cache = library.__dict__.setdefault("keras_objects", {})
    ident = (key, tuple(int(i) for i in entry["state"]))
    metric = cache.get(ident)
    if metric is None:
        cls = _keras_class(key, "tapeflow.keras.metrics", "tapeflow.keras.metrics", "Metric", where, "metric")
        metric = cls.from_config(decode(entry["config"], library.arrays))
        _bind_state(metric, [library.variables[int(i)] for i in entry["state"]], key, where)
        cache[ident] = metric
    skeleton = decode(entry["structure"], library.arrays)
    if not (isinstance(skeleton, (list, tuple)) and len(skeleton) == 2 and isinstance(skeleton[1], dict)
            and len(nest.flatten(skeleton)) == len(entry["inputs"])):
        raise ValueError(f"SavedModel: a call of metric {key!r} in function `{where}` has arguments that do not "
                         "match its inputs.")
    return _MetricCall(metric, method, (tuple(skeleton[0]), skeleton[1]), [int(i) for i in entry["slots"]])


# Modules whose lifted functions a SavedModel may name (imported when a file names one).
_LIFTED_MODULES = ("tapeflow.ops.creation", "tapeflow.ops.elementwise", "tapeflow.ops.movement",
                   "tapeflow.ops.normalization", "tapeflow.ops.linalg", "tapeflow.ops.random", "tapeflow.ops.nn",
                   "tapeflow.nn", "tapeflow.linalg_extra", "tapeflow.math_extra", "tapeflow.array_extra",
                   "tapeflow.keras.ops.math", "tapeflow.keras.ops.numpy_sort", "tapeflow.keras.ops.nn_activations",
                   "tapeflow.keras.ops.core", "tapeflow.keras.ops.numpy_index", "tapeflow.keras.ops.numpy_reduce",
                   "tapeflow.keras.ops.nn_losses", "tapeflow.keras.ops.linalg", "tapeflow.keras.ops.numpy_shape",
                   "tapeflow.keras.random", "tapeflow.tracing.tensor_array")


def _lifted_function(key: Any, where: str) -> Any:
    from tapeflow.tracing.func_graph import SAVEABLE_LIFTED

    if isinstance(key, str) and key not in SAVEABLE_LIFTED:
        for module in _LIFTED_MODULES:
            if key.startswith(module + "."):
                importlib.import_module(module)
    if isinstance(key, str) and key.startswith("tapeflow.composite:") and key not in SAVEABLE_LIFTED:
        _composite_function(key)
    fn = SAVEABLE_LIFTED.get(key) if isinstance(key, str) else None
    if fn is None:
        raise ValueError(f"SavedModel: unknown lifted function {key!r} in function `{where}` (saved by a different "
                         "Tapeflow version, or not a Tapeflow SavedModel).")
    return fn


def _composite_function(key: str) -> None:
    """Register the RaggedTensor / SparseTensor op a saved call names (importing the modules that
    wrap them; a dispatched tf.* op by its API name)."""
    import tapeflow.ragged  # noqa: F401 - wrapping registers their ops
    import tapeflow.sparse  # noqa: F401
    from tapeflow import dispatch
    from tapeflow.tracing.composite_calls import encoded_caller

    name = key.split(":", 1)[1]
    if name.startswith("dispatch."):
        wrapper = dispatch.by_api_name.get(name[len("dispatch."):])
        if wrapper is not None:
            encoded_caller(wrapper, name)


class _LoadedGradient:
    """The `grad` of a loaded custom-gradient op: the saved gradient function."""

    def __init__(self, function: LoadedConcreteFunction) -> None:
        self.function = function

    def run(self, dys: list, captures: list) -> list:
        return self.function._run_flat([*dys, *captures])

class _NoGradient:
    """The gradient of a custom-gradient op saved with experimental_custom_gradients=False."""

    def run(self, dys: list, captures: list) -> list:
        raise LookupError("No gradient defined for operation 'IdentityN' (a tf.custom_gradient saved with "
                          "tf.saved_model.SaveOptions(experimental_custom_gradients=False)): save with the "
                          "default experimental_custom_gradients=True to differentiate the loaded function.")


def build_step(entry: dict, library: _Library, where: str) -> Any:
    if "op" in entry:
        cls = library.registry.get(entry["op"])
        if cls is None:
            raise ValueError(f"SavedModel: unknown op {entry['op']!r} in function `{where}` (saved by a "
                             "different Tapeflow version, or not a Tapeflow SavedModel).")
        fn = cls.__new__(cls)
        fn.__dict__.update({k: decode(v, library.arrays) for k, v in entry["attrs"].items()})
        return _Primitive(fn)
    if "assign" in entry:
        if entry["assign"] not in _ASSIGN_METHODS:
            raise ValueError(f"SavedModel: unknown variable assignment {entry['assign']!r} in function `{where}`.")
        return _Assign(library.variables[int(entry["variable"])], entry["assign"])
    if "call" in entry:
        callee = library.function(entry["call"])
        slots = [int(i) for i in entry["slots"]]
        if any(not 0 <= i < len(callee._outputs) for i in slots):
            raise ValueError(f"SavedModel: function `{where}` reads an output {callee.name} does not have.")
        return _Call(callee, slots)
    if "lifted" in entry:
        fn = _lifted_function(entry["lifted"], where)
        skeleton = decode(entry["structure"], library.arrays)
        if not (isinstance(skeleton, (list, tuple)) and len(skeleton) == 2 and isinstance(skeleton[1], dict)
                and len(nest.flatten(skeleton)) == len(entry["inputs"])):
            raise ValueError(f"SavedModel: a call of {entry['lifted']!r} in function `{where}` has arguments that do "
                             "not match its inputs.")
        return _Lifted(fn, (tuple(skeleton[0]), skeleton[1]), [int(i) for i in entry["slots"]])
    if "tape" in entry:
        if entry["tape"] not in ("enter", "exit", "watch", "pause", "resume", "reset", "gradient"):
            raise ValueError(f"SavedModel: unknown tape operation {entry['tape']!r} in function `{where}`.")
        return _TapeStep(entry, library.arrays)
    if "metric" in entry:
        return _metric(entry, library, where)
    if "optimizer" in entry:
        return _OptimizerStep(_optimizer(entry, library, where), [library.variables[int(i)] for i in entry["targets"]])
    if "py_function" in entry:
        if not (isinstance(entry["py_function"], str) and isinstance(entry.get("process"), str)):
            raise ValueError(f"SavedModel: a py_function step in function `{where}` has no token.")
        return _PyFunction(entry["py_function"], entry["process"], [int(i) for i in entry["slots"]])
    if "custom_gradient" in entry:
        from tapeflow.tracing.custom_gradient import TracedCustomGradient

        n_args, n_vars, n_outputs, n_captures = (int(n) for n in entry["layout"])
        if min(n_args, n_vars, n_outputs, n_captures) < 0 or len(entry["inputs"]) != (
                n_args + n_vars + n_outputs + n_captures):
            raise ValueError(f"SavedModel: a custom gradient in function `{where}` has a layout that does not "
                             "match its inputs.")
        key = entry["custom_gradient"]
        grad = _LoadedGradient(library.function(key)) if key is not None else _NoGradient()
        return _Primitive(TracedCustomGradient(grad, n_args, n_vars, n_outputs, n_captures))
    raise ValueError(f"SavedModel: function `{where}` has a step of unknown kind ({sorted(entry)}).")

class Cond:
    """`tf.cond`: runs the false or true body (they read and write the function's values)."""

    def __init__(self, branches: list, output_map: list) -> None:
        self.branches, self.output_map = branches, output_map

    def run_in(self, fn: LoadedConcreteFunction, env: dict, values: list) -> tuple:
        steps, outputs = self.branches[bool(values[0])]
        fn._run_steps(steps, env)
        return tuple(fn._value(r, env) for r, is_tensor in zip(outputs, self.output_map, strict=True) if is_tensor)


class While:
    """`tf.while_loop`: the loop variables by name, the condition and body step lists."""

    def __init__(self, loop_vars: list, cond: tuple, body: tuple, has_max: bool) -> None:
        self.loop_vars, self.cond, self.body, self.has_max = loop_vars, cond, body, has_max

    def run_in(self, fn: LoadedConcreteFunction, env: dict, values: list) -> tuple:
        current = values[:len(self.loop_vars)]
        limit = int(values[-1]) if self.has_max else None
        i = 0
        while limit is None or i < limit:
            env.update(zip(self.loop_vars, current, strict=True))
            fn._run_steps(self.cond[0], env)
            if not bool(fn._value(self.cond[1][0], env)):
                break
            env.update(zip(self.loop_vars, current, strict=True))
            fn._run_steps(self.body[0], env)
            current = [fn._value(r, env) for r in self.body[1]]
            i += 1
        return tuple(current)


def variables_of(steps: list, variables: list) -> list:
    out = []
    for step, inputs, _ in steps:
        out += [variables[int(r["v"])] for r in inputs if "v" in r] + _step_variables(step, variables)
    return out


def _step_variables(step: Any, variables: list) -> list:
    """The variables a step uses besides its inputs: an assignment's, a called function's, a
    control-flow body's."""
    if isinstance(step, Cond):
        return [v for steps, _ in step.branches for v in variables_of(steps, variables)]
    if isinstance(step, While):
        return variables_of(step.cond[0], variables) + variables_of(step.body[0], variables)
    if isinstance(step, _Assign):
        return [step.variable]
    if isinstance(step, _Call):
        return list(step.function.variables)
    if isinstance(step, _OptimizerStep):
        return [*step.targets, *step.optimizer.variables]
    if isinstance(step, _MetricCall):
        return list(step.metric.variables)
    if isinstance(step, _Primitive) and isinstance(getattr(step.fn, "grad", None), _LoadedGradient):
        return list(step.fn.grad.function.variables)
    return []
