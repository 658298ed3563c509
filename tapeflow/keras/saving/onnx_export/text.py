"""ONNX converter of TextVectorization: standardize, split, n-grams and the vocabulary lookup,
exactly as the layer computes them, with string operators.

- standardize works character by character, as Keras's does ("lower" lowercases ASCII letters
  only, like `tf.strings.lower`; punctuation is Keras's ASCII class): onnxruntime's
  `com.microsoft` Tokenizer (an empty separator) splits each string into Unicode characters, an
  `ai.onnx.ml` LabelEncoder maps the characters that change, and a Loop of StringConcat (opset
  20) joins them again.
- split="whitespace" maps TF's ASCII whitespace to spaces in the same pass, then StringSplit
  (opset 20) splits on runs of spaces, dropping empty tokens; split="character" is the Tokenizer
  again. Both give (batch, tokens) padded with "", the lookup's mask token (index 0, or nothing
  in the encoded modes).
- n-grams of each width are StringConcats of shifted token columns joined by " ", in order of
  width; an n-gram that would reach the padding becomes "", and in "int" mode a ScatterElements
  moves the real ones to the front of each row, as Keras's ragged rows are.
- the rows are padded (or truncated) to `output_sequence_length`, else to the longest row.

Such a graph needs opset 20 (chosen by default when a model holds one) and runs in onnxruntime,
whose `com.microsoft` domain has the Tokenizer; `standardize=None, split=None` without n-grams
needs neither.

Bytes that are not valid UTF-8: TF 2.21's TextVectorization (and Tapeflow's, eagerly and in
tf.function) keeps them in whitespace tokens, which then miss a text vocabulary, and replaces them
with U+FFFD when splitting characters. No ONNX operator reads a string's bytes, so the graph
cannot do the same: where it uses the Tokenizer (any standardize or split), onnxruntime refuses
such a string at run time ("Input string contains invalid utf8 chars at element: i", i the input
row); with standardize=None and split=None the raw strings are looked up, as TF does. From Python,
onnxruntime takes text only: feed `str` arrays (a numpy array of `bytes` objects is silently
converted with `str()`, to "b'...'", and a bytes `S` array is decoded as UTF-8); decoding with
`errors="replace"` gives TF's results for split="character" (and for the other splits while no
vocabulary token holds U+FFFD).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras.saving.onnx_export.builder import GraphBuilder, converter, unsupported
from tapeflow.keras.saving.onnx_export.lookup import index_lookup
from tapeflow.keras.saving.onnx_export.preprocessing import _one

MS = "com.microsoft"
ML = "ai.onnx.ml"
TEXT_OPSET = 20
_ASCII_WHITESPACE = "\t\n\x0b\x0c\r"  # besides " ": TF's whitespace (absl::ascii_isspace)
_UNCHANGED = "<unchanged>"  # the LabelEncoder default: several characters, so never a character
_INT64_MAX = np.iinfo(np.int64).max


def needs_string_ops(layer: Any) -> bool:
    """True when `layer`'s export uses the opset-20 string operators."""
    return type(layer).__name__ == "TextVectorization" and (
        layer._standardize is not None or layer._split is not None or layer._ngrams is not None)


def _punctuation() -> list[str]:
    from tapeflow.keras.layers.text_vectorization import _PUNCTUATION

    return [chr(c) for c in range(128) if _PUNCTUATION.fullmatch(bytes([c]))]


def _strings(b: GraphBuilder, values: list, hint: str, dims: list | None = None) -> str:
    """A string initializer (a scalar when `dims` is [])."""
    from onnx import TensorProto, helper

    name = b.name(hint)
    dims = [len(values)] if dims is None else dims
    b.initializers.append(helper.make_tensor(name, TensorProto.STRING, dims, [v.encode() for v in values]))
    return name


def _characters(b: GraphBuilder, x: str, h: str) -> str:
    """(n,) strings -> (n, longest) Unicode characters padded with ""."""
    from onnx import TensorProto

    # A last row of one character, removed after: the Tokenizer then always sees a non-empty
    # batch with a character (it returns a 1-D tensor for an empty batch, (n, 0) for empty strings).
    # (Last, so that the element its invalid-UTF-8 error names is the input row.)
    guarded = b.op("Concat", [x, _strings(b, ["."], h + "/guard_row")], h, axis=0)
    chars = b.op("Tokenizer", [guarded], h, domain=MS, mark=0, mincharnum=1, pad_value="", separators=[""])
    # ONNX's shape inference does not know com.microsoft operators (and crashes on a LabelEncoder
    # whose input has no type), so the output's type is declared.
    chars = b.declare(chars, TensorProto.STRING, 2)
    return b.op("Slice", [chars, b.ints([0], h + "/start"), b.ints([-1], h + "/end"), b.ints([0], h + "/axis")], h)


def _dim(b: GraphBuilder, x: str, axis: int, h: str, scalar: bool = False) -> str:
    """Dimension `axis` of `x` at run time, as a 1-element int64 tensor (or a scalar)."""
    shape = b.op("Shape", [x], h)
    index = b.const(np.int64(axis), h + "/axis") if scalar else b.ints([axis], h + "/axis")
    return b.op("Gather", [shape, index], h, axis=0)


def _join(b: GraphBuilder, chars: str, h: str) -> str:
    """(n, c) strings -> (n,): each row's strings concatenated (a Loop of StringConcat over c)."""
    from onnx import TensorProto, helper

    body = b.subgraph()
    i, cond, acc = body.name(h + "/i"), body.name(h + "/cond"), body.name(h + "/acc")
    column = body.op("Gather", [chars, i], h, axis=1)
    joined = body.op("StringConcat", [acc, column], h)
    cond_out = body.op("Identity", [cond], h)
    graph = helper.make_graph(
        body.nodes, b.name(h + "/join_body"),
        [helper.make_tensor_value_info(i, TensorProto.INT64, []),
         helper.make_tensor_value_info(cond, TensorProto.BOOL, []),
         helper.make_tensor_value_info(acc, TensorProto.STRING, None)],
        [helper.make_tensor_value_info(cond_out, TensorProto.BOOL, []),
         helper.make_tensor_value_info(joined, TensorProto.STRING, None)])
    empty = b.op("Expand", [_strings(b, [""], h + "/empty", dims=[]), _dim(b, chars, 0, h)], h)
    return b.op("Loop", [_dim(b, chars, 1, h, scalar=True), "", empty], h, body=graph)


def _map_characters(b: GraphBuilder, layer: Any, x: str, table: dict, h: str) -> str:
    """(n,) strings with each character in `table` replaced by its value."""
    chars = _characters(b, x, h)
    mapped = b.op("LabelEncoder", [chars], h, domain=ML, keys_strings=[k.encode() for k in table],
                  values_strings=[v.encode() for v in table.values()], default_string=_UNCHANGED)
    same = b.op("Equal", [mapped, _strings(b, [_UNCHANGED], h + "/unchanged", dims=[])], h)
    return _join(b, b.op("Where", [same, chars, mapped], h), h)


def _character_table(layer: Any) -> dict:
    table: dict[str, str] = {}
    if layer._split == "whitespace":
        table.update({c: " " for c in _ASCII_WHITESPACE})
    if layer._standardize in ("lower", "lower_and_strip_punctuation"):
        table.update({chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)})
    if layer._standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
        table.update({c: "" for c in _punctuation()})
    return table


def _refusal(layer: Any) -> str:
    if callable(layer._standardize) or callable(layer._split):
        return "a callable standardize or split is Python code, which ONNX cannot hold"
    if layer._ragged:
        return "ragged=True (ONNX tensors are dense)"
    if layer._output_mode not in ("int", "multi_hot", "count", "tf_idf"):
        return f"output_mode={layer._output_mode!r} is not exported"
    if getattr(layer, "_encoding", "utf-8").replace("-", "").lower() != "utf8":
        return f"encoding={layer._encoding!r} (ONNX strings are UTF-8)"
    return ""


def _ngrams(b: GraphBuilder, tokens: str, valid: str, widths: tuple, h: str) -> tuple[str, str]:
    """(tokens, valid) -> the n-grams of every width, joined by " ", in order of width, and
    which of them lie within the row (valid is a prefix of each row)."""
    space = _strings(b, [" "], h + "/space", dims=[])
    grams, keep = [], []
    for n in widths:
        def shifted(v: str, k: int, n: int = n) -> str:
            end = k - (n - 1)
            return b.op("Slice", [v, b.ints([k], h + "/start"), b.ints([end if end < 0 else _INT64_MAX], h + "/end"),
                                  b.ints([1], h + "/axis")], h)

        gram = shifted(tokens, 0)
        for k in range(1, n):
            gram = b.op("StringConcat", [b.op("StringConcat", [gram, space], h), shifted(tokens, k)], h)
        grams.append(gram)
        keep.append(shifted(valid, n - 1))
    if len(grams) == 1:
        return grams[0], keep[0]
    return b.op("Concat", grams, h, axis=1), b.op("Concat", keep, h, axis=1)


def _to_front(b: GraphBuilder, indices: str, valid: str, h: str) -> str:
    """Each row's valid entries moved to its front, in order; zeros after them."""
    position = b.op("Sub", [b.op("CumSum", [b.op("Cast", [valid], h, to=7), b.const(np.int64(1), h + "/axis")], h),
                            b.const(np.int64(1), h + "/one")], h)
    width = _dim(b, indices, 1, h)
    target = b.op("Where", [valid, position, width], h)  # invalid ones go to one spare column
    spare = b.op("Concat", [_dim(b, indices, 0, h), b.op("Add", [width, b.ints([1], h + "/one")], h)], h, axis=0)
    zeros = b.op("ConstantOfShape", [spare], h, value=_int64_zero(h))
    out = b.op("ScatterElements", [zeros, target, indices], h, axis=1)
    return b.op("Slice", [out, b.ints([0], h + "/start"), width, b.ints([1], h + "/axis")], h)


def _int64_zero(h: str) -> Any:
    from onnx import TensorProto, helper

    return helper.make_tensor(h + "/zero", TensorProto.INT64, [1], [0])


def _fit(b: GraphBuilder, out: str, valid: str, length: int | None, h: str) -> str:
    """(n, k) int64 -> (n, length), zero-padded or truncated; without `length`, as long as the
    longest row (the most valid entries)."""
    if length is None:
        counts = b.reduce("ReduceSum", b.op("Cast", [valid], h, to=7), [1], h)
        end = b.reduce("ReduceMax", counts, [0], h, keepdims=True)
    else:
        pads = b.ints([0, 0, 0, length], h + "/pads")
        out = b.op("Pad", [out, pads, b.const(np.int64(0), h + "/zero")], h, mode="constant")
        end = b.ints([length], h + "/length")
    return b.op("Slice", [out, b.ints([0], h + "/start"), end, b.ints([1], h + "/axis")], h)


@converter("TextVectorization")
def text_vectorization(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """Standardize, split, n-grams, then the layer's StringLookup (see the module docstring)."""
    reason = _refusal(layer)
    if reason:
        raise unsupported(layer, reason + "; apply the TextVectorization before the model (e.g. in a tf.data "
                                          "pipeline) and export the model that takes its token indices")
    x, h = _one(inputs, layer), layer.name
    shape = b.shapes.get(x, ())
    lookup, length = layer._lookup_layer, layer._output_sequence_length
    if needs_string_ops(layer) and b.opset < TEXT_OPSET:
        raise unsupported(layer, f"its string processing needs opset {TEXT_OPSET} (StringSplit, StringConcat), "
                                 f"received opset_version={b.opset}; pass opset_version={TEXT_OPSET} or leave it unset")
    if layer._split is not None:
        if len(shape) > 2 or len(shape) == 2 and shape[-1] != 1 or len(shape) == 0:
            raise unsupported(layer, f"split={layer._split!r} needs strings of shape (batch,) or (batch, 1), the "
                                     f"input shape is {shape}")
        x = b.op("Reshape", [x, b.ints([-1], h + "/flat")], h)
    table = _character_table(layer)
    if table:
        flat = x if layer._split is not None else b.op("Reshape", [x, b.ints([-1], h + "/flat")], h)
        text = _map_characters(b, layer, flat, table, h)
        x = text if layer._split is not None else b.op("Reshape", [text, b.op("Shape", [x], h)], h)
    if layer._split is None and layer._ngrams is None:
        b.shapes[x] = shape
        out = index_lookup(b, lookup, [x], {})
        if layer._output_mode != "int" or length is None or not shape:
            return out
        return _fit_static(b, layer, out, shape, length)
    empty = _strings(b, [""], h + "/empty", dims=[])
    if layer._split == "whitespace":
        tokens = b.op("StringSplit", [x], h, outputs=2)[0]
    elif layer._split == "character":
        tokens = _characters(b, x, h)
    else:  # split=None: each string is one token
        tokens = b.op("Reshape", [x, b.ints([-1, 1], h + "/column")], h)
    if layer._split is None:
        valid = b.op("Equal", [tokens, tokens], h)  # all true
    else:
        valid = b.op("Not", [b.op("Equal", [tokens, empty], h)], h)
    if layer._ngrams is not None:
        tokens, valid = _ngrams(b, tokens, valid, tuple(layer._ngrams), h)
        tokens = b.op("Where", [valid, tokens, empty], h)
    # One padding column, so that a batch without any token still encodes (and fits) well.
    column = b.op("Concat", [_dim(b, tokens, 0, h), b.ints([1], h + "/one")], h, axis=0)
    tokens = b.op("Concat", [tokens, b.op("Expand", [empty, column], h)], h, axis=1)
    valid = b.op("Concat", [valid, b.op("Cast", [b.op("ConstantOfShape", [column], h)], h, to=9)], h, axis=1)
    b.shapes[tokens] = (None, None)
    out = index_lookup(b, lookup, [tokens], {})
    if layer._output_mode != "int":
        return out
    if layer._ngrams is not None and len(layer._ngrams) > 1:
        out = _to_front(b, out, valid, h)
    return _fit(b, out, valid, length, h)


def _fit_static(b: GraphBuilder, layer: Any, out: str, shape: tuple, length: int) -> str:
    """Padding or truncation of the last axis when its size is known (split=None)."""
    h = layer.name
    if shape[-1] is None:
        raise unsupported(layer, f"output_sequence_length={length} on token rows of unknown length (input shape "
                                 f"{shape})")
    if shape[-1] > length:
        return b.op("Slice", [out, b.ints([0], h + "/start"), b.ints([length], h + "/end"), b.ints([-1], h + "/axis")],
                    h)
    if shape[-1] < length:
        pads = [0] * (2 * len(shape))
        pads[-1] = length - shape[-1]
        return b.op("Pad", [out, b.ints(pads, h + "/pads"), b.const(np.int64(0), h + "/zero")], h, mode="constant")
    return out


__all__ = ["needs_string_ops"]
