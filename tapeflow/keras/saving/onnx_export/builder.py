"""The ONNX graph under construction: nodes, weights as initializers, unique value names, and
the table of layer converters (`converter` registers one per layer class)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

# Layer class name -> converter(builder, layer, inputs: list[str], call_kwargs) -> output name(s).
CONVERTERS: dict[str, Callable] = {}
# Layer classes whose converter applies a Keras mask passed as call_kwargs["mask"].
MASK_AWARE: set[str] = set()


class ExportError(ValueError):
    """A layer or model that cannot be written as ONNX; the message names it and says why."""


def converter(*class_names: str, masks: bool = False) -> Callable:
    """Register the decorated function as the ONNX converter of the named layer classes
    (`masks=True`: it applies the Keras mask it receives as `call_kwargs["mask"]`)."""

    def register(fn: Callable) -> Callable:
        for name in class_names:
            CONVERTERS[name] = fn
            if masks:
                MASK_AWARE.add(name)
        return fn

    return register


def unsupported(layer: Any, reason: str) -> ExportError:
    return ExportError(f"ONNX export: {type(layer).__name__} '{layer.name}' cannot be exported: {reason}.")


class GraphBuilder:
    """Collects ONNX nodes and initializers; every value gets a fresh, readable name."""

    def __init__(self, opset: int) -> None:
        from onnx import helper

        self.helper = helper
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self.shapes: dict[str, tuple] = {}  # value name -> Keras shape (None for unknown dims)
        self.masks: dict[str, str] = {}  # value name -> its Keras mask (a bool value, batch first)
        self.dtypes: dict[str, np.dtype] = {}  # value name -> its NumPy dtype, where known (object: strings)
        self.domains: set[str] = set()  # operator domains used besides the default one (ai.onnx.ml)
        # Declared types of values whose operator ONNX's shape inference does not know (com.microsoft).
        self.value_info: list = []
        self._used: set = set()

    def subgraph(self) -> GraphBuilder:
        """A builder for a control-flow body (Scan): its own nodes, the same names and
        initializers (the body reads weights from the outer graph)."""
        sub = GraphBuilder(self.opset)
        sub._used = self._used
        sub.initializers = self.initializers
        sub.domains = self.domains
        return sub

    def declare(self, value: str, elem_type: int, rank: int) -> str:
        """Declare `value`'s element type and rank (for an operator ONNX's checker does not know)."""
        dims = [f"{value}_d{i}" for i in range(rank)]
        self.value_info.append(self.helper.make_tensor_value_info(value, elem_type, dims))
        return value

    def name(self, hint: str) -> str:
        base = "".join(c if c.isalnum() or c in "_./" else "_" for c in hint) or "v"
        name, n = base, 1
        while name in self._used:
            name, n = f"{base}_{n}", n + 1
        self._used.add(name)
        return name

    def const(self, value: Any, hint: str, dtype: Any = None) -> str:
        """An initializer holding `value` (a NumPy array, a Variable or a Python number/list)."""
        from onnx import numpy_helper

        arr = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
        if dtype is not None:
            arr = arr.astype(dtype)
        elif arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def ints(self, values: Any, hint: str) -> str:
        """An int64 initializer (shapes, axes, pads)."""
        return self.const(np.asarray(list(values), dtype=np.int64), hint)

    def op(self, op_type: str, inputs: list[str], hint: str, outputs: int = 1, **attrs: Any) -> Any:
        """Append one node; returns its output name (or the list of names when `outputs` > 1)."""
        names = [self.name(f"{hint}/{op_type}" if i == 0 else f"{hint}/{op_type}_out{i}") for i in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        if attrs.get("domain"):
            self.domains.add(attrs["domain"])
        self.nodes.append(self.helper.make_node(op_type, list(inputs), names, name=self.name(f"{hint}/{op_type}_node"),
                                                **attrs))
        return names[0] if outputs == 1 else names

    def reduce(self, op_type: str, x: str, axes: list[int], hint: str, keepdims: bool = False) -> str:
        """A Reduce* node over `axes`: an attribute up to opset 17, an input from opset 18 (ReduceSum: 13)."""
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, [x, self.ints(axes, hint + "/axes")], hint, keepdims=int(keepdims))
        return self.op(op_type, [x], hint, axes=list(axes), keepdims=int(keepdims))

    def output(self, name: str, value: str) -> str:
        """A graph output called exactly `name`, holding `value` (an Identity node)."""
        if name in self._used:
            raise ExportError(f"ONNX export: the output name {name!r} is already used by another value.")
        self._used.add(name)
        self.nodes.append(self.helper.make_node("Identity", [value], [name], name=self.name(name + "/Identity")))
        return name
