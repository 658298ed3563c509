"""Clipping by norm: `tf.clip_by_norm`, `tf.linalg.global_norm`, `tf.clip_by_global_norm`.

Composites of differentiable ops (gradients flow through the norm as in TF).
"""

from __future__ import annotations

from typing import Any

from tapeflow import tensor as _tensor  # first: the engine's import order starts at tensor.py
from tapeflow.ops import elementwise as ew
from tapeflow.ops import reduce as rd

Tensor = _tensor.Tensor
convert_to_tensor = _tensor.convert_to_tensor


def clip_by_norm(t: Any, clip_norm: Any, axes: Any = None, name: Any = None) -> Tensor:
    """`t * clip_norm / max(l2norm(t, axes), clip_norm)`: `t` rescaled so its L2 norm (over
    `axes`, default all) is at most `clip_norm`. Shape and dtype of `t`."""
    t = ew.unary_operand(t, "ClipByNorm")
    clip_norm = convert_to_tensor(clip_norm, dtype=t.dtype)
    l2 = ew.sqrt(rd.reduce_sum(ew.square(t), axes, keepdims=True))
    return ew.multiply(t, ew.divide(clip_norm, ew.maximum(l2, clip_norm)))


def global_norm(t_list: Any, name: Any = None) -> Tensor:
    """sqrt(sum of squared elements of every tensor in `t_list`); None entries are skipped."""
    parts = [rd.reduce_sum(ew.square(ew.unary_operand(t, "GlobalNorm"))) for t in t_list if t is not None]
    if not parts:
        raise ValueError("global_norm: t_list has no tensors.")
    return ew.sqrt(ew.add_n(parts) if len(parts) > 1 else parts[0])


def clip_by_global_norm(t_list: Any, clip_norm: Any, use_norm: Any = None, name: Any = None) -> tuple:
    """Scale every tensor by `clip_norm / max(global_norm, clip_norm)`.

    Returns:
        (the list of clipped tensors, None where an entry was None; the global norm).
    """
    if isinstance(t_list, Tensor) or not hasattr(t_list, "__iter__"):
        raise TypeError("clip_by_global_norm: t_list must be a sequence of tensors.")
    t_list = list(t_list)
    kept = [t for t in t_list if t is not None]
    norm_value = use_norm if use_norm is not None else global_norm(kept)
    factor = ew.divide(clip_norm, ew.maximum(norm_value, clip_norm))
    clipped = iter([ew.multiply(t, ew.cast(factor, t.dtype)) for t in kept])
    return [None if t is None else next(clipped) for t in t_list], norm_value
