"""`tf.saved_model.save`: an object's traced functions and variables to a directory."""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

import numpy as np

from tapeflow import atomic_file as _atomic
from tapeflow import backend, nest
from tapeflow.saved_model.encoding import SKIPPED_ATTRIBUTES, Unsaveable, encode, op_registry
from tapeflow.tensor import Tensor, Variable
from tapeflow.tracing.polymorphic import ConcreteFunction, Function

FORMAT = "tapeflow.saved_model/1"


def _functions_of(obj: Any) -> dict:
    """The tf.function attributes of `obj` (methods bound to it), by name."""
    out = {}
    for name in sorted(set(dir(type(obj))) | set(getattr(obj, "__dict__", {}))):
        if name.startswith("__") and name != "__call__":
            continue
        try:
            value = getattr(obj, name)
        except Exception:  # noqa: S112 - properties that fail are not functions
            continue
        if isinstance(value, Function):
            out[name] = value
    return out


def _concretes(fn: Function) -> list:
    if fn.input_signature is not None and "signature" not in fn._cache:
        fn.get_concrete_function()
    seen: list = []
    for c in fn._cache.values():
        if c not in seen:
            seen.append(c)
    return seen


def _signature_functions(obj: Any, signatures: Any, functions: dict) -> dict:
    if signatures is None:
        with_signature = [f for f in functions.values() if f.input_signature is not None]
        return {"serving_default": _concretes(with_signature[0])[0]} if len(with_signature) == 1 else {}
    if isinstance(signatures, (Function, ConcreteFunction)):
        signatures = {"serving_default": signatures}
    if not isinstance(signatures, dict):
        raise ValueError(f"saved_model.save: signatures must be a tf.function, a concrete function or a dict of "
                         f"them, received {signatures!r}.")
    out = {}
    for key, fn in signatures.items():
        if isinstance(fn, Function):
            if fn.input_signature is None:
                raise ValueError(f"saved_model.save: signature {key!r} is a tf.function without an input_signature;"
                                 " pass fn.get_concrete_function(<TensorSpecs>) instead.")
            fn = _concretes(fn)[0]
        if not isinstance(fn, ConcreteFunction):
            raise ValueError(f"saved_model.save: signature {key!r} must be a tf.function or a concrete function, "
                             f"received {fn!r}.")
        out[key] = fn
    return out


class _Writer:
    """Encodes concrete functions, sharing one table of variables and arrays."""

    def __init__(self) -> None:
        self.arrays: list = []
        self.variables: list = []
        self._var_index: dict = {}
        self.registry = {cls: key for key, cls in op_registry().items()}

    def variable(self, v: Variable) -> int:
        if id(v) not in self._var_index:
            self._var_index[id(v)] = len(self.variables)
            self.arrays.append(np.asarray(backend.to_numpy(v._value)))
            self.variables.append({"name": v.name, "trainable": v.trainable, "array": len(self.arrays) - 1})
        return self._var_index[id(v)]

    def ref(self, x: Any, names: dict) -> Any:
        if isinstance(x, Tensor) and x._value is None:
            return {"t": names[id(x)]}
        if isinstance(x, Variable):
            return {"v": self.variable(x)}
        if isinstance(x, Tensor):
            return {"c": encode(x._value, self.arrays)}
        return {"py": encode(x, self.arrays)}

    def concrete(self, c: ConcreteFunction, label: str) -> dict:
        names: dict = {}
        placeholders = []
        for k, (ph, p) in enumerate(zip(c.graph.inputs, c._placeholders, strict=True)):
            names[id(ph)] = f"p{k}"
            placeholders.append({"name": p.path, "shape": None if p.spec.shape is None else list(p.spec.shape),
                                 "dtype": p.spec.dtype.name})
        ops = []
        for i, node in enumerate(c._program.nodes):
            fn = getattr(node, "function", None)
            if fn is None or hasattr(node, "run_in"):
                raise Unsaveable(f"`{label}` cannot be saved: its graph calls `{node.name}`, a Python call run "
                                 "eagerly on each call (a lifted layer, optimizer step, py_function or control "
                                 "flow), which the SavedModel format cannot hold")
            key = self.registry.get(type(fn))
            if key is None:
                raise Unsaveable(f"`{label}` cannot be saved: op {type(fn).__qualname__} is not an engine primitive")
            try:
                attrs = {k: encode(v, self.arrays) for k, v in vars(fn).items() if k not in SKIPPED_ATTRIBUTES}
            except Unsaveable as e:
                raise Unsaveable(f"`{label}` cannot be saved: op {type(fn).__qualname__} holds {e}") from None
            inputs = [self.ref(x, names) for x in node.inputs]
            for j, o in enumerate(node.outputs):
                names[id(o)] = f"n{i}:{j}"
            ops.append({"op": key, "attrs": attrs, "inputs": inputs, "outputs": len(node.outputs)})
        flat = nest.flatten(c.structured_outputs)
        return {"placeholders": placeholders, "ops": ops,
                "outputs": [self.ref(o, names) for o in flat],
                "output_structure": encode(nest.map_structure(lambda _: None, c.structured_outputs), []),
                "name": c.name}


def save(obj: Any, export_dir: str, signatures: Any = None, options: Any = None) -> None:
    """Write `obj`'s traced tf.functions, `signatures` and the variables they use to `export_dir`.

    Args:
        obj: a `tf.Module`, Keras model or any object with tf.function attributes.
        export_dir: the directory to create (replaced atomically if it exists).
        signatures: None (a single tf.function with an input_signature becomes
            "serving_default"), a tf.function / concrete function, or a dict name -> either.
        options: a `tf.saved_model.SaveOptions` (see tapeflow.saved_model.options for what each
            option does here), or None.

    Raises:
        ValueError: a function whose graph is not made of engine primitives.
    """
    from tapeflow.saved_model.options import save_options

    save_options(options)
    functions = _functions_of(obj)
    sigs = _signature_functions(obj, signatures, functions)
    writer = _Writer()
    document = {"format": FORMAT, "functions": {}, "signatures": {}}
    for name, fn in functions.items():
        document["functions"][name] = [writer.concrete(c, name) for c in _concretes(fn)]
    for key, c in sigs.items():
        document["signatures"][key] = writer.concrete(c, key)
    document["variables"] = writer.variables
    _check_round_trip(document, writer.arrays, functions, sigs)
    parent = os.path.dirname(os.path.abspath(export_dir)) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = _atomic.temporary_path(export_dir)
    os.mkdir(tmp)
    try:
        with open(os.path.join(tmp, "saved_model.json"), "w") as f:
            json.dump(document, f)
        np.savez(os.path.join(tmp, "arrays.npz"), **{f"a{i}": a for i, a in enumerate(writer.arrays)})
        if os.path.isdir(export_dir):
            shutil.rmtree(export_dir)
        _atomic.commit(tmp, export_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _check_round_trip(document: dict, arrays: list, functions: dict, sigs: dict) -> None:
    """Rebuild every saved function and run it next to the original on stand-in inputs: an op
    whose state the format missed fails here, at save time, not after loading."""
    from tapeflow.saved_model.load import LoadedConcreteFunction, _variables

    variables = _variables(document["variables"], arrays)
    registry = op_registry()
    pairs = [(doc, c) for name, fn in functions.items()
             for doc, c in zip(document["functions"][name], _concretes(fn), strict=True)]
    pairs += [(document["signatures"][k], c) for k, c in sigs.items()]
    rng = np.random.default_rng(0)
    for doc, c in pairs:
        loaded = LoadedConcreteFunction(doc, registry, arrays, variables)
        inputs = []
        for p in c._placeholders:
            shape = tuple(2 if d is None else d for d in (p.spec.shape or ()))
            np_dtype = p.spec.dtype._np
            values = rng.integers(0, 2, shape) if np_dtype.kind in "iub" else rng.uniform(0.5, 1.5, shape)
            inputs.append(Tensor(backend.default_xp().asarray(values.astype(np_dtype))))
        try:
            expected = nest.flatten(c._call_flat(list(inputs)))
        except Exception:  # noqa: S112 - inputs the function rejects: nothing to compare
            continue
        got = nest.flatten(loaded._call_flat(list(inputs)))
        for a, b in zip(expected, got, strict=True):
            if isinstance(a, Tensor) and not np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True):
                raise Unsaveable(f"`{doc['name']}` cannot be saved: the rebuilt graph does not compute what the "
                                 "traced one does (an op keeps state the format does not hold)")
