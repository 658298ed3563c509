"""`tf.io.decode_json_example`: tf.train.Examples in protobuf's JSON mapping to Example bytes."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from tapeflow import string_values as _sv
from tapeflow.errors import InvalidArgumentError
from tapeflow.strings.base import apply, string_input
from tapeflow.tensor import Tensor

_JSON_KINDS = {"bytesList": "bytes_list", "bytes_list": "bytes_list", "floatList": "float_list",
               "float_list": "float_list", "int64List": "int64_list", "int64_list": "int64_list"}


def _json_to_example(text: bytes) -> bytes:
    from tapeflow.io.example_proto import Example

    doc = json.loads(text)
    example = Example()
    features = (doc or {}).get("features", {}) or {}
    for key, feature in (features.get("feature", {}) or {}).items():
        target = example.features.feature[key]
        for json_kind, values in (feature or {}).items():
            kind = _JSON_KINDS.get(json_kind)
            if kind is None:
                raise ValueError(f"unknown Feature field {json_kind!r}")
            items = (values or {}).get("value", [])
            if kind == "bytes_list":
                items = [base64.b64decode(v) for v in items]
            elif kind == "int64_list":
                items = [int(v) for v in items]
            else:
                items = [float(v) for v in items]
            getattr(target, kind).value.extend(items)
    return example.SerializeToString()


def _decode_json(a: np.ndarray) -> np.ndarray:
    out = _sv.empty_strings(a.shape)
    flat = out.reshape(-1)
    for i, text in enumerate(a.reshape(-1).tolist()):
        try:
            flat[i] = _json_to_example(text)
        except (ValueError, TypeError, AttributeError) as e:
            raise InvalidArgumentError(None, None, f"Error while parsing JSON: {e} [Op:DecodeJSONExample]") from None
    return out


def decode_json_example(json_examples: Any, name: Any = None) -> Tensor:
    """`tf.train.Example`s in protobuf's JSON mapping (int64 as strings or numbers, bytes as
    base64) converted to serialized Example bytes, element by element."""
    x = string_input(json_examples, "DecodeJSONExample", "json_examples")
    return apply("DecodeJSONExample", _decode_json, x)
