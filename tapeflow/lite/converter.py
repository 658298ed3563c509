"""`tf.lite.TFLiteConverter`: lowers a float32 Keras model, layer by layer, to TFLite builtin
operators and writes the .tflite flatbuffer with a `serving_default` SignatureDef.

Each layer's lowering also runs the NumPy kernel on a batch-1 probe, which gives every tensor its
shape (the batch dimension is written as -1 in `shape_signature`, as TF's converter does)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import errors
from tapeflow.lite import kernels
from tapeflow.lite.flatbuffer import Builder, Table, TableVector, Vector
from tapeflow.lite.schema import (
    ACTIVATIONS,
    BUILTIN_OPERATORS,
    BUILTIN_OPTIONS,
    FILE_IDENTIFIER,
    OPTION_FIELDS,
    OPTION_VECTORS,
    PADDING_SAME,
    PADDING_VALID,
    SCHEMA_VERSION,
    TYPE_CODES,
    Field,
)


def _unsupported(what: str, why: str) -> errors.UnimplementedError:
    return errors.UnimplementedError(None, None, f"TFLiteConverter: {what} is not supported: {why}")


class _Value:
    """A tensor of the TFLite graph being built: its index and its batch-1 probe value."""

    __slots__ = ("index", "probe")

    def __init__(self, index: int, probe: np.ndarray) -> None:
        self.index = index
        self.probe = probe


class _Graph:
    """The tensors, operators and buffers of one subgraph under construction."""

    def __init__(self) -> None:
        self.tensors: list[dict] = []
        self.buffers: list[bytes] = [b""]  # buffer 0: the empty buffer of non-constant tensors
        self.ops: list[tuple] = []
        self.opcodes: list[str] = []

    def tensor(self, name: str, probe: np.ndarray, batch: bool, data: bytes | None = None) -> int:
        shape = [int(s) for s in probe.shape]
        signature = ([-1] + shape[1:]) if batch and shape else shape
        buffer = 0
        if data is not None:
            self.buffers.append(data)
            buffer = len(self.buffers) - 1
        self.tensors.append({"name": name, "shape": shape, "signature": signature,
                             "type": TYPE_CODES[probe.dtype], "buffer": buffer})
        return len(self.tensors) - 1

    def const(self, name: str, array: Any, dtype: Any = np.float32) -> _Value:
        array = np.array(array, dtype=dtype, order="C")  # (ascontiguousarray would make scalars 1-d)
        return _Value(self.tensor(name, array, batch=False, data=array.astype(array.dtype.newbyteorder("<")).tobytes()),
                      array)

    def op(self, op: str, inputs: list, name: str, **options: Any) -> _Value:
        probe = kernels.run(op, [v.probe for v in inputs], options)[0]
        out = _Value(self.tensor(name, np.asarray(probe), batch=True), np.asarray(probe))
        if op not in self.opcodes:
            self.opcodes.append(op)
        self.ops.append((op, [v.index for v in inputs], [out.index], options))
        return out


# -- layer lowerings --------------------------------------------------------------------------

_FUSED = {"linear": "NONE", "relu": "RELU", "relu6": "RELU6"}  # what FULLY_CONNECTED fuses
_SEPARATE = {"sigmoid": "LOGISTIC", "softmax": "SOFTMAX", "relu": "RELU", "relu6": "RELU6", "tanh": "TANH",
             "hard_swish": "HARD_SWISH"}

# layers that are the identity at inference (Keras runs them with training=False when exporting)
_IDENTITY = {
    "InputLayer", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
    "GaussianDropout", "AlphaDropout", "ActivityRegularization", "RandomFlip", "RandomRotation",
    "RandomZoom", "RandomTranslation", "RandomBrightness", "RandomContrast",
}


def _activation_name(layer: Any, fn: Any) -> str:
    name = getattr(fn, "__name__", None) or type(fn).__name__
    if name in _FUSED or name in _SEPARATE:
        return name
    raise _unsupported(f"activation '{name}' of layer '{layer.name}' ({type(layer).__name__})",
                       f"the converter lowers {sorted(set(_FUSED) | set(_SEPARATE))}.")


def _activate(g: _Graph, x: _Value, name: str, act: str) -> _Value:
    if act == "linear":
        return x
    op = _SEPARATE[act]
    return g.op(op, [x], f"{name}/{op.title()}", **({"beta": 1.0} if op == "SOFTMAX" else {}))


def _weights(v: Any) -> np.ndarray:
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v, dtype=np.float32)


def _check_channels_last(layer: Any) -> None:
    fmt = getattr(layer, "data_format", "channels_last")
    if fmt != "channels_last":
        raise _unsupported(f"data_format='{fmt}' of layer '{layer.name}'",
                           "TFLite operators are NHWC; use channels_last.")


def _padding(layer: Any) -> int:
    pad = str(layer.padding).lower()
    if pad not in ("same", "valid"):
        raise _unsupported(f"padding='{pad}' of layer '{layer.name}'", "TFLite pads 'same' or 'valid'.")
    return PADDING_SAME if pad == "same" else PADDING_VALID


def _dense(g: _Graph, layer: Any, x: _Value, name: str) -> _Value:
    act = _activation_name(layer, layer.activation)
    kernel = layer._effective_kernel() if getattr(layer, "lora_enabled", False) else layer.kernel  # LoRA merged
    w = g.const(f"{name}/MatMul", _weights(kernel).T)
    ins = [x, w] + ([g.const(f"{name}/BiasAdd/ReadVariableOp", _weights(layer.bias))] if layer.use_bias else [])
    fused = _FUSED.get(act, "NONE")
    y = g.op("FULLY_CONNECTED", ins, f"{name}/BiasAdd" if fused == "NONE" else f"{name}/{fused.title()}",
             fused_activation_function=ACTIVATIONS[fused], keep_num_dims=x.probe.ndim > 2)
    return y if act in _FUSED else _activate(g, y, name, act)


def _conv(g: _Graph, layer: Any, x: _Value, name: str, depthwise: bool) -> _Value:
    _check_channels_last(layer)
    if x.probe.ndim != 4:
        raise _unsupported(f"layer '{layer.name}' on a rank-{x.probe.ndim} input", "2D convolutions need NHWC.")
    if getattr(layer, "groups", 1) != 1:
        raise _unsupported(f"groups={layer.groups} of layer '{layer.name}'", "TFLite CONV_2D has no groups.")
    act = _activation_name(layer, layer.activation)
    kernel = _weights(layer.kernel)  # (kh, kw, in, out) or (kh, kw, in, multiplier)
    options = {"padding": _padding(layer), "stride_h": int(layer.strides[0]), "stride_w": int(layer.strides[1]),
               "dilation_h_factor": int(layer.dilation_rate[0]), "dilation_w_factor": int(layer.dilation_rate[1])}
    if depthwise:
        kh, kw, c, m = kernel.shape
        w = g.const(f"{name}/depthwise", kernel.reshape(1, kh, kw, c * m))
        options["depth_multiplier"] = int(m)
        op, out = "DEPTHWISE_CONV_2D", c * m
    else:
        w = g.const(f"{name}/convolution", kernel.transpose(3, 0, 1, 2))
        op, out = "CONV_2D", kernel.shape[3]
    bias = _weights(layer.bias) if layer.use_bias else np.zeros(out, np.float32)
    b = g.const(f"{name}/BiasAdd/ReadVariableOp", bias)  # TFLite's float kernels expect a bias
    fused = _FUSED.get(act, "NONE")
    y = g.op(op, [x, w, b], f"{name}/{fused.title() if fused != 'NONE' else 'BiasAdd'}",
             fused_activation_function=ACTIVATIONS[fused], **options)
    return y if act in _FUSED else _activate(g, y, name, act)


def _conv_transpose(g: _Graph, layer: Any, x: _Value, name: str) -> _Value:
    _check_channels_last(layer)
    if getattr(layer, "output_padding", None) is not None or tuple(layer.dilation_rate) != (1, 1):
        raise _unsupported(f"Conv2DTranspose layer '{layer.name}' with output_padding/dilation_rate",
                           "TFLite TRANSPOSE_CONV has neither.")
    act = _activation_name(layer, layer.activation)
    kernel = _weights(layer.kernel)  # (kh, kw, out, in)
    (kh, kw), (sh, sw) = kernel.shape[:2], tuple(int(s) for s in layer.strides)
    n, h, w, _ = x.probe.shape
    if _padding(layer) == PADDING_SAME:
        oh, ow = h * sh, w * sw
    else:
        oh, ow = (h - 1) * sh + max(kh, sh), (w - 1) * sw + max(kw, sw)
    # the output shape, batch included, computed at run time so any batch size works
    shape = g.op("SHAPE", [x], f"{name}/Shape", out_type=2)
    batch = g.op("STRIDED_SLICE", [shape, g.const(f"{name}/stack", [0], np.int32),
                                   g.const(f"{name}/stack_1", [1], np.int32),
                                   g.const(f"{name}/stack_2", [1], np.int32)], f"{name}/strided_slice",
                 shrink_axis_mask=1)
    dims = [g.const(f"{name}/stack/{i}", d, np.int32) for i, d in enumerate((oh, ow, kernel.shape[2]), 1)]
    out_shape = g.op("PACK", [batch, *dims], f"{name}/stack", values_count=4, axis=0)
    w_t = g.const(f"{name}/conv_transpose", kernel.transpose(2, 0, 1, 3))  # (out, kh, kw, in)
    ins = [out_shape, w_t, x]
    if layer.use_bias:
        ins.append(g.const(f"{name}/BiasAdd/ReadVariableOp", _weights(layer.bias)))
    fused = _FUSED.get(act, "NONE")
    y = g.op("TRANSPOSE_CONV", ins, f"{name}/conv_transpose1", padding=_padding(layer), stride_h=sh,
             stride_w=sw, fused_activation_function=ACTIVATIONS[fused])
    return y if act in _FUSED else _activate(g, y, name, act)


def _conv1d(g: _Graph, layer: Any, x: _Value, name: str) -> _Value:
    """As TF lowers it: EXPAND_DIMS to (n, 1, length, channels), CONV_2D, SQUEEZE."""
    _check_channels_last(layer)
    if getattr(layer, "groups", 1) != 1:
        raise _unsupported(f"groups={layer.groups} of layer '{layer.name}'", "TFLite CONV_2D has no groups.")
    act = _activation_name(layer, layer.activation)
    kernel = _weights(layer.kernel)  # (k, in, out)
    k, d = kernel.shape[0], int(layer.dilation_rate[0])
    pad = str(layer.padding).lower()
    if pad == "causal":
        x = g.op("PAD", [x, g.const(f"{name}/Pad/paddings", [[0, 0], [(k - 1) * d, 0], [0, 0]], np.int32)],
                 f"{name}/Pad")
        pad = "valid"
    if pad not in ("same", "valid"):
        raise _unsupported(f"padding='{pad}' of layer '{layer.name}'", "Conv1D pads 'same', 'valid' or 'causal'.")
    x4 = g.op("EXPAND_DIMS", [x, g.const(f"{name}/ExpandDims/dim", 1, np.int32)], f"{name}/ExpandDims")
    w = g.const(f"{name}/convolution", kernel.transpose(2, 0, 1)[:, None])  # (out, 1, k, in)
    bias = _weights(layer.bias) if layer.use_bias else np.zeros(kernel.shape[2], np.float32)
    fused = _FUSED.get(act, "NONE")
    y = g.op("CONV_2D", [x4, w, g.const(f"{name}/BiasAdd/ReadVariableOp", bias)], f"{name}/convolution1",
             padding=PADDING_SAME if pad == "same" else PADDING_VALID, stride_h=1,
             stride_w=int(layer.strides[0]), dilation_h_factor=1, dilation_w_factor=d,
             fused_activation_function=ACTIVATIONS[fused])
    y = g.op("SQUEEZE", [y], f"{name}/Squeeze", squeeze_dims=[1])
    return y if act in _FUSED else _activate(g, y, name, act)


def _resize(g: _Graph, layer: Any, x: _Value, name: str, size: tuple, interpolation: str,
            half_pixel: bool) -> _Value:
    _check_channels_last(layer)
    ops = {"bilinear": "RESIZE_BILINEAR", "nearest": "RESIZE_NEAREST_NEIGHBOR"}
    if interpolation not in ops:
        raise _unsupported(f"interpolation='{interpolation}' of layer '{layer.name}'",
                           "TFLite resizes 'bilinear' or 'nearest'.")
    size_t = g.const(f"{name}/resize/size", [int(s) for s in size], np.int32)
    return g.op(ops[interpolation], [x, size_t], f"{name}/resize", align_corners=False,
                half_pixel_centers=half_pixel)


def _layer_norm(g: _Graph, layer: Any, x: _Value, name: str) -> _Value:
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    rank = x.probe.ndim
    if [_axis(layer, a, rank) for a in axes] != [rank - 1] or getattr(layer, "rms_scaling", False):
        raise _unsupported(f"LayerNormalization layer '{layer.name}' with axis={layer.axis}, "
                           f"rms_scaling={getattr(layer, 'rms_scaling', False)}",
                           "the converter normalizes over the last axis.")
    axis = g.const(f"{name}/moments/mean/reduction_indices", [rank - 1], np.int32)
    mean = g.op("MEAN", [x, axis], f"{name}/moments/mean", keep_dims=True)
    var = g.op("MEAN", [g.op("SQUARED_DIFFERENCE", [x, mean], f"{name}/moments/SquaredDifference"), axis],
               f"{name}/moments/variance", keep_dims=True)
    inv = g.op("RSQRT", [g.op("ADD", [var, g.const(f"{name}/add/y", layer.epsilon)], f"{name}/add",
                              fused_activation_function=0)], f"{name}/Rsqrt")
    y = g.op("MUL", [g.op("SUB", [x, mean], f"{name}/sub", fused_activation_function=0), inv], f"{name}/mul",
             fused_activation_function=0)
    return _scale_shift(g, y, f"{name}/affine", _weights(layer.gamma) if layer.scale else 1.0,
                        _weights(layer.beta) if layer.center else 0.0)


def _pool(g: _Graph, layer: Any, x: _Value, name: str, op: str) -> _Value:
    _check_channels_last(layer)
    if x.probe.ndim != 4:
        raise _unsupported(f"layer '{layer.name}' on a rank-{x.probe.ndim} input", "2D pooling needs NHWC.")
    return g.op(op, [x], f"{name}/{op}", padding=_padding(layer), stride_h=int(layer.strides[0]),
                stride_w=int(layer.strides[1]), filter_height=int(layer.pool_size[0]),
                filter_width=int(layer.pool_size[1]), fused_activation_function=0)


def _reshape(g: _Graph, x: _Value, name: str, tail: tuple) -> _Value:
    shape = g.const(f"{name}/Reshape/shape", [-1, *tail], np.int32)
    return g.op("RESHAPE", [x, shape], f"{name}/Reshape")


def _scale_shift(g: _Graph, x: _Value, name: str, scale: Any, shift: Any) -> _Value:
    scale, shift = np.asarray(scale, np.float32), np.asarray(shift, np.float32)
    if not np.all(scale == 1):
        x = g.op("MUL", [x, g.const(f"{name}/mul/y", scale)], f"{name}/mul", fused_activation_function=0)
    if not np.all(shift == 0):
        x = g.op("ADD", [x, g.const(f"{name}/add/y", shift)], f"{name}/add", fused_activation_function=0)
    return x


def _relu_layer(g: _Graph, layer: Any, x: _Value, name: str) -> _Value:
    max_value, slope, threshold = layer.max_value, float(layer.negative_slope), float(layer.threshold)
    if threshold == 0 and slope == 0 and max_value is None:
        return g.op("RELU", [x], f"{name}/Relu")
    if threshold == 0 and slope == 0 and float(max_value) == 6.0:
        return g.op("RELU6", [x], f"{name}/Relu6")
    if threshold == 0 and max_value is None:
        return g.op("LEAKY_RELU", [x], f"{name}/LeakyRelu", alpha=slope)
    raise _unsupported(f"ReLU layer '{layer.name}' with max_value={max_value}, negative_slope={slope}, "
                       f"threshold={threshold}", "the converter lowers ReLU, ReLU(max_value=6) and leaky ReLU.")


def _axis(layer: Any, axis: int, rank: int) -> int:
    axis = int(axis)
    return axis + rank if axis < 0 else axis


def lower_layer(g: _Graph, layer: Any, xs: list, prefix: str) -> list:
    """TFLite operators computing `layer(xs)` at inference; returns the output values."""
    from tapeflow.keras.models.functional import Functional
    from tapeflow.keras.models.sequential import Sequential

    kind = type(layer).__name__
    name = f"{prefix}/{layer.name}"
    if isinstance(layer, Sequential):
        for sub in layer.layers:
            xs = lower_layer(g, sub, xs, name)
        return xs
    if isinstance(layer, Functional):
        return _lower_functional(g, layer, xs, name)
    if kind in _IDENTITY:
        return xs
    mode = getattr(layer, "quantization_mode", None)
    if mode or any(getattr(w, "dtype", None) is not None and not w.dtype.is_floating for w in layer.weights):
        raise _unsupported(f"layer '{layer.name}' ({kind}) quantized to {mode or 'integer weights'}",
                           "the converter writes float32 models; convert the float model.")
    if kind in ("Add", "Subtract", "Multiply", "Maximum", "Minimum"):
        op = {"Add": "ADD", "Subtract": "SUB", "Multiply": "MUL", "Maximum": "MAXIMUM", "Minimum": "MINIMUM"}[kind]
        y = xs[0]
        for i, x in enumerate(xs[1:]):
            opts = {} if op in ("MAXIMUM", "MINIMUM") else {"fused_activation_function": 0}
            y = g.op(op, [y, x], f"{name}/{op.lower()}{'_' + str(i) if i else ''}", **opts)
        return [y]
    if kind == "Concatenate":
        rank = xs[0].probe.ndim
        return [g.op("CONCATENATION", xs, f"{name}/concat", axis=_axis(layer, layer.axis, rank),
                     fused_activation_function=0)]
    if len(xs) != 1:
        raise _unsupported(f"layer '{layer.name}' ({kind}) with {len(xs)} inputs", "it takes one input.")
    x = xs[0]
    if kind == "Dense":
        return [_dense(g, layer, x, name)]
    if kind == "Conv2D":
        return [_conv(g, layer, x, name, depthwise=False)]
    if kind == "DepthwiseConv2D":
        return [_conv(g, layer, x, name, depthwise=True)]
    if kind == "Conv2DTranspose":
        return [_conv_transpose(g, layer, x, name)]
    if kind == "Conv1D":
        return [_conv1d(g, layer, x, name)]
    if kind == "UpSampling2D":
        _, h, w, _ = x.probe.shape
        size = (h * int(layer.size[0]), w * int(layer.size[1]))
        return [_resize(g, layer, x, name, size, layer.interpolation, half_pixel=layer.interpolation != "nearest")]
    if kind == "Resizing":
        if layer.crop_to_aspect_ratio or layer.pad_to_aspect_ratio or getattr(layer, "antialias", False):
            raise _unsupported(f"Resizing layer '{layer.name}' with crop/pad_to_aspect_ratio or antialias",
                               "the converter writes a plain TFLite resize.")
        return [_resize(g, layer, x, name, (layer.height, layer.width), layer.interpolation, half_pixel=True)]
    if kind == "LayerNormalization":
        return [_layer_norm(g, layer, x, name)]
    if kind == "Embedding":
        if layer.mask_zero:
            raise _unsupported(f"Embedding layer '{layer.name}' with mask_zero=True",
                               "Keras masks have no TFLite form; later layers would ignore them.")
        ids = x if x.probe.dtype == np.int32 else g.op("CAST", [x], f"{name}/Cast", in_data_type=0, out_data_type=2)
        return [g.op("GATHER", [g.const(f"{name}/embedding_lookup", _weights(layer.embeddings)), ids],
                     f"{name}/GatherV2", axis=0)]
    if kind in ("MaxPooling2D", "MaxPool2D"):
        return [_pool(g, layer, x, name, "MAX_POOL_2D")]
    if kind in ("AveragePooling2D", "AvgPool2D"):
        return [_pool(g, layer, x, name, "AVERAGE_POOL_2D")]
    if kind == "ZeroPadding2D":
        _check_channels_last(layer)
        (top, bottom), (left, right) = layer.padding
        pads = g.const(f"{name}/Pad/paddings", [[0, 0], [top, bottom], [left, right], [0, 0]], np.int32)
        return [g.op("PAD", [x, pads], f"{name}/Pad")]
    if kind == "Rescaling":
        return [_scale_shift(g, x, name, layer.scale, layer.offset)]
    if kind == "Flatten":
        _check_channels_last(layer)
        return [_reshape(g, x, name, (int(np.prod(x.probe.shape[1:])),))]
    if kind == "Reshape":
        tail = tuple(int(s) for s in np.empty(x.probe.shape[1:]).reshape(layer.target_shape).shape)
        return [_reshape(g, x, name, tail)]
    if kind == "Activation":
        return [_activate(g, x, name, _activation_name(layer, layer.activation))]
    if kind == "ReLU":
        return [_relu_layer(g, layer, x, name)]
    if kind == "LeakyReLU":
        return [g.op("LEAKY_RELU", [x], f"{name}/LeakyRelu", alpha=float(layer.negative_slope))]
    if kind == "Softmax":
        if _axis(layer, layer.axis, x.probe.ndim) != x.probe.ndim - 1:
            raise _unsupported(f"Softmax layer '{layer.name}' with axis={layer.axis}",
                               "TFLite SOFTMAX works on the last axis.")
        return [g.op("SOFTMAX", [x], f"{name}/Softmax", beta=1.0)]
    if kind == "BatchNormalization":
        if _axis(layer, layer.axis if isinstance(layer.axis, int) else layer.axis[0], x.probe.ndim) != x.probe.ndim - 1:
            raise _unsupported(f"BatchNormalization layer '{layer.name}' with axis={layer.axis}",
                               "the converter folds normalization over the last (channels) axis.")
        mean, var = _weights(layer.moving_mean), _weights(layer.moving_variance)
        gamma = _weights(layer.gamma) if layer.scale else np.ones_like(mean)
        beta = _weights(layer.beta) if layer.center else np.zeros_like(mean)
        scale = gamma / np.sqrt(var + np.float32(layer.epsilon))
        return [_scale_shift(g, x, name, scale, beta - mean * scale)]
    if kind in ("GlobalAveragePooling2D", "GlobalAvgPool2D", "GlobalAveragePooling1D", "GlobalAvgPool1D",
                "GlobalMaxPooling2D", "GlobalMaxPool2D", "GlobalMaxPooling1D", "GlobalMaxPool1D"):
        _check_channels_last(layer)
        axes = g.const(f"{name}/axes", [1, 2] if "2D" in kind else [1], np.int32)
        op = "MEAN" if "Average" in kind or "Avg" in kind else "REDUCE_MAX"
        return [g.op(op, [x, axes], f"{name}/{op.title()}", keep_dims=bool(getattr(layer, "keepdims", False)))]
    raise _unsupported(
        f"layer '{layer.name}' ({kind})",
        "the converter lowers Dense, Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, UpSampling2D, Resizing, "
        "Embedding, LayerNormalization, Max/AveragePooling2D, Global*Pooling, "
        "ZeroPadding2D, Rescaling, Flatten, Reshape, activations (Activation, ReLU, LeakyReLU, Softmax), "
        "BatchNormalization, Add/Subtract/Multiply/Maximum/Minimum, Concatenate, nested models, and "
        f"drops {', '.join(sorted(_IDENTITY))} (identity at inference).")


def _lower_functional(g: _Graph, model: Any, xs: list, prefix: str) -> list:
    values = {id(sym): x for sym, x in zip(model._graph_inputs, xs, strict=True)}
    for node in model._nodes:
        ins = [values[id(t)] for t in node.inputs]
        outs = lower_layer(g, node.layer, ins, prefix)
        if len(outs) != len(node.outputs):
            raise _unsupported(f"layer '{node.layer.name}' with {len(node.outputs)} outputs",
                               "the converter lowers single-output layers.")
        for t, v in zip(node.outputs, outs, strict=True):
            values[id(t)] = v
    return [values[id(t)] for t in model._graph_outputs]


# -- serialization ----------------------------------------------------------------------------

def _options_table(op: str, options: dict) -> tuple[int, Table | None]:
    kind = BUILTIN_OPTIONS.get(op, 0)
    if not kind:
        return 0, None
    fields = {}
    for key, value in options.items():
        if key in OPTION_FIELDS.get(kind, {}):
            index, fmt, _ = OPTION_FIELDS[kind][key]
            fields[index] = (fmt, value)
        elif key in OPTION_VECTORS.get(kind, {}):
            fields[OPTION_VECTORS[kind][key][0]] = Vector("i", [int(v) for v in value])
    return kind, Table(fields)


def serialize(g: _Graph, inputs: list, outputs: list, input_names: list, output_names: list) -> bytes:
    tensors = [Table({Field.T_SHAPE: Vector("i", t["shape"]), Field.T_TYPE: ("b", t["type"]),
                      Field.T_BUFFER: ("I", t["buffer"]), Field.T_NAME: t["name"],
                      Field.T_SHAPE_SIGNATURE: Vector("i", t["signature"])}) for t in g.tensors]
    operators = []
    for op, ins, outs, options in g.ops:
        kind, table = _options_table(op, options)
        fields = {Field.OP_OPCODE_INDEX: ("I", g.opcodes.index(op)), Field.OP_INPUTS: Vector("i", ins),
                  Field.OP_OUTPUTS: Vector("i", outs)}
        if table is not None:
            fields[Field.OP_OPTIONS_TYPE] = ("B", kind)
            fields[Field.OP_OPTIONS] = table
        operators.append(Table(fields))
    subgraph = Table({Field.SG_TENSORS: TableVector(tensors), Field.SG_INPUTS: Vector("i", inputs),
                      Field.SG_OUTPUTS: Vector("i", outputs), Field.SG_OPERATORS: TableVector(operators),
                      Field.SG_NAME: "main"})
    codes = []
    for op in g.opcodes:
        code = BUILTIN_OPERATORS[op]
        codes.append(Table({Field.OC_DEPRECATED_BUILTIN_CODE: ("b", min(code, 127)),
                            Field.OC_VERSION: ("i", 1), Field.OC_BUILTIN_CODE: ("i", code)}))
    buffers = [Table({Field.B_DATA: Vector("B", data, align=16)} if data else {}) for data in g.buffers]

    def tensor_map(names: list, indices: list) -> TableVector:
        # sorted by name, as TF's converter writes them
        return TableVector([Table({Field.TM_NAME: n, Field.TM_TENSOR_INDEX: ("I", i)})
                            for n, i in sorted(zip(names, indices, strict=True))])

    signature = Table({Field.SIG_INPUTS: tensor_map(input_names, inputs),
                       Field.SIG_OUTPUTS: tensor_map(output_names, outputs),
                       Field.SIG_KEY: "serving_default", Field.SIG_SUBGRAPH_INDEX: ("I", 0)})
    model = Table({Field.MODEL_VERSION: ("I", SCHEMA_VERSION), Field.MODEL_OPERATOR_CODES: TableVector(codes),
                   Field.MODEL_SUBGRAPHS: TableVector([subgraph]), Field.MODEL_DESCRIPTION: "Tapeflow Converted.",
                   Field.MODEL_BUFFERS: TableVector(buffers),
                   Field.MODEL_SIGNATURE_DEFS: TableVector([signature])})
    return Builder().finish(model, FILE_IDENTIFIER)


def convert_keras_model(model: Any) -> bytes:
    """The .tflite bytes of a built float32 Keras model."""
    from tapeflow import nest

    try:
        syms = list(model.inputs or [])
        outs = nest.flatten(model.outputs)
    except (AttributeError, ValueError, TypeError):
        syms = []
    if not syms:
        raise ValueError(f"TFLiteConverter: model '{model.name}' has no known input shape; build it first "
                         "(give the first layer input_shape= or start with keras.Input).")
    # as TF's converter: outputs named by a dict's keys, else output_0, output_1, ...
    struct = getattr(model, "_output_struct", None)
    output_names = sorted(struct) if isinstance(struct, dict) and len(struct) == len(outs) else [
        f"output_{i}" for i in range(len(outs))]
    g = _Graph()
    xs, names = [], []
    for sym in syms:
        dtype = np.dtype(getattr(sym.dtype, "as_numpy_dtype", np.float32))
        if dtype not in (np.float32, np.int32):
            raise _unsupported(f"model input '{sym.name}' of dtype {dtype.name}",
                               "the converter writes float32 models (int32 inputs for Embedding).")
        shape = [1 if s is None else int(s) for s in sym.shape]
        if any(s is None for s in list(sym.shape)[1:]):
            raise _unsupported(f"model input '{sym.name}' of shape {tuple(sym.shape)}",
                               "only the batch dimension may be unknown.")
        probe = np.zeros(shape, dtype) if dtype == np.int32 else \
            np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        xs.append(_Value(g.tensor(f"serving_default_{sym.name}:0", probe, batch=True), probe))
        names.append(sym.name)
    from tapeflow.keras.models.functional import Functional

    if isinstance(model, Functional):
        ys = _lower_functional(g, model, xs, model.name)
    else:
        ys = xs
        for layer in model.layers:
            ys = lower_layer(g, layer, ys, model.name)
    if len(ys) != len(outs):
        raise _unsupported(f"model '{model.name}' output structure", "outputs do not match the lowered graph.")
    for i, y in enumerate(ys):
        if y.index in [x.index for x in xs] or y.index in [z.index for z in ys[:i]]:
            # an output that is an input or another output gets its own tensor
            shape = g.const(f"output_{i}/shape", [-1, *y.probe.shape[1:]], np.int32)
            y = ys[i] = g.op("RESHAPE", [y, shape], f"output_{i}")
        g.tensors[y.index]["name"] = f"StatefulPartitionedCall:{i}"
    return serialize(g, [x.index for x in xs], [y.index for y in ys], names, output_names)



class Optimize:
    """Converter optimizations (`converter.optimizations`); Tapeflow's converter writes float32
    models only, so setting any of these makes `convert()` raise."""

    DEFAULT = "DEFAULT"
    OPTIMIZE_FOR_SIZE = "OPTIMIZE_FOR_SIZE"
    OPTIMIZE_FOR_LATENCY = "OPTIMIZE_FOR_LATENCY"
    EXPERIMENTAL_SPARSITY = "EXPERIMENTAL_SPARSITY"


class OpsSet:
    """`target_spec.supported_ops` values; only TFLITE_BUILTINS converts."""

    TFLITE_BUILTINS = "TFLITE_BUILTINS"
    SELECT_TF_OPS = "SELECT_TF_OPS"
    TFLITE_BUILTINS_INT8 = "TFLITE_BUILTINS_INT8"
    EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8 = (
        "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8")


class TargetSpec:
    """What the converted model may use: `supported_ops` (a set of OpsSet) and `supported_types`."""

    def __init__(self, supported_ops: Any = None, supported_types: Any = None) -> None:
        self.supported_ops = {OpsSet.TFLITE_BUILTINS} if supported_ops is None else supported_ops
        self.supported_types = [] if supported_types is None else supported_types


class TFLiteConverter:
    """Converts a Keras model to a TFLite flatbuffer (float32, builtin operators only).

    `TFLiteConverter.from_keras_model(model).convert()` returns the .tflite bytes, whose
    `serving_default` signature takes the model's inputs by their Keras names and returns
    `output_0`, `output_1`, ...
    """

    def __init__(self, keras_model: Any) -> None:
        self._model = keras_model
        self.optimizations: Any = set()
        self.representative_dataset: Any = None
        self.target_spec = TargetSpec()
        self.inference_input_type: Any = None
        self.inference_output_type: Any = None
        self.allow_custom_ops = False
        self.experimental_new_converter = True
        self.experimental_enable_resource_variables = True

    @classmethod
    def from_keras_model(cls, model: Any) -> TFLiteConverter:
        return cls(model)

    def _check_settings(self) -> None:
        from tapeflow import dtypes

        if self.optimizations:
            raise _unsupported(f"optimizations={sorted(str(o) for o in self.optimizations)}",
                               "quantization is not implemented; Tapeflow writes float32 models "
                               "(leave converter.optimizations empty).")
        if self.representative_dataset is not None:
            raise _unsupported("representative_dataset", "integer quantization is not implemented.")
        ops = set(self.target_spec.supported_ops)
        if ops - {OpsSet.TFLITE_BUILTINS}:
            raise _unsupported(f"target_spec.supported_ops={sorted(str(o) for o in ops)}",
                               "the converter writes TFLITE_BUILTINS operators only.")
        types = [dtypes.as_dtype(t) for t in self.target_spec.supported_types]
        if any(t != dtypes.float32 for t in types):
            raise _unsupported(f"target_spec.supported_types={[t.name for t in types]}",
                               "float16/int8 weights are not implemented; the model is written as float32.")
        for attr in ("inference_input_type", "inference_output_type"):
            value = getattr(self, attr)
            if value is not None and dtypes.as_dtype(value) != dtypes.float32:
                raise _unsupported(f"{attr}={dtypes.as_dtype(value).name}", "inputs and outputs stay float32.")
        if self.allow_custom_ops:
            raise _unsupported("allow_custom_ops=True", "every layer is lowered to builtin operators.")

    def convert(self) -> bytes:
        """The .tflite flatbuffer bytes."""
        self._check_settings()
        return convert_keras_model(self._model)
