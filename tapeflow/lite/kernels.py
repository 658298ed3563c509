"""NumPy kernels for TFLite builtin operators, with TFLite's semantics: NHWC, filters laid out
[out, h, w, in] (CONV_2D), [1, h, w, in*multiplier] (DEPTHWISE_CONV_2D) and [out, in]
(FULLY_CONNECTED), SAME padding split with the extra row/column after, fused activations.

Each kernel takes `(inputs, options)`: the input arrays (None for an omitted optional input) and the
operator's option fields as a dict, and returns a list of output arrays."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import errors
from tapeflow.lite.schema import ACTIVATION_NAMES, PADDING_SAME


def fused_activation(x: np.ndarray, code: int, op: str) -> np.ndarray:
    name = ACTIVATION_NAMES.get(code, str(code))
    if name == "NONE":
        return x
    if name == "RELU":
        return np.maximum(x, 0)
    if name == "RELU6":
        return np.clip(x, 0, 6)
    if name == "RELU_N1_TO_1":
        return np.clip(x, -1, 1)
    if name == "TANH":
        return np.tanh(x)
    raise errors.UnimplementedError(
        None, None, f"{op}: fused activation {name} is not supported by Tapeflow's TFLite interpreter "
        "(it runs NONE, RELU, RELU6, RELU_N1_TO_1 and TANH).")


def _pads(size: int, k: int, stride: int, dilation: int, padding: int) -> tuple[int, int, int]:
    """(output size, pad before, pad after) along one spatial axis, as TFLite computes them."""
    eff = (k - 1) * dilation + 1
    if padding == PADDING_SAME:
        out = -(-size // stride)
        total = max((out - 1) * stride + eff - size, 0)
        return out, total // 2, total - total // 2
    return (size - eff) // stride + 1, 0, 0


def _windows(x: np.ndarray, kh: int, kw: int, o: dict, pad_value: float) -> np.ndarray:
    """Patches of NHWC `x`: shape (n, out_h, out_w, c, kh, kw)."""
    sh, sw = o.get("stride_h", 1) or 1, o.get("stride_w", 1) or 1
    dh, dw = o.get("dilation_h_factor", 1) or 1, o.get("dilation_w_factor", 1) or 1
    oh, ph0, ph1 = _pads(x.shape[1], kh, sh, dh, o.get("padding", 0))
    ow, pw0, pw1 = _pads(x.shape[2], kw, sw, dw, o.get("padding", 0))
    if ph0 or ph1 or pw0 or pw1:
        x = np.pad(x, ((0, 0), (ph0, ph1), (pw0, pw1), (0, 0)), constant_values=pad_value)
    win = np.lib.stride_tricks.sliding_window_view(x, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(1, 2))
    return win[:, : (oh - 1) * sh + 1: sh, : (ow - 1) * sw + 1: sw, :, ::dh, ::dw]


def conv_2d(inputs: list, o: dict) -> list:
    x, w, b = inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else None
    cout, kh, kw, cin = w.shape
    if x.shape[3] != cin:
        raise errors.UnimplementedError(
            None, None, f"CONV_2D: grouped convolution (input has {x.shape[3]} channels, filter {cin}) "
            "is not supported by Tapeflow's TFLite interpreter.")
    win = _windows(x, kh, kw, o, 0.0)  # n, oh, ow, cin, kh, kw
    y = np.tensordot(win, w.transpose(3, 1, 2, 0), axes=([3, 4, 5], [0, 1, 2]))
    if b is not None:
        y = y + b
    return [fused_activation(y.astype(x.dtype), o.get("fused_activation_function", 0), "CONV_2D")]


def depthwise_conv_2d(inputs: list, o: dict) -> list:
    x, w, b = inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else None
    _, kh, kw, cm = w.shape
    c = x.shape[3]
    mult = cm // c
    win = _windows(x, kh, kw, o, 0.0)  # n, oh, ow, c, kh, kw
    wk = w.reshape(kh, kw, c, mult)
    y = np.einsum("nhwcij,ijcm->nhwcm", win, wk).reshape(win.shape[:3] + (cm,))
    if b is not None:
        y = y + b
    return [fused_activation(y.astype(x.dtype), o.get("fused_activation_function", 0), "DEPTHWISE_CONV_2D")]


def _pool(inputs: list, o: dict, op: str) -> list:
    x = inputs[0]
    kh, kw = o.get("filter_height", 1), o.get("filter_width", 1)
    if op == "MAX_POOL_2D":
        y = _windows(x, kh, kw, o, -np.inf).max(axis=(4, 5))
    else:  # the mean over the window's elements inside the input (padding not counted)
        s = _windows(x, kh, kw, o, 0.0).sum(axis=(4, 5))
        count = _windows(np.ones((1,) + x.shape[1:3] + (1,), x.dtype), kh, kw, o, 0.0).sum(axis=(4, 5))
        y = s / count
    return [fused_activation(y.astype(x.dtype), o.get("fused_activation_function", 0), op)]


def fully_connected(inputs: list, o: dict) -> list:
    x, w, b = inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else None
    y = x.reshape(-1, w.shape[1]) @ w.T
    if b is not None:
        y = y + b
    if o.get("keep_num_dims"):
        y = y.reshape(x.shape[:-1] + (w.shape[0],))
    return [fused_activation(y.astype(x.dtype), o.get("fused_activation_function", 0), "FULLY_CONNECTED")]


def _binary(fn: Callable, op: str) -> Callable:
    def kernel(inputs: list, o: dict) -> list:
        a, b = inputs
        y = fn(a, b)
        if a.dtype.kind in "iu" and op == "DIV":
            y = np.trunc(y)
        return [fused_activation(y.astype(a.dtype), o.get("fused_activation_function", 0), op)]
    return kernel


def softmax(inputs: list, o: dict) -> list:
    x = inputs[0] * np.float32(o.get("beta", 1.0))
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return [(e / e.sum(axis=-1, keepdims=True)).astype(inputs[0].dtype)]


def reshape(inputs: list, o: dict) -> list:
    x = inputs[0]
    shape = inputs[1] if len(inputs) > 1 and inputs[1] is not None else o.get("new_shape")
    return [x.reshape(tuple(int(s) for s in np.asarray(shape).reshape(-1)))]


def _reduce(fn: Callable, op: str) -> Callable:
    def kernel(inputs: list, o: dict) -> list:
        x, axes = inputs
        axes = tuple(int(a) % x.ndim for a in np.asarray(axes).reshape(-1))
        return [np.asarray(fn(x, axis=axes, keepdims=bool(o.get("keep_dims")))).astype(x.dtype)]
    return kernel


def concatenation(inputs: list, o: dict) -> list:
    y = np.concatenate(inputs, axis=o.get("axis", 0))
    return [fused_activation(y, o.get("fused_activation_function", 0), "CONCATENATION")]


def strided_slice(inputs: list, o: dict) -> list:
    x, begin, end, strides = inputs
    if o.get("ellipsis_mask") or o.get("new_axis_mask"):
        raise errors.UnimplementedError(
            None, None, "STRIDED_SLICE: ellipsis_mask and new_axis_mask are not supported by Tapeflow's "
            "TFLite interpreter.")
    index = []
    for i in range(len(begin)):
        bm, em, sm = (o.get(k, 0) >> i & 1 for k in ("begin_mask", "end_mask", "shrink_axis_mask"))
        if sm:
            index.append(int(begin[i]))
            continue
        index.append(slice(None if bm else int(begin[i]), None if em else int(end[i]), int(strides[i])))
    return [np.asarray(x[tuple(index)])]


def pack(inputs: list, o: dict) -> list:
    return [np.stack(inputs, axis=o.get("axis", 0))]


def shape(inputs: list, o: dict) -> list:
    from tapeflow.lite.schema import TENSOR_TYPES

    return [np.asarray(inputs[0].shape, dtype=TENSOR_TYPES[o.get("out_type", 2)])]


def squeeze(inputs: list, o: dict) -> list:
    dims = o.get("squeeze_dims")
    x = inputs[0]
    if dims is None or len(dims) == 0:
        return [np.squeeze(x)]
    return [np.squeeze(x, axis=tuple(int(d) for d in dims))]


def batch_matmul(inputs: list, o: dict) -> list:
    a, b = inputs
    if o.get("adj_x"):
        a = np.swapaxes(a, -1, -2)
    if o.get("adj_y"):
        b = np.swapaxes(b, -1, -2)
    return [np.matmul(a, b).astype(inputs[0].dtype)]


def _unary(fn: Callable) -> Callable:
    return lambda inputs, o: [np.asarray(fn(inputs[0])).astype(inputs[0].dtype)]


def transpose_conv(inputs: list, o: dict) -> list:
    """The gradient of CONV_2D with respect to its input: each input pixel scatters its filter."""
    out_shape, w, x = inputs[0], inputs[1], inputs[2]
    b = inputs[3] if len(inputs) > 3 else None
    n, h, wd, _ = x.shape
    cout, kh, kw, _ = w.shape
    sh, sw = o.get("stride_h", 1) or 1, o.get("stride_w", 1) or 1
    oh, ow = int(out_shape[1]), int(out_shape[2])
    full = np.zeros((n, max((h - 1) * sh + kh, oh), max((wd - 1) * sw + kw, ow), cout), x.dtype)
    for i in range(kh):
        for j in range(kw):
            full[:, i: i + (h - 1) * sh + 1: sh, j: j + (wd - 1) * sw + 1: sw, :] += x @ w[:, i, j, :].T
    top = left = 0
    if o.get("padding", 0) == PADDING_SAME:
        top = max((h - 1) * sh + kh - oh, 0) // 2
        left = max((wd - 1) * sw + kw - ow, 0) // 2
    y = full[:, top: top + oh, left: left + ow, :]
    if b is not None:
        y = y + b
    return [fused_activation(y.astype(x.dtype), o.get("fused_activation_function", 0), "TRANSPOSE_CONV")]


def _source_positions(out_size: int, in_size: int, o: dict) -> np.ndarray:
    if o.get("align_corners") and out_size > 1:
        scale = (in_size - 1) / (out_size - 1)
    else:
        scale = in_size / out_size
    pos = np.arange(out_size, dtype=np.float64)
    return (pos + 0.5) * scale - 0.5 if o.get("half_pixel_centers") else pos * scale


def resize_bilinear(inputs: list, o: dict) -> list:
    x, size = inputs
    out = []
    y = x.astype(np.float64)
    for axis, n in ((1, int(size[0])), (2, int(size[1]))):
        src = _source_positions(n, x.shape[axis], o)
        lo = np.floor(src)
        frac = (src - lo).reshape((-1, 1) if axis == 1 else (-1, 1))
        i0 = np.clip(lo, 0, x.shape[axis] - 1).astype(np.int64)
        i1 = np.clip(np.ceil(src), 0, x.shape[axis] - 1).astype(np.int64)
        a, c = np.take(y, i0, axis=axis), np.take(y, i1, axis=axis)
        shape = [1, 1, 1, 1]
        shape[axis] = n
        frac = frac.reshape(shape)
        y = a + (c - a) * frac
    out.append(y.astype(x.dtype))
    return out


def resize_nearest(inputs: list, o: dict) -> list:
    x, size = inputs
    y = x
    for axis, n in ((1, int(size[0])), (2, int(size[1]))):
        in_size = x.shape[axis]
        scale = (in_size - 1) / (n - 1) if o.get("align_corners") and n > 1 else in_size / n
        pos = (np.arange(n) + (0.5 if o.get("half_pixel_centers") else 0.0)) * scale
        idx = np.round(pos) if o.get("align_corners") else np.floor(pos)
        y = np.take(y, np.clip(idx, 0, in_size - 1).astype(np.int64), axis=axis)
    return [y]


def cast(inputs: list, o: dict) -> list:
    """To `out_data_type` when the options say; the interpreter also casts to the output tensor's type."""
    from tapeflow.lite.schema import TENSOR_TYPES

    if "out_data_type" in o:
        return [inputs[0].astype(TENSOR_TYPES[o["out_data_type"]])]
    return [inputs[0]]


def gather(inputs: list, o: dict) -> list:
    params, indices = inputs
    if o.get("batch_dims", 0):
        raise errors.UnimplementedError(None, None, "GATHER with batch_dims is not supported by Tapeflow's "
                                        "TFLite interpreter.")
    return [np.take(params, indices.astype(np.int64), axis=o.get("axis", 0))]


def gelu(inputs: list, o: dict) -> list:
    x = inputs[0]
    if o.get("approximate"):
        y = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    else:
        from math import erf

        y = 0.5 * x * (1 + np.vectorize(erf, otypes=[np.float64])(x.astype(np.float64) / np.sqrt(2.0)))
    return [y.astype(x.dtype)]


def dequantize(inputs: list, o: dict) -> list:
    """float16 weights to float32 (TF's float16 post-training quantization); integer quantization
    is refused."""
    x = inputs[0]
    if x.dtype != np.float16:
        raise errors.UnimplementedError(
            None, None, f"DEQUANTIZE of a {x.dtype.name} tensor: integer-quantized models are not "
            "supported by Tapeflow's TFLite interpreter (float32 and float16-weight models are).")
    return [x.astype(np.float32)]


KERNELS: dict[str, Callable[[list, dict], list]] = {
    "ADD": _binary(np.add, "ADD"),
    "SUB": _binary(np.subtract, "SUB"),
    "MUL": _binary(np.multiply, "MUL"),
    "DIV": _binary(np.divide, "DIV"),
    "MAXIMUM": lambda inputs, o: [np.maximum(*inputs)],
    "MINIMUM": lambda inputs, o: [np.minimum(*inputs)],
    "DEQUANTIZE": dequantize,
    "CONV_2D": conv_2d,
    "DEPTHWISE_CONV_2D": depthwise_conv_2d,
    "MAX_POOL_2D": lambda inputs, o: _pool(inputs, o, "MAX_POOL_2D"),
    "AVERAGE_POOL_2D": lambda inputs, o: _pool(inputs, o, "AVERAGE_POOL_2D"),
    "FULLY_CONNECTED": fully_connected,
    "SOFTMAX": softmax,
    "RESHAPE": reshape,
    "MEAN": _reduce(np.mean, "MEAN"),
    "SUM": _reduce(np.sum, "SUM"),
    "REDUCE_MAX": _reduce(np.max, "REDUCE_MAX"),
    "REDUCE_PROD": _reduce(np.prod, "REDUCE_PROD"),
    "SQUARED_DIFFERENCE": lambda inputs, o: [np.square(inputs[0] - inputs[1])],
    "LESS": lambda inputs, o: [np.less(*inputs)],
    "LESS_EQUAL": lambda inputs, o: [np.less_equal(*inputs)],
    "GREATER": lambda inputs, o: [np.greater(*inputs)],
    "GREATER_EQUAL": lambda inputs, o: [np.greater_equal(*inputs)],
    "EQUAL": lambda inputs, o: [np.equal(*inputs)],
    "NOT_EQUAL": lambda inputs, o: [np.not_equal(*inputs)],
    "SELECT_V2": lambda inputs, o: [np.where(*inputs)],
    "CAST": cast,
    "GATHER": gather,
    "TRANSPOSE_CONV": transpose_conv,
    "RESIZE_BILINEAR": resize_bilinear,
    "RESIZE_NEAREST_NEIGHBOR": resize_nearest,
    "GELU": gelu,
    "NEG": _unary(np.negative),
    "ELU": _unary(lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
    "TILE": lambda inputs, o: [np.tile(inputs[0], [int(m) for m in inputs[1]])],
    "SLICE": lambda inputs, o: [inputs[0][tuple(slice(int(b), None if int(n) < 0 else int(b) + int(n))
                                                for b, n in zip(inputs[1], inputs[2], strict=True))]],
    "CONCATENATION": concatenation,
    "STRIDED_SLICE": strided_slice,
    "PACK": pack,
    "SHAPE": shape,
    "SQUEEZE": squeeze,
    "EXPAND_DIMS": lambda inputs, o: [np.expand_dims(inputs[0], int(np.asarray(inputs[1]).reshape(-1)[0]))],
    "TRANSPOSE": lambda inputs, o: [np.transpose(inputs[0], [int(p) for p in inputs[1]])],
    "PAD": lambda inputs, o: [np.pad(inputs[0], [tuple(int(v) for v in p) for p in inputs[1]])],
    "BATCH_MATMUL": batch_matmul,
    "RELU": _unary(lambda x: np.maximum(x, 0)),
    "RELU6": _unary(lambda x: np.clip(x, 0, 6)),
    "LOGISTIC": _unary(lambda x: 1 / (1 + np.exp(-x))),
    "TANH": _unary(np.tanh),
    "EXP": _unary(np.exp),
    "SQRT": _unary(np.sqrt),
    "RSQRT": _unary(lambda x: 1 / np.sqrt(x)),
    "LEAKY_RELU": lambda inputs, o: [np.where(inputs[0] >= 0, inputs[0],
                                              inputs[0] * np.float32(o.get("alpha", 0.0))).astype(inputs[0].dtype)],
    "HARD_SWISH": _unary(lambda x: x * np.clip(x + 3, 0, 6) / 6),
}


def run(op: str, inputs: list, options: dict) -> Any:
    kernel = KERNELS.get(op)
    if kernel is None:
        raise errors.UnimplementedError(
            None, None, f"TFLite operator {op} is not supported by Tapeflow's TFLite interpreter "
            f"(it runs {', '.join(sorted(KERNELS))}).")
    return kernel(inputs, options)
