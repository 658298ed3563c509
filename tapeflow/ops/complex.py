"""Complex parts as primitives with TF's gradient convention: the gradient of a real loss
with respect to a complex z is dL/dRe(z) + i dL/dIm(z).

`real`, `imag` and `complex` are the bridges the FFT ops use between complex tensors and the
(real, imag) float pairs `ops.extra_fft` transforms; `conj` is its own adjoint.
"""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.autodiff.function import Function
from tapeflow.ops import elementwise as ew
from tapeflow.tensor import Tensor

get_xp = backend.get_xp

_REAL_OF = {"complex64": "float32", "complex128": "float64"}
_COMPLEX_OF = {"float32": "complex64", "float64": "complex128", "float16": "complex64"}


class Real(Function):
    """Re(z); the gradient is dy + 0i."""

    def forward(self, z: Any) -> Any:
        return z.real.copy()

    def backward(self, dy: Tensor) -> tuple:
        return (MakeComplex()(dy, ew.zeros_like_t(dy)),)


class Imag(Function):
    """Im(z); the gradient is 0 + dy i."""

    def forward(self, z: Any) -> Any:
        return z.imag.copy()

    def backward(self, dy: Tensor) -> tuple:
        return (MakeComplex()(ew.zeros_like_t(dy), dy),)


class MakeComplex(Function):
    """re + i im from two float arrays of one dtype; the gradients are Re(dy) and Im(dy)."""

    def forward(self, re: Any, im: Any) -> Any:
        xp = get_xp(re, im)
        out = xp.empty(xp.broadcast_shapes(re.shape, im.shape), dtype=_COMPLEX_OF[re.dtype.name])
        out.real = re
        out.imag = im
        return out

    def backward(self, dy: Tensor) -> tuple:
        nr, ni = self.needs_input_grad
        return (Real()(dy) if nr else None), (Imag()(dy) if ni else None)


class Conj(Function):
    """The complex conjugate; its gradient is the conjugate of dy."""

    def forward(self, z: Any) -> Any:
        return get_xp(z).conj(z)

    def backward(self, dy: Tensor) -> tuple:
        return (Conj()(dy),)


def real(input: Any, name: Any = None) -> Tensor:  # noqa: A002
    """The real part of a complex tensor (a float tensor is returned as is)."""
    x = ew.unary_operand(input, "Real")
    return Real()(x) if x.dtype.is_complex else x


def imag(input: Any, name: Any = None) -> Tensor:  # noqa: A002
    """The imaginary part of a complex tensor (zeros for a float tensor)."""
    x = ew.unary_operand(input, "Imag")
    return Imag()(x) if x.dtype.is_complex else ew.zeros_like_t(x)


def conj(x: Any, name: Any = None) -> Tensor:
    """The complex conjugate (real tensors are returned as is)."""
    x = ew.unary_operand(x, "Conj")
    return Conj()(x) if x.dtype.is_complex else x


def complex(real: Any, imag: Any, name: Any = None) -> Tensor:  # noqa: A001 - TF's name
    """real + i imag from float32 (-> complex64) or float64 (-> complex128) tensors."""
    re, im = ew.binary_operands(real, imag, "Complex")
    if re.dtype.name not in ("float32", "float64"):
        raise TypeError(f"Complex: expected float32 or float64 parts, received {re.dtype.name}.")
    return MakeComplex()(re, im)


def parts(z: Tensor) -> tuple:
    """(Re z, Im z) of a complex tensor; (z, 0) of a float one."""
    if z.dtype.is_complex:
        return Real()(z), Imag()(z)
    return z, ew.zeros_like_t(z)


def real_dtype(dtype: Any) -> Any:
    """The float dtype of a complex dtype's parts."""
    return _dt.as_dtype(_REAL_OF.get(_dt.as_dtype(dtype).name, _dt.as_dtype(dtype).name))
