"""Fast Fourier transforms of `tf.signal`: fft/ifft (1-3D and N-D over chosen axes) of complex
tensors, rfft/irfft of real signals, fftshift/ifftshift.

Complex tensors are split into (real, imag) float pairs for `ops.extra_fft.FFT` and joined
again (`ops.complex`), so every transform is differentiable with TF's complex-gradient
convention. TF's `fft_length` crops or zero-pads the input along each transformed axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.ops import complex as cx
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.ops.extra_fft import FFT
from tapeflow.tensor import Tensor


def _complex_input(x: Any, op: str) -> Tensor:
    t = ew.unary_operand(x, op)
    if not t.dtype.is_complex:
        raise TypeError(f"{op}: expected a complex64 or complex128 tensor, received {t.dtype.name}.")
    return t


def _real_input(x: Any, op: str) -> Tensor:
    t = ew.unary_operand(x, op)
    if t.dtype.name not in ("float32", "float64"):
        raise TypeError(f"{op}: expected a float32 or float64 tensor, received {t.dtype.name}.")
    return t


def _to_end(x: Tensor, axes: list) -> tuple:
    """x with `axes` moved last (in order) and the permutation that undoes it."""
    nd = len(x.shape)
    perm = [i for i in range(nd) if i not in axes] + list(axes)
    if perm == list(range(nd)):
        return x, None
    return mv.transpose(x, perm), list(np.argsort(perm))


def _fit(x: Tensor, axis: int, n: int) -> Tensor:
    """Crop or zero-pad `x` along `axis` to length n."""
    m = x.shape[axis]
    if m == n:
        return x
    if m > n:
        key = [slice(None)] * len(x.shape)
        key[axis] = slice(0, n)
        return x[tuple(key)]
    pads = [[0, 0] for _ in x.shape]
    pads[axis] = [0, n - m]
    return mv.pad(x, pads)


def _axes(x: Tensor, axes: Any, count: Any, op: str) -> list:
    nd = len(x.shape)
    if axes is None:
        axes = list(range(nd - count, nd)) if count is not None else list(range(nd))
    axes = [int(a) % nd for a in (axes if isinstance(axes, (list, tuple)) else [axes])]
    if len(set(axes)) != len(axes) or len(axes) > nd:
        raise ValueError(f"{op}: invalid axes {axes} for a tensor of rank {nd}.")
    return axes


def _norm_scale(norm: Any, n: int, inverse: bool, op: str) -> float:
    if norm in (None, "backward"):
        return 1.0
    if norm == "ortho":
        return float(np.sqrt(n)) if inverse else 1.0 / float(np.sqrt(n))
    if norm == "forward":
        return float(n) if inverse else 1.0 / n
    raise ValueError(f"{op}: norm must be None, 'backward', 'ortho' or 'forward', received {norm!r}.")


def _c2c(x: Tensor, axes: list, inverse: bool) -> Tensor:
    moved, back = _to_end(x, axes)
    re, im = cx.parts(moved)
    re, im = FFT("ifft" if inverse else "fft", len(axes))(re, im)
    out = cx.MakeComplex()(re, im)
    return mv.transpose(out, back) if back is not None else out


def _lengths(x: Tensor, axes: list, fft_length: Any, op: str) -> list:
    if fft_length is None:
        return [x.shape[a] for a in axes]
    vals = fft_length.numpy().tolist() if isinstance(fft_length, Tensor) else fft_length
    vals = [int(v) for v in (vals if isinstance(vals, (list, tuple)) else [vals])]
    if len(vals) != len(axes):
        raise ValueError(f"{op}: fft_length has {len(vals)} entries for {len(axes)} transformed axes.")
    return vals


def fftnd(input_tensor: Any, fft_length: Any = None, axes: Any = None, norm: Any = None, name: Any = None) -> Tensor:
    """The N-D FFT of a complex tensor over `axes` (default: all), cropped/padded to `fft_length`."""
    x = _complex_input(input_tensor, "FFTND")
    ax = _axes(x, axes, None, "FFTND")
    for a, n in zip(ax, _lengths(x, ax, fft_length, "FFTND"), strict=True):
        x = _fit(x, a, n)
    out = _c2c(x, ax, False)
    scale = _norm_scale(norm, int(np.prod([x.shape[a] for a in ax])), False, "FFTND")
    return out if scale == 1.0 else ew.multiply(out, ew.cast(scale, out.dtype))


def ifftnd(input_tensor: Any, fft_length: Any = None, axes: Any = None, norm: Any = None, name: Any = None) -> Tensor:
    """The N-D inverse FFT of a complex tensor over `axes` (default: all)."""
    x = _complex_input(input_tensor, "IFFTND")
    ax = _axes(x, axes, None, "IFFTND")
    for a, n in zip(ax, _lengths(x, ax, fft_length, "IFFTND"), strict=True):
        x = _fit(x, a, n)
    out = _c2c(x, ax, True)
    scale = _norm_scale(norm, int(np.prod([x.shape[a] for a in ax])), True, "IFFTND")
    return out if scale == 1.0 else ew.multiply(out, ew.cast(scale, out.dtype))


def _c2c_fixed(count: int, inverse: bool, op: str) -> Any:
    def f(input: Any, name: Any = None) -> Tensor:  # noqa: A002
        x = _complex_input(input, op)
        if len(x.shape) < count:
            raise ValueError(f"{op}: expected a tensor of rank >= {count}, received shape {tuple(x.shape)}.")
        return _c2c(x, _axes(x, None, count, op), inverse)

    f.__name__ = op.lower()
    f.__doc__ = f"The {'inverse ' if inverse else ''}{count}-D FFT over the innermost {count} axes of a complex tensor."
    return f


fft = _c2c_fixed(1, False, "FFT")
ifft = _c2c_fixed(1, True, "IFFT")
fft2d = _c2c_fixed(2, False, "FFT2D")
ifft2d = _c2c_fixed(2, True, "IFFT2D")
fft3d = _c2c_fixed(3, False, "FFT3D")
ifft3d = _c2c_fixed(3, True, "IFFT3D")


def rfftnd(input_tensor: Any, fft_length: Any = None, axes: Any = None, norm: Any = None, name: Any = None) -> Tensor:
    """The N-D FFT of a real tensor over `axes`: the last axis keeps fft_length // 2 + 1 bins."""
    x = _real_input(input_tensor, "RFFTND")
    ax = _axes(x, axes, None, "RFFTND")
    lens = _lengths(x, ax, fft_length, "RFFTND")
    for a, n in zip(ax, lens, strict=True):
        x = _fit(x, a, n)
    moved, back = _to_end(x, [ax[-1]])
    re, im = FFT("rfft", 1, lens[-1])(moved, ew.zeros_like_t(moved))
    out = cx.MakeComplex()(re, im)
    out = mv.transpose(out, back) if back is not None else out
    if len(ax) > 1:
        out = _c2c(out, ax[:-1], False)
    scale = _norm_scale(norm, int(np.prod(lens)), False, "RFFTND")
    return out if scale == 1.0 else ew.multiply(out, ew.cast(scale, out.dtype))


def irfftnd(input_tensor: Any, fft_length: Any = None, axes: Any = None, norm: Any = None,
            name: Any = None) -> Tensor:
    """The inverse of `rfftnd`: a real tensor of `fft_length` along `axes` (the last inferred as
    2 (bins - 1) when not given)."""
    z = _complex_input(input_tensor, "IRFFTND")
    ax = _axes(z, axes, None, "IRFFTND")
    if fft_length is None:
        lens = [z.shape[a] for a in ax[:-1]] + [2 * (z.shape[ax[-1]] - 1)]
    else:
        lens = _lengths(z, ax, fft_length, "IRFFTND")
    for a, n in zip(ax[:-1], lens[:-1], strict=True):
        z = _fit(z, a, n)
    z = _fit(z, ax[-1], lens[-1] // 2 + 1)
    if len(ax) > 1:
        z = _c2c(z, ax[:-1], True)
    moved, back = _to_end(z, [ax[-1]])
    re, im = cx.parts(moved)
    out = FFT("irfft", 1, lens[-1])(re, im)[0]
    out = mv.transpose(out, back) if back is not None else out
    scale = _norm_scale(norm, int(np.prod(lens)), True, "IRFFTND")
    return out if scale == 1.0 else ew.multiply(out, scale)


def _r2c_fixed(count: int, op: str) -> Any:
    def f(input_tensor: Any, fft_length: Any = None, name: Any = None) -> Tensor:
        x = _real_input(input_tensor, op)
        return rfftnd(x, fft_length, _axes(x, None, count, op))

    f.__name__ = op.lower()
    f.__doc__ = (f"The {count}-D FFT of a real signal over its innermost {count} axes: the last keeps "
                 "fft_length // 2 + 1 bins (complex64 for float32).")
    return f


def _c2r_fixed(count: int, op: str) -> Any:
    def f(input_tensor: Any, fft_length: Any = None, name: Any = None) -> Tensor:
        z = _complex_input(input_tensor, op)
        return irfftnd(z, fft_length, _axes(z, None, count, op))

    f.__name__ = op.lower()
    f.__doc__ = f"The inverse of rfft{'' if count == 1 else f'{count}d'}: a real signal of `fft_length`."
    return f


rfft = _r2c_fixed(1, "RFFT")
rfft2d = _r2c_fixed(2, "RFFT2D")
rfft3d = _r2c_fixed(3, "RFFT3D")
irfft = _c2r_fixed(1, "IRFFT")
irfft2d = _c2r_fixed(2, "IRFFT2D")
irfft3d = _c2r_fixed(3, "IRFFT3D")


def _shift(x: Any, axes: Any, sign: int, op: str) -> Tensor:
    t = ew.unary_operand(x, op)
    nd = len(t.shape)
    ax = list(range(nd)) if axes is None else [int(a) % nd for a in np.atleast_1d(np.asarray(axes)).tolist()]
    for a in ax:
        n = t.shape[a]
        k = (n // 2) if sign > 0 else -(n // 2)
        idx = (np.arange(n) - k) % n
        t = mv.gather(t, idx, axis=a)
    return t


def fftshift(x: Any, axes: Any = None, name: Any = None) -> Tensor:
    """Move the zero-frequency bin to the centre of `axes` (default: all)."""
    return _shift(x, axes, 1, "FFTShift")


def ifftshift(x: Any, axes: Any = None, name: Any = None) -> Tensor:
    """The inverse of `fftshift`."""
    return _shift(x, axes, -1, "IFFTShift")
