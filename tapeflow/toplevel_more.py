"""More top-level `tf.*` names: the generic `tf.conv`, the v2 conv2d backprops, extract_volume_patches,
make_tensor_proto (TF's TensorProto bytes), CriticalSection and TensorArraySpec.

The convolution entry points are compositions of the engine's differentiable ops (the backprops
through a tape), so they differentiate again.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.tensor import Tensor, TensorShape, convert_to_tensor


def _ints(v: Any) -> list[int]:
    a = backend.to_numpy(v._value) if isinstance(v, Tensor) else np.asarray(v)
    return [int(e) for e in a.reshape(-1)]


def _explicit_pad(x: Tensor, padding: str, explicit_paddings: Any, channels_last: bool, op: str) -> tuple:
    from tapeflow.ops import movement as mv

    if padding != "EXPLICIT":
        if list(explicit_paddings or []):
            raise ValueError(f"{op}: explicit_paddings are only allowed with padding='EXPLICIT', received {padding!r}.")
        return x, padding
    pads = np.asarray(_ints(explicit_paddings), np.int64).reshape(-1, 2)
    if pads.shape[0] != len(x.shape):
        raise ValueError(f"{op}: explicit_paddings must have 2 entries per input dimension ({2 * len(x.shape)}), "
                         f"received {2 * pads.shape[0]}.")
    spatial = range(1, len(x.shape) - 1) if channels_last else range(2, len(x.shape))
    if any(pads[d].any() for d in range(len(x.shape)) if d not in spatial):
        raise ValueError(f"{op}: explicit_paddings of the batch and channel dimensions must be 0.")
    return mv.pad(x, pads.tolist()), "VALID"


def conv(input: Any, filter: Any, strides: Any, padding: str, explicit_paddings: Any = (),  # noqa: A002
         data_format: str = "CHANNELS_LAST", dilations: Any = (), batch_dims: int = 1, groups: int = 1,
         name: Any = None) -> Tensor:
    """The generic N-D convolution op (`Conv`): strides/dilations have N + 2 entries; padding
    'SAME', 'VALID' or 'EXPLICIT' (with `explicit_paddings`); one batch dimension, groups 1."""
    from tapeflow.ops.conv import convolution, float_operand

    if int(batch_dims) != 1 or int(groups) != 1:
        raise ValueError(f"Conv: only batch_dims=1 and groups=1 are supported, received batch_dims={batch_dims}, "
                         f"groups={groups}.")
    if data_format not in ("CHANNELS_LAST", "CHANNELS_FIRST"):
        raise ValueError(f"Conv: data_format must be 'CHANNELS_LAST' or 'CHANNELS_FIRST', received {data_format!r}.")
    x = float_operand(input, "Conv")
    n = len(x.shape) - 2
    last = data_format == "CHANNELS_LAST"
    st = _ints(strides)
    dl = _ints(dilations) or [1] * (n + 2)
    if len(st) != n + 2 or len(dl) != n + 2:
        raise ValueError(f"Conv: strides and dilations must have {n + 2} entries, received {st} and {dl}.")
    x, pad = _explicit_pad(x, padding, explicit_paddings, last, "Conv")
    sp = st[1:-1] if last else st[2:]
    dsp = dl[1:-1] if last else dl[2:]
    fmt = {1: "NWC", 2: "NHWC", 3: "NDHWC"}[n] if last else {1: "NCW", 2: "NCHW", 3: "NCDHW"}[n]
    return convolution(x, filter, strides=sp, padding=pad, data_format=fmt, dilations=dsp)


def _conv2d_vjp(x: Tensor, w: Tensor, dy: Tensor, wrt: str, strides: Any, padding: str, explicit_paddings: Any,
                data_format: str, dilations: Any, op: str) -> Tensor:
    from tapeflow.autodiff.tape import GradientTape
    from tapeflow.ops.conv import conv2d

    with GradientTape() as tape:
        tape.watch(x if wrt == "input" else w)
        padded, pad = _explicit_pad(x, padding, explicit_paddings, data_format == "NHWC", op)
        y = conv2d(padded, w, strides, pad, data_format=data_format, dilations=dilations)
    return tape.gradient(y, x if wrt == "input" else w, output_gradients=dy)


def conv2d_backprop_filter_v2(input: Any, filter: Any, out_backprop: Any, strides: Any, padding: str,  # noqa: A002
                              use_cudnn_on_gpu: bool = True, explicit_paddings: Any = (), data_format: str = "NHWC",
                              dilations: Any = (1, 1, 1, 1), name: Any = None) -> Tensor:
    """The gradient of conv2d with respect to its filter (shaped like `filter`), given the input
    and the output gradient."""
    from tapeflow.ops import elementwise as ew
    from tapeflow.ops.conv import float_operand

    x = float_operand(input, "Conv2DBackpropFilterV2")
    w = ew.zeros_like_t(float_operand(filter, "Conv2DBackpropFilterV2", like=x))
    dy = float_operand(out_backprop, "Conv2DBackpropFilterV2", like=x)
    return _conv2d_vjp(x, w, dy, "filter", strides, padding, explicit_paddings, data_format, dilations,
                       "Conv2DBackpropFilterV2")


def conv2d_backprop_input_v2(input: Any, filter: Any, out_backprop: Any, strides: Any, padding: str,  # noqa: A002
                             use_cudnn_on_gpu: bool = True, explicit_paddings: Any = (), data_format: str = "NHWC",
                             dilations: Any = (1, 1, 1, 1), name: Any = None) -> Tensor:
    """The gradient of conv2d with respect to its input (shaped like `input`), given the filter
    and the output gradient."""
    from tapeflow.ops import elementwise as ew
    from tapeflow.ops.conv import float_operand

    w = float_operand(filter, "Conv2DBackpropInputV2")
    x = ew.zeros_like_t(float_operand(input, "Conv2DBackpropInputV2", like=w))
    dy = float_operand(out_backprop, "Conv2DBackpropInputV2", like=w)
    return _conv2d_vjp(x, w, dy, "input", strides, padding, explicit_paddings, data_format, dilations,
                       "Conv2DBackpropInputV2")


def extract_volume_patches(input: Any, ksizes: Any, strides: Any, padding: str, name: Any = None) -> Tensor:  # noqa: A002
    """Patches of (N, D, H, W, C) volumes as channels: (N, D', H', W', kd * kh * kw * C), each patch
    flattened in (depth, row, column, channel) order; ksizes and strides are [1, d, h, w, 1]."""
    from tapeflow.ops import elementwise as ew
    from tapeflow.ops import movement as mv

    x = ew.unary_operand(input, "ExtractVolumePatches")
    if len(x.shape) != 5:
        raise ValueError(f"ExtractVolumePatches: input must be 5-D (N, D, H, W, C), received shape {tuple(x.shape)}.")
    k, s = _ints(ksizes), _ints(strides)
    if len(k) != 5 or len(s) != 5 or k[0] != 1 or k[4] != 1 or s[0] != 1 or s[4] != 1:
        raise ValueError(f"ExtractVolumePatches: ksizes and strides must be [1, d, h, w, 1], received {k} and {s}.")
    padding = str(padding).upper()
    if padding not in ("SAME", "VALID"):
        raise ValueError(f"ExtractVolumePatches: padding must be 'SAME' or 'VALID', received {padding!r}.")
    sizes = [int(d) for d in x.shape[1:4]]
    outs, pads = [], []
    for size, kk, ss in zip(sizes, k[1:4], s[1:4], strict=True):
        if padding == "VALID":
            outs.append((size - kk) // ss + 1)
            pads.append([0, 0])
        else:
            o = -(-size // ss)
            total = max((o - 1) * ss + kk - size, 0)
            outs.append(o)
            pads.append([total // 2, total - total // 2])
    if min(outs) <= 0:
        raise ValueError(f"ExtractVolumePatches: ksizes {k[1:4]} exceed the input volume {sizes}.")
    x = mv.pad(x, [[0, 0]] + pads + [[0, 0]])
    taps = []
    for a in range(k[1]):
        for b in range(k[2]):
            for c in range(k[3]):
                taps.append(x[:, a:a + (outs[0] - 1) * s[1] + 1:s[1], b:b + (outs[1] - 1) * s[2] + 1:s[2],
                              c:c + (outs[2] - 1) * s[3] + 1:s[3], :])
    return mv.concat(taps, -1)


class TensorProto:
    """TF's TensorProto message as its serialized bytes (what `tf.make_tensor_proto` returns):
    `SerializeToString()` gives them, `tf.make_ndarray` reads them back."""

    def __init__(self, serialized: bytes, dtype: Any, shape: tuple) -> None:
        self._bytes = serialized
        self.dtype = dtype.as_datatype_enum
        self._dtype = dtype
        self._shape = shape

    @property
    def tensor_shape(self) -> TensorShape:
        return TensorShape(self._shape)

    def SerializeToString(self) -> bytes:  # noqa: N802 - protobuf's name
        return self._bytes

    def __repr__(self) -> str:
        return f"TensorProto(dtype={self._dtype.name}, shape={list(self._shape)}, {len(self._bytes)} bytes)"


def make_tensor_proto(values: Any, dtype: Any = None, shape: Any = None, verify_shape: bool = False,
                      allow_broadcast: bool = False) -> TensorProto:
    """`values` (converted to `dtype`, reshaped or broadcast to `shape`) as a TensorProto."""
    from tapeflow.io.ops import serialize_tensor
    from tapeflow.ops import movement as mv

    t = values if isinstance(values, Tensor) else convert_to_tensor(values, dtype=dtype)
    if dtype is not None and t.dtype != _dt.as_dtype(dtype):
        raise TypeError(f"make_tensor_proto: expected {_dt.as_dtype(dtype).name}, received {t.dtype.name}.")
    if shape is not None:
        target = [int(d) for d in shape]
        n = int(np.prod(target))
        if verify_shape and tuple(t.shape) != tuple(target):
            raise TypeError(f"Expected Tensor's shape: {tuple(target)}, but got {tuple(t.shape)}.")
        if int(np.prod(t.shape)) == n:
            t = mv.reshape(t, target)
        elif allow_broadcast or int(np.prod(t.shape)) == 1:
            t = mv.broadcast_to(t, target)
        else:
            raise ValueError(f"Too many elements provided. Needed at most {n}, but received {int(np.prod(t.shape))}.")
    raw = backend.to_numpy(serialize_tensor(t)._value).item()
    return TensorProto(raw, t.dtype, tuple(int(d) for d in t.shape))


class CriticalSection:
    """Runs functions one at a time (`execute(fn)` holds a lock while `fn` runs)."""

    def __init__(self, name: Any = None, shared_name: Any = None, critical_section_def: Any = None,
                 import_scope: Any = None) -> None:
        if critical_section_def is not None:
            raise ValueError("CriticalSection: critical_section_def (a TF1 graph proto) is not supported in Tapeflow.")
        self.name = name or "critical_section"
        self._lock = threading.RLock()

    def execute(self, fn: Any, exclusive_resource_access: bool = True, name: Any = None) -> Any:
        """fn() while no other execute of this section runs; returns its result."""
        with self._lock:
            return fn()


class TensorArraySpec:
    """The type of a TensorArray: element shape, dtype, dynamic_size and infer_shape."""

    def __init__(self, element_shape: Any = None, dtype: Any = _dt.float32, dynamic_size: bool = False,
                 infer_shape: bool = True) -> None:
        self._element_shape = TensorShape(element_shape) if element_shape is not None else TensorShape(None)
        self._dtype = _dt.as_dtype(dtype)
        self._dynamic_size = bool(dynamic_size)
        self._infer_shape = bool(infer_shape)

    @property
    def value_type(self) -> type:
        from tapeflow.tracing.tensor_array import TensorArray

        return TensorArray

    @property
    def dtype(self) -> Any:
        return self._dtype

    @property
    def element_shape(self) -> TensorShape:
        return self._element_shape

    @property
    def dynamic_size(self) -> bool:
        return self._dynamic_size

    @property
    def infer_shape(self) -> bool:
        return self._infer_shape

    @staticmethod
    def from_value(value: Any) -> TensorArraySpec:
        """The spec of a TensorArray."""
        shape = getattr(value, "element_shape", None)
        return TensorArraySpec(shape, value.dtype, getattr(value, "dynamic_size", False),
                               getattr(value, "_infer_shape", True))

    def is_compatible_with(self, other: Any) -> bool:
        if not isinstance(other, TensorArraySpec):
            other = TensorArraySpec.from_value(other)
        return (self._dtype == other._dtype and self._dynamic_size == other._dynamic_size
                and self._element_shape.is_compatible_with(other._element_shape))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TensorArraySpec) and self._dtype == other._dtype
                and self._dynamic_size == other._dynamic_size and self._infer_shape == other._infer_shape
                and self._element_shape.as_list() == other._element_shape.as_list()
                if self._element_shape.rank is not None and other._element_shape.rank is not None
                else isinstance(other, TensorArraySpec) and self._dtype == other._dtype)

    def __hash__(self) -> int:
        return hash((self._dtype.name, self._dynamic_size, self._infer_shape))

    def __repr__(self) -> str:
        dims = self._element_shape.as_list() if self._element_shape.rank is not None else None
        return f"TensorArraySpec(TensorShape({dims}), tf.{self._dtype.name}, {self._dynamic_size}, {self._infer_shape})"


def ragged_fill_empty_rows(value_rowids: Any, values: Any, nrows: Any, default_value: Any, name: Any = None) -> tuple:
    """The raw op behind filling empty ragged rows: every row of `nrows` without values gets one
    `default_value`. Returns (output_value_rowids, output_values, empty_row_indicator,
    reverse_index_map: where each input value went). Differentiable in values and default_value."""
    from collections import namedtuple

    from tapeflow.ops import elementwise as ew
    from tapeflow.ops import movement as mv

    out_type = namedtuple("RaggedFillEmptyRows", ["output_value_rowids", "output_values", "empty_row_indicator",
                                                  "reverse_index_map"])
    ids = np.asarray(_ints(value_rowids), np.int64)
    n = _ints(nrows)[0]
    v = values if isinstance(values, Tensor) else convert_to_tensor(values)
    d = default_value if isinstance(default_value, Tensor) else convert_to_tensor(default_value, dtype=v.dtype)
    from tapeflow.errors import InvalidArgumentError

    if len(v.shape) != 1 or tuple(v.shape) != ids.shape:
        raise InvalidArgumentError(None, None, f"RaggedFillEmptyRows: values must be a vector with one entry per "
                                   f"value_rowids ({ids.size}), received shape {tuple(v.shape)}.")
    if ids.size and (np.any(np.diff(ids) < 0) or ids[0] < 0 or ids[-1] >= n):
        raise InvalidArgumentError(None, None, f"RaggedFillEmptyRows: value_rowids must be sorted and in [0, {n}), "
                                   f"received {ids.tolist()}.")
    empty = np.ones(n, bool)
    empty[ids] = False
    out_ids = np.sort(np.concatenate([ids, np.nonzero(empty)[0]]), kind="stable")
    # each input value moves right by the number of empty rows before its row
    reverse = np.arange(ids.size) + np.cumsum(empty)[ids] - empty[ids] if ids.size else np.zeros(0, np.int64)
    reverse = reverse.astype(np.int64)
    source = np.full(out_ids.size, ids.size, np.int64)
    source[reverse] = np.arange(ids.size)
    table = mv.concat([v, mv.reshape(ew.cast(d, v.dtype), [1])], 0)
    out_values = mv.gather(table, source)
    return out_type(convert_to_tensor(out_ids), out_values, convert_to_tensor(empty), convert_to_tensor(reverse))


def ragged_fill_empty_rows_grad(reverse_index_map: Any, grad_values: Any, name: Any = None) -> tuple:
    """The gradient of ragged_fill_empty_rows: (d_values: grad_values at reverse_index_map,
    d_default_value: the sum of the other gradients)."""
    from collections import namedtuple

    from tapeflow.ops import elementwise as ew
    from tapeflow.ops import movement as mv
    from tapeflow.ops import reduce as rd

    out_type = namedtuple("RaggedFillEmptyRowsGrad", ["d_values", "d_default_value"])
    rev = np.asarray(_ints(reverse_index_map), np.int64)
    g = grad_values if isinstance(grad_values, Tensor) else convert_to_tensor(grad_values)
    d_values = mv.gather(g, rev)
    return out_type(d_values, ew.subtract(rd.reduce_sum(g), rd.reduce_sum(d_values)))


def register_tensor_conversion_function(base_type: Any, conversion_func: Any, priority: int = 100) -> None:
    """Let `tf.convert_to_tensor` (and every op) accept objects of `base_type`:
    `conversion_func(value, dtype=None, name=None, as_ref=False)` returns a Tensor (or
    NotImplemented to pass); lower `priority` is tried first."""
    from tapeflow import tensor

    types = base_type if isinstance(base_type, tuple) else (base_type,)
    if any(not isinstance(t, type) for t in types):
        raise TypeError(f"base_type must be a type or a tuple of types, received {base_type!r}.")
    if any(issubclass(t, (int, float, complex, np.generic, np.ndarray)) for t in types):
        raise TypeError("Cannot register conversions for Python numeric types and NumPy scalars and arrays.")
    if not callable(conversion_func):
        raise TypeError(f"conversion_func must be callable, received {conversion_func!r}.")
    tensor._CONVERSION_FUNCTIONS.append((int(priority), len(tensor._CONVERSION_FUNCTIONS), types, conversion_func))
    tensor._CONVERSION_FUNCTIONS.sort(key=lambda e: (e[0], e[1]))


class OptionalSpec:
    """The type of a `tf.experimental.Optional`: the spec of the value it may hold."""

    def __init__(self, element_spec: Any) -> None:
        self._element_spec = element_spec

    @property
    def value_type(self) -> type:
        from tapeflow.data.optional import Optional

        return Optional

    @staticmethod
    def from_value(value: Any) -> OptionalSpec:
        """The spec of an Optional."""
        return OptionalSpec(value.element_spec)

    def is_compatible_with(self, other: Any) -> bool:
        from tapeflow import nest

        other = other if isinstance(other, OptionalSpec) else OptionalSpec.from_value(other)
        try:
            pairs = zip(nest.flatten(self._element_spec), nest.flatten(other._element_spec), strict=True)
            return all(a.is_compatible_with(b) if hasattr(a, "is_compatible_with") else a == b for a, b in pairs)
        except ValueError:
            return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OptionalSpec) and self._element_spec == other._element_spec

    def __hash__(self) -> int:
        return hash(repr(self._element_spec))

    def __repr__(self) -> str:
        return f"OptionalSpec({self._element_spec!r},)"
