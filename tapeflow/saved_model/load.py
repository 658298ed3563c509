"""`tf.saved_model.load`: rebuild saved functions, variables and objects without the original code.

A saved function is a list of steps (steps.py, one class per kind; the format is described in
tapeflow/saved_model/__init__.py) run in order on an environment of named values. Everything a
file names is checked while loading (op classes, lifted functions, variable and library
references, the order in which values are produced), so a corrupt or hostile file fails in
`load` with an error saying what is wrong, never later or by running its content as code. The
loaded object is rebuilt in objects.py.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from tapeflow import backend, nest
from tapeflow.errors import InvalidArgumentError
from tapeflow.saved_model.encoding import decode, op_registry
from tapeflow.saved_model.objects import revive
from tapeflow.saved_model.steps import Cond, While, build_step, variables_of
from tapeflow.tensor import Tensor, TensorShape, Variable, convert_to_tensor
from tapeflow.tracing import composites
from tapeflow.tracing.spec import TensorSpec

_MAX_DOCUMENT = 1 << 28


def _variables(entries: list, arrays: Any) -> list:
    return [Variable(np.array(arrays[e["array"]]), trainable=bool(e["trainable"]), name=str(e["name"]))
            for e in entries]

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
    return type(expected) is type(value) and (expected == value or composites.statics_compatible(expected, value))


def _is_number_nest(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)

class LoadedConcreteFunction:
    """One saved trace: callable with its tensors (in order, or by argument name)."""

    def __init__(self, doc: dict, library: _Library) -> None:
        self.name = str(doc.get("name", "function"))
        self._placeholders = doc["placeholders"]
        self._variables = library.variables
        self._arrays = library.arrays
        self._doc = doc  # kept to save the function again
        self._library = library
        self._constants: dict = {}  # id(reference) -> Tensor (the references live with the document)
        defined = {f"p{k}" for k in range(len(self._placeholders))}
        self._steps = self._build(doc["ops"], defined)
        self._outputs = doc["outputs"]
        self._check_refs(self._outputs, defined)
        used: dict = {}
        for v in variables_of(self._steps, self._variables):
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
                step = build_step(entry, self._library, self.name)
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
            return Cond([self._body(b, set(defined)) for b in branches], output_map)
        loop = entry["while"]
        loop_vars = [str(n) for n in loop["vars"]]
        n_initial, has_max = int(loop["n_initial"]), bool(loop["has_max"])
        if n_initial != len(loop_vars) or len(entry["inputs"]) < n_initial + has_max:
            raise ValueError(f"SavedModel: a while loop in function `{self.name}` is malformed.")
        inner = set(defined) | set(loop_vars)
        cond, body = self._body(loop["cond"], set(inner)), self._body(loop["body"], set(inner))
        if len(cond[1]) != 1 or len(body[1]) != n_initial:
            raise ValueError(f"SavedModel: a while loop in function `{self.name}` is malformed.")
        return While(loop_vars, cond, body, has_max)

    def _run_steps(self, steps: list, env: dict) -> None:
        for step, inputs, out_names in steps:
            values = [self._value(r, env) for r in inputs]
            out = step.run_in(self, env, values) if hasattr(step, "run_in") else step(*values)
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
        out = nest.pack_sequence_as(self._structure, flat)
        return composites.decode(out) if composites.contains_encoded(out) else out

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
        if python is not None:
            return self._bind(tuple(python), {})
        if composites.contains_encoded((args, kwargs)):  # a signature trace: the components in order
            args = tuple(x for x in nest.flatten(list(args)) if not composites.is_static(x))
        return self._bind(args, kwargs)

    def matches(self, args: tuple, kwargs: dict) -> bool:
        try:
            self._bind_any(args, kwargs)
        except (TypeError, ValueError):
            return False
        return True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if composites.has_composites((args, kwargs)):  # extension types: their components
            args, kwargs = composites.encode(args), composites.encode(kwargs)
        return self._call_flat(self._bind_any(args, kwargs))


def _saved_shape(p: dict) -> Any:
    """A placeholder's shape as saved; a spec of unknown rank traced for rank r: r Nones."""
    if p["shape"] is None and p.get("rank") is not None:
        return [None] * int(p["rank"])
    return p["shape"]


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
        if composites.has_composites((args, kwargs)):
            args, kwargs = composites.encode(args), composites.encode(kwargs)
        for c in self.concrete_functions:
            if c.matches(args, kwargs):
                return c(*args, **kwargs)
        specs = "; ".join(", ".join(f"{p['name']}: {_saved_shape(p)} {p['dtype']}" for p in c._placeholders)
                          for c in self.concrete_functions)
        if any(p["shape"] is None for c in self.concrete_functions for p in c._placeholders):
            _refuse_rank(self.name, self.concrete_functions, args, kwargs)
        raise TypeError(f"Loaded function `{self.name}` has no trace for these arguments; its traces take: {specs}.")


def _merged_shape(a: Any, b: Any) -> Any:
    if a is None or b is None or len(a) != len(b):
        return None
    return [x if x == y else None for x, y in zip(a, b, strict=True)]


def _refuse_rank(name: str, traces: list, args: tuple, kwargs: dict) -> None:
    """A call whose tensors have ranks no saved trace was made for (specs of unknown rank are
    saved as one trace per rank): InvalidArgumentError with the error tracing gave for those
    ranks (as TF reports the op that fails at run time), or the ranks that were saved."""
    first = traces[0]
    names = first.input_names
    values = list(args) + [kwargs[n] for n in names[len(args):] if n in kwargs]
    unknown = [k for k, p in enumerate(first._placeholders) if p["shape"] is None]
    if len(values) != len(names):
        return
    ranks = [len(np.shape(values[k])) if not isinstance(values[k], Tensor) else len(values[k].shape)
             for k in unknown]
    for saved, message in first._doc.get("refused_ranks", []):
        if list(saved) == ranks:
            raise InvalidArgumentError(None, None, f"`{name}` with inputs of rank {ranks}: {message}")
    saved = sorted({tuple(int(c._placeholders[k].get("rank") or 0) for k in unknown) for c in traces})
    raise InvalidArgumentError(
        None, None, f"`{name}` was saved for inputs of unknown rank with the ranks {[list(r) for r in saved]} "
        f"(one trace per rank); received ranks {ranks}.")


class SignatureFunction(LoadedConcreteFunction):
    """A serving signature: called with keyword tensors, returns a dict of output tensors.

    A signature whose specs have unknown rank was saved as one trace per rank
    (`rank_variants`): a call runs the trace made for its tensors' ranks."""

    def __init__(self, doc: dict, library: _Library) -> None:
        super().__init__(doc, library)
        self.rank_variants = [SignatureFunction(d, library) for d in doc.get("rank_variants", [])]

    def __call__(self, *args: Any, **kwargs: Any) -> dict:
        if self.rank_variants and not self.matches(args, kwargs):
            for variant in self.rank_variants:
                if variant.matches(args, kwargs):
                    return variant(*args, **kwargs)
            _refuse_rank(self.name, [self, *self.rank_variants], args, kwargs)
        return self._named(LoadedConcreteFunction.__call__(self, *args, **kwargs))

    @property
    def _merged_output_specs(self) -> list | None:
        """The output specs over every rank variant: dimensions that differ are None, ranks
        that differ unknown (as TF's one trace of unknown rank reports them)."""
        specs = self._output_specs
        for v in self.rank_variants:
            other = v._output_specs
            if specs is None or other is None or len(other) != len(specs):
                return specs
            specs = [a if a is None or b is None else [_merged_shape(a[0], b[0]), a[1]]
                     for a, b in zip(specs, other, strict=True)]
        return specs

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
        saved, self._output_specs = self._output_specs, self._merged_output_specs
        try:
            named = self._named(LoadedConcreteFunction.structured_outputs.fget(self))
        finally:
            self._output_specs = saved
        return {k: None if s is None else TensorSpec(s.shape, s.dtype, k) for k, s in named.items()}

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
        obj = revive(document.get("objects") or [], built)
        for name, concretes in built.functions.items():
            setattr(obj, name, LoadedFunction(name, concretes))
        obj.signatures.update(built.signatures)
    except (KeyError, TypeError, json.JSONDecodeError, IndexError, AttributeError, RecursionError) as e:
        raise ValueError(f"SavedModel at {export_dir} is corrupt: {type(e).__name__}: {e}") from None
    return obj
