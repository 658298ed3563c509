"""ONNX converters of the attention layers: MultiHeadAttention and GroupedQueryAttention (Einsum
projections, scaled dot-product, softmax; GQA repeats each key/value head for its group of query
heads), Attention (dot or concat scores) and AdditiveAttention.

MultiHeadAttention's order: q = einsum(query, Wq) + bq scaled by 1/sqrt(key_dim); scores =
q.k over the key steps; softmax; weighted sum of v; einsum with the output kernel plus its
bias. Its mask (B, T, S) combines, as the layer does: the query/value/key Keras masks (or the
`*_mask` arguments), `attention_mask`, `use_causal_mask` and GQA's sliding window. Masked logits
become -1e9; with returned scores or dropout the layer's Softmax also zeroes them afterwards
(a row with no allowed key is all zeros then, uniform otherwise), and the export does the same.
Attention/AdditiveAttention lower masked logits by 1e9 and zero the outputs of masked queries.
Causal masks and sliding windows need known step counts.
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


def _steps(b: GraphBuilder, layer: Any, x: str, what: str) -> int:
    steps = b.shapes.get(x, (None, None))[1]
    if steps is None:
        raise unsupported(layer, f"{what} needs a known number of steps, the input shape is {b.shapes.get(x)}")
    return int(steps)


def _band(b: GraphBuilder, layer: Any, query: str, value: str, keep: Any, what: str) -> str:
    """A constant (1, T, S) bool mask `keep(t, s)` (causal or sliding window)."""
    t, s = _steps(b, layer, query, what), _steps(b, layer, value, what)
    rows, cols = np.arange(t)[:, None], np.arange(s)[None, :]
    return b.const(keep(rows, cols)[None], f"{layer.name}/{what.replace(' ', '_')}", dtype=bool)


def _and(b: GraphBuilder, a: str | None, c: str, hint: str) -> str:
    return c if a is None else b.op("And", [a, c], hint)


def _as_bool(b: GraphBuilder, m: str, hint: str) -> str:
    return b.op("Cast", [m], hint, to=9)


def _query_value_key(layer: Any, inputs: list, kwargs: dict) -> tuple[str, str, str]:
    rest = list(inputs) + [kwargs.get(k) for k in ("query", "value", "key") if isinstance(kwargs.get(k), str)]
    if len(rest) < 2:
        raise unsupported(layer, f"expected query and value inputs, received {len(rest)} input(s)")
    return rest[0], rest[1], rest[2] if len(rest) > 2 else rest[1]


def _mha_mask(b: GraphBuilder, layer: Any, query: str, value: str, key: str, kwargs: dict) -> str | None:
    """The (B, T, S) bool mask `MultiHeadAttention._attention_mask` builds, or None."""
    h = layer.name
    masks = {k: kwargs.get(f"{k}_mask") or b.masks.get(v) for k, v in (("query", query), ("value", value),
                                                                         ("key", key))}
    auto = None
    if masks["query"] is not None:
        auto = b.op("Unsqueeze", [_as_bool(b, masks["query"], h), b.ints([-1], h + "/last")], h)
    for m in (masks["value"], masks["key"]):
        if m is not None:
            auto = _and(b, auto, b.op("Unsqueeze", [_as_bool(b, m, h), b.ints([-2], h + "/second_last")], h), h)
    if kwargs.get("use_causal_mask"):
        auto = _and(b, auto, _band(b, layer, query, value, lambda t, s: s <= t, "causal mask"), h)
    if getattr(layer, "sliding_window", None) is not None:
        window = int(layer.sliding_window)
        auto = _and(b, auto, _band(b, layer, query, value, lambda t, s: np.abs(t - s) < window, "sliding window"), h)
    explicit = kwargs.get("attention_mask")
    if explicit is not None:
        if not isinstance(explicit, str):
            raise unsupported(layer, "an attention_mask that is not a tensor of the model")
        explicit = _as_bool(b, explicit, h)
        return explicit if auto is None else b.op("And", [explicit, auto], h)
    return auto


def _attend(b: GraphBuilder, layer: Any, q: str, k: str, v: str, size: int, mask: str | None,
            zero_masked: bool) -> tuple[str, str]:
    """softmax(q.k / sqrt(size)) v per head: (B, T, H, D) -> (out (B, T, H, D), probabilities (B, H, T, S))."""
    h = layer.name
    q = b.op("Mul", [q, b.const(np.float32(1.0 / np.sqrt(float(size))), h + "/scale")], h)
    scores = b.op("Einsum", [k, q], h, equation="aecd,abcd->acbe")
    if mask is not None:
        mask = b.op("Unsqueeze", [mask, b.ints([1], h + "/heads_axis")], h)
        scores = b.op("Where", [mask, scores, b.const(np.float32(-1e9), h + "/masked")], h)
    probs = b.op("Softmax", [scores], h, axis=-1)
    if mask is not None and zero_masked:
        probs = b.op("Where", [mask, probs, b.const(np.float32(0), h + "/zero")], h)
    return b.op("Einsum", [probs, v], h, equation="acbe,aecd->abcd"), probs


def _output(b: GraphBuilder, layer: Any, out: str) -> str:
    h = layer.name
    out = b.op("Einsum", [out, b.const(layer.output_kernel, h + "/attention_output/kernel")], h,
               equation="abcd,cde->abe")
    if layer.output_bias is not None:
        out = b.op("Add", [out, b.const(layer.output_bias, h + "/attention_output/bias")], h)
    return out


def _heads(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict, repeat: bool) -> Any:
    query, value, key = _query_value_key(layer, inputs, kwargs)
    mask = _mha_mask(b, layer, query, value, key, kwargs)
    scores_out = bool(kwargs.get("return_attention_scores"))
    q = _project(b, layer, query, layer.query_kernel, layer.query_bias, "query")
    k = _project(b, layer, key, layer.key_kernel, layer.key_bias, "key")
    v = _project(b, layer, value, layer.value_kernel, layer.value_bias, "value")
    if repeat:
        k, v = _repeat_heads(b, layer, k), _repeat_heads(b, layer, v)
    size = layer.head_dim if repeat else layer.key_dim
    out, probs = _attend(b, layer, q, k, v, size, mask, zero_masked=scores_out or layer.dropout > 0)
    if getattr(layer, "use_gate", False):
        gate = _project(b, layer, query, layer.gate_kernel, layer.gate_bias, "gate")
        out = b.op("Mul", [out, b.op("Sigmoid", [gate], layer.name)], layer.name)
    out = _output(b, layer, out)
    return [out, probs] if scores_out else out


@converter("MultiHeadAttention")
def multi_head_attention(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> Any:
    return _heads(b, layer, inputs, kwargs, repeat=False)


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
def grouped_query_attention(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> Any:
    return _heads(b, layer, inputs, kwargs, repeat=True)


def _scores(b: GraphBuilder, layer: Any, q: str, k: str) -> str:
    """(B, Tq, Tv) scores of Attention ("dot" or "concat") or AdditiveAttention."""
    h = layer.name
    if type(layer).__name__ == "Attention" and layer.score_mode == "dot":
        scores = b.op("MatMul", [q, b.op("Transpose", [k], h, perm=[0, 2, 1])], h)
        return scores if layer.scale is None else b.op("Mul", [scores, b.const(layer.scale, h + "/scale")], h)
    summed = b.op("Add", [b.op("Unsqueeze", [q, b.ints([-2], h + "/q_axis")], h),
                          b.op("Unsqueeze", [k, b.ints([-3], h + "/k_axis")], h)], h)
    if type(layer).__name__ == "Attention":  # concat: w * sum(tanh(scale * (q + k)))
        if layer.scale is not None:
            summed = b.op("Mul", [summed, b.const(layer.scale, h + "/scale")], h)
        total = b.reduce("ReduceSum", b.op("Tanh", [summed], h), [-1], h)
        return b.op("Mul", [total, b.const(layer.concat_score_weight, h + "/concat_score_weight")], h)
    summed = b.op("Tanh", [summed], h)  # additive: sum(scale * tanh(q + k))
    if layer.scale is not None:
        summed = b.op("Mul", [summed, b.const(layer.scale, h + "/scale")], h)
    return b.reduce("ReduceSum", summed, [-1], h)


@converter("Attention", "AdditiveAttention", masks=True)
def attention(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> Any:
    h = layer.name
    if len(inputs) not in (2, 3):
        raise unsupported(layer, f"expected inputs [query, value] or [query, value, key], received {len(inputs)}")
    q, v = inputs[0], inputs[1]
    k = inputs[2] if len(inputs) > 2 else v
    mask = kwargs.get("mask")
    mask = list(mask) if isinstance(mask, (list, tuple)) else [mask]
    q_mask, v_mask = mask[0], (mask[1] if len(mask) > 1 else None)
    if any(m is not None and not isinstance(m, str) for m in (q_mask, v_mask)):
        raise unsupported(layer, "masks that are not tensors of the model")
    scores = _scores(b, layer, q, k)
    keep = None
    if v_mask is not None:
        keep = b.op("Unsqueeze", [_as_bool(b, v_mask, h), b.ints([-2], h + "/value_axis")], h)
    if kwargs.get("use_causal_mask"):
        keep = _and(b, keep, _band(b, layer, q, v, lambda t, s: s <= t, "causal mask"), h)
    if keep is not None:
        lowered = b.op("Sub", [scores, b.const(np.float32(1e9), h + "/big")], h)
        scores = b.op("Where", [keep, scores, lowered], h)
    weights = b.op("Softmax", [scores], h, axis=-1)
    out = b.op("MatMul", [weights, v], h)
    if q_mask is not None:
        query_keep = b.op("Unsqueeze", [_as_bool(b, q_mask, h), b.ints([-1], h + "/query_axis")], h)
        out = b.op("Where", [query_keep, out, b.const(np.float32(0), h + "/zero")], h)
    return [out, weights] if kwargs.get("return_attention_scores") else out
