"""`model.export(path, format="onnx")`: a Sequential or Functional model as an ONNX graph.

The graph has one input per model input (named like the Keras inputs, with a dynamic batch
dimension), outputs `output_0`, `output_1`, ..., the weights as initializers, and opset 17 by
default (18 with a Hashing layer, 20 when a TextVectorization needs the string operators). Each layer is translated by a
converter (`core`, `conv`, `norm`, `rnn`, `attention`, `text`, ...); a layer without one raises
`ExportError` naming it. Needs the `onnx` package (`pip install 'tapeflow[onnx]'`); onnxruntime
runs the result.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from tapeflow.keras.saving.file_io import atomic_write
from tapeflow.keras.saving.onnx_export.builder import ExportError, GraphBuilder
from tapeflow.keras.saving.onnx_export.walk import convert_model

DEFAULT_OPSET = 17
# Versions of the other operator domains a graph may use (ai.onnx.ml: LabelEncoder for lookups).
# com.microsoft: onnxruntime's contrib operators (Tokenizer, for TextVectorization's characters).
DOMAIN_OPSETS = {"ai.onnx.ml": 3, "com.microsoft": 1}


def _layers(model: Any) -> list:
    """Every layer of `model`, nested models' layers included."""
    out = []
    for layer in getattr(model, "layers", None) or []:
        out.append(layer)
        out.extend(_layers(layer))
    return out


def _default_opset(model: Any) -> int:
    """17; 18 with a Hashing or HashedCrossing layer (BitwiseXor); 20 when a layer needs the string operators
    (StringSplit, StringConcat)."""
    from tapeflow.keras.saving.onnx_export.hashing import HASH_OPSET
    from tapeflow.keras.saving.onnx_export.text import TEXT_OPSET, needs_string_ops

    opset = DEFAULT_OPSET
    for layer in _layers(model):
        if needs_string_ops(layer):
            opset = max(opset, TEXT_OPSET)
        elif type(layer).__name__ in ("Hashing", "HashedCrossing"):
            opset = max(opset, HASH_OPSET)
    return opset


def _onnx() -> Any:
    try:
        import onnx
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("ONNX export needs the onnx package: pip install onnx (or pip install "
                          "'tapeflow[onnx]').") from exc
    return onnx


def _value_info(onnx: Any, name: str, dtype: Any, shape: tuple, prefix: str) -> Any:
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    dims = [("batch" if i == 0 else f"{prefix}_d{i}") if d is None else int(d) for i, d in enumerate(shape)]
    return onnx.helper.make_tensor_value_info(name, elem, dims)


def _specs(model: Any, input_signature: Any) -> list[tuple[str, Any, tuple]]:
    from tapeflow import nest

    if input_signature is not None:
        flat = nest.flatten(input_signature)
        names = [getattr(t, "name", None) for t in getattr(model, "inputs", None) or []]
        return [(getattr(s, "name", None) or (names[i] if i < len(names) else None) or f"input_{i}",
                 np.dtype(s.dtype.as_numpy_dtype if hasattr(s.dtype, "as_numpy_dtype") else s.dtype),
                 tuple(s.shape)) for i, s in enumerate(flat)]
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ExportError(f"ONNX export: model '{model.name}' has no known inputs; build it (start with keras.Input "
                          "or call it once) or pass input_signature=[tf.TensorSpec(...)].")
    return [(t.name, np.dtype(t.dtype.as_numpy_dtype), tuple(t.shape)) for t in inputs]


def to_onnx(model: Any, input_signature: Any = None, opset_version: int | None = None) -> Any:
    """The ONNX `ModelProto` of `model`'s inference call.

    Raises:
        ExportError: (a ValueError) for subclassed models, raw ops on symbolic tensors, or a
            layer without an ONNX translation, naming it and the reason.
    """
    from tapeflow.keras.models.functional import Functional
    from tapeflow.keras.models.sequential import Sequential

    onnx = _onnx()
    opset = int(opset_version or _default_opset(model))
    if opset < DEFAULT_OPSET:
        raise ValueError(f"ONNX export: opset_version must be {DEFAULT_OPSET} or newer, received {opset}.")
    if not isinstance(model, (Sequential, Functional)):
        raise ExportError(f"ONNX export: {type(model).__name__} '{model.name}' is a subclassed model, whose call() "
                          "cannot be read; export a Sequential or Functional model.")
    b = GraphBuilder(opset)
    specs = _specs(model, input_signature)
    inputs = []
    for name, dtype, shape in specs:
        inputs.append(b.name(name))
        b.shapes[inputs[-1]] = shape
        b.dtypes[inputs[-1]] = np.dtype(dtype)
    outs = convert_model(b, model, inputs)
    final = [b.output(f"output_{i}", o) for i, o in enumerate(outs)]
    out_dtypes = [np.dtype(t.dtype.as_numpy_dtype) for t in model.outputs]
    graph = onnx.helper.make_graph(
        b.nodes, model.name,
        [_value_info(onnx, n, d, s, n) for n, (_, d, s) in zip(inputs, specs, strict=True)],
        [_value_info(onnx, n, d, b.shapes.get(o, ()), n) for n, d, o in zip(final, out_dtypes, outs, strict=True)],
        initializer=b.initializers, value_info=b.value_info)
    opsets = [onnx.helper.make_opsetid("", opset)]
    opsets += [onnx.helper.make_opsetid(d, DOMAIN_OPSETS[d]) for d in sorted(b.domains)]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="tapeflow")
    proto.ir_version = min(proto.ir_version, 10)
    return proto


def export_onnx(model: Any, filepath: str | os.PathLike, verbose: Any = None, input_signature: Any = None,
                opset_version: int | None = None) -> None:
    """Write `model` as an ONNX file (Keras's `model.export(filepath, format="onnx")`), atomically."""
    proto = to_onnx(model, input_signature=input_signature, opset_version=opset_version)
    with atomic_write(filepath) as f:
        f.write(proto.SerializeToString())
    if verbose is None or verbose:
        print(f"Saved artifact at '{os.fspath(filepath)}'.")


__all__ = ["ExportError", "export_onnx", "to_onnx"]
