"""ONNX converters of LSTM, GRU, SimpleRNN, RNN (over the built-in cells, stacked too),
Bidirectional and ConvLSTM1D/2D/3D.

Without a mask, LSTM/GRU/SimpleRNN become ONNX's `LSTM`/`GRU`/`RNN` ops (time-major, as
onnxruntime runs only layout 0, so the batch-first Keras tensors are transposed around them;
initial states are their `initial_h`/`initial_c`). Gate orders differ: Keras LSTM kernels are
[i, f, c, o], ONNX wants [i, o, f, c]; GRU is [z, r, h] in both. Keras's GRU `reset_after=True`
is ONNX's `linear_before_reset=1`. With a Keras mask, with `go_backwards` and
`return_sequences` (outputs in processing order), and for ConvLSTM, the layer becomes a `Scan`
over its cell (`rnn_scan`).
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


def _check(layer: Any, inputs: list, kwargs: dict) -> tuple[str, list | None]:
    """The input sequence and the initial states (None for zeros), after refusing what cannot be exported."""
    if len(inputs) != 1:
        raise unsupported(layer, f"expected one input sequence, received {len(inputs)} inputs")
    if layer.stateful:
        raise unsupported(layer, "stateful=True (the carried states live outside the graph)")
    states = kwargs.get("initial_state")
    if states is not None:
        states = [states] if isinstance(states, str) else list(states)
        if not all(isinstance(v, str) for v in states):
            raise unsupported(layer, "initial states that are not tensors of the model")
    return inputs[0], states


def _use_scan(layer: Any, kwargs: dict) -> bool:
    backwards_sequences = layer.go_backwards and layer.return_sequences and not kwargs.get("_time_aligned")
    return kwargs.get("mask") is not None or backwards_sequences


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
         n_out: int, initial: list | None, **attrs: Any) -> list:
    h = layer.name
    x = b.op("Transpose", [x], h, perm=[1, 0, 2])
    names = [x, b.const(w[None], h + "/W"), b.const(r[None], h + "/R"), b.const(bias[None], h + "/B")]
    if initial is not None:
        names += [""] + [b.op("Unsqueeze", [s, b.ints([0], h + "/axis0")], h) for s in initial]
    direction = "reverse" if layer.go_backwards else "forward"
    return b.op(op, names, h, outputs=n_out, hidden_size=int(layer.cell.units), direction=direction, **attrs)


def _scan(b: GraphBuilder, layer: Any, x: str, initial: list | None, kwargs: dict, step: Any, n_states: int) -> Any:
    from tapeflow.keras.saving.onnx_export.rnn_scan import scan_rnn, zeros_like_batch

    units = int(layer.cell.units)
    states = initial or [zeros_like_batch(b, x, (units,), f"{layer.name}/state{i}") for i in range(n_states)]
    y, finals = scan_rnn(b, layer, x, kwargs.get("mask"), states, step,
                         time_aligned=bool(kwargs.get("_time_aligned")))
    return [y, *finals] if layer.return_state else y


def _bias(cell: Any, size: int) -> np.ndarray:
    return np.zeros(size, np.float32) if cell.bias is None else np.asarray(cell.bias.numpy(), np.float32)


@converter("LSTM", masks=True)
def lstm(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> Any:
    from tapeflow.keras.saving.onnx_export.rnn_scan import lstm_step

    (x, initial), cell = _check(layer, inputs, kwargs), layer.cell
    if _use_scan(layer, kwargs):
        return _scan(b, layer, x, initial, kwargs, lstm_step(layer), 2)
    units, order = cell.units, [0, 3, 1, 2]
    w = _gates(np.asarray(cell.kernel.numpy()), order, units).T
    r = _gates(np.asarray(cell.recurrent_kernel.numpy()), order, units).T
    bias = np.concatenate([_gates(_bias(cell, 4 * units), order, units), np.zeros(4 * units, np.float32)])
    acts = _acts(layer, cell, ["recurrent_activation", "activation", "activation"])
    outs = _run(b, layer, "LSTM", x, w, r, bias, 3, initial, activations=acts)
    return _outputs(b, layer, outs, 2)


@converter("GRU", masks=True)
def gru(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> Any:
    from tapeflow.keras.saving.onnx_export.rnn_scan import gru_step

    (x, initial), cell = _check(layer, inputs, kwargs), layer.cell
    if _use_scan(layer, kwargs):
        return _scan(b, layer, x, initial, kwargs, gru_step(layer), 1)
    units = cell.units
    w, r = np.asarray(cell.kernel.numpy()).T, np.asarray(cell.recurrent_kernel.numpy()).T
    bias = _bias(cell, (2 * 3 * units) if cell.reset_after else 3 * units).reshape(-1)
    if not cell.reset_after:
        bias = np.concatenate([bias, np.zeros(3 * units, np.float32)])
    acts = _acts(layer, cell, ["recurrent_activation", "activation"])
    outs = _run(b, layer, "GRU", x, w, r, bias, 2, initial, activations=acts,
                linear_before_reset=int(cell.reset_after))
    return _outputs(b, layer, outs, 1)


@converter("SimpleRNN", masks=True)
def simple_rnn(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> Any:
    from tapeflow.keras.saving.onnx_export.rnn_scan import simple_rnn_step

    (x, initial), cell = _check(layer, inputs, kwargs), layer.cell
    if _use_scan(layer, kwargs):
        return _scan(b, layer, x, initial, kwargs, simple_rnn_step(layer), 1)
    units = cell.units
    w, r = np.asarray(cell.kernel.numpy()).T, np.asarray(cell.recurrent_kernel.numpy()).T
    bias = np.concatenate([_bias(cell, units), np.zeros(units, np.float32)])
    outs = _run(b, layer, "RNN", x, w, r, bias, 2, initial, activations=_acts(layer, cell, ["activation"]))
    return _outputs(b, layer, outs, 1)


@converter("ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", masks=True)
def conv_lstm(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> Any:
    """A Scan over ConvLSTM steps, channels-first inside (see `rnn_scan.conv_lstm_step`)."""
    from tapeflow.keras.saving.onnx_export.rnn_scan import conv_lstm_step, scan_rnn, zeros_like_batch

    (x, initial), h = _check(layer, inputs, kwargs), layer.name
    rank, filters = int(layer.cell.rank), int(layer.cell.filters)
    channels_last = layer.cell.data_format != "channels_first"
    shape = tuple(layer.compute_output_shape(b.shapes[x]))
    shape = shape[0] if isinstance(shape[0], tuple) else shape
    spatial = shape[2:2 + rank] if layer.return_sequences else shape[1:1 + rank]
    if not channels_last:
        spatial = shape[3:3 + rank] if layer.return_sequences else shape[2:2 + rank]
    if any(d is None for d in spatial):
        raise unsupported(layer, f"it needs known spatial sizes, the input shape is {b.shapes[x]}")
    to_nc = [0, rank + 1, *range(1, rank + 1)]
    to_nhwc = [0, *range(2, rank + 2), 1]
    if channels_last:
        x = b.op("Transpose", [x], h, perm=[0, 1, rank + 2, *range(2, rank + 2)])
        if initial is not None:
            initial = [b.op("Transpose", [s], h, perm=to_nc) for s in initial]
    states = initial or [zeros_like_batch(b, x, (filters, *spatial), f"{h}/state{i}") for i in range(2)]
    y, finals = scan_rnn(b, layer, x, kwargs.get("mask"), states, conv_lstm_step(layer), step_rank=rank + 2,
                         time_aligned=bool(kwargs.get("_time_aligned")))
    if channels_last:
        y = b.op("Transpose", [y], h, perm=[0, 1, *range(3, rank + 3), 2] if layer.return_sequences else to_nhwc)
        finals = [b.op("Transpose", [s], h, perm=to_nhwc) for s in finals]
    return [y, *finals] if layer.return_state else y


@converter("Bidirectional", masks=True)
def bidirectional(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> Any:
    """Forward and backward layers (the backward one's sequence back in input order), merged;
    initial states split in half between them, as Keras does; states follow the output."""
    from tapeflow.keras.saving.onnx_export.builder import CONVERTERS

    initial = kwargs.get("initial_state")
    halves: list = [None, None]
    if initial is not None:
        initial = [initial] if isinstance(initial, str) else list(initial)
        half = len(initial) // 2
        halves = [initial[:half], initial[half:]]
    outs, states = [], []
    for inner, init in zip((layer.forward_layer, layer.backward_layer), halves, strict=True):
        fn = CONVERTERS.get(type(inner).__name__)
        if fn not in (lstm, gru, simple_rnn, conv_lstm, generic_rnn):
            raise unsupported(layer, f"its {type(inner).__name__} layer has no ONNX converter")
        inner_kwargs = {"_time_aligned": True, "mask": kwargs.get("mask"), "initial_state": init}
        out = fn(b, inner, inputs, inner_kwargs)
        if layer.return_state:
            outs.append(out[0])
            states.extend(out[1:])
        else:
            outs.append(out)
    mode, h = layer.merge_mode, layer.name
    if mode is None:
        return outs + states
    if mode == "concat":
        y = b.op("Concat", outs, h, axis=-1)
    else:
        y = b.op({"sum": "Add", "mul": "Mul", "ave": "Add"}[mode], outs, h)
        if mode == "ave":
            y = b.op("Mul", [y, b.const(np.float32(0.5), h + "/half")], h)
    return [y, *states] if layer.return_state else y


class _CellView:
    """One cell of a generic RNN, seen as a layer by the step builders (`rnn_scan.*_step`)."""

    def __init__(self, layer: Any, cell: Any, index: int | None) -> None:
        self.cell = cell
        self.name = layer.name if index is None else f"{layer.name}/cell{index}"


_CELL_STEPS = {"LSTMCell": ("lstm_step", 2), "GRUCell": ("gru_step", 1), "SimpleRNNCell": ("simple_rnn_step", 1)}


@converter("RNN", masks=True)
def generic_rnn(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> Any:
    """`keras.layers.RNN` over LSTMCell / GRUCell / SimpleRNNCell, or a stack of them
    (`StackedRNNCells`: each step runs the cells in order, the states of all cells flattened
    in that order), as a Scan with Keras's masked-step rule."""
    from tapeflow.keras.saving.onnx_export import rnn_scan

    x, initial = _check(layer, inputs, kwargs)
    stacked = type(layer.cell).__name__ == "StackedRNNCells"
    cells = list(layer.cell.cells) if stacked else [layer.cell]
    steps, sizes = [], []
    for i, cell in enumerate(cells):
        kind = type(cell).__name__
        if kind not in _CELL_STEPS or not type(cell).__module__.startswith("tapeflow."):
            raise unsupported(layer, f"its cell {kind} has no ONNX translation (LSTMCell, GRUCell and SimpleRNNCell "
                                     "have)")
        name, n_states = _CELL_STEPS[kind]
        steps.append((getattr(rnn_scan, name)(_CellView(layer, cell, i if stacked else None)), n_states))
        sizes += [int(cell.units)] * n_states

    def step(sb: GraphBuilder, x_t: str, states: list) -> tuple:
        out, new_states, k = x_t, [], 0
        for cell_step, n_states in steps:
            out, cell_states = cell_step(sb, out, states[k:k + n_states])
            new_states += cell_states
            k += n_states
        return out, new_states

    if initial is not None and len(initial) != len(sizes):
        raise unsupported(layer, f"{len(initial)} initial states for cells with {len(sizes)} states")
    states = initial or [rnn_scan.zeros_like_batch(b, x, (n,), f"{layer.name}/state{i}") for i, n in enumerate(sizes)]
    y, finals = rnn_scan.scan_rnn(b, layer, x, kwargs.get("mask"), states, step,
                                  time_aligned=bool(kwargs.get("_time_aligned")),
                                  output_state=len(sizes) - steps[-1][1])
    return [y, *finals] if layer.return_state else y
