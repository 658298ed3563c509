"""`tf.image` codecs through Pillow (the optional `image` extra): PNG, JPEG, GIF and BMP to and
from `tf.string` scalars, `decode_image`, `is_jpeg`, `extract_jpeg_shape`, and
`adjust_jpeg_quality` with its random versions. Oversized images are refused before decoding."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from tapeflow import backend, errors
from tapeflow import dtypes as _dt
from tapeflow.image._common import as_int
from tapeflow.image._random import stateless_uniform_array, uniform_array
from tapeflow.image.color import convert_image_dtype
from tapeflow.tensor import Tensor, convert_to_tensor

MAX_PIXELS = 1 << 28  # NOTE: refuse (frames x) height x width above this before decoding: no memory bombs


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("tf.image codecs need Pillow: pip install 'tapeflow[image]' (or pip install Pillow).") \
            from None
    return Image


def _bytes(contents: Any, op: str) -> bytes:
    t = contents if isinstance(contents, Tensor) else convert_to_tensor(contents)
    if t.dtype.name != "string" or t.ndim != 0:
        raise errors.InvalidArgumentError(f"{op}: contents must be a scalar tf.string tensor, received dtype "
                                          f"{t.dtype.name} and shape {tuple(t.shape)}.")
    return bytes(t._value.item())


def _string(data: bytes) -> Tensor:
    arr = np.empty((), dtype=object)
    arr[()] = data
    return Tensor(arr)


def _open(data: bytes, op: str) -> Any:
    image_mod = _pil()
    try:
        im = image_mod.open(io.BytesIO(data))
    except image_mod.DecompressionBombError as exc:
        raise errors.InvalidArgumentError(f"{op}: the image is too large to decode ({exc}).") from None
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for bad data
        raise errors.InvalidArgumentError(f"{op}: the contents are not a decodable image ({exc}).") from None
    frames = getattr(im, "n_frames", 1)
    if im.size[0] * im.size[1] * frames > MAX_PIXELS:
        raise errors.InvalidArgumentError(f"{op}: the image is too large to decode ({frames} frame(s) of "
                                          f"{im.size[1]}x{im.size[0]} pixels; at most {MAX_PIXELS} pixels).")
    return im


_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def _pixels(im: Any, channels: int, op: str) -> np.ndarray:
    """(H, W, C) uint8 or uint16 pixels of a Pillow image with the requested channel count."""
    if channels not in (0, 1, 2, 3, 4):
        raise ValueError(f"{op}: channels must be 0, 1, 2, 3 or 4, received {channels}.")
    sixteen = im.mode in ("I;16", "I;16B", "I;16L", "I") and channels in (0, 1)
    if sixteen:
        arr = np.asarray(im, dtype=np.uint16)
    else:
        if channels == 0:
            mode = {"L": "L", "LA": "LA", "RGB": "RGB", "RGBA": "RGBA", "1": "L", "P": "RGBA" if
                    "transparency" in im.info else "RGB"}.get(im.mode, "RGB")
        else:
            mode = _MODES[channels]
        arr = np.asarray(im.convert(mode))
    return arr[:, :, None] if arr.ndim == 2 else arr


def _out(arr: np.ndarray, dtype: Any, op: str) -> Tensor:
    d = _dt.as_dtype(dtype)
    if d.name not in ("uint8", "uint16", "float32"):
        raise ValueError(f"{op}: dtype must be uint8, uint16 or float32, received {d.name}.")
    if d.name == "uint16" and arr.dtype == np.uint8:
        arr = arr.astype(np.uint16) * 257  # NOTE: libpng's 8 -> 16 bit scaling (255 -> 65535)
    t = Tensor(backend.asarray(arr))
    return t if t.dtype == d else convert_image_dtype(t, d)


def decode_png(contents: Any, channels: int = 0, dtype: Any = "uint8", name: Any = None) -> Tensor:
    """PNG bytes to (H, W, C) pixels: uint8, or uint16 (8-bit files scaled by 257)."""
    im = _open(_bytes(contents, "decode_png"), "decode_png")
    return _out(_pixels(im, int(channels), "decode_png"), dtype, "decode_png")


def decode_bmp(contents: Any, channels: int = 0, name: Any = None) -> Tensor:
    """BMP bytes to (H, W, C) uint8 pixels."""
    im = _open(_bytes(contents, "decode_bmp"), "decode_bmp")
    return Tensor(_pixels(im, int(channels), "decode_bmp"))


def decode_jpeg(contents: Any, channels: int = 0, ratio: int = 1, fancy_upscaling: bool = True,
                try_recover_truncated: bool = False, acceptable_fraction: float = 1, dct_method: str = "",
                name: Any = None) -> Tensor:
    """JPEG bytes to (H, W, C) uint8 pixels; `ratio` 1, 2, 4 or 8 downscales while decoding."""
    if int(ratio) not in (1, 2, 4, 8):
        raise ValueError(f"decode_jpeg: ratio must be 1, 2, 4 or 8, received {ratio!r}.")
    im = _open(_bytes(contents, "decode_jpeg"), "decode_jpeg")
    if im.format != "JPEG":
        raise errors.InvalidArgumentError(f"decode_jpeg: expected JPEG data, received {im.format} data.")
    if int(ratio) > 1:
        im.draft(im.mode, (-(-im.size[0] // int(ratio)), -(-im.size[1] // int(ratio))))
    return Tensor(_pixels(im, int(channels), "decode_jpeg"))


def decode_and_crop_jpeg(contents: Any, crop_window: Any, channels: int = 0, ratio: int = 1,
                         fancy_upscaling: bool = True, try_recover_truncated: bool = False,
                         acceptable_fraction: float = 1, dct_method: str = "", name: Any = None) -> Tensor:
    """`decode_jpeg`, keeping only crop_window = [y, x, height, width] of the pixels."""
    window = np.asarray(backend.to_numpy(convert_to_tensor(crop_window)._value)).reshape(-1)
    image = decode_jpeg(contents, channels, ratio)
    height, width = image.shape[0], image.shape[1]
    if window.size != 4:
        raise errors.InvalidArgumentError(f"decode_and_crop_jpeg: crop_window must be [y, x, height, width], "
                                          f"received {window.tolist()}.")
    y, x, h, w = (int(v) for v in window)
    if h <= 0 or w <= 0 or y < 0 or x < 0 or y + h > height or x + w > width:
        raise errors.InvalidArgumentError(f"decode_and_crop_jpeg: crop window {window.tolist()} is not inside the "
                                          f"{height}x{width} image.")
    return image[y:y + h, x:x + w]


def decode_gif(contents: Any, name: Any = None) -> Tensor:
    """GIF bytes to (frames, H, W, 3) uint8 pixels."""
    from PIL import ImageSequence

    im = _open(_bytes(contents, "decode_gif"), "decode_gif")
    if im.format != "GIF":
        raise errors.InvalidArgumentError(f"decode_gif: expected GIF data, received {im.format} data.")
    return Tensor(np.stack([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]))


def decode_webp(contents: Any, channels: int = 0, dtype: Any = "uint8", name: Any = None) -> Tensor:
    """WebP bytes to (frames, H, W, C) uint8 pixels (one frame for a still image). `channels`
    0 keeps the file's (3, or 4 with alpha; animations are RGBA), else it must match, as in TF."""
    from PIL import ImageSequence

    if _dt.as_dtype(dtype).name != "uint8":
        raise ValueError(f"decode_webp: dtype must be uint8, received {_dt.as_dtype(dtype).name}.")
    im = _open(_bytes(contents, "decode_webp"), "decode_webp")
    if im.format != "WEBP":
        raise errors.InvalidArgumentError(f"decode_webp: expected WebP data, received {im.format} data.")
    frames = getattr(im, "n_frames", 1)
    have = 4 if frames > 1 or im.mode in ("RGBA", "LA") or "transparency" in im.info else 3
    if channels not in (0, have):
        raise errors.InvalidArgumentError(f"decode_webp: channels={channels} does not match the {have} channels "
                                          "of the WebP data (TF decodes WebP only to its own channel count).")
    mode = "RGBA" if have == 4 else "RGB"
    return Tensor(np.stack([np.asarray(f.convert(mode)) for f in ImageSequence.Iterator(im)]))


def decode_image(contents: Any, channels: Any = None, dtype: Any = "uint8", name: Any = None,
                 expand_animations: bool = True) -> Tensor:
    """Decode PNG, JPEG, GIF or BMP bytes by their format: (H, W, C), or (frames, H, W, 3) for
    a GIF when `expand_animations`; `dtype` uint8, uint16 or float32 (scaled to [0, 1])."""
    data = _bytes(contents, "decode_image")
    im = _open(data, "decode_image")
    if im.format == "GIF" and expand_animations:
        return _out(np.asarray(decode_gif(contents)._value), dtype, "decode_image")
    if im.format not in ("PNG", "JPEG", "GIF", "BMP"):
        raise errors.InvalidArgumentError(f"decode_image: unknown image format {im.format}; expected JPEG, PNG, "
                                          "GIF or BMP.")
    return _out(_pixels(im, int(channels or 0), "decode_image"), dtype, "decode_image")


def _image_array(image: Any, op: str, kinds: tuple) -> np.ndarray:
    t = image if isinstance(image, Tensor) else convert_to_tensor(image)
    if t.ndim != 3 or t.shape[-1] not in (1, 2, 3, 4) or t.dtype.name not in kinds:
        raise errors.InvalidArgumentError(f"{op}: image must be (height, width, channels) of {' or '.join(kinds)} "
                                          f"with 1-4 channels, received {t.dtype.name} {tuple(t.shape)}.")
    return np.asarray(backend.to_numpy(t._value))


def encode_png(image: Any, compression: int = -1, name: Any = None) -> Tensor:
    """(H, W, C) uint8 or uint16 pixels to PNG bytes; `compression` 0-9 (-1: zlib's default)."""
    arr = _image_array(image, "encode_png", ("uint8", "uint16"))
    image_mod = _pil()
    if arr.dtype == np.uint16:
        if arr.shape[-1] != 1:
            raise errors.InvalidArgumentError("encode_png: uint16 images must have one channel in this "
                                              f"implementation (Pillow), received {arr.shape[-1]}.")
        im = image_mod.fromarray(np.ascontiguousarray(arr[..., 0].astype("<u2")))
    else:
        im = image_mod.fromarray(np.ascontiguousarray(arr[..., 0] if arr.shape[-1] == 1 else arr))
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=6 if int(compression) < 0 else int(compression))
    return _string(buf.getvalue())


def encode_jpeg(image: Any, format: str = "", quality: int = 95, progressive: bool = False,  # noqa: A002
                optimize_size: bool = False, chroma_downsampling: bool = True, density_unit: str = "in",
                x_density: int = 300, y_density: int = 300, xmp_metadata: str = "", name: Any = None) -> Tensor:
    """(H, W, 1 or 3) uint8 pixels to JPEG bytes."""
    arr = _image_array(image, "encode_jpeg", ("uint8",))
    if arr.shape[-1] not in (1, 3):
        raise errors.InvalidArgumentError(f"encode_jpeg: image must have 1 or 3 channels, received {arr.shape[-1]}.")
    if format == "grayscale" and arr.shape[-1] == 3:
        raise errors.InvalidArgumentError("encode_jpeg: format 'grayscale' needs a 1-channel image.")
    im = _pil().fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
    if format == "rgb":
        im = im.convert("RGB")
    buf = io.BytesIO()
    dpi = (int(x_density), int(y_density)) if density_unit == "in" else None
    im.save(buf, format="JPEG", quality=int(quality), progressive=bool(progressive), optimize=bool(optimize_size),
            subsampling=2 if chroma_downsampling else 0, **({"dpi": dpi} if dpi else {}))
    return _string(buf.getvalue())


def is_jpeg(contents: Any, name: Any = None) -> Tensor:
    """Whether the bytes start with JPEG's marker."""
    return Tensor(np.asarray(_bytes(contents, "is_jpeg")[:3] == b"\xff\xd8\xff"))


def extract_jpeg_shape(contents: Any, output_type: Any = "int32", name: Any = None) -> Tensor:
    """[height, width, channels] of JPEG bytes, read from the header."""
    im = _open(_bytes(contents, "extract_jpeg_shape"), "extract_jpeg_shape")
    channels = {"L": 1, "RGB": 3, "CMYK": 4}.get(im.mode, 3)
    return Tensor(np.asarray([im.size[1], im.size[0], channels], _dt.as_dtype(output_type).as_numpy_dtype))


def adjust_jpeg_quality(image: Any, jpeg_quality: Any, dct_method: str = "", name: Any = None) -> Tensor:
    """Round-trip (H, W, 1 or 3) images through JPEG at `jpeg_quality` (0-100), keeping dtype."""
    x = image if isinstance(image, Tensor) else convert_to_tensor(image)
    quality = as_int(jpeg_quality)
    if not 0 <= quality <= 100:
        raise ValueError(f"adjust_jpeg_quality: jpeg_quality must be in [0, 100], received {jpeg_quality!r}.")
    as_u8 = convert_image_dtype(x, "uint8", saturate=True)
    decoded = decode_jpeg(encode_jpeg(as_u8, quality=quality))
    return convert_image_dtype(decoded, x.dtype, saturate=True)


def _check_quality_range(op: str, lo: Any, hi: Any) -> tuple:
    lo, hi = as_int(lo), as_int(hi)
    if not 0 <= lo < hi <= 100:
        raise ValueError(f"{op}: need 0 <= min_jpeg_quality < max_jpeg_quality <= 100, received {lo} and {hi}.")
    return lo, hi


def random_jpeg_quality(image: Any, min_jpeg_quality: Any, max_jpeg_quality: Any, seed: Any = None) -> Tensor:
    """`adjust_jpeg_quality` at a quality drawn from [min, max)."""
    lo, hi = _check_quality_range("random_jpeg_quality", min_jpeg_quality, max_jpeg_quality)
    return adjust_jpeg_quality(image, int(np.floor(uniform_array((), seed, lo, hi))))


def stateless_random_jpeg_quality(image: Any, min_jpeg_quality: Any, max_jpeg_quality: Any, seed: Any) -> Tensor:
    """`random_jpeg_quality` decided by a seed pair."""
    lo, hi = _check_quality_range("stateless_random_jpeg_quality", min_jpeg_quality, max_jpeg_quality)
    return adjust_jpeg_quality(image, int(np.floor(stateless_uniform_array((), seed, lo, hi))))
