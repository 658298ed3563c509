"""Fused convolution: `activation(conv(x, w) + bias)` as one primitive.

A Keras convolution layer adds its bias and applies its activation on every call; as three
primitives that is two more passes over the (large) output forward, each with a fresh array,
and backward a relu mask, an add's gradient and the engine's bias reduction. Fused, the bias and
activation are applied in place on the convolution's output, and backward computes the
activation's gradient once and the bias gradient with the filter's, in one gradient primitive
(`conv_primitives.ConvBackprop`), which the tape runs on arrays or records like any other op.
"""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow.ops import conv as _conv
from tapeflow.ops.conv_primitives import Conv
from tapeflow.ops.dense import ACTIVATIONS, activate_
from tapeflow.tensor import Tensor


class ConvBiasActivation(Conv):
    """y = act(correlate(x, w) + b): x (N, *S, C), w (*K, C / groups, Cout), b (Cout,) or none."""

    def __init__(self, strides: tuple, dilations: tuple, padding: Any, groups: int, op: str,
                 activation: str, has_bias: bool) -> None:
        super().__init__(strides, dilations, padding, groups, op)
        self.activation = activation
        self.has_bias = has_bias

    @backend.half_via_float32
    def forward(self, x: Any, w: Any, b: Any = None) -> Any:
        act = self.activation
        y, bias_added, relu_applied = self._forward(x, w, b, act == "relu")
        # The convolution's output is a new array: finish it in place.
        if b is not None and not bias_added:
            y += b
        return y if relu_applied else activate_(y, act)

    def backward(self, dy: Tensor) -> tuple:
        nx, nw = self.needs_input_grad[:2]
        nb = self.has_bias and self.needs_input_grad[2]
        x, w = self.inputs[0], self.inputs[1]
        wants = (nx, nw, nb)
        grad = self._grad(self.activation, wants)
        args = (dy, x, w) if self.activation == "linear" else (dy, x, w, self.outputs[0])
        outs = grad(*args)
        outs = list(outs) if isinstance(outs, tuple) else [outs]
        dx, dw, db = (outs.pop(0) if want else None for want in wants)
        return (dx, dw, db) if self.has_bias else (dx, dw)


def conv_bias_activation(input: Any, filters: Any, bias: Any, strides: Any, padding: Any,  # noqa: A002
                         activation: str = "linear", data_format: Any = None,
                         dilations: Any = None, rank: int = 2) -> Tensor:
    """`activation(conv(input, filters) + bias)` in one primitive (what a Keras Conv layer does).

    Args:
        input: (batch..., *spatial, in_channels), or channels-first per `data_format`.
        filters: (*kernel, in_channels / groups, out_channels).
        bias: (out_channels,) or None.
        strides, padding, dilations, data_format: as in `tf.nn.convolution` for `rank`.
        activation: one of "linear", "relu", "sigmoid", "tanh".
        rank: the number of spatial dimensions (1, 2 or 3).

    Returns:
        The activated output, (batch..., *out_spatial, out_channels) (or channels-first).
    """
    op = _conv._OP_NAMES[rank]
    if activation not in ACTIVATIONS:
        raise ValueError(f"{op}: activation must be one of {ACTIVATIONS}, received {activation!r}.")
    x, w, st, dil, pad, groups, cf, batch = _conv.prepare_convolution(
        op, input, filters, rank, strides, padding, data_format, dilations,
        explicit_ok=(rank == 2), allow_batch_shape=(rank < 3))
    if bias is None:
        y = ConvBiasActivation(st, dil, pad, groups, op, activation, False)(x, w)
    else:
        b = _conv.float_operand(bias, op, like=x)
        if b.dtype != x.dtype or tuple(b.shape) != (w.shape[-1],):
            raise ValueError(
                f"{op}: expected a bias of shape ({w.shape[-1]},) and dtype {x.dtype.name}, "
                f"received shape {tuple(b.shape)} and dtype {b.dtype.name}."
            )
        y = ConvBiasActivation(st, dil, pad, groups, op, activation, True)(x, w, b)
    return _conv.finish_convolution(y, rank, cf, batch)
