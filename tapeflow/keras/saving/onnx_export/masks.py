"""Keras masks in the exported graph: which layers make one (Embedding(mask_zero=True), Masking),
which pass it on, and which consume it.

Tapeflow's rule (`Layer.__call__`), followed here: a layer with one input tensor receives that
tensor's mask as `call(mask=...)` when its `call` takes a mask; its single output gets
`compute_mask(inputs, mask)`. The mask is a bool value (batch, time) in the graph
(`GraphBuilder.masks`). A layer that receives a mask its converter does not apply, or whose mask
rule is not known here, raises ExportError: exporting it without the mask would silently change
its results.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras.saving.onnx_export.builder import GraphBuilder, unsupported

_RNNS = ("LSTM", "GRU", "SimpleRNN", "RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
_MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")
_NO_MASK_OUT = ("Dot", "GlobalMaxPooling1D", "GlobalAveragePooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling2D",
                "GlobalMaxPooling3D", "GlobalAveragePooling3D")


def _embedding(b: GraphBuilder, layer: Any, x: str) -> str | None:
    if not layer.mask_zero:
        return None
    index = b.op("Cast", [x], layer.name, to=7)  # int64
    return b.op("Not", [b.op("Equal", [index, b.const(np.zeros((), np.int64), layer.name + "/zero")], layer.name)],
                layer.name)


def _masking(b: GraphBuilder, layer: Any, x: str) -> str:
    keep = b.op("Not", [b.op("Equal", [x, b.const(np.float32(layer.mask_value), layer.name + "/mask_value")],
                             layer.name)], layer.name)
    hits = b.op("Cast", [keep], layer.name, to=1)
    return b.op("Cast", [reduce_max_last(b, hits, layer.name)], layer.name, to=9)


def reduce_max_last(b: GraphBuilder, x: str, hint: str) -> str:
    """ReduceMax over the last axis without keeping it."""
    return b.reduce("ReduceMax", x, [-1], hint)


def output_mask(b: GraphBuilder, layer: Any, inputs: list, in_mask: str | None, outs: list,
                kwargs: dict | None = None) -> str | None:
    """The mask of `layer`'s single output (None for no mask), following `layer.compute_mask`
    (ReversibleEmbedding sets its embedding mask in `call`, and none with `reverse=True`)."""
    from tapeflow.keras.layers.base import Layer

    name = type(layer).__name__
    if len(outs) != 1:  # the first output of an RNN with return_state keeps the sequence mask
        sequences = name in (*_RNNS, "Bidirectional") and layer.return_sequences and layer.return_state
        return in_mask if sequences and getattr(layer, "merge_mode", "concat") is not None else None
    if name in ("Embedding", "ReversibleEmbedding"):
        return None if (kwargs or {}).get("reverse") else _embedding(b, layer, inputs[0])
    if name == "Masking":
        return _masking(b, layer, inputs[0])
    if name in _MERGES or name == "Concatenate":
        return _merge_mask(b, layer, inputs)
    if name in ("MultiHeadAttention", "GroupedQueryAttention"):  # the query's mask
        return b.masks.get(inputs[0]) if layer.supports_masking else None
    if type(layer).compute_mask is Layer.compute_mask:
        return in_mask if layer.supports_masking else None
    if in_mask is None and name not in ("Bidirectional",):
        return None
    if name in _RNNS:
        return in_mask if layer.return_sequences else None
    if name == "Bidirectional":
        return in_mask if layer.return_sequences and layer.merge_mode else None
    if name in _NO_MASK_OUT:
        return None
    if name in ("Attention", "AdditiveAttention"):  # the query's mask
        return in_mask[0] if isinstance(in_mask, (list, tuple)) else None
    raise unsupported(layer, "it receives a Keras mask (from Embedding(mask_zero=True) or Masking) and how it "
                             "passes the mask on is not exported")


def _merge_mask(b: GraphBuilder, layer: Any, inputs: list) -> str | None:
    """A merge's output mask (Keras 3): the OR of the input masks when every input has one;
    Concatenate joins them along its axis (all-true for an unmasked input)."""
    masks, h = [b.masks.get(x) for x in inputs], layer.name
    if type(layer).__name__ != "Concatenate":
        if not masks or any(m is None for m in masks):
            return None
        out = masks[0]
        for m in masks[1:]:
            out = b.op("Or", [out, m], h)
        return out
    if all(m is None for m in masks):
        return None
    full = []
    for x, m in zip(inputs, masks, strict=True):
        if m is None:
            fill = helper_bool_fill(h)
            full.append(b.op("ConstantOfShape", [b.op("Shape", [x], h)], h, value=fill))
        else:
            full.append(b.op("Expand", [b.op("Unsqueeze", [m, b.ints([-1], h + "/feature_axis")], h),
                                        b.op("Shape", [x], h)], h))
    hits = b.op("Cast", [b.op("Concat", full, h, axis=int(layer.axis))], h, to=1)
    return b.op("Cast", [reduce_max_last(b, hits, h)], h, to=9)


def helper_bool_fill(hint: str) -> Any:
    """A one-element `true` tensor for ConstantOfShape."""
    from onnx import helper

    return helper.make_tensor(hint + "/true", 9, [1], [True])


# -- Keras 3 operation nodes (`keras_ops`): the mask arithmetic of files written by Keras -------


def _operand(b: GraphBuilder, layer: Any, value: Any) -> str:
    """A graph value (cast to double, which holds int32 and float32 exactly) or a constant."""
    if isinstance(value, str):
        return b.op("Cast", [value], layer.name, to=11)
    return b.const(np.asarray(value, np.float64), layer.name + "/operand", dtype=np.float64)


def _as_bool(b: GraphBuilder, layer: Any, value: str) -> str:
    return b.op("Cast", [value], layer.name, to=9)


def _elem_type(dtype: Any) -> int:
    from onnx import helper

    from tapeflow import dtypes

    return helper.np_dtype_to_tensor_dtype(np.dtype(dtypes.as_dtype(dtype or "float32")._np))


def keras_operation(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """A `keras_ops` layer; `kwargs["_args"]` holds its call arguments (value names and constants)."""
    name, h = layer.keras_class_name, layer.name
    args = list(kwargs.get("_args") or inputs)
    opts = layer.options
    if name in ("NotEqual", "Equal"):
        same = b.op("Equal", [_operand(b, layer, args[0]), _operand(b, layer, args[1])], h)
        return b.op("Not", [same], h) if name == "NotEqual" else same
    if name in ("LogicalOr", "LogicalAnd"):
        return b.op(name.replace("Logical", ""), [_as_bool(b, layer, a) for a in inputs], h)
    if name == "LogicalNot":
        return b.op("Not", [_as_bool(b, layer, inputs[0])], h)
    if name in ("Any", "All"):
        hits = b.op("Cast", [_as_bool(b, layer, inputs[0])], h, to=1)
        axis = opts.get("axis")
        rank = len(b.shapes.get(inputs[0], ()))
        axes = list(range(rank)) if axis is None else ([axis] if isinstance(axis, int) else list(axis))
        reduced = b.reduce("ReduceMax" if name == "Any" else "ReduceMin", hits, axes, h,
                           keepdims=bool(opts.get("keepdims")))
        return _as_bool(b, layer, reduced)
    if name == "ExpandDims":
        axis = opts["axis"]
        return b.op("Unsqueeze", [inputs[0], b.ints([axis] if isinstance(axis, int) else axis, h + "/axes")], h)
    if name in ("ZerosLike", "OnesLike"):
        from onnx import helper

        value = helper.make_tensor(h + "/fill", _elem_type(opts.get("dtype")), [1], [0 if name == "ZerosLike" else 1])
        return b.op("ConstantOfShape", [b.op("Shape", [inputs[0]], h)], h, value=value)
    if name == "Cast":
        return b.op("Cast", [inputs[0]], h, to=_elem_type(opts.get("dtype")))
    if name == "Concatenate":
        return b.op("Concat", inputs, h, axis=int(opts["axis"]))
    if name == "Stack":
        axis = int(opts["axis"])
        return b.op("Concat", [b.op("Unsqueeze", [x, b.ints([axis], h + "/axis")], h) for x in inputs], h, axis=axis)
    raise unsupported(layer, f"the Keras operation {name} has no ONNX translation")
