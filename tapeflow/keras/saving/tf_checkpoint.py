"""`model.load_weights("ckpt")` for TensorFlow checkpoints: tf.keras's TF-format weights
(`save_weights("ckpt")` writes `ckpt.index` and `ckpt.data-00000-of-00001`) and
`tf.train.Checkpoint(model=...)` files.

The checkpoint's object graph names tf.keras's layers `layer_with_weights-0`, `-1`, ... in the
order of `model.layers` (the layers that hold weights), as its legacy HDF5 files list them (a
Keras 3 model on TensorFlow saved with `tf.train.Checkpoint` lists them as `_operations`). A
layer's variables are collected depth-first in the order of its saved children (the order
tf.keras created them: kernel before bias, a recurrent cell's kernels, an attention layer's
query/key/value/output projections), which is the order of `layer.weights`; each layer's list
is then matched to the Tapeflow layer's `trainable_weights + non_trainable_weights` by count and
shape, exactly as a legacy `.h5` file's per-layer weight lists are. Nothing is assigned until
every layer has matched.
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Any

import numpy as np

from tapeflow.keras.saving.file_io import CorruptFileError
from tapeflow.train.tf_bundle import DataLossError, TFBundleReader

_LAYER_EDGE = re.compile(r"^layer_with_weights-(\d+)$")


def _layer_nodes(nodes: list, label: str, root: int = 0) -> list[int]:
    """The node ids of the saved model's weighted layers, in order (the model may sit one edge
    below `root`, as in `tf.train.Checkpoint(model=model)`)."""
    def weighted(node: dict) -> list[tuple[int, int]]:
        return sorted((int(m.group(1)), j) for name, j in node["children"] if (m := _LAYER_EDGE.match(name)))

    found = weighted(nodes[root])
    if not found:
        below = [weighted(nodes[j]) for _, j in nodes[root]["children"]]
        below = [b for b in below if b]
        if len(below) == 1:
            found = below[0]
    if not found:
        operations = _keras3_operations(nodes, root)
        if operations:
            return operations
    if not found:
        raise ValueError(f"'{label}' is a TensorFlow checkpoint without Keras layers (no `layer_with_weights-N` "
                         "objects): restore it with tf.train.Checkpoint(...).restore() instead.")
    if [i for i, _ in found] != list(range(len(found))):
        raise CorruptFileError(f"'{label}': the checkpoint's layers are numbered {[i for i, _ in found]}.")
    return [j for _, j in found]


def _keras3_operations(nodes: list, root: int = 0) -> list[int]:
    """A Keras 3 model (TensorFlow backend) under `tf.train.Checkpoint(model=...)`: its layers are
    the `_operations` list of the model (or of a Sequential's `_functional`); those with weights."""
    def child(i: int, name: str) -> int | None:
        return next((j for n, j in nodes[i]["children"] if n == name), None)

    for start in [root, *(j for _, j in nodes[root]["children"])]:
        for model in (start, child(start, "_functional")):
            ops = None if model is None else child(model, "_operations")
            if ops is not None:
                order = sorted((int(n), j) for n, j in nodes[ops]["children"] if n.isdigit())
                return [j for _, j in order if _variables_under(nodes, j)]
    return []


def _variables_under(nodes: list, start: int) -> list[int]:
    """The node ids of the variables below node `start`, depth-first in child order, each once."""
    found, seen, stack = [], set(), [start]
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        if nodes[i]["key"] is not None:
            found.append(i)
        stack.extend(j for _, j in reversed(nodes[i]["children"]))
    return found


def model_variable_nodes(nodes: list, root: int, model: Any, label: str) -> list[tuple[int, Any]]:
    """[(saved node id, Tapeflow variable)] of a tf.keras or Keras 3 (TensorFlow backend) model
    saved at node `root`, paired layer by layer as `load_tf_checkpoint` pairs them.

    Raises:
        ValueError: when the layers or their weights do not match by count and shape.
    """
    from tapeflow.keras.saving.legacy_h5 import _legacy_weights

    saved = _layer_nodes(nodes, label, root)
    layers = [layer for layer in model.layers if _legacy_weights(layer)]
    if len(saved) != len(layers):
        raise ValueError(f"Layer count mismatch when restoring '{label}' into model '{model.name}': the model has "
                         f"{len(layers)} layers with weights, the checkpoint {len(saved)}.")
    pairs = []
    for k, (node, layer) in enumerate(zip(saved, layers, strict=True)):
        ids, variables = _pair(nodes, node, layer)
        where = f"layer #{k} (named {layer.name})"
        if len(ids) != len(variables):
            raise ValueError(f"Weight count mismatch for {where}: the layer expects {len(variables)} weight(s), "
                             f"'{label}' holds {len(ids)}.")
        pairs.extend(zip(ids, variables, strict=True))
    return pairs


def load_tf_checkpoint(model: Any, prefix: str, skip_mismatch: bool = False) -> None:
    """Load the weights of a TensorFlow checkpoint `prefix` into `model` (see module doc).

    Raises:
        CorruptFileError: for a damaged file, naming it and the entry.
        ValueError: when the layers or their weights do not match (unless `skip_mismatch`).
    """
    from tapeflow.keras.saving.legacy_h5 import _legacy_weights

    label = os.fspath(prefix)
    try:
        reader = TFBundleReader(label)
        saved = _layer_nodes(reader.nodes, label)
        layers = [layer for layer in model.layers if _legacy_weights(layer)]
        if len(saved) != len(layers):
            raise ValueError(f"Layer count mismatch when loading weights from file. Model expected {len(layers)} "
                             f"layers, found {len(saved)} saved layers.")
        plan = []
        for k, (node, layer) in enumerate(zip(saved, layers, strict=True)):
            where = f"layer #{k} (named {layer.name})"
            try:
                ids, variables = _pair(reader.nodes, node, layer)
                keys = [reader.nodes[i]["key"] for i in ids]
                values = _layer_values(reader, keys, variables, where, label)
            except ValueError as exc:
                if isinstance(exc, (CorruptFileError, DataLossError)) or not skip_mismatch:
                    raise
                warnings.warn(f"Skipping loading weights for {where}: {exc}", stacklevel=3)
                continue
            plan.extend(zip(variables, values, strict=True))
        plan.extend(_optimizer_plan(model, reader, label))
    except DataLossError as exc:
        raise CorruptFileError(str(exc)) from None
    for var, arr in plan:
        var.assign(arr.astype(var.dtype._np, copy=False))


def _optimizer_plan(model: Any, reader: TFBundleReader, label: str) -> list:
    """[(optimizer variable, array)] for a compiled model when the checkpoint holds tf.keras's
    optimizer state (`optimizer/_variables/N`: iterations, then each slot per variable, as tf.keras
    lists them); empty, with a warning, when it does not fit the model's optimizer."""
    from tapeflow.keras.saving.legacy_h5 import _keras2_optimizer_variables

    opt = getattr(model, "optimizer", None)
    nodes = reader.nodes
    root = next((j for name, j in nodes[0]["children"] if name == "optimizer"), None)
    if opt is None or not hasattr(opt, "variables") or root is None:
        return []
    listed = next((j for name, j in nodes[root]["children"] if name == "_variables"), None)
    if listed is None:
        return []
    order = sorted((int(name), j) for name, j in nodes[listed]["children"] if name.isdigit())
    keys = [nodes[j]["key"] for _, j in order]
    if len(keys) <= 1 or any(k is None for k in keys):
        return []  # an optimizer that never stepped: nothing but its iteration count
    if not getattr(opt, "built", False):
        opt.build(model.trainable_variables)
    variables = list(opt.variables)
    if len(keys) == len(variables) - 1:  # tf.keras keeps no learning-rate variable in the list
        variables = _keras2_optimizer_variables(opt)
    shapes = reader.get_variable_to_shape_map()
    if len(keys) != len(variables) or any(tuple(shapes[k]) != tuple(v.shape) for k, v in zip(keys, variables,
                                                                                                strict=True)):
        warnings.warn(f"'{label}': the saved optimizer state ({len(keys)} variables) does not match the model's "
                      f"{type(opt).__name__} ({len(variables)} variables); the optimizer starts from fresh state.",
                      stacklevel=4)
        return []
    return [(v, np.asarray(reader.get_tensor(k))) for k, v in zip(keys, variables, strict=True)]


def _pair(nodes: list, node: int, layer: Any) -> tuple[list[int], list]:
    """(saved variable node ids, Tapeflow variables) of one saved layer, in matching order. A nested
    model is matched sublayer by sublayer (its own `layer_with_weights-N`), as its weights are
    listed trainable-first while the checkpoint keeps them per sublayer."""
    from tapeflow.keras.saving.legacy_h5 import _legacy_weights

    inner = sorted((int(m.group(1)), j) for name, j in nodes[node]["children"] if (m := _LAYER_EDGE.match(name)))
    sublayers = [sub for sub in getattr(layer, "layers", None) or [] if _legacy_weights(sub)]
    if inner and sublayers and len(inner) == len(sublayers):
        keys, variables = [], []
        for (_, j), sub in zip(inner, sublayers, strict=True):
            k, v = _pair(nodes, j, sub)
            keys.extend(k)
            variables.extend(v)
        return keys, variables
    return _variables_under(nodes, node), _legacy_weights(layer)


def _layer_values(reader: TFBundleReader, keys: list, variables: list, where: str, label: str) -> list:
    shapes = reader.get_variable_to_shape_map()
    if len(keys) != len(variables):
        raise ValueError(f"Weight count mismatch for {where}: the layer expects {len(variables)} weight(s), "
                         f"'{label}' holds {len(keys)}.")
    for key, var in zip(keys, variables, strict=True):
        if tuple(shapes[key]) != tuple(var.shape):
            raise ValueError(f"Shape mismatch for {where}, weight '{key}': the layer expects {tuple(var.shape)}, "
                             f"'{label}' holds {tuple(shapes[key])}.")
    values = [np.asarray(reader.get_tensor(key)) for key in keys]
    for key, value in zip(keys, values, strict=True):
        if value.dtype.kind not in "fiub":
            raise CorruptFileError(f"'{label}': entry '{key}' of {where} is not numeric.")
    return values
