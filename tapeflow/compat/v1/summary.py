"""`tf.compat.v1.summary`: TF 1 summary ops and `FileWriter`.

`scalar`, `histogram` and `image` are graph nodes whose value (at each `Session.run`) is a
serialized `Summary` proto, built as TF's ScalarSummary / HistogramSummary / ImageSummary
kernels do (TF 1's "legacy" values: `simple_value`, `histo` with TF's exponential buckets,
`image` PNGs, tagged "name/image/0", ...). `merge` / `merge_all` concatenate them; a
`FileWriter` writes them to a TensorBoard event file with the event writer of `tf.summary`.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from typing import Any

import numpy as np

from tapeflow import dtypes, errors
from tapeflow.compat.v1.graph import GraphKeys, get_default_graph
from tapeflow.compat.v1.lift import graph_call
from tapeflow.summary._tensorboard import tensorboard
from tapeflow.tensor import Tensor, constant

_INVALID_TAG_CHARACTERS = re.compile(r"[^-/\w\.]")


def __getattr__(name: str) -> Any:
    """The protos TF 1 exposes here (`Summary`, `Event`, `SessionLog`, ...) are tensorboard's copies."""
    tb = tensorboard()
    protos = {"Summary": tb.summary_pb2.Summary, "SummaryDescription": tb.summary_pb2.SummaryDescription,
              "Event": tb.event_pb2.Event, "SessionLog": tb.event_pb2.SessionLog,
              "TaggedRunMetadata": tb.event_pb2.TaggedRunMetadata}
    if name in protos:
        return protos[name]
    raise AttributeError(f"module 'tapeflow.compat.v1.summary' has no attribute {name!r}")


def _clean_tag(name: str | None) -> str | None:
    if name is None:
        return None
    return _INVALID_TAG_CHARACTERS.sub("_", name).lstrip("/")


def _summary_scope(name: str, family: str | None, default_name: str | None = None) -> tuple[str, str]:
    """TF's summary_scope: the unique scope of the summary node, and its tag (family-prefixed)."""
    name = _clean_tag(name) or default_name
    family = _clean_tag(family)
    base = name if family is None else f"{family}/{name}"
    with get_default_graph().name_scope(base) as scope:
        pass
    scope = scope.rstrip("/")
    return (scope if family is None else f"{family}/{scope}"), scope


def _collect(value: Any, collections: Any, default: list) -> None:
    g = get_default_graph()
    for key in (default if collections is None else collections):
        g.add_to_collection(key, value)


def _numpy(x: Any) -> np.ndarray:
    return np.asarray(x.numpy() if isinstance(x, Tensor) else x)


def _serialized(values: list) -> Tensor:
    summary = tensorboard().summary_pb2.Summary(value=values)
    return constant(summary.SerializeToString(), dtype=dtypes.string)


def _node(fn: Any, args: tuple, name: str) -> Tensor:
    return graph_call(fn, args, name=name, specs=[((), dtypes.string)])


def scalar(name: str, tensor: Any, collections: Any = None, family: str | None = None) -> Tensor:
    """A `Summary` with one `simple_value` (a scalar string tensor, evaluated by `Session.run`)."""
    tag, scope = _summary_scope(name, family)

    def scalar_summary(value: Any) -> Tensor:
        arr = _numpy(value)
        if arr.shape != ():
            raise errors.InvalidArgumentError(
                None, None, f"tags and values are not the same shape: [] != {list(arr.shape)} (tag '{tag}')")
        if arr.dtype.kind not in "biuf":
            raise errors.InvalidArgumentError(None, None, f"scalar {tag!r}: expected a real number, received "
                                                          f"dtype {arr.dtype}")
        value_pb = tensorboard().summary_pb2.Summary.Value(tag=tag, simple_value=float(arr))
        return _serialized([value_pb])

    val = _node(scalar_summary, (tensor,), scope)
    _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def _bucket_limits() -> np.ndarray:
    """TF's default histogram bucket limits (core/lib/histogram): +-1e-12 * 1.1^k up to 1e20, 0, DBL_MAX."""
    pos = []
    v = 1.0e-12
    while v < 1.0e20:
        pos.append(v)
        v *= 1.1
    neg = [-x for x in reversed(pos)]
    return np.array(neg + [0.0] + pos + [sys.float_info.max])


_LIMITS: np.ndarray | None = None


def _histogram_proto(values: np.ndarray) -> Any:
    """HistogramProto as TF's Histogram::EncodeToProto(preserve_zero_buckets=False)."""
    global _LIMITS
    if _LIMITS is None:
        _LIMITS = _bucket_limits()
    counts = np.bincount(np.searchsorted(_LIMITS, values, side="right"), minlength=len(_LIMITS))
    counts = counts[:len(_LIMITS)].astype(np.float64)
    limits, buckets = [], []
    i, n = 0, len(counts)
    while i < n:
        end, count = _LIMITS[i], counts[i]
        i += 1
        if count <= 0.0:  # a run of empty buckets becomes one
            while i < n and counts[i] <= 0.0:
                end, count = _LIMITS[i], counts[i]
                i += 1
        limits.append(float(end))
        buckets.append(float(count))
    if not buckets:
        limits, buckets = [sys.float_info.max], [0.0]
    empty = values.size == 0
    return tensorboard().summary_pb2.HistogramProto(
        min=float(values.min()) if not empty else sys.float_info.max,
        max=float(values.max()) if not empty else -sys.float_info.max,
        num=float(values.size), sum=float(values.sum()), sum_squares=float((values * values).sum()),
        bucket_limit=limits, bucket=buckets)


def histogram(name: str, values: Any, collections: Any = None, family: str | None = None) -> Tensor:
    """A `Summary` with one `histo` (TF 1's exponential buckets) of all of `values`."""
    tag, scope = _summary_scope(name, family, default_name="HistogramSummary")

    def histogram_summary(v: Any) -> Tensor:
        arr = _numpy(v)
        if arr.dtype.kind not in "biuf":
            raise errors.InvalidArgumentError(None, None, f"histogram {tag!r}: expected real values, received "
                                                          f"dtype {arr.dtype}")
        arr = arr.astype(np.float64).reshape(-1)
        if not np.all(np.isfinite(arr)):
            raise errors.InvalidArgumentError(
                None, None, f"{'Nan' if np.isnan(arr).any() else 'Infinity'} in summary histogram for: {tag}")
        value_pb = tensorboard().summary_pb2.Summary.Value(tag=tag, histo=_histogram_proto(arr))
        return _serialized([value_pb])

    val = _node(histogram_summary, (values,), scope)
    _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def _normalize_float_image(img: np.ndarray) -> np.ndarray:
    """TF's NormalizeFloatImage: [h*w, c] floats to uint8 (bad pixels red)."""
    finite = np.all(np.isfinite(img), axis=1)
    good = img[finite]
    lo = float(good.min()) if good.size else np.inf
    hi = float(good.max()) if good.size else -np.inf
    if lo < 0:
        max_val = max(abs(lo), abs(hi))
        scale, offset = (0.0 if max_val < 1e-6 else 127.0 / max_val), 128.0
    else:
        scale, offset = (0.0 if hi < 1e-6 else 255.0 / hi), 0.0
    scale, offset = np.float32(scale), np.float32(offset)
    out = np.empty(img.shape, np.uint8)
    out[finite] = (good.astype(np.float32) * scale + offset).astype(np.uint8)
    out[~finite] = np.array([255, 0, 0, 255], np.uint8)[: img.shape[1]]
    return out


def _png(image: np.ndarray) -> bytes:
    import io

    from PIL import Image  # installed with the tensorboard package

    mode = {1: "L", 3: "RGB", 4: "RGBA"}[image.shape[-1]]
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image[..., 0] if mode == "L" else image), mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def image(name: str, tensor: Any, max_outputs: int = 3, collections: Any = None, family: str | None = None) -> Tensor:
    """A `Summary` with up to `max_outputs` PNG images of `tensor` [batch, height, width, channels]
    (channels 1, 3 or 4; uint8 as is, floats rescaled per image as TF 1 does); tags "name/image"
    when max_outputs is 1, else "name/image/0", "name/image/1", ..."""
    if max_outputs < 1:
        raise ValueError(f"image: max_outputs must be at least 1, received {max_outputs}.")
    tag, scope = _summary_scope(name, family)

    def image_summary(t: Any) -> Tensor:
        arr = _numpy(t)
        if arr.ndim != 4 or arr.shape[-1] not in (1, 3, 4):
            raise errors.InvalidArgumentError(
                None, None, f"Tensor must be 4-D with last dim 1, 3, or 4, not {list(arr.shape)}")
        if arr.dtype != np.uint8 and arr.dtype.kind != "f":
            raise errors.InvalidArgumentError(None, None, f"image {tag!r}: expected uint8 or float images, "
                                                          f"received dtype {arr.dtype}")
        batch, h, w, c = arr.shape
        pb = tensorboard().summary_pb2.Summary
        values = []
        for i in range(min(batch, max_outputs)):
            img = arr[i]
            if img.dtype != np.uint8:
                img = _normalize_float_image(img.reshape(h * w, c)).reshape(h, w, c)
            image_tag = f"{tag}/image" if max_outputs == 1 else f"{tag}/image/{i}"
            values.append(pb.Value(tag=image_tag, image=pb.Image(height=h, width=w, colorspace=c,
                                                                 encoded_image_string=_png(img))))
        return _serialized(values)

    val = _node(image_summary, (tensor,), scope)
    _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


def tensor_summary(name: str, tensor: Any, summary_description: str | None = None, collections: Any = None,
                   summary_metadata: Any = None, family: str | None = None, display_name: str | None = None) -> Tensor:
    """A `Summary` holding `tensor` itself (TensorProto) with `summary_metadata` (TF 1's
    TensorSummaryV2: strings as a repeated field, other dtypes as tensor_content)."""
    tb = tensorboard()
    metadata = tb.summary_pb2.SummaryMetadata() if summary_metadata is None else summary_metadata
    if summary_description is not None:
        metadata.summary_description = summary_description
    if display_name is not None:
        metadata.display_name = display_name
    serialized_metadata = metadata.SerializeToString()
    tag, scope = _summary_scope(name, family)

    def tensor_summary_v2(t: Any) -> Tensor:
        arr = t.numpy() if isinstance(t, Tensor) else np.asarray(t)
        tb = tensorboard()
        if isinstance(arr, bytes) or (isinstance(arr, np.ndarray) and arr.dtype.kind in "OSU"):
            proto = tb.tensor_util.make_tensor_proto(np.asarray(arr, dtype=object))
        else:
            arr = np.asarray(arr)
            proto = tb.tensor_util.make_tensor_proto(arr)
            if not proto.tensor_content and arr.size:  # TF writes tensor_content for every non-string dtype
                for field in _VAL_FIELDS:
                    proto.ClearField(field)
                proto.tensor_content = np.ascontiguousarray(arr).tobytes()
        value = tb.summary_pb2.Summary.Value(tag=tag, tensor=proto,
                                             metadata=tb.summary_pb2.SummaryMetadata.FromString(serialized_metadata))
        return _serialized([value])

    val = _node(tensor_summary_v2, (tensor,), scope)
    _collect(val, collections, [GraphKeys.SUMMARIES])
    return val


_VAL_FIELDS = ("half_val", "float_val", "double_val", "int_val", "string_val", "scomplex_val", "int64_val",
               "bool_val", "dcomplex_val", "uint32_val", "uint64_val")


def text(name: str, tensor: Any, collections: Any = None) -> Tensor:
    """A `Summary` of a string tensor for TensorBoard's Text dashboard (`tensor_summary` with the
    "text" plugin)."""
    if tensor.dtype != dtypes.string:
        raise ValueError(f"Expected tensor {tensor.name} to have dtype string, got {tensor.dtype}")
    pb = tensorboard().summary_pb2
    metadata = pb.SummaryMetadata(plugin_data=pb.SummaryMetadata.PluginData(plugin_name="text"))
    return tensor_summary(name=name, tensor=tensor, summary_metadata=metadata, collections=collections)


def merge(inputs: list, collections: Any = None, name: str | None = None) -> Tensor:
    """One `Summary` with the values of all `inputs` (serialized Summary strings); a tag seen
    twice is an InvalidArgumentError at run time, as TF's MergeSummary."""
    name = _clean_tag(name)
    with get_default_graph().name_scope(name or "Merge") as scope:
        pass
    inputs = list(inputs)

    def merge_summary(*serialized: Any) -> Tensor:
        pb = tensorboard().summary_pb2.Summary
        seen: set = set()
        values = []
        for s in serialized:
            raw = s.numpy() if isinstance(s, Tensor) else s
            items = [raw] if isinstance(raw, bytes) else np.asarray(raw, dtype=object).reshape(-1)
            for item in items:  # (NumPy's fixed-width bytes would drop a proto's trailing zeros)
                summary = pb.FromString(bytes(item))
                for v in summary.value:
                    if v.tag in seen:
                        raise errors.InvalidArgumentError(None, None,
                                                          f"Duplicate tag {v.tag} found in summary inputs ")
                    seen.add(v.tag)
                    values.append(v)
        return _serialized(values)

    val = _node(merge_summary, tuple(inputs), scope.rstrip("/"))
    _collect(val, collections, [])
    return val


def merge_all(key: str = GraphKeys.SUMMARIES, scope: str | None = None, name: str | None = None) -> Tensor | None:
    """`merge` of the summaries in collection `key` of the default graph (None when it is empty)."""
    summary_ops = get_default_graph().get_collection(key, scope=scope)
    if not summary_ops:
        return None
    return merge(summary_ops, name=name)


class FileWriter:
    """Writes `Summary` protos and events to a TensorBoard event file in `logdir` (TF 1's
    `tf.compat.v1.summary.FileWriter`).

    Example:
        >>> writer = tf.summary.FileWriter("logs")
        >>> writer.add_summary(sess.run(merged, feed), global_step=step)
        >>> writer.close()
    """

    def __init__(self, logdir: Any, graph: Any = None, max_queue: int = 10, flush_secs: float = 120,
                 graph_def: Any = None, filename_suffix: str | None = None, session: Any = None) -> None:
        if session is not None:
            raise errors.UnimplementedError(
                None, None, "FileWriter: session= (a writer resource inside the session) is not supported: "
                "Tapeflow's FileWriter writes from Python.")
        self._logdir = os.fspath(logdir)
        self._max_queue, self._flush_secs, self._filename_suffix = max_queue, flush_secs, filename_suffix
        self._lock = threading.Lock()
        self._seen_summary_tags: set = set()
        self._open()
        if graph is not None or graph_def is not None:
            self.add_graph(graph, graph_def=graph_def)

    def _open(self) -> None:
        os.makedirs(self._logdir, exist_ok=True)
        self._writer = tensorboard().EventFileWriter(self._logdir, max_queue_size=self._max_queue,
                                                     flush_secs=self._flush_secs,
                                                     filename_suffix=self._filename_suffix or "")
        self._closed = False

    def get_logdir(self) -> str:
        """The directory of the event file."""
        return self._logdir

    def add_event(self, event: Any) -> None:
        """Write an `Event` proto as it is."""
        with self._lock:
            if not self._closed:
                self._writer.add_event(event)

    def _add_event(self, event: Any, step: Any) -> None:
        event.wall_time = time.time()
        if step is not None:
            event.step = int(step)
        self.add_event(event)

    def add_summary(self, summary: Any, global_step: Any = None) -> None:
        """Write a `Summary` (a proto or its serialized bytes, as `Session.run` of a summary op
        returns) at `global_step`; plugin metadata is kept on a tag's first value only, as TF."""
        tb = tensorboard()
        if isinstance(summary, (bytes, np.bytes_)):
            summary = tb.summary_pb2.Summary.FromString(bytes(summary))
        elif not isinstance(summary, tb.summary_pb2.Summary):
            raise TypeError(f"add_summary expects a Summary proto or its serialized bytes, received "
                            f"{type(summary).__name__}.")
        for value in summary.value:
            if not value.HasField("metadata"):
                continue
            if value.tag in self._seen_summary_tags:
                value.ClearField("metadata")
                continue
            self._seen_summary_tags.add(value.tag)
        self._add_event(tb.event_pb2.Event(summary=summary), global_step)

    def add_session_log(self, session_log: Any, global_step: Any = None) -> None:
        """Write a `SessionLog` (start / stop / checkpoint) event."""
        self._add_event(tensorboard().event_pb2.Event(session_log=session_log), global_step)

    def add_run_metadata(self, run_metadata: Any, tag: str, global_step: Any = None) -> None:
        """Refused: Tapeflow's sessions record no RunMetadata (step stats) to write."""
        raise errors.UnimplementedError(None, None, "FileWriter.add_run_metadata: Tapeflow's Session.run records "
                                                    "no RunMetadata step stats to write.")

    def add_graph(self, graph: Any, global_step: Any = None, graph_def: Any = None) -> None:
        """Write a GraphDef proto (`graph_def`, or `graph` if it is one) for TensorBoard's Graphs tab.

        Raises:
            UnimplementedError: `graph` is a Tapeflow TF 1 `Graph`: its nodes live on its tensors
                and it has no GraphDef to write.
        """
        from tensorboard.compat.proto import graph_pb2

        proto = graph_def if graph_def is not None else graph
        if isinstance(proto, bytes):
            proto = graph_pb2.GraphDef.FromString(proto)
        if not isinstance(proto, graph_pb2.GraphDef):
            raise errors.UnimplementedError(
                None, None, f"FileWriter.add_graph: a {type(proto).__name__} is not supported: a Tapeflow TF 1 "
                "Graph keeps its nodes on its tensors and has no GraphDef to write (pass graph_def=, a GraphDef "
                "proto, or leave graph out).")
        event = tensorboard().event_pb2.Event(graph_def=proto.SerializeToString())
        self._add_event(event, global_step)

    def flush(self) -> None:
        """Write the queued events to disk."""
        with self._lock:
            if not self._closed:
                self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file; `reopen` starts a new one."""
        with self._lock:
            if not self._closed:
                self._writer.close()
                self._closed = True

    def reopen(self) -> None:
        """Open a new event file after `close` (a no-op while open)."""
        with self._lock:
            if self._closed:
                self._open()

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class FileWriterCache:
    """One shared `FileWriter` per log directory (the hooks of `MonitoredTrainingSession` use it)."""

    _cache: dict = {}
    _lock = threading.Lock()

    @staticmethod
    def get(logdir: Any) -> FileWriter:
        """The FileWriter of `logdir` (created on first use)."""
        logdir = os.fspath(logdir)
        with FileWriterCache._lock:
            if logdir not in FileWriterCache._cache:
                FileWriterCache._cache[logdir] = FileWriter(logdir)
            return FileWriterCache._cache[logdir]

    @staticmethod
    def clear() -> None:
        """Close and forget every cached writer."""
        with FileWriterCache._lock:
            for writer in FileWriterCache._cache.values():
                writer.close()
            FileWriterCache._cache = {}
