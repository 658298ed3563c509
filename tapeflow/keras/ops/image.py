"""`keras.ops.image`: resize, affine/perspective/elastic transforms, map_coordinates, patches,
crop/pad, color conversions, Gaussian blur, Sobel edges and SSIM.

Images are (height, width, channels) or (batch, height, width, channels) with
`data_format="channels_last"` (the default), or channels first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.image import color, quality
from tapeflow.keras import backend as kbackend
from tapeflow.keras.ops.arguments import cast, constant_like, float_dtype, int_list, to_tensor
from tapeflow.ops import elementwise as ew
from tapeflow.ops import image_sampling as smp
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor

_RESIZE = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area")
_TRANSFORM_INTERP = ("nearest", "bilinear")
_FILL = ("constant", "nearest", "wrap", "mirror", "reflect")


class _Layout:
    """Brings images to (N, H, W, C) and back."""

    def __init__(self, images: Any, data_format: Any, op: str, rank: int = 2) -> None:
        x = to_tensor(images)
        if x.ndim not in (rank + 1, rank + 2):
            raise ValueError(f"{op}: expected images of rank {rank + 1} (single) or {rank + 2} "
                             f"(batch), received shape {tuple(x.shape)}.")
        self.fmt = kbackend.image_data_format() if data_format is None else data_format
        if self.fmt not in ("channels_last", "channels_first"):
            raise ValueError(f"{op}: data_format must be 'channels_last' or 'channels_first', "
                             f"received {self.fmt!r}.")
        self.unbatched = x.ndim == rank + 1
        if self.unbatched:
            x = mv.expand_dims(x, 0)
        if self.fmt == "channels_first":
            x = mv.transpose(x, [0] + list(range(2, rank + 2)) + [1])
        self.x = x
        self.rank = rank

    def back(self, y: Tensor) -> Tensor:
        if self.fmt == "channels_first":
            y = mv.transpose(y, [0, y.ndim - 1] + list(range(1, y.ndim - 1)))
        return mv.squeeze(y, [0]) if self.unbatched else y


# -- resizing ------------------------------------------------------------------------------------

def resize(images: Any, size: Any, interpolation: str = "bilinear", antialias: bool = False,
           crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
           fill_mode: str = "constant", fill_value: float = 0.0, data_format: Any = None) -> Tensor:
    """Resize images to `size` = (height, width) with TF's kernels (half-pixel centers)."""
    if interpolation not in _RESIZE:
        raise ValueError(f"resize: interpolation must be one of {_RESIZE}, received {interpolation!r}.")
    if fill_mode != "constant":
        raise ValueError(f"resize: fill_mode must be 'constant', received {fill_mode!r}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("resize: only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True.")
    th, tw = int_list(size)
    lay = _Layout(images, data_format, "resize")
    x = lay.x
    dtype = x.dtype.name
    if not x.dtype.is_floating:
        x = cast(x, "float32")
    h, w = x.shape[1], x.shape[2]
    window = aspect_window(h, w, th, tw, crop_to_aspect_ratio, pad_to_aspect_ratio)
    if crop_to_aspect_ratio:
        top, left, ch, cw = window
        x = x[:, top:top + ch, left:left + cw, :]
    elif pad_to_aspect_ratio:
        top, left = window[:2]
        if top > 0 or left > 0:
            x = mv.pad(x, [[0, 0], [top, top], [left, left], [0, 0]], constant_values=fill_value)
    for axis, n_out in ((1, th), (2, tw)):
        x = smp.apply_matrix(x, resize_matrix(x.shape[axis], n_out, interpolation, antialias), axis)
    if dtype != x.dtype.name:
        x = _round_to(x, dtype)
    return lay.back(x)


def aspect_window(h: int, w: int, th: int, tw: int, crop: bool, pad: bool) -> tuple:
    """`resize`'s first step for an (h, w) image and target (th, tw): (top, left, height, width)
    of the centered crop (`crop`), or the (top, left) padding and padded size (`pad`)."""
    if crop:
        ch = max(min(h, int(w * th / tw)), 1)
        cw = max(min(w, int(h * tw / th)), 1)
        return int((h - ch) / 2), int((w - cw) / 2), ch, cw
    if pad:
        ph, pw = max(h, int(w * th / tw)), max(w, int(h * tw / th))
        return int((ph - h) / 2), int((pw - w) / 2), ph, pw
    return 0, 0, h, w


def resize_matrix(n_in: int, n_out: int, interpolation: str, antialias: bool) -> Any:
    """The (n_in, n_out) host matrix `resize` contracts one spatial axis with (TF's kernels)."""
    if antialias or interpolation in ("lanczos3", "lanczos5"):
        kernel = {"bilinear": "linear", "bicubic": "cubic"}.get(interpolation, interpolation)
        if kernel in ("nearest", "area"):
            return smp.legacy_matrix(n_in, n_out, kernel)
        return smp.kernel_matrix(n_in, n_out, n_out / n_in, 0.0, kernel, antialias)
    return smp.legacy_matrix(n_in, n_out, interpolation)


def _round_to(x: Tensor, dtype: str) -> Tensor:
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    if info is not None:
        x = ew.clip_by_value(ew.round(x), float(info.min), float(info.max))
    return cast(x, dtype)


def scale_and_translate(images: Any, output_shape: Any, scale: Any, translation: Any,
                        spatial_dims: Any, method: str, antialias: bool = True) -> Tensor:
    """Resample `spatial_dims` to `output_shape` with a scale and translation per axis (JAX's
    `scale_and_translate`): linear, cubic, lanczos3 or lanczos5 kernels."""
    kernel = {"linear": "linear", "bilinear": "linear", "trilinear": "linear", "triangle": "linear",
              "cubic": "cubic", "bicubic": "cubic", "tricubic": "cubic", "lanczos3": "lanczos3",
              "lanczos5": "lanczos5"}.get(method)
    if kernel is None:
        raise ValueError(f"scale_and_translate: unknown method {method!r}.")
    x = to_tensor(images)
    dtype = x.dtype.name
    if not x.dtype.is_floating:
        x = cast(x, "float32")
    out_shape = int_list(output_shape)
    sc = np.asarray(backend.to_numpy(to_tensor(scale)._value), dtype=np.float64).reshape(-1)
    tr = np.asarray(backend.to_numpy(to_tensor(translation)._value), dtype=np.float64).reshape(-1)
    for i, d in enumerate(int_list(spatial_dims)):
        d %= x.ndim
        wts = smp.kernel_matrix(x.shape[d], out_shape[d], float(sc[i]), float(tr[i]), kernel, antialias)
        x = smp.apply_matrix(x, wts, d)
    return _round_to(x, dtype) if dtype != x.dtype.name else x


# -- geometric transforms -------------------------------------------------------------------------

def _check_transform_args(op: str, interpolation: str, fill_mode: str) -> None:
    if interpolation not in _TRANSFORM_INTERP:
        raise ValueError(f"{op}: interpolation must be 'nearest' or 'bilinear', received {interpolation!r}.")
    if fill_mode not in _FILL:
        raise ValueError(f"{op}: fill_mode must be one of {_FILL}, received {fill_mode!r}.")


def affine_transform(images: Any, transform: Any, interpolation: str = "bilinear",
                     fill_mode: str = "constant", fill_value: float = 0, data_format: Any = None) -> Tensor:
    """Apply projective transforms [a0, a1, a2, b0, b1, b2, c0, c1] (one, or one per image):
    the output pixel (x, y) reads the input at ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k),
    k = c0 x + c1 y + 1. Gradients flow to the images."""
    _check_transform_args("affine_transform", interpolation, fill_mode)
    lay = _Layout(images, data_format, "affine_transform")
    t = np.asarray(backend.to_numpy(to_tensor(transform)._value), dtype=np.float64)
    if t.ndim not in (1, 2) or t.shape[-1] != 8:
        raise ValueError(f"affine_transform: transform must have shape (8,) or (batch, 8), received {t.shape}.")
    x = lay.x
    t = t.reshape(-1, 8)
    if t.shape[0] not in (1, x.shape[0]):
        raise ValueError(f"affine_transform: {t.shape[0]} transforms for {x.shape[0]} images.")
    xs, ys = smp.projective_coordinates(t, x.shape[1], x.shape[2])
    return lay.back(_sampled(x, xs, ys, interpolation, fill_mode, fill_value))


def _sampled(x: Tensor, xs: np.ndarray, ys: np.ndarray, interpolation: str, fill_mode: str,
             fill_value: float) -> Tensor:
    dtype = x.dtype.name
    work = x if x.dtype.is_floating else cast(x, "float32")
    out = smp.project(work, xs, ys, interpolation, fill_mode, fill_value)
    return _round_to(out, dtype) if dtype != out.dtype.name else out


def _homography(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """The 8 transform parameters mapping output points `end` to input points `start`."""
    out = []
    for s, e in zip(start, end, strict=True):
        rows, rhs = [], []
        for (sx, sy), (ex, ey) in zip(s, e, strict=True):
            rows.append([ex, ey, 1, 0, 0, 0, -sx * ex, -sx * ey])
            rows.append([0, 0, 0, ex, ey, 1, -sy * ex, -sy * ey])
            rhs += [sx, sy]
        out.append(np.linalg.solve(np.asarray(rows, np.float64), np.asarray(rhs, np.float64)))
    return np.stack(out)


def perspective_transform(images: Any, start_points: Any, end_points: Any,
                          interpolation: str = "bilinear", fill_value: float = 0,
                          data_format: Any = None) -> Tensor:
    """Warp images so that the four `start_points` (x, y) move to `end_points`."""
    _check_transform_args("perspective_transform", interpolation, "constant")
    sp = np.asarray(backend.to_numpy(to_tensor(start_points)._value), np.float64)
    ep = np.asarray(backend.to_numpy(to_tensor(end_points)._value), np.float64)
    if sp.shape[-2:] != (4, 2) or sp.shape != ep.shape:
        raise ValueError(f"perspective_transform: start_points and end_points must both have shape "
                         f"(4, 2) or (batch, 4, 2), received {sp.shape} and {ep.shape}.")
    lay = _Layout(images, data_format, "perspective_transform")
    x = lay.x
    t = _homography(sp.reshape(-1, 4, 2), ep.reshape(-1, 4, 2))
    if t.shape[0] not in (1, x.shape[0]):
        raise ValueError(f"perspective_transform: {t.shape[0]} point sets for {x.shape[0]} images.")
    xs, ys = smp.projective_coordinates(t, x.shape[1], x.shape[2])
    return lay.back(_sampled(x, xs, ys, interpolation, "constant", fill_value))


def map_coordinates(inputs: Any, coordinates: Any, order: int, fill_mode: str = "constant",
                    fill_value: float = 0) -> Tensor:
    """Sample `inputs` at `coordinates` (one array per input axis) with order 0 or 1 (SciPy's
    `map_coordinates`); fill modes constant, nearest, wrap, mirror, reflect."""
    x = to_tensor(inputs)
    coords = np.asarray(backend.to_numpy(to_tensor(coordinates)._value), np.float64)
    if coords.shape[0] != x.ndim or coords.ndim < 2:
        raise ValueError(f"map_coordinates: coordinates must have shape ({x.ndim}, ...), one row "
                         f"per input axis; received {coords.shape}.")
    return smp.map_coordinates(x, coords, int(order), fill_mode, fill_value)


def _gaussian_1d(size: int, sigma: float) -> np.ndarray:
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def gaussian_blur(images: Any, kernel_size: Any = (3, 3), sigma: Any = (1.0, 1.0),
                  data_format: Any = None) -> Tensor:
    """Blur each channel with a Gaussian kernel ('same' padding with zeros)."""
    lay = _Layout(images, data_format, "gaussian_blur")
    x = lay.x
    x = cast(x, float_dtype(x))
    ks = int_list(kernel_size)
    sg = [float(s) for s in np.asarray(sigma, dtype=np.float64).reshape(-1)]
    if len(ks) == 1:
        ks = ks * 2
    if len(sg) == 1:
        sg = sg * 2
    # NOTE: Keras builds the kernel as outer(k1d(size[1], sigma[1]), k1d(size[0], sigma[0]))
    # reshaped to (size[0], size[1]); the same for square kernels, kept for exact agreement.
    kernel = np.outer(_gaussian_1d(ks[1], sg[1]), _gaussian_1d(ks[0], sg[0])).reshape(ks[0], ks[1])
    return lay.back(_depthwise(x, kernel, "SAME"))


def _depthwise(x: Tensor, kernel: np.ndarray, padding: str) -> Tensor:
    from tapeflow.ops import conv as cv

    c = x.shape[-1]
    k = np.tile(kernel[:, :, None, None], (1, 1, c, 1))
    return cv.depthwise_conv2d(x, constant_like(k, x), [1, 1, 1, 1], padding)


def elastic_transform(images: Any, alpha: float = 20.0, sigma: float = 5.0,
                      interpolation: str = "bilinear", fill_mode: str = "reflect",
                      fill_value: float = 0.0, seed: Any = None, data_format: Any = None) -> Tensor:
    """Displace pixels by a random field (normal noise * sigma, Gaussian-blurred, times alpha)."""
    _check_transform_args("elastic_transform", interpolation, fill_mode)
    from tapeflow.keras.random import normal

    lay = _Layout(images, data_format, "elastic_transform")
    x = lay.x
    dtype = x.dtype.name
    n, h, w, c = x.shape
    ksize = (6 * int(sigma)) | 1
    fields = []
    for _ in range(2):
        noise = ew.multiply(normal((n, h, w, 1), dtype=float_dtype(x), seed=seed), float(sigma))
        fields.append(backend.to_numpy(gaussian_blur(noise, (ksize, ksize), (sigma, sigma))._value)[..., 0])
    dx, dy = fields
    yy, xx = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    ys = yy[None] + float(alpha) * dy
    xs = xx[None] + float(alpha) * dx
    order = _TRANSFORM_INTERP.index(interpolation)
    coords = np.stack([np.broadcast_to(np.arange(n)[:, None, None], ys.shape).astype(np.float64), ys, xs])
    outs = []
    for ch in range(c):
        outs.append(smp.map_coordinates(x[..., ch], coords, order, fill_mode, fill_value))
    return lay.back(cast(mv.stack(outs, -1), dtype))


# -- patches, crop and pad ---------------------------------------------------------------------

def extract_patches(images: Any, size: Any, strides: Any = None, dilation_rate: Any = 1,
                    padding: str = "valid", data_format: Any = None) -> Tensor:
    """Patches of `size` as channels: (N, H', W', size_h * size_w * C); a 3-tuple size gives 3-D
    patches of volumes."""
    sz = int_list(size)
    if len(sz) == 1:
        sz = sz * 2
    if len(sz) == 3:
        return extract_patches_3d(images, sz, strides, dilation_rate, padding, data_format)
    lay = _Layout(images, data_format, "extract_patches")
    x = lay.x
    st = sz if not strides else int_list(strides) * (2 if len(int_list(strides)) == 1 else 1)
    dil = int_list(dilation_rate) * (2 if len(int_list(dilation_rate)) == 1 else 1)
    return lay.back(smp.patches(x, sz, st, dil, padding))


def extract_patches_3d(volumes: Any, size: Any, strides: Any = None, dilation_rate: Any = 1,
                       padding: str = "valid", data_format: Any = None) -> Tensor:
    """3-D patches of volumes (N, D, H, W, C) as channels: (N, D', H', W', prod(size) * C)."""
    sz = int_list(size)
    if len(sz) == 1:
        sz = sz * 3
    lay = _Layout(volumes, data_format, "extract_patches_3d", rank=3)
    st = sz if not strides else int_list(strides) * (3 if len(int_list(strides)) == 1 else 1)
    dil = int_list(dilation_rate) * (3 if len(int_list(dilation_rate)) == 1 else 1)
    return lay.back(smp.patches(lay.x, sz, st, dil, padding))


def _amounts(first: Any, second: Any, target: Any, size: int, op: str, what: str, grow: bool) -> tuple:
    given = sum(v is not None for v in (first, second, target))
    if target is None:
        return int(first or 0), int(second or 0)
    if given != 2:
        raise ValueError(f"{op}: give exactly two of the {what} arguments (before, after, target), "
                         f"received {first}, {second}, {target}.")
    extra = int(target) - size if grow else size - int(target)
    a = int(first) if first is not None else extra - int(second)
    b = extra - a
    if a < 0 or b < 0:
        raise ValueError(f"{op}: the {what} amounts must be non-negative, computed {a} and {b}.")
    return a, b


def pad_images(images: Any, top_padding: Any = None, left_padding: Any = None,
               bottom_padding: Any = None, right_padding: Any = None, target_height: Any = None,
               target_width: Any = None, data_format: Any = None) -> Tensor:
    """Pad images with zeros (give two of top/bottom/target_height and of left/right/target_width)."""
    lay = _Layout(images, data_format, "pad_images")
    x = lay.x
    t, b = _amounts(top_padding, bottom_padding, target_height, x.shape[1], "pad_images", "height", True)
    lft, r = _amounts(left_padding, right_padding, target_width, x.shape[2], "pad_images", "width", True)
    return lay.back(mv.pad(x, [[0, 0], [t, b], [lft, r], [0, 0]]))


def crop_images(images: Any, top_cropping: Any = None, left_cropping: Any = None,
                bottom_cropping: Any = None, right_cropping: Any = None, target_height: Any = None,
                target_width: Any = None, data_format: Any = None) -> Tensor:
    """Crop images (give two of top/bottom/target_height and of left/right/target_width)."""
    lay = _Layout(images, data_format, "crop_images")
    x = lay.x
    h, w = x.shape[1], x.shape[2]
    t, b = _amounts(top_cropping, bottom_cropping, target_height, h, "crop_images", "height", False)
    lft, r = _amounts(left_cropping, right_cropping, target_width, w, "crop_images", "width", False)
    return lay.back(x[:, t:h - b, lft:w - r, :])


# -- color ---------------------------------------------------------------------------------------

def rgb_to_grayscale(images: Any, data_format: Any = None) -> Tensor:
    """Luma 0.2989 R + 0.5870 G + 0.1140 B, keeping a channel axis of 1."""
    lay = _Layout(images, data_format, "rgb_to_grayscale")
    x = lay.x
    if x.shape[-1] not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: expected 1 or 3 channels, received shape {tuple(x.shape)}.")
    if x.shape[-1] == 1:
        return lay.back(x)
    dtype = x.dtype.name
    xf = cast(x, float_dtype(x))
    g = rd.reduce_sum(ew.multiply(xf, constant_like([0.2989, 0.5870, 0.1140], xf)), -1, True)
    return lay.back(cast(g, dtype))  # NOTE: a plain cast (truncation) for integers, as Keras


def rgb_to_hsv(images: Any, data_format: Any = None) -> Tensor:
    """RGB in [0, 1] to HSV (hue in [0, 1)), as TF computes it."""
    lay = _Layout(images, data_format, "rgb_to_hsv")
    return lay.back(color.rgb_to_hsv(lay.x))


def hsv_to_rgb(images: Any, data_format: Any = None) -> Tensor:
    """HSV (hue in [0, 1]) to RGB, as TF computes it."""
    lay = _Layout(images, data_format, "hsv_to_rgb")
    return lay.back(color.hsv_to_rgb(lay.x))


# -- filters and metrics ------------------------------------------------------------------------

def sobel_edges(images: Any, data_format: Any = None) -> Tensor:
    """Sobel gradients (dy, dx) per channel with reflect padding: (..., C, 2)."""
    lay = _Layout(images, data_format, "sobel_edges")
    x = lay.x
    out = quality.sobel_edges(cast(x, float_dtype(x)))
    if lay.fmt == "channels_first":
        out = mv.transpose(out, [0, 3, 1, 2, 4])
    return mv.squeeze(out, [0]) if lay.unbatched else out


def ssim(image1: Any, image2: Any, max_val: float = 1.0, filter_size: int = 11,
         filter_sigma: float = 1.5, k1: float = 0.01, k2: float = 0.03, data_format: Any = None) -> Tensor:
    """Structural similarity per image (mean over pixels and channels), Gaussian-windowed."""
    a = _Layout(image1, data_format, "ssim")
    b = _Layout(image2, data_format, "ssim")
    dtype = a.x.dtype.name
    x = cast(a.x, float_dtype(a.x))
    y = cast(b.x, x.dtype.name)
    n, h, w, c = x.shape
    g = _gaussian_1d(int(filter_size), float(filter_sigma))
    kernel = np.outer(g, g)

    def blur(t: Tensor) -> Tensor:
        return _depthwise(t, kernel, "VALID")

    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mu1, mu2 = blur(x), blur(y)
    s11 = ew.subtract(blur(ew.multiply(x, x)), ew.multiply(mu1, mu1))
    s22 = ew.subtract(blur(ew.multiply(y, y)), ew.multiply(mu2, mu2))
    s12 = ew.subtract(blur(ew.multiply(x, y)), ew.multiply(mu1, mu2))
    num = ew.multiply(ew.add(ew.multiply(ew.multiply(mu1, mu2), 2.0), c1), ew.add(ew.multiply(s12, 2.0), c2))
    den = ew.multiply(ew.add(ew.add(ew.multiply(mu1, mu1), ew.multiply(mu2, mu2)), c1),
                      ew.add(ew.add(s11, s22), c2))
    out = rd.reduce_mean(ew.divide(num, den), [1, 2, 3])
    out = mv.squeeze(out, [0]) if a.unbatched else out
    return cast(out, dtype)
