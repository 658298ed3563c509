"""ONNX converters of the core layers: Dense, Activation layers, identity layers at inference
(Dropout, noise), Flatten, Reshape, Permute, RepeatVector, Embedding and the merge layers."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras.saving.onnx_export.activations import activation_name, apply_activation
from tapeflow.keras.saving.onnx_export.builder import GraphBuilder, converter, unsupported


def _one(inputs: list, layer: Any) -> str:
    if len(inputs) != 1:
        raise unsupported(layer, f"expected one input, received {len(inputs)}")
    return inputs[0]


@converter("InputLayer")
def input_layer(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    return _one(inputs, layer)


@converter("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
           "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Identity", masks=True)
def identity(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """Layers that leave values (and masks) unchanged at inference are removed."""
    return _one(inputs, layer)


@converter("Masking")
def masking(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """Steps whose features all equal `mask_value` become zeros (the mask itself: `masks`)."""
    from tapeflow.keras.saving.onnx_export.masks import reduce_max_last

    x, h = _one(inputs, layer), layer.name
    differs = b.op("Cast", [b.op("Not", [b.op("Equal", [x, b.const(np.float32(layer.mask_value), h + "/value")], h)],
                                 h)], h, to=1)
    keep = b.op("Unsqueeze", [reduce_max_last(b, differs, h), b.ints([-1], h + "/last")], h)
    return b.op("Mul", [x, keep], h)


@converter("Dense")
def dense(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    x = b.op("MatMul", [_one(inputs, layer), b.const(layer.kernel, f"{layer.name}/kernel")], layer.name)
    if layer.bias is not None:
        x = b.op("Add", [x, b.const(layer.bias, f"{layer.name}/bias")], layer.name)
    return apply_activation(b, activation_name(layer.activation), x, layer.name, layer)


@converter("Activation")
def activation(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    return apply_activation(b, activation_name(layer.activation), _one(inputs, layer), layer.name, layer)


@converter("ReLU")
def relu(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    x, h = _one(inputs, layer), layer.name
    slope, threshold, top = float(layer.negative_slope or 0.0), float(layer.threshold or 0.0), layer.max_value
    if threshold != 0.0:
        raise unsupported(layer, "a non-zero threshold has no ONNX translation here")
    y = b.op("LeakyRelu", [x], h, alpha=slope) if slope else b.op("Relu", [x], h)
    if top is not None:
        y = b.op("Min", [y, b.const(np.float32(top), h + "/max")], h)
    return y


@converter("LeakyReLU")
def leaky_relu(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    return b.op("LeakyRelu", [_one(inputs, layer)], layer.name, alpha=float(layer.negative_slope))


@converter("ELU")
def elu(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    return b.op("Elu", [_one(inputs, layer)], layer.name, alpha=float(layer.alpha))


@converter("Softmax", masks=True)
def softmax(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """Softmax over `axis` (several axes: exp(x - logsumexp)); with a mask (a Keras mask or the
    `mask` argument, True or > 0.5 kept), masked logits become -1e9 and masked outputs 0, as Keras."""
    x, h = _one(inputs, layer), layer.name
    mask = kwargs.get("mask")
    if mask is not None:
        if not isinstance(mask, str):
            raise unsupported(layer, "a mask that is not a tensor of the model")
        mask = b.op("Greater", [b.op("Cast", [mask], h, to=1), b.const(np.float32(0.5), h + "/half")], h)
        x = b.op("Where", [mask, x, b.const(np.float32(-1e9), h + "/large_negative")], h)
    axis = layer.axis
    if isinstance(axis, (list, tuple)) and len(axis) > 1:
        y = b.op("Exp", [b.op("Sub", [x, b.reduce("ReduceLogSumExp", x, list(axis), h, keepdims=True)], h)], h)
    else:
        y = b.op("Softmax", [x], h, axis=int(axis[0] if isinstance(axis, (list, tuple)) else axis))
    return y if mask is None else b.op("Where", [mask, y, b.const(np.float32(0), h + "/zero")], h)


@converter("Flatten")
def flatten(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    if getattr(layer, "data_format", "channels_last") == "channels_first":
        raise unsupported(layer, "data_format='channels_first'")
    return b.op("Flatten", [_one(inputs, layer)], layer.name, axis=1)


@converter("Reshape")
def reshape(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    if 0 in layer.target_shape:
        raise unsupported(layer, "a zero in target_shape")
    shape = b.ints([0, *layer.target_shape], f"{layer.name}/shape")
    return b.op("Reshape", [_one(inputs, layer), shape], layer.name)


@converter("Permute")
def permute(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    return b.op("Transpose", [_one(inputs, layer)], layer.name, perm=[0, *layer.dims])


@converter("RepeatVector")
def repeat_vector(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    x = b.op("Unsqueeze", [_one(inputs, layer), b.ints([1], f"{layer.name}/axis")], layer.name)
    return b.op("Tile", [x, b.ints([1, layer.n, 1], f"{layer.name}/repeats")], layer.name)


@converter("Embedding")
def embedding(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    return b.op("Gather", [b.const(layer.embeddings, f"{layer.name}/embeddings"), _one(inputs, layer)], layer.name,
                axis=0)


@converter("ReversibleEmbedding")
def reversible_embedding(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """The embedding lookup, or with `reverse=True` the logits x @ embeddings^T (or the untied
    reverse embeddings), in `reverse_dtype`, soft-capped as tanh(logits / cap) * cap."""
    if not kwargs.get("reverse"):
        return embedding(b, layer, inputs, kwargs)
    from tapeflow.keras.saving.onnx_export.masks import _elem_type

    x, h = _one(inputs, layer), layer.name
    kernel = np.asarray((layer.embeddings if layer.tie_weights else layer.reverse_embeddings).numpy())
    kernel = kernel.T if layer.tie_weights else kernel
    dtype = np.dtype(layer.reverse_dtype) if layer.reverse_dtype is not None else kernel.dtype
    if layer.reverse_dtype is not None:
        x = b.op("Cast", [x], h, to=_elem_type(layer.reverse_dtype))
    logits = b.op("MatMul", [x, b.const(kernel.astype(dtype), h + "/reverse_kernel", dtype=dtype)], h)
    if layer.logit_soft_cap is None:
        return logits
    cap = b.const(np.asarray(layer.logit_soft_cap, dtype), h + "/soft_cap", dtype=dtype)
    return b.op("Mul", [b.op("Tanh", [b.op("Div", [logits, cap], h)], h), cap], h)


@converter("Pipeline", masks=True)
def pipeline(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """Its layers in turn (at inference, as a model's predict runs it: augmentations are the
    identity), each receiving the previous one's mask as Pipeline passes it."""
    from tapeflow.keras.layers.base import Layer
    from tapeflow.keras.saving.onnx_export.walk import convert_layer

    x = _one(inputs, layer)
    if kwargs.get("mask") is not None and x not in b.masks:
        b.masks[x] = kwargs["mask"]
    shape = b.shapes.get(x)
    for inner in layer.layers:
        if not isinstance(inner, Layer):
            raise unsupported(layer, f"its step {inner!r} is a Python callable, which ONNX cannot hold")
        outs = convert_layer(b, inner, [x], {})
        if len(outs) != 1:
            raise unsupported(layer, f"its {type(inner).__name__} '{inner.name}' has several outputs")
        if shape is not None:
            shape = tuple(inner.compute_output_shape(shape))
            b.shapes.setdefault(outs[0], shape)
        x = outs[0]
    return x


@converter("SpectralNormalization")
def spectral_normalization(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """At inference the wrapped layer with its kernel as it is (training normalizes and stores
    it), its output cast back to the input's dtype."""
    from tapeflow.keras.saving.onnx_export.walk import convert_layer

    outs = convert_layer(b, layer.layer, list(inputs), {})
    if len(outs) != 1:
        raise unsupported(layer, "its inner layer has several outputs")
    return outs[0]


def _merge_inputs(layer: Any, inputs: list) -> list:
    if len(inputs) < 2:
        raise unsupported(layer, f"a merge needs at least two inputs, received {len(inputs)}")
    return inputs


def _feature_masks(b: GraphBuilder, layer: Any, xs: list) -> list:
    """Each input's Keras mask (batch, steps) broadcast to the input's shape, or None."""
    out = []
    for x in xs:
        mask = b.masks.get(x)
        if mask is not None:
            h = layer.name
            mask = b.op("Expand", [b.op("Unsqueeze", [mask, b.ints([-1], h + "/feature_axis")], h),
                                   b.op("Shape", [x], h)], h)
        out.append(mask)
    return out


def _masked_multiply(b: GraphBuilder, layer: Any, xs: list, masks: list) -> str:
    """Keras 3's Multiply with masks: masked entries count as 1; entries masked in every input are 0."""
    h, y, union = layer.name, None, None
    one, zero = b.const(np.float32(1.0), h + "/one"), b.const(np.float32(0.0), h + "/zero")
    for x, mask in zip(xs, masks, strict=True):
        if mask is not None:
            x = b.op("Where", [mask, x, one], h)
            union = mask if union is None else b.op("Or", [union, mask], h)
        y = x if y is None else b.op("Mul", [y, x], h)
    if all(m is not None for m in masks):
        y = b.op("Where", [union, y, zero], h)
    return y


def _masked_extremum(b: GraphBuilder, layer: Any, op: str, xs: list, masks: list) -> str:
    """Keras 3's Maximum/Minimum with masks: a masked entry takes the other operand's value."""
    h, y, y_mask = layer.name, None, None
    for x, mask in zip(xs, masks, strict=True):
        if y is None:
            y, y_mask = x, mask
            continue
        if mask is not None:
            x = b.op("Where", [mask, x, y], h)
        if y_mask is not None:
            y = b.op("Where", [y_mask, y, x], h)
        y_mask = b.op("Or", [y_mask, mask], h) if mask is not None and y_mask is not None else None
        y = b.op(op, [y, x], h)
    return y


@converter("Add", "Maximum", "Minimum", "Multiply", "Average", "Subtract")
def merge(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """Elementwise merges; the inputs' Keras masks change Multiply/Maximum/Minimum as in Keras 3
    (the output mask, their OR, is set by `masks.output_mask`)."""
    xs, h = _merge_inputs(layer, inputs), layer.name
    kind = type(layer).__name__
    masks = _feature_masks(b, layer, xs) if kind in ("Multiply", "Maximum", "Minimum") else []
    if any(m is not None for m in masks):
        if kind == "Multiply":
            return _masked_multiply(b, layer, xs, masks)
        return _masked_extremum(b, layer, "Max" if kind == "Maximum" else "Min", xs, masks)
    if kind == "Subtract":
        if len(xs) != 2:
            raise unsupported(layer, "Subtract takes exactly two inputs")
        return b.op("Sub", xs, h)
    if kind == "Multiply":
        y = xs[0]
        for x in xs[1:]:
            y = b.op("Mul", [y, x], h)
        return y
    op = {"Add": "Sum", "Average": "Sum", "Maximum": "Max", "Minimum": "Min"}[kind]
    y = b.op(op, xs, h)
    if kind == "Average":
        y = b.op("Div", [y, b.const(np.float32(len(xs)), h + "/count")], h)
    return y


@converter("Dot")
def dot(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """Keras's batch dot product as one Einsum (the same equation as `Dot.call`), after
    `tf.nn.l2_normalize` (x / sqrt(max(sum x^2, 1e-12))) with `normalize=True`."""
    if len(inputs) != 2:
        raise unsupported(layer, f"Dot takes exactly two inputs, received {len(inputs)}")
    h = layer.name
    ranks = tuple(len(b.shapes.get(x, ())) for x in inputs)
    if min(ranks) < 2:
        raise unsupported(layer, f"inputs of unknown or too small rank {ranks}")
    ax_a, ax_b = layer._axes(ranks)
    xs = list(inputs)
    if layer.normalize:
        for i, axis in enumerate((ax_a, ax_b)):
            squares = b.reduce("ReduceSum", b.op("Mul", [xs[i], xs[i]], h), [axis], h, keepdims=True)
            floor = b.const(np.float32(1e-12), h + "/epsilon")
            xs[i] = b.op("Mul", [xs[i], b.op("Reciprocal", [b.op("Sqrt", [b.op("Max", [squares, floor], h)], h)], h)],
                         h)
    letters = "bcdefghijklmnopqrstuvw"
    sa = "a" + letters[: ranks[0] - 1]
    sb = "a" + letters[ranks[0] - 1: ranks[0] - 1 + ranks[1] - 1]
    sb = sb[:ax_b] + sa[ax_a] + sb[ax_b + 1:]
    out = [c for i, c in enumerate(sa) if i != ax_a] + [c for i, c in enumerate(sb) if i not in (0, ax_b)]
    y = b.op("Einsum", xs, h, equation=f"{sa},{sb}->{''.join(out)}")
    return b.op("Unsqueeze", [y, b.ints([1], h + "/axis1")], h) if len(out) == 1 else y


@converter("Concatenate")
def concatenate(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    return b.op("Concat", _merge_inputs(layer, inputs), layer.name, axis=int(layer.axis))


@converter("TimeDistributed", masks=True)
def time_distributed(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """The inner layer on (batch * steps, ...), reshaped back to (batch, steps, ...); an inner
    layer that takes a mask gets the mask folded the same way, (batch * steps, ...), as Keras
    gives each step its slice of the mask."""
    from tapeflow.keras.layers.base import _call_signature_info
    from tapeflow.keras.saving.onnx_export.walk import convert_layer

    x, h = _one(inputs, layer), layer.name
    inner_kwargs = {}
    mask = kwargs.get("mask")
    if mask is not None and _call_signature_info(type(layer.layer))[1]:
        if not isinstance(mask, str):
            raise unsupported(layer, "a mask that is not a tensor of the model")
        rest = b.op("Slice", [b.op("Shape", [mask], h), b.ints([2], h + "/from"), b.ints([2**62], h + "/to")], h)
        folded = b.op("Concat", [b.ints([-1], h + "/steps_batch"), rest], h, axis=0)
        inner_kwargs["mask"] = b.op("Reshape", [mask, folded], h)
    shape = b.shapes[x]
    if shape[1] is None or any(d is None for d in shape[2:]):
        raise unsupported(layer, f"it needs known steps and feature sizes, the input shape is {shape}")
    flat = b.op("Reshape", [x, b.ints([-1, *shape[2:]], h + "/in_shape")], h)
    b.shapes[flat] = (None, *shape[2:])
    outs = convert_layer(b, layer.layer, [flat], inner_kwargs)
    if len(outs) != 1:
        raise unsupported(layer, "its inner layer has several outputs")
    inner = tuple(layer.layer.compute_output_shape((None, *shape[2:])))
    return b.op("Reshape", [outs[0], b.ints([-1, shape[1], *inner[1:]], h + "/out_shape")], h)


@converter("EinsumDense")
def einsum_dense(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    y = b.op("Einsum", [_one(inputs, layer), b.const(layer.kernel, f"{layer.name}/kernel")], layer.name,
             equation=layer.equation)
    if layer.bias is not None:
        y = b.op("Add", [y, b.const(layer.bias, f"{layer.name}/bias")], layer.name)
    return apply_activation(b, activation_name(layer.activation), y, layer.name, layer)
