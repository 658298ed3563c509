"""Resampling images at computed coordinates: separable resize weight matrices (TF's kernels),
projective transforms (`affine_transform`, `perspective_transform`) and `map_coordinates`.

Coordinates and weights are constants computed on the host (`backend.host`) and moved to the
image's array module; values are gathered from the image tensor, so gradients flow to the images
(not to the transforms or coordinates).
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

from tapeflow import backend
from tapeflow.backend import host  # coordinates and weights are host constants (see above)
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor


def cast(x: Tensor, dtype: str) -> Tensor:
    return x if x.dtype.name == dtype else ew.cast(x, dtype)


def xp_of(x: Tensor) -> Any:
    """The array module of `x` (the default device's for a graph tensor)."""
    return backend.get_xp(x._value) if x._value is not None else backend.default_xp()


def constant_like(value: Any, like: Tensor, dtype: Any = None) -> Tensor:
    """A constant of `like`'s dtype (or `dtype`) on `like`'s device."""
    v = like._value
    if dtype is None:
        dtype = v.dtype if v is not None else like.dtype.as_numpy_dtype
    return Tensor(backend.asarray(value, dtype, xp_of(like)))


# -- separable resize ---------------------------------------------------------------------------


def _keys_cubic(x: host.ndarray) -> host.ndarray:
    x = host.abs(x)
    out = ((1.5 * x - 2.5) * x) * x + 1.0
    out = host.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
    return host.where(x >= 2.0, 0.0, out)


def _lanczos(radius: float) -> Any:
    def kernel(x: host.ndarray) -> host.ndarray:
        x = host.abs(x)
        with host.errstate(divide="ignore", invalid="ignore"):
            y = radius * host.sin(host.pi * x) * host.sin(host.pi * x / radius) / (host.pi ** 2 * x ** 2)
        out = host.where(x > 1e-3, y, 1.0)
        return host.where(x > radius, 0.0, out)

    return kernel


def _mitchell_cubic(x: host.ndarray) -> host.ndarray:
    x = host.abs(x)
    out = (((7.0 / 6.0) * x - 2.0) * x) * x + 8.0 / 9.0
    out = host.where(x >= 1.0, (((-7.0 / 18.0) * x + 2.0) * x - 10.0 / 3.0) * x + 16.0 / 9.0, out)
    return host.where(x >= 2.0, 0.0, out)


def _gaussian(x: host.ndarray) -> host.ndarray:
    # NOTE: TF's kernel: radius 1.5, sigma = radius / 3.
    x = host.abs(x)
    return host.where(x >= 1.5, 0.0, host.exp(-x * x / (2.0 * 0.5 ** 2)))


KERNELS = {
    "linear": lambda x: host.maximum(0.0, 1.0 - host.abs(x)),
    "cubic": _keys_cubic,
    "mitchellcubic": _mitchell_cubic,
    "gaussian": _gaussian,
    "lanczos3": _lanczos(3.0),
    "lanczos5": _lanczos(5.0),
}


@functools.lru_cache(maxsize=256)
def kernel_matrix(n_in: int, n_out: int, scale: float, translation: float, kernel: str,
                  antialias: bool) -> host.ndarray:
    """(n_in, n_out) weights of TF/JAX `scale_and_translate` along one axis (cached; read-only)."""
    inv = 1.0 / scale
    kscale = max(inv, 1.0) if antialias else 1.0
    sample = (host.arange(n_out) + 0.5) * inv - translation * inv - 0.5
    w = KERNELS[kernel](host.abs(sample[None, :] - host.arange(n_in)[:, None]) / kscale)
    total = w.sum(0, keepdims=True)
    w = host.where(host.abs(total) > 1000.0 * host.finfo(host.float32).eps, w / host.where(total != 0, total, 1), 0.0)
    inside = (sample >= -0.5) & (sample <= n_in - 0.5)
    out = host.where(inside[None, :], w, 0.0)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=256)
def legacy_matrix(n_in: int, n_out: int, method: str) -> host.ndarray:
    """(n_in, n_out) weights of TF's ResizeBilinear / ResizeNearestNeighbor / ResizeBicubic
    (half-pixel centers) and ResizeArea (cached; read-only)."""
    scale = n_in / n_out
    w = host.zeros((n_in, n_out))
    cols = host.arange(n_out)
    if method == "nearest":
        src = host.minimum(host.floor((cols + 0.5) * scale), n_in - 1).astype(int)
        w[src, cols] = 1.0
    elif method == "bilinear":
        src = (cols + 0.5) * scale - 0.5
        lo_f = host.floor(src)
        lerp = src - lo_f
        lo = host.maximum(lo_f, 0).astype(int)
        hi = host.minimum(host.ceil(src), n_in - 1).astype(int)
        host.add.at(w, (lo, cols), 1.0 - lerp)
        host.add.at(w, (hi, cols), lerp)
    elif method == "bicubic":
        src = (cols + 0.5) * scale - 0.5
        base = host.floor(src)
        # NOTE: TF reads the cubic weights from a 1024-entry table: the fraction is quantized.
        frac = host.rint((src - base) * 1024) / 1024
        taps = base[None, :] + host.arange(-1, 3)[:, None]
        weights = _keys_cubic(frac[None, :] - host.arange(-1, 3)[:, None])
        # NOTE: with half-pixel centers TF drops the taps outside the image and renormalizes.
        valid = (taps >= 0) & (taps <= n_in - 1)
        weights = host.where(valid, weights, 0.0)
        weights = weights / weights.sum(0, keepdims=True)
        taps = host.clip(taps, 0, n_in - 1).astype(int)
        for k in range(4):
            host.add.at(w, (taps[k], cols), weights[k])
    elif method == "area":
        for o in range(n_out):
            start, end = o * scale, (o + 1) * scale
            for i in range(int(host.floor(start)), min(int(host.ceil(end)), n_in)):
                w[i, o] = (min(end, i + 1) - max(start, i)) / scale
    else:
        raise ValueError(f"resize: unknown method {method!r}")
    w.setflags(write=False)
    return w


def apply_matrix(x: Tensor, w: host.ndarray, axis: int) -> Tensor:
    """Contract `axis` of x with the (n_in, n_out) weights; the new axis takes its place."""
    from tapeflow.ops import linalg as la

    out = la.tensordot(x, constant_like(w, x), [[axis], [0]])
    perm = list(range(out.ndim - 1))
    perm.insert(axis, out.ndim - 1)
    return mv.transpose(out, perm)


# -- sampling at coordinates ----------------------------------------------------------------------

def _map_tf(coord: host.ndarray, n: int, mode: str) -> host.ndarray:
    """TF's ImageProjectiveTransform coordinate map for one axis (float coordinates)."""
    c = coord.astype(host.float64).copy()
    neg, pos = c < 0, c > n - 1  # the two cases are exclusive: decide both before mapping
    if mode == "reflect":
        if n <= 1:
            return host.zeros_like(c)
        sz2 = 2 * n
        cn = c[neg]
        cn = host.where(cn < -sz2, sz2 * host.trunc(-cn / sz2) + cn, cn)
        c[neg] = host.where(cn < -n, cn + sz2, -cn - 1)
        cp = c[pos]
        cp = cp - sz2 * host.trunc(cp / sz2)
        c[pos] = host.where(cp >= n, sz2 - cp - 1, cp)
        return host.clip(c, 0, n - 1)
    if mode == "wrap":
        if n <= 1:
            return host.zeros_like(c)
        sz = n - 1
        c[neg] = c[neg] + n * (host.trunc(-c[neg] / sz) + 1)
        c[pos] = c[pos] - n * host.trunc(c[pos] / sz)
        return host.clip(c, 0, n - 1)
    if mode == "nearest":
        return host.clip(c, 0, n - 1)
    return c  # constant: out-of-range reads give fill_value


def project(images: Tensor, xs: host.ndarray, ys: host.ndarray, interpolation: str, fill_mode: str,
            fill_value: float) -> Tensor:
    """Sample (N, H, W, C) images at float input coordinates xs, ys of shape (N, Ho, Wo), or
    (1, Ho, Wo) for coordinates shared by every image (then N may be unknown)."""
    _, h, w, _ = images.shape
    xs = _map_tf(xs, w, fill_mode)
    ys = _map_tf(ys, h, fill_mode)
    xp = xp_of(images)
    shared = xs.shape[0] == 1
    batch = slice(None) if shared else xp.asarray(host.broadcast_to(host.arange(xs.shape[0])[:, None, None], xs.shape))
    fill = constant_like(fill_value, images)

    def read(yi: host.ndarray, xi: host.ndarray) -> Tensor:
        valid = (yi >= 0) & (yi <= h - 1) & (xi >= 0) & (xi <= w - 1)
        yk = host.clip(yi, 0, h - 1).astype(host.int64)
        xk = host.clip(xi, 0, w - 1).astype(host.int64)
        if shared:
            yk, xk, valid = yk[0], xk[0], valid[0]
        vals = mv.getitem(images, (batch, xp.asarray(yk), xp.asarray(xk)))
        if valid.all():
            return vals
        return ew.where(Tensor(xp.asarray(valid[..., None])), vals, fill)

    if interpolation == "nearest":
        # NOTE: std::round (half away from zero), as TF's projective transform.
        return read(host.sign(ys) * host.floor(host.abs(ys) + 0.5), host.sign(xs) * host.floor(host.abs(xs) + 0.5))
    y0, x0 = host.floor(ys), host.floor(xs)
    out = None
    for dy, dx in itertools.product((0, 1), (0, 1)):
        wy = (ys - y0) if dy else (y0 + 1 - ys)
        wx = (xs - x0) if dx else (x0 + 1 - xs)
        weight = (wy * wx)[..., None]
        term = ew.multiply(read(y0 + dy, x0 + dx), constant_like(weight[0] if shared else weight, images))
        out = term if out is None else ew.add(out, term)
    return out


def projective_coordinates(transforms: host.ndarray, h: int, w: int) -> tuple:
    """Input coordinates (N, h, w) of every output pixel under TF's 8-parameter transforms."""
    # NOTE: in float32, as TF's kernel computes them: nearest-neighbour rounding near .5 depends
    # on it.
    t = transforms.astype(host.float32)
    yy, xx = host.meshgrid(host.arange(h, dtype=host.float32), host.arange(w, dtype=host.float32), indexing="ij")
    a0, a1, a2, b0, b1, b2, c0, c1 = (t[:, i, None, None] for i in range(8))
    k = c0 * xx + c1 * yy + 1.0
    with host.errstate(divide="ignore", invalid="ignore"):
        xs = (a0 * xx + a1 * yy + a2) / k
        ys = (b0 * xx + b1 * yy + b2) / k
    bad = k == 0
    xs = host.where(bad, -1e9, xs)
    ys = host.where(bad, -1e9, ys)
    return xs.astype(host.float64), ys.astype(host.float64)


def _fix_index(index: host.ndarray, size: int, mode: str) -> tuple:
    if mode == "constant":
        return host.clip(index, 0, size - 1), (index >= 0) & (index < size)
    if mode == "nearest":
        return host.clip(index, 0, size - 1), None
    if mode in ("mirror", "reflect"):
        c = host.abs(index)
        size2 = size * 2
        mod = host.mod(c, size2)
        under = mod < size
        c = host.where(under, mod, size2 - mod)
        if mode == "reflect":
            c = host.where(~under, c - 1, c)
        return c, None
    if mode == "wrap":
        return host.mod(index, size), None
    raise ValueError(f"map_coordinates: fill_mode must be one of constant, nearest, wrap, mirror, "
                     f"reflect; received {mode!r}.")


def map_coordinates(inputs: Tensor, coordinates: host.ndarray, order: int, fill_mode: str,
                    fill_value: Any) -> Tensor:
    """Sample `inputs` at `coordinates` (rank, ...) with order 0 (nearest) or 1 (linear)."""
    if order not in (0, 1):
        raise ValueError(f"map_coordinates: order must be 0 or 1, received {order!r}.")
    xp = xp_of(inputs)
    dtype = inputs.dtype.name
    work = cast(inputs, "float32") if not inputs.dtype.is_floating else inputs
    per_axis = []
    for coord, size in zip(coordinates, inputs.shape, strict=True):
        if order == 0:
            nodes = [(host.round(coord).astype(host.int64), host.ones_like(coord, dtype=host.float64))]
        else:
            lower = host.floor(coord)
            upper_w = coord - lower
            nodes = [(lower.astype(host.int64), 1.0 - upper_w), (lower.astype(host.int64) + 1, upper_w)]
        per_axis.append([(*_fix_index(i, size, fill_mode), wgt) for i, wgt in nodes])
    out = None
    fill = constant_like(fill_value, work)
    for combo in itertools.product(*per_axis):
        key = tuple(xp.asarray(c[0].astype(host.int64)) for c in combo)
        vals = mv.getitem(work, key)
        valids = [c[1] for c in combo if c[1] is not None]
        if valids:
            ok = host.logical_and.reduce(valids)
            vals = ew.where(Tensor(xp.asarray(ok)), vals, mv.broadcast_to(fill, vals.shape))
        weight = host.prod([c[2] for c in combo], axis=0)
        term = ew.multiply(vals, constant_like(weight, work))
        out = term if out is None else ew.add(out, term)
    if not inputs.dtype.is_floating:
        out = ew.round(out)
    return cast(out, dtype)


def patches(x: Tensor, size: list, strides: list, dilation: list, padding: str) -> Tensor:
    """(N, *spatial, C) -> (N, *out, prod(size) * C) with each patch flattened as (taps..., C):
    a convolution with an identity kernel (differentiable)."""
    from tapeflow.ops import conv as cv

    eye = host.eye(int(host.prod(size)) * x.shape[-1]).reshape(*size, x.shape[-1], -1)
    return cv.convolution(x, constant_like(eye, x), strides, padding.upper(), None, dilation)
