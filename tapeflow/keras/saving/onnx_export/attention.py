"""ONNX converter of MultiHeadAttention (Einsum projections, scaled dot-product, softmax).

Keras's order: q = einsum(query, Wq) + bq scaled by 1/sqrt(key_dim); scores = q.k over the
key steps; softmax; weighted sum of v; einsum with the output kernel plus its bias. Masks
(attention_mask, use_causal_mask, Keras masks) are not exported.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras.saving.onnx_export.builder import GraphBuilder, converter, unsupported


def _project(b: GraphBuilder, layer: Any, x: str, kernel: Any, bias: Any, hint: str) -> str:
    y = b.op("Einsum", [x, b.const(kernel, f"{layer.name}/{hint}/kernel")], layer.name, equation="abc,cde->abde")
    if bias is not None:
        y = b.op("Add", [y, b.const(bias, f"{layer.name}/{hint}/bias")], layer.name)
    return y


@converter("MultiHeadAttention")
def multi_head_attention(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    blocked = [k for k in ("attention_mask", "query_mask", "value_mask", "key_mask") if kwargs.get(k) is not None]
    if blocked or kwargs.get("use_causal_mask") or kwargs.get("return_attention_scores"):
        raise unsupported(layer, f"masks and returned attention scores are not exported ({blocked or 'flags'})")
    rest = list(inputs) + [kwargs.get(k) for k in ("query", "value", "key") if isinstance(kwargs.get(k), str)]
    if len(rest) < 2:
        raise unsupported(layer, f"expected query and value inputs, received {len(rest)} input(s)")
    query, value = rest[0], rest[1]
    key = rest[2] if len(rest) > 2 else value
    q = _project(b, layer, query, layer.query_kernel, layer.query_bias, "query")
    q = b.op("Mul", [q, b.const(np.float32(1.0 / np.sqrt(float(layer.key_dim))), layer.name + "/scale")], layer.name)
    k = _project(b, layer, key, layer.key_kernel, layer.key_bias, "key")
    v = _project(b, layer, value, layer.value_kernel, layer.value_bias, "value")
    scores = b.op("Einsum", [k, q], layer.name, equation="aecd,abcd->acbe")
    probs = b.op("Softmax", [scores], layer.name, axis=-1)
    out = b.op("Einsum", [probs, v], layer.name, equation="acbe,aecd->abcd")
    out = b.op("Einsum", [out, b.const(layer.output_kernel, layer.name + "/attention_output/kernel")], layer.name,
               equation="abcd,cde->abe")
    if layer.output_bias is not None:
        out = b.op("Add", [out, b.const(layer.output_bias, layer.name + "/attention_output/bias")], layer.name)
    return out
