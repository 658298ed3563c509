"""A Sequential or Functional model (nested ones included) walked layer by layer into a
`GraphBuilder`, each layer through its registered converter."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import nest
from tapeflow.keras.saving.onnx_export.builder import CONVERTERS, MASK_AWARE, ExportError, GraphBuilder, unsupported


def _import_converters() -> None:
    from tapeflow.keras.saving.onnx_export import (  # noqa: F401
        activations,
        attention,
        audio,
        conv,
        core,
        hashing,
        image,
        lookup,
        norm,
        preprocessing,
        reshaping,
        rnn,
        text,
    )


def convert_layer(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict, single: bool = True,
                  list_call: bool = False) -> list:
    """The ONNX value names of `layer(inputs, **kwargs)` (flattened); `single`: the layer was
    called on one tensor (not a list), so it receives that tensor's Keras mask (see `masks`);
    `list_call`: on one list of tensors, so it receives the list of their masks."""
    from tapeflow.keras.layers.base import _call_signature_info
    from tapeflow.keras.models.functional import Functional
    from tapeflow.keras.models.sequential import Sequential
    from tapeflow.keras.saving.onnx_export.masks import output_mask

    _import_converters()
    if isinstance(layer, (Sequential, Functional)):
        return convert_model(b, layer, inputs)  # masks flow through the inner layers
    fn = CONVERTERS.get(type(layer).__name__)
    if getattr(layer, "keras_class_name", None) and type(layer).__module__ == "tapeflow.keras.saving.keras_ops":
        from tapeflow.keras.saving.onnx_export.masks import keras_operation

        fn = keras_operation
    if fn is None or not type(layer).__module__.startswith("tapeflow."):
        raise unsupported(layer, "it has no ONNX converter (custom layers and this built-in layer are not "
                                 "exportable yet)")
    kwargs = dict(kwargs)
    in_mask = kwargs.get("mask")
    if in_mask is None and single and len(inputs) == 1:
        in_mask = b.masks.get(inputs[0])
    elif in_mask is None and list_call and _call_signature_info(type(layer))[1]:
        masks = [b.masks.get(x) for x in inputs]
        in_mask = masks if any(m is not None for m in masks) else None
    if _call_signature_info(type(layer))[1] and in_mask is not None:
        if type(layer).__name__ not in MASK_AWARE:
            raise unsupported(layer, "it receives a Keras mask (from Embedding(mask_zero=True) or Masking), which "
                                     "its ONNX translation does not apply")
        kwargs["mask"] = in_mask
    out = fn(b, layer, list(inputs), kwargs)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    mask = output_mask(b, layer, list(inputs), in_mask, outs, kwargs)
    if outs[0] in inputs and b.masks.get(outs[0]) != mask:
        outs[0] = b.op("Identity", [outs[0]], layer.name)  # a removed layer that changes the mask
    if mask is not None:
        b.masks[outs[0]] = mask
    return outs


def _output_shape(layer: Any, shape: tuple) -> Any:
    try:
        return layer.compute_output_shape(shape)
    except Exception as exc:  # noqa: BLE001 - any failure means the shape is unknown here
        raise unsupported(layer, f"its output shape for input {shape} is unknown ({exc})") from exc


def convert_model(b: GraphBuilder, model: Any, inputs: list) -> list:
    """Convert a Sequential (layer after layer) or Functional (node by node) model."""
    from tapeflow.graph import SymbolicTensor
    from tapeflow.keras.layers.base import LayerNode
    from tapeflow.keras.models.sequential import Sequential

    if isinstance(model, Sequential):
        if len(inputs) != 1:
            raise ExportError(f"ONNX export: Sequential '{model.name}' takes one input, received {len(inputs)}.")
        x = inputs[0]
        for layer in model.layers:
            shape = b.shapes[x]
            outs = convert_layer(b, layer, [x], {})
            if len(outs) != 1:
                raise unsupported(layer, "a layer inside a Sequential model must have one output")
            b.shapes.setdefault(outs[0], tuple(_output_shape(layer, shape)))
            x = outs[0]
        return [x]
    names: dict[int, str] = {}
    if len(inputs) != len(model.inputs):
        raise ExportError(f"ONNX export: model '{model.name}' takes {len(model.inputs)} inputs, "
                          f"received {len(inputs)}.")
    for sym, name in zip(model.inputs, inputs, strict=True):
        names[id(sym)] = name
    for node in model._nodes:
        if not isinstance(node, LayerNode):
            raise ExportError(f"ONNX export: model '{model.name}' applies the operation '{node.name}' directly to "
                              "symbolic tensors; only Keras layers are exported. Wrap it in a layer.")

        def sub(v: Any) -> Any:
            return names[id(v)] if id(v) in names else v

        args = nest.map_structure(sub, node.args)
        kwargs = {k: nest.map_structure(sub, v) for k, v in node.kwargs.items() if k != "training"}
        flat_args = [a for a in nest.flatten(args) if isinstance(a, str)]
        others = [t for k, v in node.kwargs.items() if k not in ("mask", "training") for t in nest.flatten(v)]
        single = (len(node.args) == 1 and isinstance(node.args[0], SymbolicTensor)
                  and not any(isinstance(t, SymbolicTensor) for t in others))
        if getattr(node.layer, "keras_class_name", None):
            kwargs["_args"] = list(args)  # constant operands of Keras operation nodes
        elif args and isinstance(args[0], dict):
            kwargs["_args"] = list(args)  # a dict input's structure (images with bounding boxes)
        list_call = (len(node.args) == 1 and isinstance(node.args[0], (list, tuple))
                     and all(isinstance(t, SymbolicTensor) for t in node.args[0])
                     and not any(isinstance(t, SymbolicTensor) for t in others))
        outs = convert_layer(b, node.layer, flat_args, kwargs, single=single, list_call=list_call)
        if len(outs) != len(node.outputs):
            raise unsupported(node.layer, f"{len(outs)} exported outputs for {len(node.outputs)} Keras outputs")
        for sym, name in zip(node.outputs, outs, strict=True):
            names[id(sym)] = name
            b.shapes.setdefault(name, tuple(sym.shape))
            if getattr(sym, "dtype", None) is not None:
                b.dtypes.setdefault(name, np.dtype(sym.dtype.as_numpy_dtype))
    return [names[id(t)] for t in model.outputs]
