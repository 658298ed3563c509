"""`tf.image` filters and image-quality measures: sobel_edges, image_gradients,
total_variation, psnr, ssim, ssim_multiscale (TF's Gaussian-window formulas, differentiable)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.image._common import as_float, image_tensor
from tapeflow.image.color import convert_image_dtype
from tapeflow.ops import conv as cv
from tapeflow.ops import elementwise as ew
from tapeflow.ops import image_sampling as smp
from tapeflow.ops import movement as mv
from tapeflow.ops import pool
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor

_SOBEL = np.array([[[-1, -2, -1], [0, 0, 0], [1, 2, 1]], [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]], np.float64)
_MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def depthwise(x: Tensor, kernels: np.ndarray, padding: str) -> Tensor:
    """Each channel of (N, H, W, C) filtered by every (kh, kw) kernel of `kernels` (K, kh, kw):
    (N, H', W', C * K), channel-major."""
    k = np.transpose(kernels, (1, 2, 0))[:, :, None, :]
    k = np.tile(k, (1, 1, x.shape[-1], 1))
    return cv.depthwise_conv2d(x, smp.constant_like(k, x), [1, 1, 1, 1], padding)


def sobel_edges(image: Any) -> Tensor:
    """Sobel gradients of (N, H, W, C) images with reflect padding: (N, H, W, C, 2) holding
    (dy, dx) per channel."""
    x = image_tensor(image, "sobel_edges", (4,))
    padded = mv.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], "REFLECT")
    out = depthwise(padded, _SOBEL, "VALID")
    return mv.reshape(out, tuple(x.shape) + (2,))


def image_gradients(image: Any) -> tuple:
    """Forward differences (dy, dx) of (N, H, W, C) images, zero in the last row / column."""
    x = image_tensor(image, "image_gradients", (4,))
    dy = mv.pad(ew.subtract(x[:, 1:], x[:, :-1]), [[0, 0], [0, 1], [0, 0], [0, 0]])
    dx = mv.pad(ew.subtract(x[:, :, 1:], x[:, :, :-1]), [[0, 0], [0, 0], [0, 1], [0, 0]])
    return dy, dx


def total_variation(images: Any, name: Any = None) -> Tensor:
    """Sum of absolute differences of neighbouring pixels: a scalar for (H, W, C), one value per
    image for (N, H, W, C)."""
    x = image_tensor(images, "total_variation")
    axes = None if x.ndim == 3 else [1, 2, 3]
    d1 = ew.subtract(x[..., 1:, :, :], x[..., :-1, :, :])
    d2 = ew.subtract(x[..., :, 1:, :], x[..., :, :-1, :])
    return ew.add(rd.reduce_sum(ew.abs(d1), axes), rd.reduce_sum(ew.abs(d2), axes))


def _float_pair(a: Any, b: Any, max_val: Any, op: str) -> tuple:
    x = image_tensor(a, op, None)
    y = image_tensor(b, op, None)
    if x.dtype != y.dtype:
        raise TypeError(f"{op}: the two images must have the same dtype, received {x.dtype.name} and {y.dtype.name}.")
    if tuple(x.shape[-3:]) != tuple(y.shape[-3:]):
        raise ValueError(f"{op}: the two images must have the same height, width and channels, received shapes "
                         f"{tuple(x.shape)} and {tuple(y.shape)}.")
    dtype = x.dtype
    peak = as_float(max_val)
    if dtype.is_integer:
        peak = float(int(peak)) / float(dtype.max)  # NOTE: TF casts max_val to the image dtype, then scales
    work = "float64" if dtype.name == "float64" else "float32"
    return convert_image_dtype(x, work), convert_image_dtype(y, work), peak


def psnr(a: Any, b: Any, max_val: Any, name: Any = None) -> Tensor:
    """Peak signal-to-noise ratio 20 log10(max_val) - 10 log10(mse) per image (last 3 axes)."""
    x, y, peak = _float_pair(a, b, max_val, "psnr")
    mse = rd.reduce_mean(ew.squared_difference(x, y), [-3, -2, -1])
    return ew.subtract(20.0 * np.log(peak) / np.log(10.0), ew.multiply(ew.log(mse), 10.0 / np.log(10.0)))


def _gauss(size: int, sigma: float) -> np.ndarray:
    g = (np.arange(size, dtype=np.float64) - (size - 1) / 2.0) ** 2 * (-0.5 / sigma ** 2)
    g = np.exp(g[None, :] + g[:, None] - (g[None, :] + g[:, None]).max())
    return g / g.sum()


def _ssim_per_channel(x: Tensor, y: Tensor, peak: float, filter_size: int, filter_sigma: float, k1: float,
                      k2: float, index_map: bool = False) -> tuple:
    """(ssim, contrast-structure), each averaged over height and width: shape (..., C); with
    `index_map` the ssim map (..., H', W', C) instead."""
    lead, tail = tuple(x.shape[:-3]), tuple(x.shape[-3:])
    if min(tail[0], tail[1]) < filter_size:
        raise ValueError(f"ssim: the images (height, width) {tail[:2]} must be at least filter_size={filter_size}.")
    kernel = _gauss(int(filter_size), float(filter_sigma))[None]

    def reducer(t: Tensor) -> Tensor:
        return depthwise(mv.reshape(t, (-1,) + tail), kernel, "VALID")

    c1, c2 = (k1 * peak) ** 2, (k2 * peak) ** 2
    mean0, mean1 = reducer(x), reducer(y)
    num0 = ew.multiply(ew.multiply(mean0, mean1), 2.0)
    den0 = ew.add(ew.square(mean0), ew.square(mean1))
    luminance = ew.divide(ew.add(num0, c1), ew.add(den0, c1))
    num1 = ew.multiply(reducer(ew.multiply(x, y)), 2.0)
    den1 = reducer(ew.add(ew.square(x), ew.square(y)))
    cs = ew.divide(ew.add(ew.subtract(num1, num0), c2), ew.add(ew.subtract(den1, den0), c2))
    if index_map:
        value = ew.multiply(luminance, cs)
        return mv.reshape(value, lead + tuple(value.shape[1:])), None
    ssim_val = rd.reduce_mean(ew.multiply(luminance, cs), [1, 2])
    cs = rd.reduce_mean(cs, [1, 2])
    return mv.reshape(ssim_val, lead + (tail[2],)), mv.reshape(cs, lead + (tail[2],))


def ssim(img1: Any, img2: Any, max_val: Any, filter_size: int = 11, filter_sigma: float = 1.5, k1: float = 0.01,
         k2: float = 0.03, return_index_map: bool = False) -> Tensor:
    """Structural similarity of two batches of (H, W, C) images with a Gaussian window:
    shape = the batch shape, values in [-1, 1]; with `return_index_map` the per-pixel map
    (batch shape + (H', W')) of the valid filter positions."""
    x, y, peak = _float_pair(img1, img2, max_val, "ssim")
    value, _ = _ssim_per_channel(x, y, peak, filter_size, filter_sigma, k1, k2, bool(return_index_map))
    return rd.reduce_mean(value, [-1])


def ssim_multiscale(img1: Any, img2: Any, max_val: Any, power_factors: Any = _MSSSIM_WEIGHTS,
                    filter_size: int = 11, filter_sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03) -> Tensor:
    """Multi-scale SSIM: the weighted geometric mean of the contrast-structure terms over
    len(power_factors) scales (2x2 average pooling between them) and the last scale's SSIM."""
    x, y, peak = _float_pair(img1, img2, max_val, "ssim_multiscale")
    lead = tuple(x.shape[:-3])
    mcs = []
    for k in range(len(power_factors)):
        if k > 0:
            tail = tuple(x.shape[-3:])
            pads = [[0, 0], [0, tail[0] % 2], [0, tail[1] % 2], [0, 0]]
            pooled = []
            for t in (x, y):
                t = mv.reshape(t, (-1,) + tail)
                if tail[0] % 2 or tail[1] % 2:
                    t = mv.pad(t, pads, "SYMMETRIC")
                t = pool.avg_pool2d(t, 2, 2, "VALID")
                pooled.append(mv.reshape(t, lead + tuple(t.shape[1:])))
            x, y = pooled
        value, cs = _ssim_per_channel(x, y, peak, filter_size, filter_sigma, k1, k2)
        mcs.append(ew.relu(cs))
    mcs.pop()
    stacked = mv.stack(mcs + [ew.relu(value)], -1)
    weights = smp.constant_like(np.asarray(power_factors, np.float64), stacked)
    return rd.reduce_mean(rd.reduce_prod(ew.pow(stacked, weights), [-1]), [-1])


