"""`tf.saved_model.load`: rebuild saved functions and variables without the original code."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from tapeflow import nest
from tapeflow.saved_model.encoding import decode, op_registry
from tapeflow.tensor import Tensor, TensorShape, Variable, convert_to_tensor

_MAX_DOCUMENT = 1 << 28


def _variables(entries: list, arrays: Any) -> list:
    return [Variable(np.array(arrays[e["array"]]), trainable=bool(e["trainable"]), name=str(e["name"]))
            for e in entries]


class LoadedConcreteFunction:
    """One saved trace: callable with its tensors (in order, or by argument name)."""

    def __init__(self, doc: dict, registry: dict, arrays: Any, variables: list) -> None:
        self.name = doc.get("name", "function")
        self._placeholders = doc["placeholders"]
        self._variables = variables
        self._arrays = arrays
        self._ops = []
        for entry in doc["ops"]:
            cls = registry.get(entry["op"])
            if cls is None:
                raise ValueError(f"SavedModel: unknown op {entry['op']!r} in function `{self.name}` (saved by a "
                                 "different Tapeflow version, or not a Tapeflow SavedModel).")
            fn = cls.__new__(cls)
            fn.__dict__.update({k: decode(v, arrays) for k, v in entry["attrs"].items()})
            self._ops.append((fn, entry["inputs"], int(entry["outputs"])))
        self._outputs = doc["outputs"]
        self._structure = decode(doc["output_structure"], arrays)

    @property
    def input_names(self) -> list:
        return [p["name"] for p in self._placeholders]

    def _value(self, ref: dict, env: dict) -> Any:
        if "t" in ref:
            return env[ref["t"]]
        if "v" in ref:
            return self._variables[ref["v"]]
        if "c" in ref:
            return Tensor(decode(ref["c"], self._arrays))
        return decode(ref["py"], self._arrays)

    def _call_flat(self, values: list) -> Any:
        env = {f"p{k}": v for k, v in enumerate(values)}
        for i, (fn, inputs, n_out) in enumerate(self._ops):
            out = fn(*[self._value(r, env) for r in inputs])
            outs = out if isinstance(out, tuple) else (out,)
            for j in range(n_out):
                env[f"n{i}:{j}"] = outs[j]
        flat = [self._value(r, env) for r in self._outputs]
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
            if t.dtype.name != p["dtype"] or (shape is not None and not TensorShape(shape).is_compatible_with(
                    tuple(t.shape))):
                raise TypeError(f"`{self.name}`: argument `{p['name']}` expects shape {shape} and dtype "
                                f"{p['dtype']}, received shape {tuple(t.shape)} and dtype {t.dtype.name}.")
            out.append(t)
        return out

    def matches(self, args: tuple, kwargs: dict) -> bool:
        try:
            self._bind(args, kwargs)
        except (TypeError, ValueError):
            return False
        return True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call_flat(self._bind(args, kwargs))


class LoadedFunction:
    """A saved tf.function: the first of its traces whose inputs match the call."""

    def __init__(self, name: str, concretes: list) -> None:
        self.name = name
        self.concrete_functions = concretes

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
        out = LoadedConcreteFunction.__call__(self, *args, **kwargs)
        if isinstance(out, dict):
            return out
        if isinstance(out, (list, tuple)):
            return {f"output_{i}": o for i, o in enumerate(out)}
        return {"output_0": out}


class _Loaded:
    """The object `load` returns: the saved functions as attributes, `signatures`, variables."""

    def __init__(self, variables: list) -> None:
        self.variables = variables
        self.trainable_variables = [v for v in variables if v.trainable]
        self.signatures: dict = {}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        call = self.__dict__.get("__call__")
        if call is None:
            raise TypeError("This loaded SavedModel has no saved __call__ function.")
        return call(*args, **kwargs)


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
        from tapeflow.saved_model.save import FORMAT

        if document.get("format") != FORMAT:
            raise ValueError(f"not a Tapeflow SavedModel (format {document.get('format')!r})")
        with np.load(os.path.join(export_dir, "arrays.npz"), allow_pickle=False) as npz:
            arrays = [npz[f"a{i}"] for i in range(len(npz.files))]
        variables = _variables(document["variables"], arrays)
        registry = op_registry()
        obj = _Loaded(variables)
        for name, docs in document["functions"].items():
            concretes = [LoadedConcreteFunction(d, registry, arrays, variables) for d in docs]
            setattr(obj, name, LoadedFunction(name, concretes))
        for key, doc in document["signatures"].items():
            obj.signatures[key] = SignatureFunction(doc, registry, arrays, variables)
    except (KeyError, TypeError, json.JSONDecodeError, IndexError) as e:
        raise ValueError(f"SavedModel at {export_dir} is corrupt: {type(e).__name__}: {e}") from None
    return obj
