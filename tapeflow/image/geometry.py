"""`tf.image` geometry: flips (plain, random, stateless), rot90, transpose, crops and pads to
bounding boxes, central_crop, resize_with_crop_or_pad, random_crop, extract_patches."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.image._common import as_int, image_tensor
from tapeflow.image._random import stateless_uniform_array, uniform_array
from tapeflow.ops import elementwise as ew
from tapeflow.ops import image_sampling as smp
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor, convert_to_tensor


def flip_left_right(image: Any) -> Tensor:
    """Reverse the width axis of (H, W, C) or (N, H, W, C) images."""
    x = image_tensor(image, "flip_left_right")
    return mv.reverse(x, [x.ndim - 2])


def flip_up_down(image: Any) -> Tensor:
    """Reverse the height axis of (H, W, C) or (N, H, W, C) images."""
    x = image_tensor(image, "flip_up_down")
    return mv.reverse(x, [x.ndim - 3])


def _random_flip(x: Tensor, draws: np.ndarray, axis: int) -> Tensor:
    """Flip the images whose draw is below 1/2 (one draw per image, or one for a single image)."""
    mask = draws < 0.5
    if x.ndim == 3:
        return mv.reverse(x, [axis]) if bool(mask) else x
    keep = smp.constant_like(mask.reshape(-1, 1, 1, 1), x, bool)
    return ew.where(mv.broadcast_to(keep, x.shape), mv.reverse(x, [axis]), x)


def _draw_shape(x: Tensor) -> tuple:
    return () if x.ndim == 3 else (x.shape[0],)


def random_flip_left_right(image: Any, seed: Any = None) -> Tensor:
    """Flip each image left-right with probability 1/2."""
    x = image_tensor(image, "random_flip_left_right")
    return _random_flip(x, uniform_array(_draw_shape(x), seed), x.ndim - 2)


def random_flip_up_down(image: Any, seed: Any = None) -> Tensor:
    """Flip each image upside down with probability 1/2."""
    x = image_tensor(image, "random_flip_up_down")
    return _random_flip(x, uniform_array(_draw_shape(x), seed), x.ndim - 3)


def stateless_random_flip_left_right(image: Any, seed: Any) -> Tensor:
    """`random_flip_left_right` decided by a seed pair: the same seed gives the same flips."""
    x = image_tensor(image, "stateless_random_flip_left_right")
    return _random_flip(x, stateless_uniform_array(_draw_shape(x), seed), x.ndim - 2)


def stateless_random_flip_up_down(image: Any, seed: Any) -> Tensor:
    """`random_flip_up_down` decided by a seed pair: the same seed gives the same flips."""
    x = image_tensor(image, "stateless_random_flip_up_down")
    return _random_flip(x, stateless_uniform_array(_draw_shape(x), seed), x.ndim - 3)


def transpose(image: Any, name: Any = None) -> Tensor:
    """Swap height and width: (H, W, C) -> (W, H, C), batched alike."""
    x = image_tensor(image, "transpose")
    perm = [1, 0, 2] if x.ndim == 3 else [0, 2, 1, 3]
    return mv.transpose(x, perm)


def rot90(image: Any, k: Any = 1, name: Any = None) -> Tensor:
    """Rotate by k quarter turns counter-clockwise."""
    x = image_tensor(image, "rot90")
    k = as_int(k) % 4
    if k == 0:
        return x
    if k == 2:
        return flip_up_down(flip_left_right(x))
    if k == 1:
        return transpose(flip_left_right(x))
    return flip_left_right(transpose(x))


def _hw(x: Tensor) -> tuple:
    return x.shape[-3], x.shape[-2]


def crop_to_bounding_box(image: Any, offset_height: Any, offset_width: Any, target_height: Any,
                         target_width: Any) -> Tensor:
    """The window [offset, offset + target) of height and width."""
    x = image_tensor(image, "crop_to_bounding_box")
    oh, ow, th, tw = (as_int(v) for v in (offset_height, offset_width, target_height, target_width))
    h, w = _hw(x)
    checks = ((oh >= 0, "offset_height must be >= 0"), (ow >= 0, "offset_width must be >= 0"),
              (th > 0, "target_height must be > 0"), (tw > 0, "target_width must be > 0"),
              (h >= oh + th, "height must be >= target + offset"), (w >= ow + tw, "width must be >= target + offset"))
    for ok, message in checks:
        if not ok:
            raise ValueError(f"crop_to_bounding_box: {message}; received offsets ({oh}, {ow}), target ({th}, {tw}) "
                             f"for an image of height {h} and width {w}.")
    return x[..., oh:oh + th, ow:ow + tw, :]


def pad_to_bounding_box(image: Any, offset_height: Any, offset_width: Any, target_height: Any,
                        target_width: Any) -> Tensor:
    """Pad with zeros so the image sits at (offset_height, offset_width) of a target canvas."""
    x = image_tensor(image, "pad_to_bounding_box")
    oh, ow, th, tw = (as_int(v) for v in (offset_height, offset_width, target_height, target_width))
    h, w = _hw(x)
    bottom, right = th - oh - h, tw - ow - w
    checks = ((oh >= 0, "offset_height must be >= 0"), (ow >= 0, "offset_width must be >= 0"),
              (bottom >= 0, "height must be <= target - offset"), (right >= 0, "width must be <= target - offset"))
    for ok, message in checks:
        if not ok:
            raise ValueError(f"pad_to_bounding_box: {message}; received offsets ({oh}, {ow}), target ({th}, {tw}) "
                             f"for an image of height {h} and width {w}.")
    return mv.pad(x, [[0, 0]] * (x.ndim - 3) + [[oh, bottom], [ow, right], [0, 0]])


def resize_with_crop_or_pad(image: Any, target_height: Any, target_width: Any) -> Tensor:
    """Center-crop and/or zero-pad to the target size."""
    x = image_tensor(image, "resize_with_crop_or_pad")
    th, tw = as_int(target_height), as_int(target_width)
    if th <= 0 or tw <= 0:
        raise ValueError(f"resize_with_crop_or_pad: target_height and target_width must be > 0, received {th}, {tw}.")
    h, w = _hw(x)
    cropped = crop_to_bounding_box(x, max(-(th - h) // 2, 0), max(-(tw - w) // 2, 0), min(th, h), min(tw, w))
    return pad_to_bounding_box(cropped, max((th - h) // 2, 0), max((tw - w) // 2, 0), th, tw)


def central_crop(image: Any, central_fraction: float) -> Tensor:
    """Keep the central `central_fraction` (in (0, 1]) of height and width."""
    x = image_tensor(image, "central_crop")
    fraction = float(central_fraction)
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"central_crop: central_fraction must be within (0, 1], received {central_fraction!r}.")
    if fraction == 1.0:
        return x
    h, w = _hw(x)
    top, left = int((h - h * fraction) / 2), int((w - w * fraction) / 2)
    return x[..., top:h - top, left:w - left, :]


def _crop_at(x: Tensor, size: list, draws: np.ndarray) -> Tensor:
    limits = np.asarray(x.shape) - np.asarray(size) + 1
    offsets = (draws % limits).astype(int)
    return x[tuple(slice(o, o + s) for o, s in zip(offsets, size, strict=True))]


def _crop_size(x: Tensor, size: Any, op: str) -> list:
    if isinstance(size, Tensor):
        size = backend.to_numpy(size._value).tolist()
    sz = [int(s) for s in size]
    if len(sz) != x.ndim or any(s < 0 or s > d for s, d in zip(sz, x.shape, strict=True)):
        raise ValueError(f"{op}: size must have one entry per dimension of value, each at most the dimension; "
                         f"received size {sz} for shape {tuple(x.shape)}.")
    return sz


def random_crop(value: Any, size: Any, seed: Any = None, name: Any = None) -> Tensor:
    """A random slice of shape `size` of a tensor of any rank (one offset for the whole tensor)."""
    x = value if isinstance(value, Tensor) else convert_to_tensor(value)
    sz = _crop_size(x, size, "random_crop")
    return _crop_at(x, sz, np.floor(uniform_array((x.ndim,), seed) * 2 ** 31))


def stateless_random_crop(value: Any, size: Any, seed: Any, name: Any = None) -> Tensor:
    """`random_crop` decided by a seed pair."""
    x = value if isinstance(value, Tensor) else convert_to_tensor(value)
    sz = _crop_size(x, size, "stateless_random_crop")
    return _crop_at(x, sz, np.floor(stateless_uniform_array((x.ndim,), seed) * 2 ** 31))


def _quad(value: Any, name: str) -> list:
    v = [int(s) for s in value]
    if len(v) != 4 or v[0] != 1 or v[3] != 1:
        raise ValueError(f"extract_patches: {name} must be [1, rows, cols, 1], received {value!r}.")
    return v[1:3]


def extract_patches(images: Any, sizes: Any, strides: Any, rates: Any, padding: str, name: Any = None) -> Tensor:
    """Patches of (N, H, W, C) images as channels: (N, H', W', rows * cols * C), each patch
    flattened as (rows, cols, C); `rates` dilates the patch."""
    x = image_tensor(images, "extract_patches", (4,))
    if str(padding).upper() not in ("VALID", "SAME"):
        raise ValueError(f"extract_patches: padding must be 'VALID' or 'SAME', received {padding!r}.")
    return smp.patches(x, _quad(sizes, "sizes"), _quad(strides, "strides"), _quad(rates, "rates"), padding)

