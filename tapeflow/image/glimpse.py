"""`tf.image.extract_glimpse`: fixed-size windows of each image around given offsets, with
TF's coordinate conventions (centered / normalized) and noise (or zeros) outside the image."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.image._common import image_tensor
from tapeflow.image._random import uniform_array
from tapeflow.ops import elementwise as ew
from tapeflow.ops import image_sampling as smp
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor, convert_to_tensor


def extract_glimpse(input: Any, size: Any, offsets: Any, centered: bool = True, normalized: bool = True,  # noqa: A002
                    noise: str = "uniform", name: Any = None) -> Tensor:
    """(N, H, W, C) images -> (N, gh, gw, C) windows of `size` = (gh, gw) around `offsets`
    (N, 2) given as (y, x): centered offsets are relative to the image center, normalized ones
    scaled by the image size ([-1, 1] spans it when both hold). Pixels outside the image are
    `noise`: "uniform" or "gaussian" random values, or "zero". Gradients flow to the images."""
    x = image_tensor(input, "extract_glimpse", (4,))
    if noise not in ("uniform", "gaussian", "zero"):
        raise ValueError(f"extract_glimpse: noise must be 'uniform', 'gaussian' or 'zero', received {noise!r}.")
    gh, gw = (int(v) for v in (backend.to_numpy(size._value) if isinstance(size, Tensor) else size))
    off = np.asarray(backend.to_numpy(convert_to_tensor(offsets)._value), np.float32)
    n, h, w, c = x.shape
    if off.shape != (n, 2) or gh <= 0 or gw <= 0:
        raise ValueError(f"extract_glimpse: offsets must have shape ({n}, 2) and size two positive ints, received "
                         f"{off.shape} and {(gh, gw)}.")
    oy, ox = off[:, 0].copy(), off[:, 1].copy()
    if normalized:
        oy, ox = oy * np.float32(h), ox * np.float32(w)
    if centered and normalized:
        # NOTE: as TF 2.21 computes it: only centered, normalized offsets are window centers
        oy = oy / 2 + np.float32(h / 2) - np.float32(gh / 2)
        ox = ox / 2 + np.float32(w / 2) - np.float32(gw / 2)
    elif centered:
        oy, ox = oy + np.float32(h / 2), ox + np.float32(w / 2)
    top = np.trunc(oy).astype(np.int64)   # NOTE: C++ (Index) casts truncate toward zero
    left = np.trunc(ox).astype(np.int64)
    rows = top[:, None] + np.arange(gh)[None, :]
    cols = left[:, None] + np.arange(gw)[None, :]
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    batch = np.broadcast_to(np.arange(n)[:, None, None], inside.shape)
    yy = np.broadcast_to(np.clip(rows, 0, h - 1)[:, :, None], inside.shape)
    xx = np.broadcast_to(np.clip(cols, 0, w - 1)[:, None, :], inside.shape)
    xp = smp.xp_of(x)
    out = mv.getitem(x, (xp.asarray(batch), xp.asarray(yy), xp.asarray(xx)))
    if inside.all():
        return out
    if noise == "zero":
        fill = np.zeros(out.shape)
    elif noise == "uniform":
        fill = uniform_array(tuple(out.shape))
    else:
        fill = np.random.default_rng(int(uniform_array(()) * 2**31)).standard_normal(tuple(out.shape))
    return ew.where(smp.constant_like(np.broadcast_to(inside[..., None], out.shape), out, bool),
                    out, smp.constant_like(fill, out))
