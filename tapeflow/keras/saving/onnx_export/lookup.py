"""ONNX converters of the vocabulary layers (IntegerLookup, StringLookup); TextVectorization is
in `text`, Hashing in `hashing`.

A lookup is an `ai.onnx.ml` LabelEncoder (token -> index, or index -> token when inverted)
holding the layer's vocabulary; the mask token is one more key. Several OOV indices of an
IntegerLookup with `oov_method="floormod"` are `Mod(x, num_oov_indices)`; the output modes other
than "int" encode the indices as CategoryEncoding does (tf_idf multiplies by the IDF weights).
NOTE: with `num_oov_indices=0` Keras raises on an unknown token; an ONNX graph cannot raise, so
the exported lookup gives -1 there (in "int" mode; nothing in the encoded modes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras.saving.onnx_export.builder import GraphBuilder, converter, unsupported
from tapeflow.keras.saving.onnx_export.masks import _elem_type
from tapeflow.keras.saving.onnx_export.preprocessing import _encode, _one

ML = "ai.onnx.ml"


def _label_encoder(b: GraphBuilder, layer: Any, x: str, keys: np.ndarray, values: np.ndarray, default: Any) -> str:
    """`values[keys.index(x)]`, else `default` (keys and values: int64 or bytes arrays)."""
    attrs: dict[str, Any] = {}
    for role, arr in (("keys", keys), ("values", values)):
        if arr.dtype == object:
            attrs[f"{role}_strings"] = [v if isinstance(v, bytes) else str(v).encode() for v in arr.tolist()]
        else:
            attrs[f"{role}_int64s"] = [int(v) for v in arr.tolist()]
    if values.dtype == object:
        attrs["default_string"] = default if isinstance(default, bytes) else str(default)
    else:
        attrs["default_int64"] = int(default)
    if not keys.size:
        raise unsupported(layer, "it has no vocabulary (set one or call adapt() first)")
    return b.op("LabelEncoder", [x], layer.name, domain=ML, **attrs)


def _tokens_in(b: GraphBuilder, layer: Any, x: str) -> str:
    """The inputs as LabelEncoder keys: int64 integers, or the strings unchanged."""
    return x if layer._is_string else b.op("Cast", [x], layer.name, to=7)


def _forward(b: GraphBuilder, layer: Any, x: str) -> str:
    """Indices of the tokens `x`: the mask gets 0 ("int") or -1 (encoded as nothing)."""
    tokens = layer._tokens
    start, oov_start, n_oov = layer._token_start_index(), layer._oov_start_index(), layer.num_oov_indices
    default = oov_start if n_oov == 1 else -1
    table = dict(zip(tokens.tolist(), range(start, start + tokens.size), strict=True))
    if layer.mask_token is not None:
        table[layer._key(layer.mask_token)] = 0 if layer.output_mode == "int" else -1
    keys = np.empty(len(table), object) if layer._is_string else np.empty(len(table), np.int64)
    keys[:] = list(table)
    indices = _label_encoder(b, layer, _tokens_in(b, layer, x), keys, np.asarray(list(table.values()), np.int64),
                             default)
    if n_oov > 1:
        h = layer.name
        # -1 marks OOV here (the mask, when encoded as -1, is a key whose value is -1 too).
        oov = b.op("Equal", [indices, b.const(np.int64(-1), h + "/oov_marker")], h)
        if layer.mask_token is not None and layer.output_mode != "int":
            is_mask = b.op("Equal", [_tokens_in(b, layer, x),
                                     b.const(np.int64(layer._key(layer.mask_token)), h + "/mask_token")], h)
            oov = b.op("And", [oov, b.op("Not", [is_mask], h)], h)
        buckets = b.op("Add", [b.op("Mod", [_tokens_in(b, layer, x), b.const(np.int64(n_oov), h + "/num_oov")], h),
                               b.const(np.int64(oov_start), h + "/oov_start")], h)
        indices = b.op("Where", [oov, buckets, indices], h)
    return indices


def _inverse(b: GraphBuilder, layer: Any, x: str) -> str:
    """Tokens of the indices `x`; OOV indices and those outside the vocabulary give `oov_token`."""
    vocab = layer.get_vocabulary()
    oov = set(range(layer._oov_start_index(), layer._token_start_index()))
    keys = np.asarray([i for i in range(len(vocab)) if i not in oov], np.int64)
    if layer._is_string:
        values = np.empty(keys.size, object)
        values[:] = [str(vocab[i]).encode(getattr(layer, "encoding", "utf-8")) for i in keys.tolist()]
        default: Any = str(layer.oov_token)
    else:
        values, default = np.asarray([vocab[i] for i in keys.tolist()], np.int64), layer.oov_token
    return _label_encoder(b, layer, b.op("Cast", [x], layer.name, to=7), keys, values, default)


@converter("IntegerLookup", "StringLookup")
def index_lookup(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """A LabelEncoder over the vocabulary, then the layer's output encoding."""
    x = _one(inputs, layer)
    if layer.sparse:
        raise unsupported(layer, "sparse=True (ONNX graphs here carry dense tensors only)")
    if layer.num_oov_indices > 1 and not layer.invert and (layer._is_string or layer.oov_method == "farmhash"):
        method = "its strings" if layer._is_string else "oov_method='farmhash'"
        raise unsupported(layer, f"num_oov_indices={layer.num_oov_indices} hashes {method} into the OOV indices "
                                 "with FarmHash (or SipHash with a salt), which ONNX has no operator for; use "
                                 "num_oov_indices=1")
    if layer.invert:
        out = _inverse(b, layer, x)
        return out if layer._is_string else b.op("Cast", [out], layer.name, to=_elem_type(layer.vocabulary_dtype))
    indices = _forward(b, layer, x)
    if layer.output_mode == "int":
        return indices
    mode = "count" if layer.output_mode == "tf_idf" else layer.output_mode
    shape = b.shapes.get(x, ())
    if len(shape) < 1:
        raise unsupported(layer, f"output_mode={layer.output_mode!r} on an input of shape {shape}")
    out = _encode(b, layer, indices, shape, mode, layer._depth(), np.int64)
    if layer.output_mode == "tf_idf":
        if layer._idf is None:
            raise unsupported(layer, "output_mode='tf_idf' without IDF weights (adapt it or pass idf_weights)")
        h = layer.name
        out = b.op("Mul", [b.op("Cast", [out], h, to=1), b.const(np.asarray(layer._idf, np.float32), h + "/idf",
                                                                 dtype=np.float32)], h)
    return out
