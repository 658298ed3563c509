"""Discrete Fourier transforms on (real, imaginary) pairs, with gradients.

Each transform is linear, so its gradient is its adjoint, which is again one of these
transforms: fft <-> n * ifft, rfft <-> rfft_adjoint, irfft <-> irfft_adjoint. The last
`ndims` axes are transformed (1 or 2).
"""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function
from tapeflow.ops import elementwise as ew
from tapeflow.tensor import Tensor

get_xp = backend.get_xp

_ADJOINT = {"fft": "ifft_scaled", "ifft_scaled": "fft", "ifft": "fft_scaled", "fft_scaled": "ifft",
            "rfft": "rfft_adjoint", "rfft_adjoint": "rfft", "irfft": "irfft_adjoint",
            "irfft_adjoint": "irfft"}


def _count(shape: tuple, ndims: int) -> int:
    n = 1
    for d in shape[len(shape) - ndims:]:
        n *= d
    return n


class FFT(Function):
    """One transform `kind` over the last `ndims` axes of (real, imag) float arrays.

    Kinds: fft, ifft (complex to complex); fft_scaled = fft / N and ifft_scaled = N ifft (the
    adjoints); rfft (real to half spectrum, n = `length`), rfft_adjoint (half spectrum to real
    length n), irfft (half spectrum to real length n), irfft_adjoint (real n to half spectrum).
    """

    n_outputs = 2

    def __init__(self, kind: str, ndims: int, length: int | None = None) -> None:
        self.kind = kind
        self.ndims = ndims
        self.length = length

    def forward(self, re: Any, im: Any) -> Any:
        xp = get_xp(re)
        axes = tuple(range(-self.ndims, 0))
        z = re + 1j * im
        kind = self.kind
        if kind in ("fft", "fft_scaled"):
            out = xp.fft.fftn(z, axes=axes)
            if kind == "fft_scaled":
                out = out / _count(z.shape, self.ndims)
        elif kind in ("ifft", "ifft_scaled"):
            out = xp.fft.ifftn(z, axes=axes)
            if kind == "ifft_scaled":
                out = out * _count(z.shape, self.ndims)
        elif kind == "rfft":
            out = xp.fft.rfft(re, n=self.length, axis=-1)
        elif kind == "rfft_adjoint":
            # NOTE: the adjoint of x -> rfft(x) is dz -> Re(n * ifft(dz zero-padded to n)).
            n = self.length
            full = xp.zeros(z.shape[:-1] + (n,), dtype=z.dtype)
            m = min(z.shape[-1], n)
            full[..., :m] = z[..., :m]
            out = (xp.fft.ifft(full, axis=-1) * n).real
        elif kind == "irfft":
            out = xp.fft.irfft(z, n=self.length, axis=-1)
        elif kind == "irfft_adjoint":
            # NOTE: irfft sums bins 1..n/2-1 twice (Hermitian symmetry) and bins 0 and n/2 once.
            n = re.shape[-1]
            spec = xp.fft.rfft(re, axis=-1) / n
            weight = xp.full(spec.shape[-1], 2.0, dtype=re.dtype)
            weight[0] = 1.0
            if n % 2 == 0:
                weight[-1] = 1.0
            spec = spec * weight
            m = self.length
            if m is not None and m != spec.shape[-1]:
                pad = xp.zeros(spec.shape[:-1] + (m,), dtype=spec.dtype)
                k = min(m, spec.shape[-1])
                pad[..., :k] = spec[..., :k]
                spec = pad
            out = spec
        else:
            raise ValueError(f"FFT: unknown kind {kind!r}")
        if xp.iscomplexobj(out):
            return out.real.astype(re.dtype), out.imag.astype(re.dtype)
        return out.astype(re.dtype), xp.zeros_like(out, dtype=re.dtype)

    def backward(self, dre: Tensor, dim: Tensor) -> tuple:
        re, im = self.inputs
        out_re, out_im = self.outputs
        dre = dre if dre is not None else ew.zeros_like_t(out_re)
        dim = dim if dim is not None else ew.zeros_like_t(out_im)
        kind = self.kind
        if kind == "rfft":
            length = self.length or re.shape[-1]  # the (padded) signal length
        elif kind == "rfft_adjoint":
            length = self.length
        elif kind in ("irfft", "irfft_adjoint"):
            length = re.shape[-1]
        else:
            length = None
        g_re, g_im = FFT(_ADJOINT[kind], self.ndims, length)(dre, dim)
        # The adjoint's last axis follows the transform's length: fit it to the input's.
        g_re, g_im = _fit(g_re, re.shape[-1]), _fit(g_im, im.shape[-1])
        return g_re, (g_im if kind not in ("rfft", "irfft_adjoint") else ew.zeros_like_t(im))


def _fit(x: Tensor, n: int) -> Tensor:
    """Truncate or zero-pad the last axis to length n."""
    from tapeflow.ops import movement as mv

    m = x.shape[-1]
    if m == n:
        return x
    if m > n:
        return mv.getitem(x, (Ellipsis, slice(0, n)))
    return mv.pad(x, [[0, 0]] * (x.ndim - 1) + [[0, n - m]])
