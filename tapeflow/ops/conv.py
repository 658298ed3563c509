"""tf.nn's convolutions: argument handling and the public functions.

The public functions (`conv2d`, `conv2d_transpose`, `depthwise_conv2d`, `separable_conv2d`,
`convolution`, ...) validate arguments with TF's messages, move "NC..." data formats to
channels-last and back, flatten extra batch axes, and call the primitives
(ops/conv_primitives.py); the argument helpers are shared with pooling (ops/pool.py).
"""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow.ops import movement as mv
from tapeflow.ops.conv_geometry import geometry
from tapeflow.ops.conv_primitives import Conv, ConvBackpropFilter, ConvBackpropInput
from tapeflow.tensor import Tensor, convert_to_tensor

_SPATIAL = {1: "W", 2: "HW", 3: "DHW"}
_FORMATS = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}
_OP_NAMES = {1: "Conv1D", 2: "Conv2D", 3: "Conv3D"}


# ---------------------------------------------------------------------------------------------
# Argument handling shared by convolutions and pooling
# ---------------------------------------------------------------------------------------------

def float_operand(x: Any, op: str, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        t = x
    else:
        try:
            t = convert_to_tensor(x, dtype=like.dtype if like is not None else None)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{op}: {e}") from None
    if not t.dtype.is_floating:
        raise TypeError(f"{op}: expected a floating-point tensor, received dtype {t.dtype.name}.")
    return t


def channels_first(data_format: Any, r: int, op: str) -> bool:
    """Whether `data_format` puts channels before the spatial axes ("NC...")."""
    if data_format is None:
        return False
    fmt = str(data_format).upper()
    allowed = _FORMATS.get(r, ())
    if fmt not in allowed and not (r == 1 and fmt in ("NHWC", "NCHW")):
        raise ValueError(f"{op}: data_format must be one of {list(allowed)}, received {data_format!r}.")
    return fmt.startswith("NC")


def spatial_ints(value: Any, r: int, op: str, what: str, cf: bool, default: int = 1) -> tuple:
    """An int or list of length 1, r or r + 2 (batch and channel entries must be 1) -> r ints."""
    if value is None:
        return (default,) * r
    if isinstance(value, Tensor):
        value = backend.to_numpy(value._value).tolist()
    if isinstance(value, int) or hasattr(value, "__index__") and not isinstance(value, (list, tuple)):
        vals = [int(value)] * r
    else:
        vals = [int(v) for v in value]
        if len(vals) == 1:
            vals = vals * r
        elif len(vals) == r + 2:
            outer = (vals[0], vals[1]) if cf else (vals[0], vals[-1])
            if outer != (1, 1):
                raise ValueError(
                    f"{op}: {what} in the batch and channel dimensions must be 1, received {value}."
                )
            vals = vals[2:] if cf else vals[1:-1]
        elif len(vals) != r:
            raise ValueError(
                f"{op}: {what} must be an int or a list of 1, {r} or {r + 2} ints, received {value}."
            )
    if any(v < 1 for v in vals):
        raise ValueError(f"{op}: {what} must be positive, received {value}.")
    return tuple(vals)


def parse_padding(padding: Any, r: int, op: str, cf: bool, explicit_ok: bool = True) -> Any:
    """"SAME", "VALID", or explicit [[0, 0], [lo, hi] per spatial dim, [0, 0]] -> pairs."""
    if isinstance(padding, str):
        p = padding.upper()
        if p not in ("SAME", "VALID"):
            raise ValueError(f"{op}: padding must be 'SAME' or 'VALID', received {padding!r}.")
        return p
    if not explicit_ok:
        raise ValueError(f"{op}: padding must be 'SAME' or 'VALID', received {padding!r}.")
    try:
        pairs = [(int(a), int(b)) for a, b in padding]
    except (TypeError, ValueError):
        raise ValueError(
            f"{op}: padding must be 'SAME', 'VALID' or a list of {r + 2} [before, after] pairs, "
            f"received {padding!r}."
        ) from None
    if len(pairs) != r + 2:
        raise ValueError(
            f"{op}: explicit padding needs {r + 2} [before, after] pairs (one per dimension), "
            f"received {len(pairs)}."
        )
    outer = (pairs[0], pairs[1]) if cf else (pairs[0], pairs[-1])
    if outer != ((0, 0), (0, 0)):
        raise ValueError(f"{op}: explicit padding of the batch and channel dimensions must be 0, "
                         f"received {padding!r}.")
    spatial = pairs[2:] if cf else pairs[1:-1]
    if any(a < 0 or b < 0 for a, b in spatial):
        raise ValueError(f"{op}: explicit padding must be non-negative, received {padding!r}.")
    return tuple(spatial)


def to_channels_last(x: Tensor, r: int) -> Tensor:
    return mv.transpose(x, (0,) + tuple(range(2, r + 2)) + (1,))


def to_channels_first(x: Tensor, r: int) -> Tensor:
    return mv.transpose(x, (0, r + 1) + tuple(range(1, r + 1)))


def check_input_rank(x: Tensor, r: int, op: str, cf: bool, allow_batch_shape: bool) -> None:
    n = len(x.shape)
    layout = ("N" + "C" + _SPATIAL[r]) if cf else ("N" + _SPATIAL[r] + "C")
    if n == r + 2 or (allow_batch_shape and n > r + 2):
        return
    expect = f"rank {r + 2}" + (" or more" if allow_batch_shape else "")
    raise ValueError(
        f"{op}: expected input of {expect} ({', '.join(layout)}), received shape {tuple(x.shape)} "
        f"(rank {n})."
    )


def _flatten_batch(x: Tensor, r: int) -> tuple:
    """Merge leading batch dimensions (TF's batch_shape) into one; returns (x, batch_shape)."""
    shape = tuple(x.shape)
    if len(shape) == r + 2:
        return x, None
    batch = shape[: len(shape) - r - 1]
    return mv.reshape(x, (-1,) + shape[len(shape) - r - 1:]), batch


def _unflatten_batch(y: Tensor, batch: Any) -> Tensor:
    if batch is None:
        return y
    return mv.reshape(y, tuple(batch) + tuple(y.shape[1:]))


def _check_geometry(op: str, x_spatial: tuple, K: tuple, strides: tuple, dilations: tuple,
                    padding: Any) -> None:
    if any(s is None for s in x_spatial) or any(k is None for k in K):
        return
    geometry(op, tuple(x_spatial), tuple(K), strides, dilations, padding)


# ---------------------------------------------------------------------------------------------
# Public functions (tf.nn)
# ---------------------------------------------------------------------------------------------

def _convolution(op: str, input: Any, filters: Any, r: int, strides: Any, padding: Any,  # noqa: A002
                 data_format: Any, dilations: Any, explicit_ok: bool = True,
                 allow_batch_shape: bool = False) -> Tensor:
    x, w, st, dil, pad, groups, cf, batch = prepare_convolution(
        op, input, filters, r, strides, padding, data_format, dilations, explicit_ok, allow_batch_shape)
    y = Conv(st, dil, pad, groups, op)(x, w)
    return finish_convolution(y, r, cf, batch)


def finish_convolution(y: Tensor, r: int, cf: bool, batch: Any) -> Tensor:
    """The channels-last result of a convolution primitive in the caller's layout and batch shape."""
    if cf:
        return to_channels_first(y, r)
    return _unflatten_batch(y, batch)


def prepare_convolution(op: str, input: Any, filters: Any, r: int, strides: Any,  # noqa: A002
                        padding: Any, data_format: Any, dilations: Any, explicit_ok: bool = True,
                        allow_batch_shape: bool = False) -> tuple:
    """Validate a convolution's arguments: (x channels-last with one batch axis, w, strides,
    dilations, padding, groups, channels_first, batch_shape or None)."""
    x = float_operand(input, op)
    w = float_operand(filters, op, like=x)
    if w.dtype != x.dtype:
        raise TypeError(f"{op}: input and filters must have the same dtype, received "
                        f"{x.dtype.name} and {w.dtype.name}.")
    cf = channels_first(data_format, r, op)
    check_input_rank(x, r, op, cf, allow_batch_shape)
    if len(w.shape) != r + 2:
        raise ValueError(
            f"{op}: expected filters of rank {r + 2} ({', '.join('spatial' for _ in range(r))}, "
            f"in_channels, out_channels), received shape {tuple(w.shape)}."
        )
    st = spatial_ints(strides, r, op, "strides", cf)
    dil = spatial_ints(dilations, r, op, "dilations", cf)
    pad = parse_padding(padding, r, op, cf, explicit_ok)
    x, batch = _flatten_batch(x, r) if not cf else (x, None)
    if cf:
        x = to_channels_last(x, r)
    C = x.shape[-1]
    Cin_w, Cout = w.shape[-2], w.shape[-1]
    groups = 1
    if C is not None and Cin_w is not None and C != Cin_w:
        if Cin_w == 0 or C % Cin_w != 0:
            raise ValueError(
                f"{op}: the input has {C} channels but the filters expect {Cin_w} input channels "
                f"(input shape {tuple(x.shape)}, filters shape {tuple(w.shape)})."
            )
        groups = C // Cin_w
        if Cout is not None and Cout % groups != 0:
            raise ValueError(
                f"{op}: a grouped convolution with {groups} groups needs out_channels divisible "
                f"by {groups}, received filters shape {tuple(w.shape)}."
            )
    _check_geometry(op, tuple(x.shape[1:-1]), tuple(w.shape[:-2]), st, dil, pad)
    return x, w, st, dil, pad, groups, cf, batch


def conv1d(input: Any, filters: Any, stride: Any, padding: Any, data_format: str = "NWC",  # noqa: A002
           dilations: Any = None, name: Any = None) -> Tensor:
    """1-D convolution (cross-correlation, as in TF) of a batch of sequences.

    Args:
        input: (batch..., width, in_channels) for "NWC", or (batch, in_channels, width) for "NCW".
        filters: (filter_width, in_channels, out_channels).
        stride: int or list of 1 or 3 ints.
        padding: "SAME" or "VALID" (SAME pads the odd element at the end, like TF).
        data_format: "NWC" (default) or "NCW".
        dilations: int or list of 1 or 3 ints.

    Returns:
        (batch..., out_width, out_channels).

    Example:
        >>> tf.nn.conv1d(tf.ones((2, 10, 3)), tf.ones((3, 3, 4)), 1, "SAME").shape
        TensorShape([2, 10, 4])
    """
    return _convolution("Conv1D", input, filters, 1, stride, padding, data_format, dilations,
                        explicit_ok=False, allow_batch_shape=True)


def conv2d(input: Any, filters: Any, strides: Any, padding: Any, data_format: str = "NHWC",  # noqa: A002
           dilations: Any = None, name: Any = None) -> Tensor:
    """2-D convolution (cross-correlation, as in TF).

    Args:
        input: (batch..., height, width, in_channels) for "NHWC", or (N, C, H, W) for "NCHW".
        filters: (filter_height, filter_width, in_channels, out_channels); when the input has a
            multiple of in_channels channels the convolution is grouped.
        strides: int or list of 1, 2 or 4 ints.
        padding: "SAME", "VALID", or explicit [[0, 0], [top, bottom], [left, right], [0, 0]]
            (NHWC order; NCHW puts the channel pair second).
        data_format: "NHWC" (default) or "NCHW".
        dilations: int or list of 1, 2 or 4 ints.

    Returns:
        (batch..., out_height, out_width, out_channels) (or NCHW).

    Example:
        >>> x = tf.random.normal((100, 28, 28, 1))
        >>> tf.nn.conv2d(x, tf.random.normal((5, 5, 1, 32)), 1, "SAME").shape
        TensorShape([100, 28, 28, 32])
    """
    return _convolution("Conv2D", input, filters, 2, strides, padding, data_format, dilations,
                        allow_batch_shape=True)


def conv3d(input: Any, filters: Any, strides: Any, padding: Any, data_format: str = "NDHWC",  # noqa: A002
           dilations: Any = None, name: Any = None) -> Tensor:
    """3-D convolution: input (N, D, H, W, C), filters (kd, kh, kw, C, out) -> (N, D', H', W', out).

    Args:
        strides, dilations: int or list of 1, 3 or 5 ints. padding: "SAME" or "VALID".
        data_format: "NDHWC" (default) or "NCDHW".
    """
    return _convolution("Conv3D", input, filters, 3, strides, padding, data_format, dilations,
                        explicit_ok=False)


def convolution(input: Any, filters: Any, strides: Any = None, padding: str = "VALID",  # noqa: A002
                data_format: Any = None, dilations: Any = None, name: Any = None) -> Tensor:
    """N-D convolution; the spatial rank is the filter's rank minus 2 (`tf.nn.convolution`)."""
    w = float_operand(filters, "Convolution")
    r = len(w.shape) - 2
    if r not in _OP_NAMES:
        raise ValueError(f"Convolution: filters must have rank 3, 4 or 5, received shape {tuple(w.shape)}.")
    return _convolution(_OP_NAMES[r], input, w, r, strides, padding, data_format, dilations,
                        explicit_ok=(r == 2), allow_batch_shape=(r < 3))


def _output_spatial(output_shape: Any, r: int, cf: bool, op: str) -> tuple:
    if isinstance(output_shape, Tensor):
        output_shape = backend.to_numpy(output_shape._value).tolist()
    dims = [int(d) for d in output_shape]
    if len(dims) == r + 2:
        return tuple(dims[2:] if cf else dims[1:-1]), (dims[1] if cf else dims[-1]), dims[0]
    if len(dims) == r:
        return tuple(dims), None, None
    raise ValueError(f"{op}: output_shape must have {r + 2} entries, received {output_shape!r}.")


def _conv_transpose(op: str, input: Any, filters: Any, output_shape: Any, r: int, strides: Any,  # noqa: A002
                    padding: Any, data_format: Any, dilations: Any) -> Tensor:
    x = float_operand(input, op)
    w = float_operand(filters, op, like=x)
    cf = channels_first(data_format, r, op)
    check_input_rank(x, r, op, cf, False)
    if len(w.shape) != r + 2:
        raise ValueError(
            f"{op}: expected filters of rank {r + 2} (spatial..., out_channels, in_channels), "
            f"received shape {tuple(w.shape)}."
        )
    st = spatial_ints(strides, r, op, "strides", cf)
    dil = spatial_ints(dilations, r, op, "dilations", cf)
    pad = parse_padding(padding, r, op, cf, explicit_ok=(r == 2))
    S, Cout, batch = _output_spatial(output_shape, r, cf, op)
    if cf:
        x = to_channels_last(x, r)
    if x.shape[-1] is not None and w.shape[-1] != x.shape[-1]:
        raise ValueError(
            f"{op}: the input has {x.shape[-1]} channels but the filters expect {w.shape[-1]} "
            f"(filters are (spatial..., out_channels, in_channels); received {tuple(w.shape)})."
        )
    if Cout is not None and Cout != w.shape[-2]:
        raise ValueError(
            f"{op}: output_shape has {Cout} channels but the filters produce {w.shape[-2]} "
            f"(filters shape {tuple(w.shape)})."
        )
    if batch is not None and x.shape[0] is not None and batch != x.shape[0]:
        raise ValueError(f"{op}: output_shape batch size {batch} does not match the input's "
                         f"{x.shape[0]}.")
    g = geometry(op, S, tuple(w.shape[:-2]), st, dil, pad)
    if None not in tuple(x.shape[1:-1]) and tuple(x.shape[1:-1]) != g.O:
        raise ValueError(
            f"{op}: output_shape {tuple(S)} is inconsistent with the input's spatial shape "
            f"{tuple(x.shape[1:-1])}: a convolution of the output with these strides and padding "
            f"gives {g.O}."
        )
    y = ConvBackpropInput(st, dil, pad, 1, S, _OP_NAMES[r])(x, w)
    return to_channels_first(y, r) if cf else y


def conv1d_transpose(input: Any, filters: Any, output_shape: Any, strides: Any,  # noqa: A002
                     padding: str = "SAME", data_format: str = "NWC", dilations: Any = None,
                     name: Any = None) -> Tensor:
    """Transposed 1-D convolution (the gradient of conv1d with respect to its input).

    Args:
        input: (N, W, in_channels). filters: (filter_width, out_channels, in_channels).
        output_shape: (N, out_width, out_channels).
    """
    return _conv_transpose("Conv1DTranspose", input, filters, output_shape, 1, strides, padding,
                           data_format, dilations)


def conv2d_transpose(input: Any, filters: Any, output_shape: Any, strides: Any,  # noqa: A002
                     padding: Any = "SAME", data_format: str = "NHWC", dilations: Any = None,
                     name: Any = None) -> Tensor:
    """Transposed 2-D convolution ("deconvolution"): the gradient of conv2d w.r.t. its input.

    Args:
        input: (N, H, W, in_channels). filters: (kh, kw, out_channels, in_channels).
        output_shape: (N, out_height, out_width, out_channels); conv2d of a tensor of this shape
            with the same strides and padding must give the input's spatial shape.
        strides: int or list of 1, 2 or 4 ints. padding: "SAME", "VALID" or explicit pairs.

    Returns:
        A tensor of `output_shape`.

    Example:
        >>> y = tf.nn.conv2d_transpose(tf.ones((1, 7, 7, 8)), tf.ones((3, 3, 4, 8)),
        ...                            (1, 14, 14, 4), 2)
    """
    return _conv_transpose("Conv2DTranspose", input, filters, output_shape, 2, strides, padding,
                           data_format, dilations)


def conv3d_transpose(input: Any, filters: Any, output_shape: Any, strides: Any,  # noqa: A002
                     padding: str = "SAME", data_format: str = "NDHWC", dilations: Any = None,
                     name: Any = None) -> Tensor:
    """Transposed 3-D convolution: filters (kd, kh, kw, out_channels, in_channels)."""
    return _conv_transpose("Conv3DTranspose", input, filters, output_shape, 3, strides, padding,
                           data_format, dilations)


def conv_transpose(input: Any, filters: Any, output_shape: Any, strides: Any,  # noqa: A002
                   padding: str = "SAME", data_format: Any = None, dilations: Any = None,
                   name: Any = None) -> Tensor:
    """Transposed N-D convolution; the spatial rank is len(output_shape) - 2."""
    if isinstance(output_shape, Tensor):
        n = int(output_shape.shape[0])
    else:
        n = len(output_shape)
    r = n - 2
    if r not in _OP_NAMES:
        raise ValueError(f"ConvTranspose: output_shape must have 3, 4 or 5 entries, received {n}.")
    name_ = {1: "Conv1DTranspose", 2: "Conv2DTranspose", 3: "Conv3DTranspose"}[r]
    return _conv_transpose(name_, input, filters, output_shape, r, strides, padding, data_format,
                           dilations)


def depthwise_conv2d(input: Any, filter: Any, strides: Any, padding: Any,  # noqa: A002
                     data_format: Any = None, dilations: Any = None, name: Any = None) -> Tensor:
    """Depthwise 2-D convolution: each input channel convolved with its own `multiplier` filters.

    Args:
        input: (N, H, W, C) ("NHWC", default) or (N, C, H, W) ("NCHW").
        filter: (kh, kw, C, multiplier).
        strides: list of 4 ints (or 1 / 2 ints). padding: "SAME", "VALID" or explicit pairs.
        dilations: 1 or 2 ints (the atrous rate).

    Returns:
        (N, H', W', C * multiplier); output channel c * multiplier + m uses filter[..., c, m].
    """
    op = "DepthwiseConv2dNative"
    x = float_operand(input, op)
    w = float_operand(filter, op, like=x)
    cf = channels_first(data_format, 2, op)
    check_input_rank(x, 2, op, cf, False)
    if len(w.shape) != 4:
        raise ValueError(f"{op}: expected a filter of rank 4 (kh, kw, in_channels, multiplier), "
                         f"received shape {tuple(w.shape)}.")
    C = x.shape[1] if cf else x.shape[-1]
    if C is not None and C != w.shape[2]:
        raise ValueError(
            f"{op}: the input has {C} channels but the filter expects {w.shape[2]} "
            f"(filter shape {tuple(w.shape)})."
        )
    kh, kw, cin, mult = tuple(w.shape)
    w_grouped = mv.reshape(w, (kh, kw, 1, cin * mult))
    st = spatial_ints(strides, 2, op, "strides", cf)
    dil = spatial_ints(dilations, 2, op, "dilations", cf)
    pad = parse_padding(padding, 2, op, cf)
    if cf:
        x = to_channels_last(x, 2)
    _check_geometry(op, tuple(x.shape[1:-1]), (kh, kw), st, dil, pad)
    y = Conv(st, dil, pad, cin, op)(x, w_grouped)
    return to_channels_first(y, 2) if cf else y


def separable_conv2d(input: Any, depthwise_filter: Any, pointwise_filter: Any, strides: Any,  # noqa: A002
                     padding: Any, data_format: Any = None, dilations: Any = None,
                     name: Any = None) -> Tensor:
    """Depthwise convolution followed by a 1x1 convolution mixing channels.

    Args:
        depthwise_filter: (kh, kw, C, multiplier). pointwise_filter: (1, 1, C * multiplier, out).
        strides, padding, dilations: of the depthwise step.
    """
    pw = float_operand(pointwise_filter, "SeparableConv2D")
    if len(pw.shape) != 4 or tuple(pw.shape[:2]) != (1, 1):
        raise ValueError("SeparableConv2D: pointwise_filter must have shape (1, 1, C * multiplier, "
                         f"out_channels), received {tuple(pw.shape)}.")
    h = depthwise_conv2d(input, depthwise_filter, strides, padding, data_format, dilations)
    return conv2d(h, pw, 1, "VALID", data_format or "NHWC")


def conv2d_backprop_input(input_sizes: Any, filters: Any, out_backprop: Any, strides: Any,
                          padding: Any, data_format: str = "NHWC", dilations: Any = None,
                          name: Any = None) -> Tensor:
    """The gradient of conv2d with respect to its input (`tf.compat.v1.nn.conv2d_backprop_input`)."""
    return conv2d_transpose(out_backprop, filters, input_sizes, strides, padding, data_format,
                            dilations)


def conv2d_backprop_filter(input: Any, filter_sizes: Any, out_backprop: Any, strides: Any,  # noqa: A002
                           padding: Any, data_format: str = "NHWC", dilations: Any = None,
                           name: Any = None) -> Tensor:
    """The gradient of conv2d with respect to its filter: a tensor of shape `filter_sizes`."""
    op = "Conv2DBackpropFilter"
    x = float_operand(input, op)
    dy = float_operand(out_backprop, op, like=x)
    cf = channels_first(data_format, 2, op)
    st = spatial_ints(strides, 2, op, "strides", cf)
    dil = spatial_ints(dilations, 2, op, "dilations", cf)
    pad = parse_padding(padding, 2, op, cf)
    if isinstance(filter_sizes, Tensor):
        filter_sizes = backend.to_numpy(filter_sizes._value).tolist()
    fs = tuple(int(d) for d in filter_sizes)
    if cf:
        x, dy = to_channels_last(x, 2), to_channels_last(dy, 2)
    groups = x.shape[-1] // fs[-2]
    return ConvBackpropFilter(st, dil, pad, groups, fs, "Conv2D")(x, dy)


__all__ = [
    "conv1d", "conv2d", "conv3d", "convolution", "conv1d_transpose", "conv2d_transpose",
    "conv3d_transpose", "conv_transpose", "depthwise_conv2d", "separable_conv2d",
    "conv2d_backprop_input", "conv2d_backprop_filter",
]
