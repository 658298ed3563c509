"""Recurrent layers as an ONNX `Scan` over time steps, with the cell written out in plain ONNX
ops: what ONNX's fused LSTM/GRU/RNN ops cannot express.

Used for Keras masks (a masked step keeps the states and outputs the previous output, or zeros
with `zero_output_for_mask`, exactly as `RNN._loop` does, for any mask pattern, not just
right padding), for `go_backwards` with `return_sequences` (outputs in processing order), and
for ConvLSTM1D/2D/3D, which have no ONNX op. The body reads the weights from the outer graph.

Scan carries `(states..., previous output)` and scans `(x_t, mask_t)` along axis 1 of the
batch-first sequence (reversed for `go_backwards`), producing `y_t` along axis 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow.keras.saving.onnx_export.activations import activation_name, apply_activation
from tapeflow.keras.saving.onnx_export.builder import GraphBuilder, unsupported

# step(body builder, x_t, states) -> (output, new states)
Step = Callable[[GraphBuilder, str, list], tuple]


def _act(b: GraphBuilder, cell: Any, which: str, x: str, hint: str, layer: Any) -> str:
    return apply_activation(b, activation_name(getattr(cell, which)), x, hint, layer)


def _split(b: GraphBuilder, x: str, parts: int, size: int, axis: int, hint: str) -> list:
    return b.op("Split", [x, b.ints([size] * parts, hint + "/split")], hint, outputs=parts, axis=axis)


def _dense_in(b: GraphBuilder, x: str, kernel: Any, bias: Any, hint: str) -> str:
    y = b.op("MatMul", [x, b.const(kernel, hint + "/kernel")], hint)
    return y if bias is None else b.op("Add", [y, b.const(bias, hint + "/bias")], hint)


def _lstm_gates(b: GraphBuilder, gates: list, c_prev: str, layer: Any) -> tuple:
    """(h, [h, c]) from the pre-activations of Keras's gates i, f, c, o."""
    cell, h = layer.cell, layer.name
    zi, zf, zc, zo = gates
    i, f, o = (_act(b, cell, "recurrent_activation", g, h, layer) for g in (zi, zf, zo))
    c = b.op("Add", [b.op("Mul", [f, c_prev], h), b.op("Mul", [i, _act(b, cell, "activation", zc, h, layer)], h)], h)
    out = b.op("Mul", [o, _act(b, cell, "activation", c, h, layer)], h)
    return out, [out, c]


def lstm_step(layer: Any) -> Step:
    """i, f, c, o gates (Keras's order) from x W + h U + b."""
    cell, h = layer.cell, layer.name

    def step(b: GraphBuilder, x: str, states: list) -> tuple:
        z = b.op("Add", [_dense_in(b, x, cell.kernel, cell.bias, h),
                         b.op("MatMul", [states[0], b.const(cell.recurrent_kernel, h + "/recurrent_kernel")], h)], h)
        return _lstm_gates(b, _split(b, z, 4, int(cell.units), -1, h), states[1], layer)

    return step


def gru_step(layer: Any) -> Step:
    """z, r, h gates; `reset_after` applies the reset gate after the recurrent product (with its own bias)."""
    cell, h = layer.cell, layer.name
    units = int(cell.units)
    bias = None if cell.bias is None else np.asarray(cell.bias.numpy())
    b_in, b_rec = (bias[0], bias[1]) if bias is not None and cell.reset_after else (bias, None)
    rk = np.asarray(cell.recurrent_kernel.numpy())

    def step(b: GraphBuilder, x: str, states: list) -> tuple:
        prev = states[0]
        xz, xr, xh = _split(b, _dense_in(b, x, cell.kernel, b_in, h), 3, units, -1, h)
        if cell.reset_after:
            rz, rr, rh = _split(b, _dense_in(b, prev, rk, b_rec, h + "/recurrent"), 3, units, -1, h)
        else:
            rz, rr = _split(b, b.op("MatMul", [prev, b.const(rk[:, :2 * units], h + "/recurrent_zr")], h), 2, units,
                            -1, h)
        z = _act(b, cell, "recurrent_activation", b.op("Add", [xz, rz], h), h, layer)
        r = _act(b, cell, "recurrent_activation", b.op("Add", [xr, rr], h), h, layer)
        if cell.reset_after:
            rh = b.op("Mul", [r, rh], h)
        else:
            rh = b.op("MatMul", [b.op("Mul", [r, prev], h), b.const(rk[:, 2 * units:], h + "/recurrent_h")], h)
        hh = _act(b, cell, "activation", b.op("Add", [xh, rh], h), h, layer)
        one_minus = b.op("Sub", [b.const(np.float32(1), h + "/one"), z], h)
        out = b.op("Add", [b.op("Mul", [z, prev], h), b.op("Mul", [one_minus, hh], h)], h)
        return out, [out]

    return step


def simple_rnn_step(layer: Any) -> Step:
    cell, h = layer.cell, layer.name

    def step(b: GraphBuilder, x: str, states: list) -> tuple:
        z = b.op("Add", [_dense_in(b, x, cell.kernel, cell.bias, h),
                         b.op("MatMul", [states[0], b.const(cell.recurrent_kernel, h + "/recurrent_kernel")], h)], h)
        out = _act(b, cell, "activation", z, h, layer)
        return out, [out]

    return step


def conv_lstm_step(layer: Any) -> Step:
    """ConvLSTM on channels-first steps: conv(x) with the layer's padding and strides, conv(h)
    with "same" padding and stride 1, then LSTM gates along the channel axis."""
    from tapeflow.keras.saving.onnx_export.conv import _pads, _weights

    cell, h = layer.cell, layer.name
    rank, filters = int(cell.rank), int(cell.filters)
    pads = _pads(cell, rank, tuple(cell.kernel_size))
    if cell.padding == "causal":
        raise unsupported(layer, "causal padding")
    bias = None if cell.bias is None else np.asarray(cell.bias.numpy()).reshape((-1,) + (1,) * rank)

    def step(b: GraphBuilder, x: str, states: list) -> tuple:
        zx = b.op("Conv", [x, b.const(_weights(cell.kernel), h + "/kernel")], h, strides=list(cell.strides),
                  dilations=list(cell.dilation_rate), **pads)
        if bias is not None:
            zx = b.op("Add", [zx, b.const(bias, h + "/bias")], h)
        zh = b.op("Conv", [states[0], b.const(_weights(cell.recurrent_kernel), h + "/recurrent_kernel")], h,
                  auto_pad="SAME_UPPER")
        return _lstm_gates(b, _split(b, b.op("Add", [zx, zh], h), 4, filters, 1, h), states[1], layer)

    return step


def zeros_like_batch(b: GraphBuilder, x: str, dims: tuple, hint: str) -> str:
    """Zeros of shape (batch of `x`, *dims)."""
    batch = b.op("Slice", [b.op("Shape", [x], hint), b.ints([0], hint + "/start"), b.ints([1], hint + "/end")], hint)
    shape = b.op("Concat", [batch, b.ints(list(dims), hint + "/dims")], hint, axis=0)
    return b.op("Expand", [b.const(np.zeros((), np.float32), hint + "/zero"), shape], hint)


def scan_rnn(b: GraphBuilder, layer: Any, x: str, mask: str | None, states: list, step: Step, step_rank: int = 2,
             time_aligned: bool = False, output_state: int = 0) -> tuple[str, list]:
    """Run `step` over the batch-first sequence `x` (rank 3, or rank 3 + spatial for ConvLSTM
    on channels-first steps) with the Keras mask `mask` (bool (batch, time)) and initial
    `states` of rank `step_rank`; returns (sequence or last output, final states).
    `time_aligned`: outputs of a backwards layer in input order (Bidirectional);
    `output_state`: the index of a state shaped like the output (stacked cells: the last cell's)."""
    from onnx import TensorProto

    helper, h = b.helper, layer.name
    if mask is None:  # every step counts
        mask = b.op("Expand", [b.const(np.ones((), bool), h + "/true"),
                               b.op("Slice", [b.op("Shape", [x], h), b.ints([0], h + "/m0"), b.ints([2], h + "/m2")],
                                    h)], h)
    mask = b.op("Reshape", [mask, b.ints([0, 0] + [1] * (step_rank - 1), h + "/mask_shape")], h)
    prev = b.op("Mul", [states[output_state], b.const(np.float32(0), h + "/zero_state")], h)
    # 1. The body: (states..., prev, x_t, m_t) -> (new states..., out, y_t).
    body = b.subgraph()
    names_in = [body.name(f"{h}/state{i}_in") for i in range(len(states))]
    prev_in, x_in, m_in = body.name(h + "/prev_in"), body.name(h + "/x_t"), body.name(h + "/m_t")
    out, new_states = step(body, x_in, names_in)
    kept = [body.op("Where", [m_in, n, o], h) for n, o in zip(new_states, names_in, strict=True)]
    fill = body.op("Mul", [out, body.const(np.float32(0), h + "/zero_out")], h) if layer.zero_output_for_mask \
        else prev_in
    y = body.op("Where", [m_in, out, fill], h)
    body_outs = [body.op("Identity", [v], h) for v in [*kept, y, y]]
    f32 = TensorProto.FLOAT
    graph = helper.make_graph(
        body.nodes, body.name(h + "/body"),
        [helper.make_tensor_value_info(n, f32, None) for n in [*names_in, prev_in, x_in]]
        + [helper.make_tensor_value_info(m_in, TensorProto.BOOL, None)],
        [helper.make_tensor_value_info(n, f32, None) for n in body_outs])
    # 2. The Scan node.
    backwards = 1 if layer.go_backwards else 0
    results = b.op("Scan", [*states, prev, x, mask], h, outputs=len(states) + 2, body=graph,
                   num_scan_inputs=2, scan_input_axes=[1, 1], scan_input_directions=[backwards, backwards],
                   scan_output_axes=[1], scan_output_directions=[backwards if time_aligned else 0])
    finals, last, seq = results[:len(states)], results[len(states)], results[-1]
    return (seq if layer.return_sequences else last), finals
