"""ONNX converters of LSTM, GRU and SimpleRNN (ONNX `LSTM`/`GRU`/`RNN`; time-major, as
onnxruntime runs only layout 0, so the batch-first Keras tensors are transposed around them).

Gate orders differ: Keras LSTM kernels are [i, f, c, o], ONNX wants [i, o, f, c]; GRU is
[z, r, h] in both. Keras's GRU `reset_after=True` is ONNX's `linear_before_reset=1`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras.saving.onnx_export.activations import activation_name
from tapeflow.keras.saving.onnx_export.builder import GraphBuilder, converter, unsupported

_ONNX_ACTIVATIONS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "linear": None}


def _gates(w: np.ndarray, order: list[int], units: int) -> np.ndarray:
    return np.concatenate([w[..., i * units:(i + 1) * units] for i in order], axis=-1)


def _acts(layer: Any, cell: Any, names: list) -> list[str]:
    out = []
    for fn in names:
        name = activation_name(getattr(cell, fn))
        if _ONNX_ACTIVATIONS.get(name) is None:
            raise unsupported(layer, f"{fn}={name!r} has no ONNX recurrent activation")
        out.append(_ONNX_ACTIVATIONS[name])
    return out


def _check(layer: Any, inputs: list, kwargs: dict) -> str:
    """The input sequence, after refusing what ONNX's recurrent ops cannot express.

    `kwargs["_time_aligned"]` (set by Bidirectional) accepts go_backwards with sequences: ONNX's
    reverse direction returns them in input order, which is what Bidirectional outputs.
    """
    if len(inputs) != 1 or kwargs.get("initial_state") is not None or kwargs.get("mask") is not None:
        raise unsupported(layer, "initial states and masks are not exported")
    if layer.stateful:
        raise unsupported(layer, "stateful=True")
    if layer.go_backwards and layer.return_sequences and not kwargs.get("_time_aligned"):
        raise unsupported(layer, "go_backwards=True with return_sequences=True")
    return inputs[0]


def _outputs(b: GraphBuilder, layer: Any, outs: list, states: int) -> Any:
    """Keras outputs from ONNX's Y (steps, 1, batch, units) and Y_h / Y_c (1, batch, units)."""
    h = layer.name
    if layer.return_sequences:
        y = b.op("Squeeze", [outs[0], b.ints([1], h + "/axis1")], h)
        y = b.op("Transpose", [y], h, perm=[1, 0, 2])
    else:
        y = b.op("Squeeze", [outs[1], b.ints([0], h + "/axis0")], h)
    if not layer.return_state:
        return y
    return [y] + [b.op("Squeeze", [outs[1 + i], b.ints([0], h + "/axis0")], h) for i in range(states)]


def _run(b: GraphBuilder, layer: Any, op: str, x: str, w: np.ndarray, r: np.ndarray, bias: np.ndarray,
         n_out: int, **attrs: Any) -> list:
    h = layer.name
    x = b.op("Transpose", [x], h, perm=[1, 0, 2])
    names = [x, b.const(w[None], h + "/W"), b.const(r[None], h + "/R"), b.const(bias[None], h + "/B")]
    direction = "reverse" if layer.go_backwards else "forward"
    return b.op(op, names, h, outputs=n_out, hidden_size=int(layer.cell.units), direction=direction, **attrs)


def _bias(cell: Any, size: int) -> np.ndarray:
    return np.zeros(size, np.float32) if cell.bias is None else np.asarray(cell.bias.numpy(), np.float32)


@converter("LSTM")
def lstm(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> Any:
    x, cell = _check(layer, inputs, kwargs), layer.cell
    units, order = cell.units, [0, 3, 1, 2]
    w = _gates(np.asarray(cell.kernel.numpy()), order, units).T
    r = _gates(np.asarray(cell.recurrent_kernel.numpy()), order, units).T
    bias = np.concatenate([_gates(_bias(cell, 4 * units), order, units), np.zeros(4 * units, np.float32)])
    acts = _acts(layer, cell, ["recurrent_activation", "activation", "activation"])
    outs = _run(b, layer, "LSTM", x, w, r, bias, 3, activations=acts)
    return _outputs(b, layer, outs, 2)


@converter("GRU")
def gru(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> Any:
    x, cell = _check(layer, inputs, kwargs), layer.cell
    units = cell.units
    w, r = np.asarray(cell.kernel.numpy()).T, np.asarray(cell.recurrent_kernel.numpy()).T
    bias = _bias(cell, (2 * 3 * units) if cell.reset_after else 3 * units).reshape(-1)
    if not cell.reset_after:
        bias = np.concatenate([bias, np.zeros(3 * units, np.float32)])
    acts = _acts(layer, cell, ["recurrent_activation", "activation"])
    outs = _run(b, layer, "GRU", x, w, r, bias, 2, activations=acts, linear_before_reset=int(cell.reset_after))
    return _outputs(b, layer, outs, 1)


@converter("SimpleRNN")
def simple_rnn(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> Any:
    x, cell = _check(layer, inputs, kwargs), layer.cell
    units = cell.units
    w, r = np.asarray(cell.kernel.numpy()).T, np.asarray(cell.recurrent_kernel.numpy()).T
    bias = np.concatenate([_bias(cell, units), np.zeros(units, np.float32)])
    outs = _run(b, layer, "RNN", x, w, r, bias, 2, activations=_acts(layer, cell, ["activation"]))
    return _outputs(b, layer, outs, 1)


@converter("Bidirectional")
def bidirectional(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> Any:
    from tapeflow.keras.saving.onnx_export.builder import CONVERTERS

    if layer.return_state:
        raise unsupported(layer, "return_state=True")
    outs = []
    for inner in (layer.forward_layer, layer.backward_layer):
        fn = CONVERTERS.get(type(inner).__name__)
        if fn not in (lstm, gru, simple_rnn):
            raise unsupported(layer, f"its {type(inner).__name__} layer has no ONNX converter")
        outs.append(fn(b, inner, inputs, {**kwargs, "_time_aligned": True}))
    mode, h = layer.merge_mode, layer.name
    if mode is None:
        return outs
    if mode == "concat":
        return b.op("Concat", outs, h, axis=-1)
    y = b.op({"sum": "Add", "mul": "Mul", "ave": "Add"}[mode], outs, h)
    return b.op("Mul", [y, b.const(np.float32(0.5), h + "/half")], h) if mode == "ave" else y
