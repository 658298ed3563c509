"""`tf.saved_model.load`: rebuild saved functions, variables and objects without the original code.

A saved function is a list of steps run in order on an environment of named values: a
primitive (its class from the engine's op registry, its attributes from JSON), a variable
assignment, a call of a library function, or a custom-gradient op whose backward runs a
library function. Everything a file names is checked while loading (op classes, variable and
library references, the order in which values are produced), so a corrupt or hostile file fails
in `load` with an error saying what is wrong, never later or by running its content as code.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
from typing import Any

import numpy as np

from tapeflow import backend, nest
from tapeflow.autodiff.function import recording_tapes
from tapeflow.saved_model.encoding import decode, op_registry
from tapeflow.tensor import Tensor, TensorShape, Variable, convert_to_tensor
from tapeflow.tracing.spec import TensorSpec
from tapeflow.tracking import AutoTrackable, DictWrapper, ListWrapper

_MAX_DOCUMENT = 1 << 28
_ASSIGN_METHODS = ("assign", "assign_add", "assign_sub")


def _variables(entries: list, arrays: Any) -> list:
    return [Variable(np.array(arrays[e["array"]]), trainable=bool(e["trainable"]), name=str(e["name"]))
            for e in entries]


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


# Modules whose lifted functions a SavedModel may name (imported when a file names one).
_LIFTED_MODULES = ("tapeflow.ops.creation", "tapeflow.ops.elementwise", "tapeflow.ops.movement",
                   "tapeflow.ops.normalization", "tapeflow.ops.linalg", "tapeflow.ops.random", "tapeflow.ops.nn",
                   "tapeflow.nn", "tapeflow.linalg_extra", "tapeflow.math_extra", "tapeflow.array_extra",
                   "tapeflow.keras.ops.math", "tapeflow.keras.ops.numpy_sort", "tapeflow.keras.ops.nn_activations",
                   "tapeflow.keras.ops.core", "tapeflow.keras.ops.numpy_index", "tapeflow.keras.ops.numpy_reduce",
                   "tapeflow.keras.ops.nn_losses", "tapeflow.keras.ops.linalg", "tapeflow.keras.ops.numpy_shape",
                   "tapeflow.keras.random")


def _lifted_function(key: Any, where: str) -> Any:
    from tapeflow.tracing.func_graph import SAVEABLE_LIFTED

    if isinstance(key, str) and key not in SAVEABLE_LIFTED:
        for module in _LIFTED_MODULES:
            if key.startswith(module + "."):
                importlib.import_module(module)
    fn = SAVEABLE_LIFTED.get(key) if isinstance(key, str) else None
    if fn is None:
        raise ValueError(f"SavedModel: unknown lifted function {key!r} in function `{where}` (saved by a different "
                         "Tapeflow version, or not a Tapeflow SavedModel).")
    return fn


class _LoadedGradient:
    """The `grad` of a loaded custom-gradient op: the saved gradient function."""

    def __init__(self, function: LoadedConcreteFunction) -> None:
        self.function = function

    def run(self, dys: list, captures: list) -> list:
        return self.function._run_flat([*dys, *captures])


class _Library:
    """The saved functions that others call, built once each on first reference."""

    def __init__(self, docs: dict, registry: dict, arrays: Any, variables: list) -> None:
        self.docs, self.registry, self.arrays, self.variables = docs, registry, arrays, variables
        self._built: dict = {}
        self._building: set = set()

    def function(self, key: Any) -> LoadedConcreteFunction:
        if key in self._built:
            return self._built[key]
        if not isinstance(key, str) or key not in self.docs:
            raise ValueError(f"SavedModel: a function calls {key!r}, which the file does not define.")
        if key in self._building:
            raise ValueError(f"SavedModel: function {key!r} calls itself.")
        self._building.add(key)
        self._built[key] = LoadedConcreteFunction(self.docs[key], self)
        self._building.discard(key)
        return self._built[key]


def _step(entry: dict, library: _Library, where: str) -> Any:
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
    if "custom_gradient" in entry:
        from tapeflow.tracing.custom_gradient import TracedCustomGradient

        n_args, n_vars, n_outputs, n_captures = (int(n) for n in entry["layout"])
        if min(n_args, n_vars, n_outputs, n_captures) < 0 or len(entry["inputs"]) != (
                n_args + n_vars + n_outputs + n_captures):
            raise ValueError(f"SavedModel: a custom gradient in function `{where}` has a layout that does not "
                             "match its inputs.")
        grad = _LoadedGradient(library.function(entry["custom_gradient"]))
        return _Primitive(TracedCustomGradient(grad, n_args, n_vars, n_outputs, n_captures))
    raise ValueError(f"SavedModel: function `{where}` has a step of unknown kind ({sorted(entry)}).")


def _has_placeholder(x: Any) -> bool:
    if not isinstance(x, dict):
        return False
    if "placeholder" in x:
        return True
    inner = x.get("tuple", x.get("list", list(x.get("dict", {}).values())))
    return any(_has_placeholder(v) for v in inner) if isinstance(inner, list) else False


def _match(saved: Any, value: Any, found: dict, arrays: Any) -> bool:
    """Whether a call's argument fits a saved traced argument; collects the tensors by index."""
    if "placeholder" in saved:
        if isinstance(value, (Tensor, np.ndarray)) or _is_number_nest(value):
            found[int(saved["placeholder"])] = value
            return True
        return False
    if "tuple" in saved or "list" in saved:
        items = saved.get("tuple", saved.get("list"))
        return (isinstance(value, (list, tuple)) and len(value) == len(items)
                and all(_match(x, v, found, arrays) for x, v in zip(items, value, strict=True)))
    if "dict" in saved:
        return (isinstance(value, dict) and sorted(value) == sorted(saved["dict"])
                and all(_match(saved["dict"][k], value[k], found, arrays) for k in value))
    if isinstance(value, (Tensor, np.ndarray)):
        return False
    expected = decode(saved["value"], arrays)
    return type(expected) is type(value) and expected == value


def _is_number_nest(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


class _Cond:
    """`tf.cond`: runs the false or true body (they read and write the function's values)."""

    def __init__(self, branches: list, output_map: list) -> None:
        self.branches, self.output_map = branches, output_map

    def run_in(self, fn: LoadedConcreteFunction, env: dict, values: list) -> tuple:
        steps, outputs = self.branches[bool(values[0])]
        fn._run_steps(steps, env)
        return tuple(fn._value(r, env) for r, is_tensor in zip(outputs, self.output_map, strict=True) if is_tensor)


class _While:
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


def _variables_of(steps: list, variables: list) -> list:
    out = []
    for step, inputs, _ in steps:
        out += [variables[int(r["v"])] for r in inputs if "v" in r] + _step_variables(step, variables)
    return out


def _step_variables(step: Any, variables: list) -> list:
    """The variables a step uses besides its inputs: an assignment's, a called function's, a
    control-flow body's."""
    if isinstance(step, _Cond):
        return [v for steps, _ in step.branches for v in _variables_of(steps, variables)]
    if isinstance(step, _While):
        return _variables_of(step.cond[0], variables) + _variables_of(step.body[0], variables)
    if isinstance(step, _Assign):
        return [step.variable]
    if isinstance(step, _Call):
        return list(step.function.variables)
    if isinstance(step, _Primitive) and isinstance(getattr(step.fn, "grad", None), _LoadedGradient):
        return list(step.fn.grad.function.variables)
    return []


class LoadedConcreteFunction:
    """One saved trace: callable with its tensors (in order, or by argument name)."""

    def __init__(self, doc: dict, library: _Library) -> None:
        self.name = str(doc.get("name", "function"))
        self._placeholders = doc["placeholders"]
        self._variables = library.variables
        self._arrays = library.arrays
        self._library = library
        self._constants: dict = {}  # id(reference) -> Tensor (the references live with the document)
        defined = {f"p{k}" for k in range(len(self._placeholders))}
        self._steps = self._build(doc["ops"], defined)
        self._outputs = doc["outputs"]
        self._check_refs(self._outputs, defined)
        used: dict = {}
        for v in _variables_of(self._steps, self._variables):
            used.setdefault(id(v), v)
        self.variables = list(used.values())
        self._structure = decode(doc["output_structure"], self._arrays)
        self._output_specs = doc.get("output_specs")
        python_args = doc.get("python_args")
        self._python_args = None
        if python_args is not None:
            self._python_args = (list(python_args[0]), dict(python_args[1]))
        self._arg_names = [str(n) for n in doc.get("arg_names", [])]

    def _build(self, entries: list, defined: set) -> list:
        """(step, input refs, output names) per entry; `defined` gains the names they produce."""
        steps = []
        for i, entry in enumerate(entries):
            self._check_refs(entry["inputs"], defined)
            if "cond" in entry or "while" in entry:
                step: Any = self._control_flow(entry, set(defined))
            else:
                step = _step(entry, self._library, self.name)
            sid = int(entry.get("id", i))
            out_names = [f"n{sid}:{j}" for j in range(int(entry["outputs"]))]
            if any(n in defined for n in out_names):
                raise ValueError(f"SavedModel: function `{self.name}` computes {out_names[0]!r} twice.")
            defined.update(out_names)
            steps.append((step, entry["inputs"], out_names))
        return steps

    def _body(self, doc: dict, defined: set) -> tuple:
        steps = self._build(doc["ops"], defined)
        self._check_refs(doc["outputs"], defined)
        return steps, doc["outputs"]

    def _control_flow(self, entry: dict, defined: set) -> Any:
        if "cond" in entry:
            branches = entry["cond"]
            output_map = [bool(t) for t in entry["output_map"]]
            if len(branches) != 2 or len(entry["inputs"]) < 1 or any(
                    len(b["outputs"]) != len(output_map) for b in branches):
                raise ValueError(f"SavedModel: a cond in function `{self.name}` is malformed.")
            return _Cond([self._body(b, set(defined)) for b in branches], output_map)
        loop = entry["while"]
        loop_vars = [str(n) for n in loop["vars"]]
        n_initial, has_max = int(loop["n_initial"]), bool(loop["has_max"])
        if n_initial != len(loop_vars) or len(entry["inputs"]) < n_initial + has_max:
            raise ValueError(f"SavedModel: a while loop in function `{self.name}` is malformed.")
        inner = set(defined) | set(loop_vars)
        cond, body = self._body(loop["cond"], set(inner)), self._body(loop["body"], set(inner))
        if len(cond[1]) != 1 or len(body[1]) != n_initial:
            raise ValueError(f"SavedModel: a while loop in function `{self.name}` is malformed.")
        return _While(loop_vars, cond, body, has_max)

    def _run_steps(self, steps: list, env: dict) -> None:
        for step, inputs, out_names in steps:
            values = [self._value(r, env) for r in inputs]
            out = step.run_in(self, env, values) if isinstance(step, (_Cond, _While)) else step(*values)
            outs = out if isinstance(out, tuple) else (out,)
            for name, o in zip(out_names, outs, strict=False):
                env[name] = o

    def _check_refs(self, refs: list, defined: set) -> None:
        for r in refs:
            if "t" in r and r["t"] not in defined:
                raise ValueError(f"SavedModel: function `{self.name}` reads {r['t']!r} before it is computed.")
            if "v" in r:
                self._variables[int(r["v"])]  # noqa: B018 - an IndexError names a corrupt file

    @property
    def trainable_variables(self) -> list:
        return [v for v in self.variables if v.trainable]

    @property
    def input_names(self) -> list:
        return [p["name"] for p in self._placeholders]

    @property
    def structured_input_signature(self) -> tuple:
        """`((TensorSpec, ...), {})`: the traced tensor arguments."""
        return (tuple(TensorSpec(p["shape"], p["dtype"], p["name"]) for p in self._placeholders), {})

    @property
    def structured_outputs(self) -> Any:
        """The output structure with a `tf.TensorSpec` per tensor."""
        specs = [None if s is None else TensorSpec(s[0], s[1]) for s in (self._output_specs or [])]
        if len(specs) != len(self._outputs):
            specs = [None] * len(self._outputs)
        if self._structure is None:
            return specs[0]
        return nest.pack_sequence_as(self._structure, specs)

    def _value(self, ref: dict, env: dict) -> Any:
        if "t" in ref:
            return env[ref["t"]]
        if "v" in ref:
            return self._variables[ref["v"]]
        if "c" in ref:
            constant = self._constants.get(id(ref))
            if constant is None:
                # Made once, on the default device (text stays on the host).
                value = decode(ref["c"], self._arrays)
                if getattr(value, "dtype", None) is not None and value.dtype.kind != "O":
                    value = backend.asarray(value)
                constant = self._constants[id(ref)] = Tensor(value)
            return constant
        return decode(ref["py"], self._arrays)

    def _run_flat(self, values: list) -> list:
        env = {f"p{k}": v for k, v in enumerate(values)}
        self._run_steps(self._steps, env)
        return [self._value(r, env) for r in self._outputs]

    def _call_flat(self, values: list) -> Any:
        flat = self._run_flat(values)
        if self._structure is None:
            return flat[0]
        return nest.pack_sequence_as(self._structure, flat)

    def _bind(self, args: tuple, kwargs: dict) -> list:
        names = self.input_names
        if len(args) > len(names) or any(k not in names for k in kwargs):
            raise TypeError(f"`{self.name}` takes the tensors ({', '.join(names)}), received {len(args)} positional "
                            f"and {sorted(kwargs)} keyword argument(s).")
        values = list(args) + [kwargs[n] for n in names[len(args):] if n in kwargs]
        if len(values) != len(names):
            raise TypeError(f"`{self.name}` takes the tensors ({', '.join(names)}), missing "
                            f"{', '.join(names[len(values):])}.")
        out = []
        for p, v in zip(self._placeholders, values, strict=True):
            t = v if isinstance(v, Tensor) else convert_to_tensor(v, dtype=p["dtype"])
            shape = p["shape"]
            if shape is None and p.get("rank") is not None:
                shape = [None] * int(p["rank"])  # a spec of unknown rank, traced for this rank
            if t.dtype.name != p["dtype"] or (shape is not None and not TensorShape(shape).is_compatible_with(
                    tuple(t.shape))):
                raise TypeError(f"`{self.name}`: argument `{p['name']}` expects shape {shape} and dtype "
                                f"{p['dtype']}, received shape {tuple(t.shape)} and dtype {t.dtype.name}.")
            out.append(t)
        return out

    def _bind_python(self, args: tuple, kwargs: dict) -> list | None:
        """The tensor arguments of a call made as the Python function was called (Python values
        equal to the traced ones, which may be left out), or None when it is not such a call."""
        if self._python_args is None:
            return None
        saved_args, saved_kwargs = self._python_args
        names = self._arg_names
        args, kwargs = list(args), dict(kwargs)
        for name in names[len(args):len(saved_args)]:
            if name not in kwargs:
                break
            args.append(kwargs.pop(name))
        if len(args) > len(saved_args) or any(k not in saved_kwargs for k in kwargs):
            return None
        found: dict = {}
        pairs = list(zip(saved_args, args, strict=False)) + [(saved_kwargs[k], v) for k, v in kwargs.items()]
        left_out = saved_args[len(args):] + [v for k, v in saved_kwargs.items() if k not in kwargs]
        if any(_has_placeholder(x) for x in left_out) or not all(_match(x, v, found, self._arrays)
                                                               for x, v in pairs):
            return None
        if sorted(found) != list(range(len(self._placeholders))):
            return None
        return [found[k] for k in range(len(self._placeholders))]

    def _bind_any(self, args: tuple, kwargs: dict) -> list:
        python = self._bind_python(args, kwargs)
        return self._bind(tuple(python), {}) if python is not None else self._bind(args, kwargs)

    def matches(self, args: tuple, kwargs: dict) -> bool:
        try:
            self._bind_any(args, kwargs)
        except (TypeError, ValueError):
            return False
        return True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call_flat(self._bind_any(args, kwargs))


class LoadedFunction:
    """A saved tf.function: the first of its traces whose inputs match the call."""

    def __init__(self, name: str, concretes: list) -> None:
        self.name = name
        self.concrete_functions = concretes
        used: dict = {}
        for c in concretes:
            for v in c.variables:
                used.setdefault(id(v), v)
        self.variables = list(used.values())
        self.trainable_variables = [v for v in self.variables if v.trainable]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for c in self.concrete_functions:
            if c.matches(args, kwargs):
                return c(*args, **kwargs)
        specs = "; ".join(", ".join(f"{p['name']}: {p['shape']} {p['dtype']}" for p in c._placeholders)
                          for c in self.concrete_functions)
        raise TypeError(f"Loaded function `{self.name}` has no trace for these arguments; its traces take: {specs}.")


class SignatureFunction(LoadedConcreteFunction):
    """A serving signature: called with keyword tensors, returns a dict of output tensors."""

    def __call__(self, *args: Any, **kwargs: Any) -> dict:
        return self._named(LoadedConcreteFunction.__call__(self, *args, **kwargs))

    @staticmethod
    def _named(out: Any) -> dict:
        if isinstance(out, dict):
            return out
        if isinstance(out, (list, tuple)):
            return {f"output_{i}": o for i, o in enumerate(out)}
        return {"output_0": out}

    @property
    def structured_input_signature(self) -> tuple:
        """`((), {name: TensorSpec})`: a signature takes its tensors by name."""
        return ((), {p["name"]: TensorSpec(p["shape"], p["dtype"], p["name"]) for p in self._placeholders})

    @property
    def structured_outputs(self) -> dict:
        """{output name: TensorSpec named after it}."""
        named = self._named(LoadedConcreteFunction.structured_outputs.fget(self))
        return {k: None if s is None else TensorSpec(s.shape, s.dtype, k) for k, s in named.items()}


class _LoadedObject(AutoTrackable):
    """A saved module or other tracked object: its attributes as they were saved. Unless it
    saved attributes of these names, `variables` / `trainable_variables` /
    `non_trainable_variables` list the variables it reaches."""

    _untracked_attributes = ("signatures",)

    def _reachable_variables(self) -> list:
        from tapeflow.train import object_graph

        return [o for o in object_graph.walk(self)[0] if isinstance(o, Variable)]

    def __getattr__(self, name: str) -> Any:
        if name == "variables":
            return self._reachable_variables()
        if name == "trainable_variables":
            return [v for v in self.variables if v.trainable]
        if name == "non_trainable_variables":
            return [v for v in self.variables if not v.trainable]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")


class _Loaded(_LoadedObject):
    """The object `load` returns: the saved attributes and functions, `signatures`, and (unless
    saved otherwise) every variable of the SavedModel as `variables`."""

    _untracked_attributes = ("signatures", "_all_variables")

    def __init__(self, variables: list) -> None:
        self._all_variables = variables
        self.signatures: dict = {}

    def _reachable_variables(self) -> list:
        return list(self._all_variables)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        call = self.__dict__.get("__call__")
        if call is None:
            raise TypeError("This loaded SavedModel has no saved __call__ function.")
        return call(*args, **kwargs)


class BuiltFunctions:
    """A document's variables, functions (name -> list of traces) and signatures."""

    def __init__(self, variables: list, functions: dict, signatures: dict) -> None:
        self.variables, self.functions, self.signatures = variables, functions, signatures


def build_functions(document: dict, arrays: Any) -> BuiltFunctions:
    """Rebuild the variables and functions of a SavedModel document (used by `load`, and by
    `save` to check what it wrote)."""
    variables = _variables(document["variables"], arrays)
    library = _Library(document.get("library", {}), op_registry(), arrays, variables)
    functions = {str(name): [LoadedConcreteFunction(d, library) for d in docs]
                 for name, docs in document["functions"].items()}
    signatures = {str(key): SignatureFunction(doc, library) for key, doc in document["signatures"].items()}
    return BuiltFunctions(variables, functions, signatures)


def _revive(nodes: list, built: BuiltFunctions) -> _Loaded:
    """The loaded root object, with the saved object graph's attributes."""
    root = _Loaded(built.variables)
    objects: list = []
    for i, n in enumerate(nodes):
        kind = n["kind"]
        if kind == "variable":
            objects.append(built.variables[int(n["variable"])])
        elif kind in ("list", "dict"):
            # Wrapped now, so the object that an attribute holds is the one filled below.
            objects.append(ListWrapper() if kind == "list" else DictWrapper())
        elif kind == "object":
            objects.append(root if i == 0 else _LoadedObject())
        else:
            raise ValueError(f"SavedModel: unknown object kind {kind!r}.")
    if objects and objects[0] is not root:
        raise ValueError("SavedModel: the root of the object graph is not an object.")
    for obj, n in zip(objects, nodes, strict=True):
        for name, j in n["children"]:
            child = objects[int(j)]
            if isinstance(obj, list):
                obj.append(child)
            elif isinstance(obj, dict):
                obj[str(name)] = child
            elif isinstance(obj, _LoadedObject):
                setattr(obj, str(name), child)
    return root


def load(export_dir: str, tags: Any = None, options: Any = None) -> Any:
    """Load a directory written by `tf.saved_model.save`: its functions run without the Python code
    that traced them (no code is read from the directory)."""
    from tapeflow.saved_model.options import load_options

    load_options(options)
    path = os.path.join(export_dir, "saved_model.json")
    if not os.path.isfile(path):
        raise OSError(f"SavedModel file does not exist at: {export_dir}/saved_model.json")
    if os.path.getsize(path) > _MAX_DOCUMENT:
        raise ValueError(f"SavedModel: {path} is larger than {_MAX_DOCUMENT} bytes.")
    try:
        with open(path) as f:
            document = json.load(f)
        from tapeflow.saved_model.save import READABLE_FORMATS

        found = document.get("format") if isinstance(document, dict) else None
        if found not in READABLE_FORMATS:
            raise ValueError(f"SavedModel at {export_dir} is not a Tapeflow SavedModel (format {found!r}).")
        with np.load(os.path.join(export_dir, "arrays.npz"), allow_pickle=False) as npz:
            arrays = [npz[f"a{i}"] for i in range(len(npz.files))]
        built = build_functions(document, arrays)
        obj = _revive(document.get("objects") or [], built)
        for name, concretes in built.functions.items():
            setattr(obj, name, LoadedFunction(name, concretes))
        obj.signatures.update(built.signatures)
    except (KeyError, TypeError, json.JSONDecodeError, IndexError, AttributeError, RecursionError) as e:
        raise ValueError(f"SavedModel at {export_dir} is corrupt: {type(e).__name__}: {e}") from None
    return obj
