"""ONNX converters of MultiHeadAttention and GroupedQueryAttention (Einsum projections, scaled
dot-product, softmax; GQA repeats each key/value head for its group of query heads).

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


def _query_value_key(layer: Any, inputs: list, kwargs: dict) -> tuple[str, str, str]:
    blocked = [k for k in ("attention_mask", "query_mask", "value_mask", "key_mask") if kwargs.get(k) is not None]
    if blocked or kwargs.get("use_causal_mask") or kwargs.get("return_attention_scores"):
        raise unsupported(layer, f"masks and returned attention scores are not exported ({blocked or 'flags'})")
    rest = list(inputs) + [kwargs.get(k) for k in ("query", "value", "key") if isinstance(kwargs.get(k), str)]
    if len(rest) < 2:
        raise unsupported(layer, f"expected query and value inputs, received {len(rest)} input(s)")
    return rest[0], rest[1], rest[2] if len(rest) > 2 else rest[1]


def _attend(b: GraphBuilder, layer: Any, q: str, k: str, v: str, size: int) -> str:
    """softmax(q.k / sqrt(size)) v, then the output projection: (B, T, H, D) -> (B, T, features)."""
    q = b.op("Mul", [q, b.const(np.float32(1.0 / np.sqrt(float(size))), layer.name + "/scale")], layer.name)
    scores = b.op("Einsum", [k, q], layer.name, equation="aecd,abcd->acbe")
    probs = b.op("Softmax", [scores], layer.name, axis=-1)
    out = b.op("Einsum", [probs, v], layer.name, equation="acbe,aecd->abcd")
    out = b.op("Einsum", [out, b.const(layer.output_kernel, layer.name + "/attention_output/kernel")], layer.name,
               equation="abcd,cde->abe")
    if layer.output_bias is not None:
        out = b.op("Add", [out, b.const(layer.output_bias, layer.name + "/attention_output/bias")], layer.name)
    return out


@converter("MultiHeadAttention")
def multi_head_attention(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    query, value, key = _query_value_key(layer, inputs, kwargs)
    q = _project(b, layer, query, layer.query_kernel, layer.query_bias, "query")
    k = _project(b, layer, key, layer.key_kernel, layer.key_bias, "key")
    v = _project(b, layer, value, layer.value_kernel, layer.value_bias, "value")
    return _attend(b, layer, q, k, v, layer.key_dim)


def _repeat_heads(b: GraphBuilder, layer: Any, x: str) -> str:
    """(B, S, kv_heads, D) -> (B, S, kv_heads * repeats, D), each head repeated in place."""
    r = int(layer.num_repeats)
    if r == 1:
        return x
    x = b.op("Unsqueeze", [x, b.ints([3], layer.name + "/axis3")], layer.name)
    x = b.op("Tile", [x, b.ints([1, 1, 1, r, 1], layer.name + "/repeats")], layer.name)
    return b.op("Reshape", [x, b.ints([0, 0, layer.num_query_heads, layer.head_dim], layer.name + "/heads")],
                layer.name)


@converter("GroupedQueryAttention")
def grouped_query_attention(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    if layer.use_gate or layer.sliding_window is not None:
        raise unsupported(layer, "use_gate and sliding_window are not exported")
    query, value, key = _query_value_key(layer, inputs, kwargs)
    q = _project(b, layer, query, layer.query_kernel, layer.query_bias, "query")
    k = _repeat_heads(b, layer, _project(b, layer, key, layer.key_kernel, layer.key_bias, "key"))
    v = _repeat_heads(b, layer, _project(b, layer, value, layer.value_kernel, layer.value_bias, "value"))
    return _attend(b, layer, q, k, v, layer.head_dim)
