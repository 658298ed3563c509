"""`tf.saved_model.save`: an object's traced functions and variables to a directory."""

from __future__ import annotations

import json
import os
import shutil
import sys
from typing import Any

import numpy as np

from tapeflow import atomic_file as _atomic
from tapeflow import backend, dtypes, nest
from tapeflow.saved_model.encoding import SKIPPED_ATTRIBUTES, Unsaveable, encode, op_registry
from tapeflow.saved_model.load import LoadedConcreteFunction, LoadedFunction
from tapeflow.saved_model.objects import Loaded
from tapeflow.tensor import Tensor, TensorShape, Variable
from tapeflow.tracing.control_flow import CondNode, WhileNode
from tapeflow.tracing.custom_gradient import GradientGraph, TracedCustomGradient
from tapeflow.tracing.func_graph import CallNode
from tapeflow.tracing.polymorphic import ConcreteFunction, Function, _arg_names
from tapeflow.tracing.spec import TensorSpec
from tapeflow.tracing.tape_nodes import TapeNode
from tapeflow.train import object_graph

FORMAT = "tapeflow.saved_model/2"
# Formats `load` reads: version 1 had no library, object graph or output specs.
READABLE_FORMATS = ("tapeflow.saved_model/1", FORMAT)


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
        if isinstance(value, (Function, LoadedFunction)):
            out[name] = value
    return out


def _concretes(fn: Any) -> list:
    if isinstance(fn, LoadedFunction):
        return list(fn.concrete_functions)
    signature = fn._input_signature  # extension-type specs appear as their component specs
    if signature is not None and any(isinstance(s, TensorSpec) and s.shape.rank is None
                                     for s in nest.flatten(list(signature))):
        fn._traces_for_every_rank()  # graphs are not rank-polymorphic: one trace per rank
    elif signature is not None and "signature" not in fn._cache:
        fn.get_concrete_function()
    elif signature is None:
        # get_concrete_function(TensorSpec(None, ...)): TF's graph takes any rank; here one
        # trace per rank, as for an input_signature.
        for c in list(fn._cache.values()):
            if not c._kwargs and any(ph.spec.shape.rank is None for ph in c._placeholders):
                fn._traces_for_every_rank(signature=c._encoded_input_signature[0])
    seen: list = []
    for c in fn._cache.values():
        # The trace of unknown rank is saved as its per-rank traces, made above.
        if c not in seen and not _any_rank(c):
            seen.append(c)
    return seen


_METRIC_METHODS = ("update_state", "reset_state", "result")


def _metric_call(node: Any) -> Any:
    """The metric whose lifted method the node calls (`metric.update_state(...)` in a trace)."""
    fn = getattr(node, "fn", None)
    if not isinstance(node, CallNode) or getattr(fn, "__name__", "") not in _METRIC_METHODS:
        return None
    args = node._structure[0]
    target = args[0] if args else None
    if not node._leaves or node._leaves[0] is not target:
        return None
    from_module = type(target).__module__
    return target if from_module.startswith("tapeflow.keras.") and hasattr(target, "get_config") and hasattr(
        target, "variables") and hasattr(target, "update_state") else None


def _any_rank(c: Any) -> bool:
    """Whether a trace has a placeholder of unknown rank (it serves values of any rank)."""
    return isinstance(c, ConcreteFunction) and any(ph.spec.shape.rank is None and ph.rank is None
                                                   for ph in c._placeholders)


def _rank_variants(fn: Function) -> list:
    """For a signature whose input_signature has specs of unknown rank: its traces, one per
    rank (saved as one signature that picks the trace of the call's ranks); else []."""
    sig = fn.input_signature
    if sig is None or not any(s.shape.rank is None for s in nest.flatten(list(sig))):
        return []
    out = _RankVariants(c for c in fn._traces_for_every_rank() if _valid_signature(c))
    out.function = fn
    return out


class _RankVariants(list):
    """A signature's traces, one per rank of its specs of unknown rank, and its tf.function."""

    function: Any = None


def _valid_signature(c: ConcreteFunction) -> bool:
    """Whether a trace can serve as a signature: it returns tensors (a tensor, a list or tuple
    of them, or a dict of them by name)."""
    out = c.structured_outputs
    if isinstance(out, dict):
        values = list(out.values()) if all(isinstance(k, str) for k in out) else []
    else:
        values = list(out) if isinstance(out, (list, tuple)) else [out]
    return bool(values) and all(isinstance(v, Tensor) for v in values)


def _signature_functions(obj: Any, signatures: Any, functions: dict) -> dict:
    if signatures is None and isinstance(obj, Loaded) and obj.signatures:
        return dict(obj.signatures)  # a loaded SavedModel saved again keeps its signatures
    if signatures is None:
        default = getattr(obj, "_default_save_signature", None)  # a Keras model's call on its inputs
        fn = default() if callable(default) else None
        if fn is not None:
            return {"serving_default": _rank_variants(fn) or _concretes(fn)[0]}
        # As TF: the one function with an input_signature whose outputs make a signature.
        candidates = [c for f in functions.values() if getattr(f, "input_signature", None) is not None
                      for c in _concretes(f)[:1] if _valid_signature(c)]
        return {"serving_default": candidates[0]} if len(candidates) == 1 else {}
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
            fn = _rank_variants(fn) or _concretes(fn)[0]
        source = fn._function() if isinstance(fn, ConcreteFunction) and _any_rank(fn) else None
        if source is not None:  # a trace of unknown rank: the function's trace of every rank
            fn = _rank_variants(source) or fn
        if isinstance(fn, list) or isinstance(fn, LoadedConcreteFunction):
            out[key] = fn
            continue
        if not isinstance(fn, ConcreteFunction):
            raise ValueError(f"saved_model.save: signature {key!r} must be a tf.function or a concrete function, "
                             f"received {fn!r}.")
        if not _valid_signature(fn):
            raise ValueError(f"saved_model.save: signature {key!r} must return a tensor, a list of tensors or a "
                             f"dict of tensors by name, received {fn.structured_outputs!r}.")
        out[key] = fn
    return out


def _shape(shape: Any) -> list | None:
    return None if shape is None or shape.rank is None else list(shape)


def _spec(x: Any) -> list | None:
    """[shape, dtype] of a tensor output (None for a Python value)."""
    if not isinstance(x, Tensor):
        return None
    return [_shape(TensorShape(x.shape)), x.dtype.name]


def _skeleton(x: Any, index: dict, arrays: list) -> Any:
    """A traced argument with each tensor argument as {"placeholder": k} and each Python value
    encoded, so a loaded function matches calls with Python values as the original did."""
    if id(x) in index:
        return {"placeholder": index[id(x)]}
    if isinstance(x, tuple):
        return {"tuple": [_skeleton(v, index, arrays) for v in x]}
    if isinstance(x, list):
        return {"list": [_skeleton(v, index, arrays) for v in x]}
    if isinstance(x, dict) and all(isinstance(k, str) for k in x):
        return {"dict": {k: _skeleton(v, index, arrays) for k, v in x.items()}}
    if isinstance(x, (Tensor, np.ndarray)):
        raise Unsaveable("a tensor traced as a Python value")
    return {"value": encode(x, arrays)}


class _Writer:
    """Encodes traced graphs as step lists, sharing one table of variables and arrays and one
    library of called functions (lifted concrete-function calls, custom gradients)."""

    def __init__(self, custom_gradients: bool = True) -> None:
        self.custom_gradients = custom_gradients
        self.arrays: list = []
        self.variables: list = []
        self.variable_objects: list = []
        self._var_index: dict = {}
        self.library: dict = {}
        self._library_keys: dict = {}
        self._library_sources: list = []  # keeps the saved objects alive while ids key them
        self._tape_ids: dict = {}
        self.registry = {cls: key for key, cls in op_registry().items()}

    def variable(self, v: Variable) -> int:
        if id(v) not in self._var_index:
            self._var_index[id(v)] = len(self.variables)
            self.arrays.append(np.asarray(backend.to_numpy(v._value)))
            self.variables.append({"name": v.name, "trainable": v.trainable, "array": len(self.arrays) - 1})
            self.variable_objects.append(v)
        return self._var_index[id(v)]

    def ref(self, x: Any, names: dict) -> Any:
        if isinstance(x, Tensor) and x._value is None:
            return {"t": names[id(x)]}
        if isinstance(x, Variable):
            return {"v": self.variable(x)}
        if isinstance(x, Tensor):
            return {"c": encode(x._value, self.arrays)}
        return {"py": encode(x, self.arrays)}

    def concrete(self, c: Any, label: str, signature: bool = False) -> dict:
        """A traced function: its placeholders, steps, outputs and output structure. A signature
        names its inputs after their specs' names where given (as TF's signatures do). A loaded
        function (a SavedModel saved again) is written as it was read, its variables, arrays and
        library functions renumbered into this file's tables."""
        if isinstance(c, LoadedConcreteFunction):
            return self._renumbered(c._doc, c._library)
        placeholders = [{"name": (p.spec.name or p.path) if signature else p.path, "shape": _shape(p.spec.shape),
                         "dtype": p.spec.dtype.name, "rank": p.rank} for p in c._placeholders]
        flat = nest.flatten(c._structured_outputs)
        doc = self._body(label, list(c.graph.inputs), placeholders, c._program.nodes, flat)
        doc["output_structure"] = encode(nest.map_structure(lambda _: None, c._structured_outputs), [])
        doc["name"] = c.name
        if not signature:
            index = {id(p): k for k, p in enumerate(c._placeholders)}
            try:
                doc["python_args"] = [[_skeleton(a, index, self.arrays) for a in c._args],
                                      {k: _skeleton(v, index, self.arrays) for k, v in c._kwargs.items()}]
            except Unsaveable:
                pass  # a Python argument the format cannot hold: the trace is called by its tensors only
            doc["arg_names"] = _arg_names(c._signature, len(c._args))
        return doc

    def _body(self, label: str, inputs: list, placeholders: list, nodes: list, outputs: list) -> dict:
        names = {id(t): f"p{k}" for k, t in enumerate(inputs)}
        steps = self._steps(label, nodes, names, [0])
        return {"placeholders": placeholders, "ops": steps, "outputs": [self.ref(o, names) for o in outputs],
                "output_specs": [_spec(o) for o in outputs]}

    def _steps(self, label: str, nodes: list, names: dict, counter: list) -> list:
        """The steps of `nodes`; each step's outputs are named `n<id>:<j>`, ids unique across the
        function (control-flow bodies read the names of the steps before them)."""
        steps = []
        for node in nodes:
            step = self._step(label, node, names, counter)
            i = counter[0]
            counter[0] += 1
            for j, o in enumerate(node.outputs):
                names[id(o)] = f"n{i}:{j}"
            step["outputs"] = len(node.outputs)
            step["id"] = i
            steps.append(step)
        return steps

    def _sub_body(self, label: str, sub: Any, names: dict, counter: list) -> dict:
        steps = self._steps(label, sub.program.nodes, names, counter)
        return {"ops": steps, "outputs": [self.ref(o, names) for o in sub.flat_outputs]}

    def _control_flow(self, label: str, node: Any, names: dict, counter: list) -> dict:
        """`tf.cond` / `tf.while_loop` (and AutoGraph's `if` / `while` on tensors): the branch or
        loop bodies as nested step lists that read the function's values by name."""
        inputs = [self.ref(x, names) for x in node.inputs]
        if isinstance(node, CondNode):
            return {"cond": [self._sub_body(label, g, names, counter) for g in node.branches],
                    "output_map": [bool(t) for t in node.output_map], "inputs": inputs}
        loop_vars = []
        for k, ph in enumerate(node.placeholders):
            names[id(ph)] = f"l{counter[0]}:{k}"
            loop_vars.append(names[id(ph)])
        counter[0] += 1
        return {"while": {"vars": loop_vars, "cond": self._sub_body(label, node.cond_g, names, counter),
                          "body": self._sub_body(label, node.body_g, names, counter),
                          "n_initial": node.n_initial, "has_max": bool(node.has_max)}, "inputs": inputs}

    def _step(self, label: str, node: Any, names: dict, counter: list) -> dict:
        """One node: a primitive, a variable assignment, a call of a saved function, a lifted
        engine function, a custom gradient or graph control flow; anything else is refused
        naming the node."""
        if isinstance(node, (CondNode, WhileNode)):
            return self._control_flow(label, node, names, counter)
        assignment = getattr(node, "assignment", None)
        if assignment is not None:
            variable, method = assignment
            return {"assign": method, "variable": self.variable(variable),
                    "inputs": [self.ref(x, names) for x in node.inputs]}
        concrete = getattr(node, "concrete", None)
        if concrete is not None:
            return {"call": self._library_function(concrete), "slots": list(node._out_slots),
                    "inputs": [self.ref(x, names) for x in node._leaves]}
        if isinstance(node, TapeNode):
            return self._tape_step(label, node, names)
        optimizer = getattr(node, "optimizer", None)
        if optimizer is not None:
            return self._optimizer_step(label, node, names, *optimizer)
        metric = _metric_call(node)
        if metric is not None:
            return self._metric_step(label, node, names, metric)
        py_function = getattr(getattr(node, "fn", None), "py_function", None)
        if py_function is not None and isinstance(node, CallNode):
            # As TF: saved by its token; the loaded step finds the function only in this process.
            return {"py_function": py_function["token"], "process": py_function["process"],
                    "slots": list(node._out_slots), "inputs": [self.ref(x, names) for x in node._leaves]}
        lifted = getattr(getattr(node, "fn", None), "_saved_model_key", None)
        if lifted is not None and isinstance(node, CallNode) and not hasattr(node, "run_in"):
            skeleton = nest.pack_sequence_as(node._structure, [None] * len(node._leaves))
            try:
                return {"lifted": lifted, "structure": encode(skeleton, self.arrays), "slots": list(node._out_slots),
                        "inputs": [self.ref(x, names) for x in node._leaves]}
            except Unsaveable as e:
                raise Unsaveable(f"`{label}` cannot be saved: its call of `{node.name}` takes {e}") from None
        fn = getattr(node, "function", None)
        if fn is None or hasattr(node, "run_in"):
            raise Unsaveable(f"`{label}` cannot be saved: its graph calls `{node.name}`, a Python call run "
                             "eagerly on each call (a Keras layer traced as a whole, a captured eager "
                             "TensorArray), which the SavedModel format "
                             "cannot hold")
        inputs = [self.ref(x, names) for x in node.inputs]
        if isinstance(fn, TracedCustomGradient):
            # SaveOptions(experimental_custom_gradients=False): saved without its gradient, so
            # differentiating the loaded function fails (as in TF, which finds no gradient).
            grad = self._library_gradient(fn, label) if self.custom_gradients else None
            return {"custom_gradient": grad, "inputs": inputs,
                    "layout": [fn.n_args, fn.n_vars, fn.n_outputs, fn.n_captures]}
        key = self.registry.get(type(fn))
        if key is None:
            raise Unsaveable(f"`{label}` cannot be saved: op {type(fn).__qualname__} is not an engine primitive")
        try:
            attrs = {k: encode(v, self.arrays) for k, v in vars(fn).items() if k not in SKIPPED_ATTRIBUTES}
        except Unsaveable as e:
            raise Unsaveable(f"`{label}` cannot be saved: op {type(fn).__qualname__} holds {e}") from None
        return {"op": key, "attrs": attrs, "inputs": inputs}

    def _tape_step(self, label: str, node: TapeNode, names: dict) -> dict:
        """A tf.GradientTape operation enacted on each call (the tape is entered, watches, and
        is asked for gradients while the loaded function runs, as in the traced one)."""
        tape_id = self._tape_ids.setdefault(id(node.tape), len(self._tape_ids))
        self._library_sources.append(node.tape)  # keeps the id valid while saving
        step = {"tape": node.tape_op, "tape_id": tape_id, "slots": list(node._out_slots),
                "inputs": [self.ref(x, names) for x in node._leaves]}
        if node.tape_op == "enter":
            step["persistent"] = bool(node.tape._persistent)
            step["watch_accessed_variables"] = bool(node.tape._watch_accessed_variables)
        if node.tape_op in ("watch", "gradient"):
            skeleton = nest.pack_sequence_as(node._structure, [None] * len(node._leaves))
            step["structure"] = encode(skeleton, self.arrays)
        if node.tape_op == "gradient":
            step["connected"] = [bool(c) for c in node.connected]
        return step

    def _optimizer_step(self, label: str, node: Any, names: dict, optimizer: Any, targets: list) -> dict:
        """An optimizer update: a built-in optimizer rebuilt from its config at load, its state
        the saved variables (slots, iterations, learning rate), applied to the same targets."""
        cls = type(optimizer)
        key = f"{cls.__module__}.{cls.__qualname__}"
        if not key.startswith("tapeflow.keras.optimizers.") or "<locals>" in key:
            raise Unsaveable(f"`{label}` cannot be saved: its optimizer {optimizer.name!r} is a {cls.__qualname__}, "
                             "not a built-in Keras optimizer (a SavedModel rebuilds optimizers from their "
                             "class name and config)")
        try:
            config = encode(optimizer.get_config(), self.arrays)
        except Unsaveable as e:
            raise Unsaveable(f"`{label}` cannot be saved: the config of optimizer {optimizer.name!r} "
                             f"holds {e}") from None
        return {"optimizer": key, "config": config,
                "built": [self.variable(v) for v in optimizer._trainable_variables],
                "state": [self.variable(v) for v in optimizer.variables],
                "targets": [self.variable(v) for v in targets],
                "inputs": [self.ref(x, names) for x in node.inputs]}

    def _metric_step(self, label: str, node: CallNode, names: dict, metric: Any) -> dict:
        """A built-in Keras metric's update_state / reset_state / result: the metric rebuilt at
        load from its class name and config, its state the saved variables."""
        cls = type(metric)
        key = f"{cls.__module__}.{cls.__qualname__}"
        if not key.startswith("tapeflow.keras.metrics") or "<locals>" in key:
            raise Unsaveable(f"`{label}` cannot be saved: its metric {metric.name!r} is a {cls.__qualname__}, not a "
                             "built-in Keras metric (a SavedModel rebuilds metrics from their class name and config)")
        args, kwargs = node._structure
        rest = (tuple(args[1:]), dict(kwargs))
        skeleton = nest.pack_sequence_as(rest, [None] * (len(node._leaves) - 1))
        try:
            config = encode(metric.get_config(), self.arrays)
            structure = encode(skeleton, self.arrays)
            inputs = [self.ref(x, names) for x in node._leaves[1:]]
        except Unsaveable as e:
            raise Unsaveable(f"`{label}` cannot be saved: its call of `{node.name}` takes {e}") from None
        return {"metric": key, "method": node.fn.__name__, "config": config,
                "state": [self.variable(v) for v in metric.variables], "structure": structure,
                "slots": list(node._out_slots), "inputs": inputs}

    def _renumbered(self, doc: Any, library: Any) -> Any:
        """A loaded document with its variable, array and library references made this file's."""
        if isinstance(doc, list):
            return [self._renumbered(x, library) for x in doc]
        if not isinstance(doc, dict):
            return doc
        out = {}
        for k, v in doc.items():
            if k in ("v", "variable") and isinstance(v, int):
                out[k] = self.variable(library.variables[v])
            elif k in ("built", "state", "targets") and ("optimizer" in doc or "metric" in doc) and isinstance(v, list):
                out[k] = [self.variable(library.variables[int(i)]) for i in v]
            elif k == "array" and isinstance(v, int):
                self.arrays.append(np.asarray(library.arrays[v]))
                out[k] = len(self.arrays) - 1
            elif k in ("call", "custom_gradient") and isinstance(v, str):
                out[k] = self._library_loaded(library, v)
            elif k in ("dict", "attrs", "slots") and isinstance(v, dict):  # keys are names, not fields
                out[k] = {name: self._renumbered(x, library) for name, x in v.items()}
            else:
                out[k] = self._renumbered(v, library)
        return out

    def _library_loaded(self, library: Any, key: str) -> str:
        new = self._library_keys.get((id(library), key))
        if new is None:
            new = f"{key}_{len(self.library)}"
            self._library_keys[(id(library), key)] = new
            self._library_sources.append(library)
            self.library[new] = None
            self.library[new] = self._renumbered(library.docs[key], library)
        return new

    def _library_function(self, c: ConcreteFunction) -> str:
        key = self._library_keys.get(id(c))
        if key is None:
            key = f"{c.name}_{len(self.library)}"
            self._library_keys[id(c)] = key
            self._library_sources.append(c)
            self.library[key] = None  # reserved: a function never calls itself
            self.library[key] = self.concrete(c, c.name)
        return key

    def _library_gradient(self, fn: TracedCustomGradient, label: str) -> str:
        grad = fn.grad
        if not isinstance(grad, GradientGraph):
            raise Unsaveable(f"`{label}` cannot be saved: it calls a custom gradient loaded from another "
                             "SavedModel (its gradient is not a traced graph of this process)")
        key = self._library_keys.get(id(grad))
        if key is None:
            key = f"custom_gradient_{len(self.library)}"
            self._library_keys[id(grad)] = key
            self._library_sources.append(grad)
            inputs = [*grad.dys, *grad.captures]
            placeholders = [{"name": f"dy_{k}" if k < len(grad.dys) else f"capture_{k - len(grad.dys)}",
                             "shape": _shape(TensorShape(t.shape)), "dtype": t.dtype.name}
                            for k, t in enumerate(inputs)]
            self.library[key] = None
            doc = self._body(f"{label}/gradient", inputs, placeholders, grad.sub.program.nodes,
                             grad.sub.flat_outputs)
            doc["name"] = key
            doc["output_structure"] = encode([None] * len(grad.sub.flat_outputs), [])
            self.library[key] = doc
        return key

    def objects(self, obj: Any) -> list:
        """The object graph under `obj` (attributes holding modules, variables, lists, dicts),
        so that the loaded object has the same attributes (`loaded.v`, `loaded.layer.kernel`)."""
        objects, edges, _ = object_graph.walk(obj)
        nodes = []
        for o, children in zip(objects, edges, strict=True):
            if isinstance(o, Variable):
                nodes.append({"kind": "variable", "variable": self.variable(o), "children": []})
                continue
            kind = "list" if isinstance(o, (list, tuple)) else "dict" if isinstance(o, dict) else "object"
            nodes.append({"kind": kind, "children": [[name, j] for name, j in children]})
        return nodes


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

    options = save_options(options)
    functions = _functions_of(obj)
    sigs = _signature_functions(obj, signatures, functions)
    writer = _Writer(custom_gradients=options.experimental_custom_gradients)
    document = {"format": FORMAT, "functions": {}, "signatures": {}, "objects": writer.objects(obj)}
    for name, fn in functions.items():
        document["functions"][name] = [writer.concrete(c, name) for c in _concretes(fn)]
        refused = fn._refused_ranks() if isinstance(fn, Function) else []
        if refused and document["functions"][name]:
            document["functions"][name][0]["refused_ranks"] = refused
    for key, c in sigs.items():
        if isinstance(c, list):  # one trace per rank of specs of unknown rank
            document["signatures"][key] = writer.concrete(c[0], key, signature=True)
            document["signatures"][key]["rank_variants"] = [writer.concrete(v, key, signature=True)
                                                            for v in c[1:]]
            document["signatures"][key]["refused_ranks"] = c.function._refused_ranks()
        else:
            document["signatures"][key] = writer.concrete(c, key, signature=True)
    document["variables"] = writer.variables
    document["library"] = writer.library
    _check_round_trip(document, writer, functions, sigs)
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


def _input_specs(c: Any) -> list:
    """(shape with None for unknown dimensions, dtype) of each tensor input of a trace."""
    if isinstance(c, LoadedConcreteFunction):
        out = []
        for p in c._placeholders:
            shape = p["shape"] if p["shape"] is not None else [None] * int(p.get("rank") or 0)
            out.append((tuple(shape), dtypes.as_dtype(p["dtype"])))
        return out
    return [(tuple(p.spec.shape) if p.spec.shape.rank is not None else (None,) * (p.rank or 0), p.spec.dtype)
            for p in c._placeholders]


class _random_state_preserved:  # noqa: N801 - a context manager
    """The global random stream (and Keras's seed generators, when Keras is loaded) as they were."""

    def __enter__(self) -> None:
        from tapeflow.ops.random import rng_state_preserved

        keras_random = sys.modules.get("tapeflow.keras.random")
        self._contexts = [rng_state_preserved() if keras_random is None else keras_random._state_preserved()]
        for c in self._contexts:
            c.__enter__()

    def __exit__(self, *exc: Any) -> None:
        for c in reversed(self._contexts):
            c.__exit__(*exc)


def _check_round_trip(document: dict, writer: _Writer, functions: dict, sigs: dict) -> None:
    """Rebuild every saved function and run it next to the original on stand-in inputs: an op
    whose state the format missed fails here, at save time, not after loading. Variables are
    reset before each pair of runs and restored afterwards (saved functions may assign them)."""
    from tapeflow.saved_model.load import build_functions

    arrays = writer.arrays
    originals = writer.variable_objects
    saved = [np.array(arrays[e["array"]]) for e in document["variables"]]
    built = build_functions(document, arrays)
    variables = built.variables
    pairs = [(doc, loaded, c) for name, fn in functions.items()
             for doc, loaded, c in zip(document["functions"][name], built.functions[name], _concretes(fn), strict=True)]
    for k, c in sigs.items():
        doc, loaded = document["signatures"][k], built.signatures[k]
        if isinstance(c, list):
            pairs += list(zip([doc, *doc["rank_variants"]], [loaded, *loaded.rank_variants], c, strict=True))
        else:
            pairs.append((doc, loaded, c))
    rng = np.random.default_rng(0)

    def reset() -> None:
        for v, w, a in zip(originals, variables, saved, strict=True):
            v._value[...] = backend.get_xp(v._value).asarray(a)
            w._value[...] = a

    try:
        for doc, loaded, c in pairs:
            inputs = []
            for shape, dtype in _input_specs(c):
                shape = tuple(2 if d is None else d for d in shape)
                np_dtype = dtype._np
                values = rng.integers(0, 2, shape) if np_dtype.kind in "iub" else rng.uniform(0.5, 1.5, shape)
                inputs.append(Tensor(backend.default_xp().asarray(values.astype(np_dtype))))
            reset()
            try:
                with _random_state_preserved():
                    expected = nest.flatten(c._call_flat(list(inputs)))
            except Exception:  # noqa: S112 - inputs the function rejects: nothing to compare
                continue
            with _random_state_preserved():  # the same draws as the traced function's
                got = nest.flatten(loaded._call_flat(list(inputs)))
            for a, b in zip(expected, got, strict=True):
                if isinstance(a, Tensor) and not np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True):
                    raise Unsaveable(f"`{doc['name']}` cannot be saved: the rebuilt graph does not compute what "
                                     "the traced one does (an op keeps state the format does not hold)")
            for v, w in zip(originals, variables, strict=True):
                if not np.array_equal(backend.to_numpy(v._value), backend.to_numpy(w._value), equal_nan=True):
                    raise Unsaveable(f"`{doc['name']}` cannot be saved: the rebuilt graph leaves variable "
                                     f"'{v.name}' with a different value than the traced one does")
    finally:
        for v, a in zip(originals, saved, strict=True):
            v._value[...] = backend.get_xp(v._value).asarray(a)
