"""More convolution entry points of `tf.nn`: atrous_conv2d_transpose, the depthwise backprops
(the gradients of depthwise_conv2d as functions), and with_space_to_batch (running an op on a
dilated grid through space_to_batch_nd / batch_to_space).

Each is written with the engine's differentiable ops (the backprops through a tape), so all are
differentiable again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.tensor import Tensor


def atrous_conv2d_transpose(value: Any, filters: Any, output_shape: Any, rate: int, padding: str,
                            name: Any = None) -> Tensor:
    """The transpose of `atrous_conv2d`: conv2d_transpose with stride 1 and dilation `rate`.

    Args:
        value: (N, H, W, in_channels). filters: (kh, kw, out_channels, in_channels).
        output_shape: [N, H', W', out_channels]. rate: the dilation (>= 1).
    """
    from tapeflow.ops.conv import conv2d_transpose

    rate = int(rate)
    if rate < 1:
        raise ValueError(f"atrous_conv2d_transpose: rate must be a positive integer, received {rate}.")
    return conv2d_transpose(value, filters, output_shape, strides=1, padding=padding, dilations=rate)


def _sizes(sizes: Any) -> list[int]:
    a = backend.to_numpy(sizes._value) if isinstance(sizes, Tensor) else np.asarray(sizes)
    return [int(v) for v in a.reshape(-1)]


def _depthwise_vjp(x: Any, w: Any, dy: Any, wrt: str, strides: Any, padding: Any, data_format: Any,
                   dilations: Any) -> Tensor:
    from tapeflow.autodiff.tape import GradientTape
    from tapeflow.ops.conv import depthwise_conv2d

    with GradientTape() as tape:
        tape.watch(x if wrt == "input" else w)
        y = depthwise_conv2d(x, w, strides, padding, data_format=data_format, dilations=dilations)
    grad = tape.gradient(y, x if wrt == "input" else w, output_gradients=dy)
    return grad


def depthwise_conv2d_backprop_input(input_sizes: Any, filter: Any, out_backprop: Any, strides: Any,  # noqa: A002
                                    padding: Any, data_format: str = "NHWC", dilations: Any = None,
                                    name: Any = None) -> Tensor:
    """The gradient of `depthwise_conv2d` with respect to its input (of shape `input_sizes`),
    given the output gradient `out_backprop`."""
    from tapeflow.ops import elementwise as ew
    from tapeflow.ops.conv import float_operand

    w = float_operand(filter, "DepthwiseConv2dNativeBackpropInput")
    dy = float_operand(out_backprop, "DepthwiseConv2dNativeBackpropInput", like=w)
    zeros = ew.zeros_like_t(Tensor(backend.get_xp(w._value).zeros(_sizes(input_sizes), w.dtype._np)))
    return _depthwise_vjp(zeros, w, dy, "input", strides, padding, data_format, dilations)


def depthwise_conv2d_backprop_filter(input: Any, filter_sizes: Any, out_backprop: Any, strides: Any,  # noqa: A002
                                     padding: Any, data_format: str = "NHWC", dilations: Any = None,
                                     name: Any = None) -> Tensor:
    """The gradient of `depthwise_conv2d` with respect to its filter (of shape `filter_sizes`),
    given the input and the output gradient `out_backprop`."""
    from tapeflow.ops.conv import float_operand

    x = float_operand(input, "DepthwiseConv2dNativeBackpropFilter")
    dy = float_operand(out_backprop, "DepthwiseConv2dNativeBackpropFilter", like=x)
    w = Tensor(backend.get_xp(x._value).zeros(_sizes(filter_sizes), x.dtype._np))
    return _depthwise_vjp(x, w, dy, "filter", strides, padding, data_format, dilations)


def with_space_to_batch(input: Any, dilation_rate: Any, padding: str, op: Callable, filter_shape: Any = None,  # noqa: A002
                        spatial_dims: Any = None, data_format: Any = None) -> Tensor:
    """Run `op(converted_input, num_spatial_dims, padding)` on the input sampled at stride
    `dilation_rate` (space_to_batch_nd), then put the result back (batch_to_space): how a dilated
    op is built from an undilated one.

    Args:
        dilation_rate: [num_spatial_dims] ints. padding: "SAME" (needs `filter_shape`) or "VALID".
        spatial_dims: increasing dims >= 1 (default 1..num_spatial_dims, or 2.. for "NC" formats).
    """
    from tapeflow.array_extra import batch_to_space, required_space_to_batch_paddings, space_to_batch_nd
    from tapeflow.ops import elementwise as ew

    x = ew.unary_operand(input, "with_space_to_batch")
    rate = np.asarray(_sizes(dilation_rate), np.int64)
    n = rate.size
    if padding not in ("SAME", "VALID"):
        raise ValueError(f"with_space_to_batch: padding must be 'SAME' or 'VALID', received {padding!r}.")
    if (rate < 1).any():
        raise ValueError(f"with_space_to_batch: dilation_rate must be positive, received {rate.tolist()}.")
    if (rate == 1).all():
        return op(x, n, padding)
    start = 2 if data_format is not None and str(data_format).startswith("NC") else 1
    dims = list(range(start, start + n)) if spatial_dims is None else [int(d) for d in spatial_dims]
    if len(dims) != n or any(b <= a for a, b in zip(dims, dims[1:], strict=False)) or dims[0] < 1 or \
            dims[-1] >= len(x.shape):
        raise ValueError(f"with_space_to_batch: spatial_dims must be {n} increasing dims in [1, {len(x.shape)}), "
                         f"received {dims}.")
    if padding == "SAME":
        if filter_shape is None:
            raise ValueError("with_space_to_batch: filter_shape must be specified for SAME padding.")
        fs = np.asarray(_sizes(filter_shape)[:n], np.int64)
        extra = (fs - 1) * rate
        base = np.stack([extra // 2, extra - extra // 2], 1)
    else:
        base = np.zeros((n, 2), np.int64)
    spatial = [int(x.shape[d]) for d in dims]
    pads, crops = required_space_to_batch_paddings(spatial, rate, base)
    pads, crops = backend.to_numpy(pads._value), backend.to_numpy(crops._value)
    # block dims run contiguously from dims[0]; dims in between (not spatial) get block 1
    span = list(range(dims[0], dims[-1] + 1))
    block = [int(rate[dims.index(d)]) if d in dims else 1 for d in span]
    full_pads = [pads[dims.index(d)].tolist() if d in dims else [0, 0] for d in span]
    full_crops = [crops[dims.index(d)].tolist() if d in dims else [0, 0] for d in span]
    if dims[0] != 1:
        from tapeflow.ops import movement as mv

        perm = [0] + list(range(dims[0], len(x.shape))) + list(range(1, dims[0]))
        inv = [perm.index(i) for i in range(len(x.shape))]
        moved = space_to_batch_nd(mv.transpose(x, perm), block, full_pads)
        result = op(mv.transpose(moved, inv), n, "VALID")
        return mv.transpose(batch_to_space(mv.transpose(result, perm), block, full_crops), inv)
    result = op(space_to_batch_nd(x, block, full_pads), n, "VALID")
    return batch_to_space(result, block, full_crops)
