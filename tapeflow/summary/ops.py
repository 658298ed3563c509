"""The summary ops: `scalar`, `histogram`, `image`, `audio`, `text` and the generic `write`.

Each builds the tensor and plugin metadata that TensorBoard's plugins read (with the
tensorboard package's own builders where it has them) and adds one event to the default
writer. Tags carry the current `tf.name_scope` ("train/loss"). Each returns True when it wrote
and False when there is no default writer or `record_if` is off, as TF's do.
"""

from __future__ import annotations

import io
from typing import Any, NamedTuple

import numpy as np

from tapeflow.name_scope import current_scope
from tapeflow.summary import writer as _writer
from tapeflow.summary._tensorboard import tensorboard
from tapeflow.tracing import state as _trace_state


class _Context(NamedTuple):
    """What a summary op writes with: taken when it is called, or traced."""

    writer: Any
    condition: Any
    step: Any
    scope: str

    def tag(self, name: str) -> str:
        return self.scope + name if self.scope else name

    def recording(self) -> Any:
        return _writer.recording_writer(self.writer, self.condition)


def _run(op: Any, *args: Any) -> Any:
    """Call `op(context, *args)` now, or record it in the tf.function being traced."""
    writer, condition, step = _writer.capture()
    ctx = _Context(writer, condition, step, current_scope())
    if _trace_state.graphs and _trace_state.graphs[-1] is not None:
        from tapeflow.tracing.func_graph import lift_call

        return lift_call(op, (ctx, *args), name=f"summary{op.__name__}", stateful=True, probe=_probe)
    return op(ctx, *args)


def _probe(*args: Any) -> Any:
    return _result(False)


def _array(data: Any) -> np.ndarray:
    if callable(data):
        data = data()
    if hasattr(data, "numpy"):
        data = data.numpy()
    return np.asarray(data)


def _step(ctx: _Context, step: Any) -> int:
    if step is None:
        step = ctx.step
    if step is None:
        raise ValueError("No step set. Please specify one either through the `step` argument or through "
                         "tf.summary.experimental.set_step()")
    return int(_array(step))


def _result(written: bool) -> Any:
    from tapeflow.tensor import constant

    return constant(written)


def _emit(ctx: _Context, tag: str, tensor_proto: Any, metadata: Any, step: Any) -> Any:
    writer = ctx.recording()
    if writer is None:
        return _result(False)
    value = tensorboard().summary_pb2.Summary.Value(tag=tag, tensor=tensor_proto, metadata=metadata)
    return _result(writer._write(value, _step(ctx, step)))


def _emit_summary(ctx: _Context, summary: Any, step: Any) -> Any:
    writer = ctx.recording()
    if writer is None:
        return _result(False)
    written = False
    for value in summary.value:
        written = writer._write(value, _step(ctx, step))
    return _result(written)


def write(tag: str, tensor: Any, step: Any = None, metadata: Any = None) -> Any:
    """Write `tensor` under `tag` with `metadata` (a `SummaryMetadata` proto or its bytes).

    `tensor` may be a callable, called only when the summary is recorded.
    """
    return _run(_write, tag, tensor, step, metadata)


def _write(ctx: _Context, tag: str, tensor: Any, step: Any, metadata: Any) -> Any:
    if ctx.recording() is None:
        return _result(False)
    tb = tensorboard()
    if isinstance(metadata, (bytes, bytearray)):
        metadata = tb.summary_pb2.SummaryMetadata.FromString(bytes(metadata))
    elif metadata is None:
        metadata = tb.summary_pb2.SummaryMetadata()
    return _emit(ctx, tag, tb.tensor_util.make_tensor_proto(_array(tensor)), metadata, step)


def scalar(name: str, data: Any, step: Any = None, description: str | None = None) -> Any:
    """Write a scalar (as float32) for TensorBoard's Scalars dashboard.

    Args:
        name: the summary's name; the tag is it inside the current name scope.
        data: a real scalar (Python number, NumPy scalar or 0-d tensor).
        step: the step (default: `tf.summary.experimental.get_step()`).
        description: Markdown shown in TensorBoard.

    Returns:
        True if it was written, False if there is no default writer or recording is off.
    """
    return _run(_scalar, name, data, step, description)


def _scalar(ctx: _Context, name: str, data: Any, step: Any, description: str | None) -> Any:
    if ctx.recording() is None:
        return _result(False)
    arr = _array(data)
    if arr.shape != ():
        raise ValueError(f"Expected scalar shape for {name!r}, saw shape: {arr.shape}.")
    summary = tensorboard().scalar_v2.scalar_pb(ctx.tag(name), arr, description=description)
    return _emit_summary(ctx, summary, step)


def histogram(name: str, data: Any, step: Any = None, buckets: int | None = None,
              description: str | None = None) -> Any:
    """Write a histogram of `data`'s values (`buckets` equal-width buckets, default 30) for
    TensorBoard's Histograms and Distributions dashboards."""
    if buckets is not None and (int(buckets) != buckets or buckets < 0):
        raise ValueError(f"buckets must be a non-negative integer, got {buckets!r}")
    return _run(_histogram, name, data, step, buckets, description)


def _histogram(ctx: _Context, name: str, data: Any, step: Any, buckets: int | None,
               description: str | None) -> Any:
    if ctx.recording() is None:
        return _result(False)
    arr = _array(data).astype(np.float64)
    summary = tensorboard().histogram_v2.histogram_pb(ctx.tag(name), arr, buckets=buckets, description=description)
    return _emit_summary(ctx, summary, step)


def _to_uint8(images: np.ndarray) -> np.ndarray:
    """TF's `convert_image_dtype(images, uint8, saturate=True)`."""
    if images.dtype == np.uint8:
        return images
    if images.dtype.kind == "f":
        # NOTE: TF scales by 255.5 and truncates, so 1.0 -> 255 and values just below 1 round up.
        return np.clip(images.astype(np.float64) * 255.5, 0, 255).astype(np.uint8)
    if images.dtype.kind in "iu":
        info = np.iinfo(images.dtype)
        shift = max(info.bits - 8 - (1 if info.min < 0 else 0), 0)
        return np.clip(images.astype(np.int64) >> shift, 0, 255).astype(np.uint8)
    if images.dtype == np.bool_:
        return images.astype(np.uint8) * 255
    raise ValueError(f"Images of dtype {images.dtype} cannot be converted to uint8.")


def _png(image: np.ndarray) -> bytes:
    from PIL import Image  # installed with the tensorboard package

    mode = {1: "L", 3: "RGB", 4: "RGBA"}[image.shape[-1]]
    pixels = image[..., 0] if mode == "L" else image
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels), mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def image(name: str, data: Any, step: Any = None, max_outputs: int = 3, description: str | None = None) -> Any:
    """Write up to `max_outputs` images for TensorBoard's Images dashboard.

    Args:
        data: shape `[k, h, w, c]` with `c` in {1, 3, 4}; floats in [0, 1] or uint8 in [0, 255].
    """
    if max_outputs < 0:
        raise ValueError(f"max_outputs must be non-negative, got {max_outputs}")
    return _run(_image, name, data, step, max_outputs, description)


def _image(ctx: _Context, name: str, data: Any, step: Any, max_outputs: int, description: str | None) -> Any:
    if ctx.recording() is None:
        return _result(False)
    arr = _array(data)
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3, 4):
        raise ValueError(f"image {name!r} expects data of shape [k, h, w, c] with c in (1, 3, 4), "
                         f"got shape {arr.shape}.")
    images = _to_uint8(arr)
    encoded = [_png(img) for img in images[:max_outputs]]
    tb = tensorboard()
    tensor = np.array([str(arr.shape[2]).encode(), str(arr.shape[1]).encode()] + encoded, dtype=object)
    metadata = tb.image_metadata.create_summary_metadata(display_name=None, description=description)
    return _emit(ctx, ctx.tag(name), tb.tensor_util.make_tensor_proto(tensor), metadata, step)


def _wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """16-bit PCM WAV bytes of `samples` ([t, c] floats in [-1, 1])."""
    import wave

    # NOTE: TF's encode_wav scales by 2**15, rounds, and saturates to the int16 range.
    pcm = np.clip(np.round(samples.astype(np.float32) * 32768.0), -32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def audio(name: str, data: Any, sample_rate: int, step: Any = None, max_outputs: int = 3,
          encoding: str | None = None, description: str | None = None) -> Any:
    """Write up to `max_outputs` clips as WAV for TensorBoard's Audio dashboard.

    Args:
        data: shape `[k, t, c]` (clips, samples, channels), floats in [-1, 1].
        sample_rate: samples per second.
        encoding: None or "wav" (the only encoding TensorBoard plays).
    """
    if encoding not in (None, "wav"):
        raise ValueError(f"Unknown encoding: {encoding!r} (only 'wav' is supported)")
    if max_outputs < 0:
        raise ValueError(f"max_outputs must be non-negative, got {max_outputs}")
    return _run(_audio, name, data, sample_rate, step, max_outputs, description)


def _audio(ctx: _Context, name: str, data: Any, sample_rate: Any, step: Any, max_outputs: int,
           description: str | None) -> Any:
    if ctx.recording() is None:
        return _result(False)
    arr = _array(data)
    if arr.ndim != 3:
        raise ValueError(f"audio {name!r} expects data of shape [k, t, c], got shape {arr.shape}.")
    rate = int(_array(sample_rate))
    clips = [[_wav(clip, rate), b""] for clip in arr[:max_outputs]]
    tb = tensorboard()
    tensor = np.array(clips, dtype=object).reshape(len(clips), 2)
    metadata = tb.audio_metadata.create_summary_metadata(
        display_name=None, description=description, encoding=tb.audio_metadata.Encoding.Value("WAV"))
    return _emit(ctx, ctx.tag(name), tb.tensor_util.make_tensor_proto(tensor), metadata, step)


def text(name: str, data: Any, step: Any = None, description: str | None = None) -> Any:
    """Write text (a string, or an array of strings shown as a table) for TensorBoard's Text
    dashboard (Markdown is rendered)."""
    return _run(_text, name, data, step, description)


def _text(ctx: _Context, name: str, data: Any, step: Any, description: str | None) -> Any:
    if ctx.recording() is None:
        return _result(False)
    value = data() if callable(data) else data
    if hasattr(value, "numpy"):
        value = value.numpy()
    summary = tensorboard().text_v2.text_pb(ctx.tag(name), value, description=description)
    return _emit_summary(ctx, summary, step)


def write_raw_pb(tensor: Any, step: Any = None) -> Any:
    """Write serialized `Summary` protos (bytes, or an array of them) as they are."""
    return _run(_write_raw_pb, tensor, step)


def _write_raw_pb(ctx: _Context, tensor: Any, step: Any) -> Any:
    if ctx.recording() is None:
        return _result(False)
    Summary = tensorboard().summary_pb2.Summary  # noqa: N806 - a proto class
    blobs = _array(tensor).reshape(-1)
    written = False
    for blob in blobs:
        summary = Summary.FromString(bytes(blob))
        result = _emit_summary(ctx, summary, step)
        written = written or bool(result.numpy())
    return _result(written)
