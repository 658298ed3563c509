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
_NO_MASK_OUT = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
                "GlobalMaxPooling1D", "GlobalAveragePooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling2D",
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


def output_mask(b: GraphBuilder, layer: Any, inputs: list, in_mask: str | None, outs: list) -> str | None:
    """The mask of `layer`'s single output (None for no mask), following `layer.compute_mask`."""
    from tapeflow.keras.layers.base import Layer

    name = type(layer).__name__
    if len(outs) != 1:
        return None
    if name == "Embedding":
        return _embedding(b, layer, inputs[0])
    if name == "Masking":
        return _masking(b, layer, inputs[0])
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
