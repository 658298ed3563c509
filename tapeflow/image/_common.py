"""What the `tf.image` modules share: image rank checks and TF's float working dtype."""

from __future__ import annotations

from typing import Any

from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor, convert_to_tensor


def image_tensor(image: Any, op: str, ranks: tuple = (3, 4)) -> Tensor:
    """`image` as a Tensor whose rank is one of `ranks` (None: any rank >= 3)."""
    x = image if isinstance(image, Tensor) else convert_to_tensor(image)
    if (ranks is None and x.ndim < 3) or (ranks is not None and x.ndim not in ranks):
        want = "at least 3" if ranks is None else " or ".join(str(r) for r in ranks)
        raise ValueError(f"{op}: expected an image of rank {want} ((batch,) height, width, channels), "
                         f"received shape {tuple(x.shape)}.")
    return x


def batched(x: Tensor) -> tuple:
    """(x as rank 4, whether a batch axis was added)."""
    return (mv.expand_dims(x, 0), True) if x.ndim == 3 else (x, False)


def unbatched(x: Tensor, added: bool) -> Tensor:
    return mv.squeeze(x, [0]) if added else x


def cast(x: Tensor, dtype: str) -> Tensor:
    return x if x.dtype.name == dtype else ew.cast(x, dtype)


def to_float(x: Tensor) -> Tensor:
    """The float image TF's adjust_* ops compute on: float16/32 as they are, integers scaled to
    [0, 1] in float32. NOTE: float64 stays float64 (TF goes through float32) so that float64
    gradients are exact; values agree with TF to float32 precision."""
    if x.dtype.is_floating:
        return x
    from tapeflow.image.color import convert_image_dtype

    return convert_image_dtype(x, "float32")


def from_float(y: Tensor, dtype: str) -> Tensor:
    """Back to the caller's dtype with saturation, as TF's adjust_* ops."""
    from tapeflow.image.color import convert_image_dtype

    return convert_image_dtype(y, dtype, saturate=True)


def as_float(value: Any) -> float:
    """A Python number or scalar tensor as a float."""
    return float(value.numpy()) if isinstance(value, Tensor) else float(value)


def as_int(value: Any) -> int:
    return int(value.numpy()) if isinstance(value, Tensor) else int(value)
