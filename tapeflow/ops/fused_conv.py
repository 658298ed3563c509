"""Fused convolution: `activation(conv(x, w) + bias)` as one primitive.

A Keras convolution layer adds its bias and applies its activation on every call; as three
primitives that is two more passes over the (large) output forward, each with a fresh array,
and backward a relu mask, an add's gradient and the engine's bias reduction. Fused, the bias and
activation are applied in place on the convolution's output, and backward computes the
activation's gradient once and the bias gradient as one sum over (N, *spatial). Like the fused
dense (ops/dense.py), backward works on arrays when no tape records it and falls back to Tensor
ops, so higher-order gradients still work, when one does.
"""

from __future__ import annotations

from typing import Any

from tapeflow.autodiff import function as _fn
from tapeflow.autodiff.unbroadcast import leading_sum
from tapeflow.ops import conv as _conv
from tapeflow.ops import reduce as rd
from tapeflow.ops.dense import (
    ACTIVATIONS,
    activate_,
    activation_grad_array,
    activation_grad_tensor,
)
from tapeflow.tensor import Tensor


class ConvBiasActivation(_conv.Conv):
    """y = act(correlate(x, w) + b): x (N, *S, C), w (*K, C / groups, Cout), b (Cout,) or none."""

    def __init__(self, strides: tuple, dilations: tuple, padding: Any, groups: int, op: str,
                 activation: str, has_bias: bool) -> None:
        super().__init__(strides, dilations, padding, groups, op)
        self.activation = activation
        self.has_bias = has_bias

    def forward(self, x: Any, w: Any, b: Any = None) -> Any:
        act = self.activation
        y, bias_added, relu_applied = self._forward(x, w, b, act == "relu")
        # The convolution's output is a new array: finish it in place.
        if b is not None and not bias_added:
            y += b
        return y if relu_applied else activate_(y, act)

    def relu_foldable(self) -> bool:
        return self.activation == "relu"

    def backward(self, dy: Tensor) -> tuple:
        needs = self.needs_input_grad
        act = self.activation
        y = self.outputs[0]
        has_bias = self.has_bias and needs[2]
        if not _fn.recording_tapes:
            if self.relu_folded:  # dy is already zero wherever y is (see relu_folded_into)
                act = "linear"
            if act in ("linear", "relu"):
                grads = self._fft_grads(dy._value, y._value if act == "relu" else None,
                                        needs[0], needs[1], has_bias)
                if grads is not None:
                    dx, dw, db = (None if a is None else Tensor(a) for a in grads)
                    return (dx, dw, db) if self.has_bias else (dx, dw)
            dz_array = activation_grad_array(dy._value, y._value, act)
            grads = self._im2col_grads(dz_array, needs[0], needs[1]) if has_bias else None
            if grads is not None:
                dx, dw, db = (None if a is None else Tensor(a) for a in grads)
                return dx, dw, db
            db = Tensor(leading_sum(dz_array, dz_array.ndim - 1)) if has_bias else None
            dz = Tensor(dz_array) if dz_array is not dy._value else dy
        else:
            dz = activation_grad_tensor(dy, y, act)
            db = rd.reduce_sum(dz, tuple(range(len(y.shape) - 1))) if has_bias else None
        dx, dw = self._conv_grads(dz, needs[0], needs[1])
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
