"""The convolution primitives: Conv, ConvBackpropInput, ConvBackpropFilter and ConvBackprop.

Like TensorFlow's Conv2D / Conv2DBackpropInput / Conv2DBackpropFilter, the three primitives are
each other's gradients, so gradients of any order stay inside this closed set:

* `Conv(x, w) -> y`                    backward: ConvBackprop (dx and dw), or one of
                                                 dx = ConvBackpropInput(dy, w), dw = ConvBackpropFilter(x, dy)
* `ConvBackpropInput(dy, w) -> dx`     backward: d(dy) = Conv(g, w), dw = ConvBackpropFilter(g, dy)
* `ConvBackpropFilter(x, dy) -> dw`    backward: dx = ConvBackpropInput(dy, g), d(dy) = Conv(x, g)

`ConvBackprop` is the fused gradient of act(conv(x, w) + b) (ops/fused_conv.py), differentiated
again through the three. All work on channels-last arrays of any spatial rank (1-D, 2-D, 3-D):
x (N, *S, Cin), w (*K, Cin / groups, Cout), y (N, *O, Cout); grouped and depthwise convolutions
are `groups > 1`. The algorithm (conv_algorithms.py) is chosen per shape, the same for the
forward and the backward of one convolution; nothing is kept between them.
"""

from __future__ import annotations

import math
from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function, formula_vjp
from tapeflow.autodiff.unbroadcast import leading_sum
from tapeflow.ops.conv_algorithms import (
    Spectra,
    choose_algorithm,
    chunked,
    columns_with_ones,
    fft_filter_grad,
    fft_forward,
    fft_input_grad,
    fft_size,
    im2col_filter_grad,
    im2col_forward,
    im2col_input_grad,
    spectrum,
)
from tapeflow.ops.conv_geometry import Geometry, geometry
from tapeflow.tensor import Tensor

get_xp = backend.get_xp


# ---------------------------------------------------------------------------------------------
# The primitives
# ---------------------------------------------------------------------------------------------

class _ConvBase(Function):
    def __init__(self, strides: tuple, dilations: tuple, padding: Any, groups: int = 1,
                 op: str = "Conv") -> None:
        self.strides = strides
        self.dilations = dilations
        self.padding = padding
        self.groups = groups
        self.op = op

    @property
    def name(self) -> str:
        return self.op

    def _geometry(self, S: tuple, K: tuple) -> Geometry:
        return geometry(self.op, S, K, self.strides, self.dilations, self.padding)

    def _algorithm(self, xp: Any, g: Geometry, N: int, C: int, Cout: int, itemsize: int) -> str:
        return choose_algorithm(xp, g, N, C, Cout, self.groups, itemsize)

    def _conv(self) -> Conv:
        return Conv(self.strides, self.dilations, self.padding, self.groups, self.op)

    def _input(self, S: tuple) -> ConvBackpropInput:
        return ConvBackpropInput(self.strides, self.dilations, self.padding, self.groups, S, self.op)

    def _filter(self, kshape: tuple) -> ConvBackpropFilter:
        return ConvBackpropFilter(self.strides, self.dilations, self.padding, self.groups, kshape, self.op)

    def _grad(self, activation: str, wants: tuple) -> ConvBackprop:
        return ConvBackprop(self.strides, self.dilations, self.padding, self.groups, self.op, activation, wants)


class Conv(_ConvBase):
    """y = correlate(x, w): x (N, *S, C), w (*K, C / groups, Cout) -> y (N, *O, Cout)."""

    @backend.half_via_float32
    def forward(self, x: Any, w: Any) -> Any:
        return self._forward(x, w)[0]

    def _forward(self, x: Any, w: Any, bias: Any = None, relu: bool = False) -> tuple:
        """(y, bias_added, relu_applied): y a new array, the convolution plus whatever of
        `bias` and `relu` the algorithm applied on the way (FFT: both; im2col: the bias)."""
        xp = get_xp(x, w)
        g = self._geometry(x.shape[1:-1], w.shape[:-2])
        algo = self._algorithm(xp, g, x.shape[0], x.shape[-1], w.shape[-1], x.dtype.itemsize)
        if algo == "fft":
            return fft_forward(xp, x, w, g, bias, relu), True, relu
        y, bias_added = im2col_forward(xp, x, w, g, self.groups, bias)
        return y, bias_added, False

    def backward(self, dy: Tensor) -> tuple:
        x, w = self.inputs
        nx, nw = self.needs_input_grad
        if nx and nw:
            return self._grad("linear", (True, True, False))(dy, x, w)
        if nx:
            return self._input(tuple(x.shape[1:-1]))(dy, w), None
        return None, self._filter(tuple(w.shape))(x, dy)


class ConvBackprop(_ConvBase):
    """The gradients of y = act(conv(x, w) + b) from (dy, x, w) and, for a nonlinear `act`,
    the output y: the wanted ones of (dx, dw, db), in that order (`wants` says which).

    One primitive so the gradients share their work: dy's spectrum (FFT, with a relu's mask
    applied in its transposing copy and db read from its zero frequency) or, with a bias, one
    GEMM over the columns with a ones column for dw and db (im2col). Its own gradient
    differentiates the same computation written with the three convolution primitives.
    """

    def __init__(self, strides: tuple, dilations: tuple, padding: Any, groups: int, op: str,
                 activation: str, wants: tuple) -> None:
        super().__init__(strides, dilations, padding, groups, op)
        self.activation = activation
        self.wants = tuple(wants)
        self.n_outputs = sum(self.wants)

    @property
    def name(self) -> str:
        return self.op + "Backprop"

    @backend.half_via_float32
    def forward(self, dy: Any, x: Any, w: Any, y: Any = None) -> Any:
        from tapeflow.ops.dense import activation_grad_array

        xp = get_xp(dy, x, w)
        g = self._geometry(x.shape[1:-1], w.shape[:-2])
        nx, nw, nb = self.wants
        kshape = tuple(w.shape)
        C = x.shape[-1]
        act = self.activation
        algo = self._algorithm(xp, g, x.shape[0], C, w.shape[-1], x.dtype.itemsize)
        dx = dw = db = None
        if algo == "fft":
            spectra = Spectra(fft_size(g))
            if act == "relu":
                spectra.DY = spectrum(xp, dy, spectra.F, y)
                dz = dy  # read for its shape and dtype only
            else:
                dz = activation_grad_array(dy, y, act)
            if nx:
                dx = fft_input_grad(xp, dz, w, g, spectra)
            if nw:
                dw = fft_filter_grad(xp, x, dz, g, kshape, spectra)
            if nb:
                if spectra.DY is None:
                    spectra.DY = spectrum(xp, dz, spectra.F)
                db = spectra.DY[0].real.sum(axis=0).astype(dy.dtype, copy=False)
        else:
            dz = activation_grad_array(dy, y, act)
            if nx:
                dx = im2col_input_grad(xp, dz, w, g, self.groups, C)
            if nw and nb and self.groups == 1 and not chunked(xp, g, x.shape, 1, x.dtype.itemsize):
                ext = columns_with_ones(xp, x, g)
                if ext is not None:
                    # NOTE: the columns with a ones row: one GEMM gives dw and db together.
                    TC = math.prod(kshape[:-1])
                    dwb = im2col_filter_grad(xp, x, dz, g, 1, (TC + 1, kshape[-1]), ext)
                    dw, db = dwb[:TC].reshape(kshape), dwb[TC]
            if nw and dw is None:
                dw = im2col_filter_grad(xp, x, dz, g, self.groups, kshape, None)
            if nb and db is None:
                db = leading_sum(dz, dz.ndim - 1)
        outs = tuple(v for v, want in zip((dx, dw, db), self.wants, strict=True) if want)
        return outs[0] if len(outs) == 1 else outs

    def backward(self, *douts: Tensor) -> tuple:
        return formula_vjp(self, self.formula, list(douts))

    def formula(self, dy: Tensor, x: Tensor, w: Tensor, y: Tensor | None = None) -> tuple:
        """`forward` written with the convolution primitives (differentiable again)."""
        from tapeflow.ops import reduce as rd
        from tapeflow.ops.dense import activation_grad_tensor

        nx, nw, nb = self.wants
        dz = activation_grad_tensor(dy, y, self.activation)
        outs = []
        if nx:
            outs.append(self._input(tuple(x.shape[1:-1]))(dz, w))
        if nw:
            outs.append(self._filter(tuple(w.shape))(x, dz))
        if nb:
            outs.append(rd.reduce_sum(dz, tuple(range(len(dz.shape) - 1))))
        return tuple(outs)


class ConvBackpropInput(_ConvBase):
    """dx = conv_transpose(dy, w): dy (N, *O, Cout), w (*K, C / groups, Cout) -> (N, *S, C)."""

    def __init__(self, strides: tuple, dilations: tuple, padding: Any, groups: int,
                 input_spatial: tuple, op: str = "Conv") -> None:
        super().__init__(strides, dilations, padding, groups, op)
        self.input_spatial = tuple(input_spatial)

    @property
    def name(self) -> str:
        return self.op + "BackpropInput"

    @backend.half_via_float32
    def forward(self, dy: Any, w: Any) -> Any:
        xp = get_xp(dy, w)
        g = self._geometry(self.input_spatial, w.shape[:-2])
        if tuple(dy.shape[1:-1]) != g.O:
            raise ValueError(
                f"the gradient's spatial shape {tuple(dy.shape[1:-1])} does not match the "
                f"convolution output {g.O} computed from the input spatial shape {g.S}."
            )
        C = w.shape[-2] * self.groups
        algo = self._algorithm(xp, g, dy.shape[0], C, w.shape[-1], dy.dtype.itemsize)
        if algo == "fft":
            return fft_input_grad(xp, dy, w, g, Spectra(fft_size(g)))
        return im2col_input_grad(xp, dy, w, g, self.groups, C)

    def backward(self, ddx: Tensor) -> tuple:
        dy, w = self.inputs
        ndy, nw = self.needs_input_grad
        d_dy = self._conv()(ddx, w) if ndy else None
        d_w = self._filter(tuple(w.shape))(ddx, dy) if nw else None
        return d_dy, d_w


class ConvBackpropFilter(_ConvBase):
    """dw: x (N, *S, C), dy (N, *O, Cout) -> (*K, C / groups, Cout), the filter's gradient."""

    def __init__(self, strides: tuple, dilations: tuple, padding: Any, groups: int,
                 filter_shape: tuple, op: str = "Conv") -> None:
        super().__init__(strides, dilations, padding, groups, op)
        self.filter_shape = tuple(filter_shape)

    @property
    def name(self) -> str:
        return self.op + "BackpropFilter"

    @backend.half_via_float32
    def forward(self, x: Any, dy: Any) -> Any:
        xp = get_xp(x, dy)
        g = self._geometry(x.shape[1:-1], self.filter_shape[:-2])
        if tuple(dy.shape[1:-1]) != g.O:
            raise ValueError(
                f"the gradient's spatial shape {tuple(dy.shape[1:-1])} does not match the "
                f"convolution output {g.O}."
            )
        algo = self._algorithm(xp, g, x.shape[0], x.shape[-1], dy.shape[-1], x.dtype.itemsize)
        if algo == "fft":
            return fft_filter_grad(xp, x, dy, g, self.filter_shape, Spectra(fft_size(g)))
        return im2col_filter_grad(xp, x, dy, g, self.groups, self.filter_shape, None)

    def backward(self, ddw: Tensor) -> tuple:
        x, dy = self.inputs
        nx, ndy = self.needs_input_grad
        d_x = self._input(tuple(x.shape[1:-1]))(dy, ddw) if nx else None
        d_dy = self._conv()(x, ddw) if ndy else None
        return d_x, d_dy
