"""`tf.image` resizing: `resize` with every `ResizeMethod` (TF's half-pixel kernels, the
scale-and-translate kernels for antialias/lanczos/gaussian/mitchellcubic), `resize_with_pad`,
`crop_and_resize`. Separable weight matrices are applied with tensordot, so gradients flow to
the images."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.image._common import as_float, batched, cast, image_tensor, unbatched
from tapeflow.ops import elementwise as ew
from tapeflow.ops import image_sampling as smp
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor, convert_to_tensor


class ResizeMethod:
    """The names `tf.image.resize` accepts as `method`."""

    BILINEAR = "bilinear"
    NEAREST_NEIGHBOR = "nearest"
    BICUBIC = "bicubic"
    AREA = "area"
    LANCZOS3 = "lanczos3"
    LANCZOS5 = "lanczos5"
    GAUSSIAN = "gaussian"
    MITCHELLCUBIC = "mitchellcubic"


_METHODS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic")
_KERNEL = {"bilinear": "linear", "bicubic": "cubic", "lanczos3": "lanczos3", "lanczos5": "lanczos5",
           "gaussian": "gaussian", "mitchellcubic": "mitchellcubic"}


def _size(size: Any, op: str) -> tuple:
    if isinstance(size, Tensor):
        size = backend.to_numpy(size._value).tolist()
    try:
        out = [int(s) for s in size]
    except (TypeError, ValueError):
        raise ValueError(f"{op}: 'size' must be a 1-D int32 Tensor of 2 elements: new_height, new_width; "
                         f"received {size!r}.") from None
    if len(out) != 2:
        raise ValueError(f"{op}: 'size' must be a 1-D Tensor of 2 elements: new_height, new_width; "
                         f"received {size!r}.")
    if min(out) <= 0:
        raise ValueError(f"{op}: the new height and width must be positive, received {out}.")
    return tuple(out)


def resize_core(x: Tensor, size: tuple, method: str, antialias: bool) -> Tensor:
    """Resize (N, H, W, C) `x` in its own float dtype (nearest: any dtype)."""
    for axis, n_out in ((1, size[0]), (2, size[1])):
        n_in = x.shape[axis]
        if method == "nearest":
            idx = np.minimum(np.floor((np.arange(n_out) + 0.5) * (n_in / n_out)), n_in - 1).astype(np.int64)
            x = mv.gather(x, smp.constant_like(idx, x, np.int64), axis=axis)
            continue
        if method == "area" or (method in ("bilinear", "bicubic") and not antialias):
            weights = smp.legacy_matrix(n_in, n_out, method)
        else:
            scale = float(np.float32(n_out) / np.float32(n_in))
            weights = smp.kernel_matrix(n_in, n_out, scale, 0.0, _KERNEL[method], bool(antialias))
        x = smp.apply_matrix(x, weights, axis)
    return x


def resize(images: Any, size: Any, method: str = ResizeMethod.BILINEAR, preserve_aspect_ratio: bool = False,
           antialias: bool = False, name: Any = None) -> Tensor:
    """Resize images (H, W, C) or (N, H, W, C) to `size` = (new_height, new_width).

    Every method but "nearest" returns float32 (TF's rule; float64 images stay float64 here so
    gradients can be checked exactly); "nearest" keeps the dtype. `antialias` widens the kernel
    when downsampling (bilinear, bicubic and the scale-and-translate kernels); with
    `preserve_aspect_ratio` the image fits inside `size`.

    >>> tf.image.resize(tf.ones((4, 4, 3)), (2, 6)).shape   # TensorShape([2, 6, 3])
    """
    method = getattr(method, "value", method)
    if method not in _METHODS:
        raise ValueError(f"resize: method must be one of {_METHODS}, received {method!r}.")
    x = image_tensor(images, "resize")
    th, tw = _size(size, "resize")
    x4, added = batched(x)
    h, w = x4.shape[1], x4.shape[2]
    if preserve_aspect_ratio:
        scale = min(np.float32(th) / np.float32(h), np.float32(tw) / np.float32(w))
        th, tw = int(np.rint(np.float32(scale * np.float32(h)))), int(np.rint(np.float32(scale * np.float32(w))))
    if method != "nearest":
        x4 = cast(x4, "float64" if x4.dtype.name == "float64" else "float32")
    return unbatched(resize_core(x4, (th, tw), method, antialias), added)


def resize_with_pad(image: Any, target_height: int, target_width: int, method: str = ResizeMethod.BILINEAR,
                    antialias: bool = False) -> Tensor:
    """Resize keeping the aspect ratio so the image fits, then pad with zeros to the target
    (centered, as TF rounds)."""
    from tapeflow.image.geometry import pad_to_bounding_box

    x = image_tensor(image, "resize_with_pad")
    th, tw = int(target_height), int(target_width)
    if th <= 0 or tw <= 0:
        raise ValueError(f"resize_with_pad: target_height and target_width must be > 0, received {th}, {tw}.")
    h, w = (np.float32(d) for d in x.shape[-3:-1])
    ratio = max(w / np.float32(tw), h / np.float32(th))
    rh, rw = np.float32(h / ratio), np.float32(w / ratio)
    pad_h = max(0, int(np.floor((np.float32(th) - rh) / np.float32(2))))
    pad_w = max(0, int(np.floor((np.float32(tw) - rw) / np.float32(2))))
    resized = resize(x, (int(np.floor(rh)), int(np.floor(rw))), method, antialias=antialias)
    return pad_to_bounding_box(resized, pad_h, pad_w, th, tw)


def crop_and_resize(image: Any, boxes: Any, box_indices: Any, crop_size: Any, method: str = "bilinear",
                    extrapolation_value: float = 0.0, name: Any = None) -> Tensor:
    """Crop normalized boxes [y1, x1, y2, x2] out of a (N, H, W, C) batch and resample each to
    `crop_size`: (num_boxes, crop_height, crop_width, C) float32. Points outside the image read
    `extrapolation_value`. Gradients flow to the image (the boxes are taken as constants)."""
    if method not in ("bilinear", "nearest"):
        raise ValueError(f"crop_and_resize: method must be 'bilinear' or 'nearest', received {method!r}.")
    x = image_tensor(image, "crop_and_resize", (4,))
    bx = np.asarray(backend.to_numpy(convert_to_tensor(boxes)._value), np.float64)
    idx = np.asarray(backend.to_numpy(convert_to_tensor(box_indices)._value)).astype(np.int64)
    ch, cw = _size(crop_size, "crop_and_resize")
    if bx.ndim != 2 or bx.shape[1] != 4 or idx.shape != (bx.shape[0],):
        raise ValueError(f"crop_and_resize: boxes must have shape (num_boxes, 4) and box_indices (num_boxes,), "
                         f"received {bx.shape} and {idx.shape}.")
    n, h, w, _ = x.shape
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"crop_and_resize: box_indices must be in [0, {n}), received {idx.tolist()}.")
    work = cast(x, "float64" if x.dtype.name == "float64" else "float32")

    def coords(lo: np.ndarray, hi: np.ndarray, size: int, n_out: int) -> np.ndarray:
        if n_out > 1:
            step = (hi - lo) * (size - 1) / (n_out - 1)
            return lo[:, None] * (size - 1) + np.arange(n_out)[None, :] * step[:, None]
        return np.repeat((0.5 * (lo + hi) * (size - 1))[:, None], n_out, 1)

    ys = coords(bx[:, 0], bx[:, 2], h, ch)
    xs = coords(bx[:, 1], bx[:, 3], w, cw)
    outside = ((ys < 0) | (ys > h - 1))[:, :, None] | ((xs < 0) | (xs > w - 1))[:, None, :]
    yy = np.broadcast_to(ys[:, :, None], outside.shape)
    xx = np.broadcast_to(xs[:, None, :], outside.shape)
    source = mv.gather(work, smp.constant_like(idx, work, np.int64), axis=0)
    out = smp.project(source, xx, yy, method, "nearest", 0.0)
    if outside.any():
        fill = smp.constant_like(as_float(extrapolation_value), out)
        out = ew.where(smp.constant_like(outside[..., None], out, bool), mv.broadcast_to(fill, out.shape), out)
    return out
