"""int8 quantization of Dense and EinsumDense (`layer.quantize("int8")`), as Keras 3 does it.

The float kernel becomes an int8 `kernel` with a float `kernel_scale` per output unit
(abs-max over the contracted axes). A call quantizes its inputs per row the same way, runs the
product on integers (exact, int32), and divides by both scales. The gradient flows to the inputs
through the dequantized kernel (straight-through); the int8 weights are not trained.
"""

from __future__ import annotations

import re
import string
from typing import Any

import tapeflow as tf
from tapeflow.keras.quantizers.configs import Int8QuantizationConfig, QuantizationConfig
from tapeflow.keras.quantizers.quantizers import AbsMaxQuantizer


def relayout(t: Any, src: str, dst: str) -> Any:
    """`t` (axes labelled by `src`) in the axis order of `dst`: axes missing from `dst` (size 1)
    are dropped, the rest transposed, and size-1 axes inserted for labels `src` lacks."""
    keep = [label for label in src if label in dst]
    shape = [int(t.shape[i]) for i, label in enumerate(src) if label in dst]
    t = tf.reshape(t, shape)
    order = sorted(keep, key=dst.index)
    if order != keep:
        t = tf.transpose(t, [keep.index(label) for label in order])
    sizes = dict(zip(order, [int(d) for d in t.shape], strict=True))
    return tf.reshape(t, [sizes.get(label, 1) for label in dst])


def einsum_specs(equation: str, ndim: int) -> tuple[str, str, str]:
    """(input, kernel, output) subscripts of an EinsumDense equation with any ellipsis spelled out."""
    eq = equation.replace(" ", "")
    inputs, rest = eq.split(",")
    kernel, output = rest.split("->")
    if "..." not in inputs:
        return inputs, kernel, output
    free = [c for c in string.ascii_letters if c not in eq]
    elided = ndim - len(inputs.replace("...", ""))
    extra = "".join(free[:elided])
    return inputs.replace("...", extra), kernel, output.replace("...", extra)


def _reduced(spec: str, output: str) -> tuple:
    return tuple(i for i, label in enumerate(spec) if label not in output)


def int8_product(layer: Any, x: Any, specs: tuple[str, str, str], scale_spec: str) -> Any:
    """`einsum(specs, x, dequantized kernel)` computed on int8 values (see the module docstring).

    `scale_spec` labels the axes of `layer.kernel_scale` (Keras's stored layout).
    """
    in_spec, k_spec, out_spec = specs
    equation = f"{in_spec},{k_spec}->{out_spec}"
    compute = layer.compute_dtype
    quantizer = layer.inputs_quantizer

    @tf.custom_gradient
    def product(x: Any, kernel: Any, kernel_scale: Any) -> Any:
        scale_out = relayout(kernel_scale, scale_spec, out_spec)
        if quantizer is not None:
            q, x_scale = quantizer(x, axis=_reduced(in_spec, out_spec))
            y = tf.einsum(equation, tf.cast(q, "int32"), tf.cast(kernel, "int32"))
            y = tf.cast(y, compute) / (scale_out * relayout(x_scale, in_spec, out_spec))
        else:
            y = tf.cast(tf.einsum(equation, x, tf.cast(kernel, x.dtype)), compute) / scale_out

        def grad(dy: Any) -> tuple:
            float_kernel = tf.cast(kernel, compute) / relayout(kernel_scale, scale_spec, k_spec)
            with tf.GradientTape() as tape:
                tape.watch(x)
                again = tf.einsum(equation, x, float_kernel)
            return tape.gradient(again, x, output_gradients=dy), None, None

        return y, grad

    return product(x, layer.kernel, layer.kernel_scale)


def _check_quantize_args(layer: Any, base: type, mode: Any, type_check: bool, config: Any) -> Any:
    if type_check and type(layer) is not base:
        raise TypeError(f"Layer {type(layer).__name__} does not have a `quantize()` method implemented "
                        f"(only {base.__name__} itself is quantized; pass type_check=False to quantize a subclass).")
    if config is not None:
        if not isinstance(config, QuantizationConfig):
            raise ValueError(f"{type(layer).__name__} '{layer.name}': config must be a QuantizationConfig, "
                             f"received {config!r}.")
        if mode is not None and mode != config.mode:
            raise ValueError(f"Contradictory arguments: mode={mode!r} while config.mode={config.mode!r}")
        mode = config.mode
    if mode != "int8":
        raise ValueError(f"{type(layer).__name__} '{layer.name}': quantization mode {mode!r} is not supported: "
                         "Tapeflow quantizes Dense and EinsumDense in 'int8' mode only (int4, float8, GPTQ and AWQ "
                         "need kernels or calibration Tapeflow does not have).")
    if not layer.built:
        raise ValueError(f"Cannot quantize a layer that isn't yet built. Layer '{layer.name}' (of type "
                         f"'{type(layer).__name__}') is not built yet.")
    if layer.quantization_mode is not None:
        raise ValueError(f"Layer '{layer.name}' is already quantized with dtype_policy='{layer.dtype_policy.name}'.")
    return config


def quantize_kernel(layer: Any, base: type, mode: Any, type_check: bool, config: Any, reduced_axes: tuple,
                    to_scale_layout: Any) -> None:
    """Replace `layer.kernel` by int8 `kernel` + `kernel_scale` and switch to the int8 policy."""
    config = _check_quantize_args(layer, base, mode, type_check, config)
    weight_quantizer = QuantizationConfig.weight_quantizer_or_default(config, AbsMaxQuantizer(axis=reduced_axes))
    value, scale = weight_quantizer(layer.kernel, to_numpy=True)
    old = layer.kernel
    layer._weights_own[:] = [w for w in layer._weights_own if w is not old]
    layer._regularized[:] = [(w, r) for w, r in layer._regularized if w is not old]
    del layer.__dict__["kernel"]
    build_int8(layer, tuple(old.shape), tuple(to_scale_layout(scale).shape), config)
    layer.kernel.assign(value)
    layer.kernel_scale.assign(to_scale_layout(scale))
    from tapeflow.keras.dtype_policies import get

    layer.quantization_config = config
    layer._set_dtype_policy(get(f"int8_from_{layer.dtype_policy.name}"))


def build_int8(layer: Any, kernel_shape: tuple, scale_shape: tuple, config: Any = None) -> None:
    """The int8 weights (zeros / ones until quantized or loaded) and the inputs' quantizer."""
    layer.inputs_quantizer = QuantizationConfig.activation_quantizer_or_default(config, AbsMaxQuantizer())
    layer.kernel = layer.add_weight(name="kernel", shape=kernel_shape, initializer="zeros", dtype="int8",
                                    trainable=False)
    layer.kernel_scale = layer.add_weight(name="kernel_scale", shape=scale_shape, initializer="ones",
                                          trainable=False)


def keras_variable_order(layer: Any) -> list:
    """Keras's order of a Dense/EinsumDense's variables in weight files: kernel, bias, kernel_scale."""
    names = ["kernel", "bias"] + (["kernel_scale"] if layer.quantization_mode == "int8" else [])
    return [v for v in (getattr(layer, n, None) for n in names) if v is not None]


def check_int8_config(config: Any) -> None:
    if config is not None and not isinstance(config, Int8QuantizationConfig):
        raise ValueError(f"quantization_config={config!r} is not supported: Tapeflow runs int8 quantization only.")


_LETTERS = re.sub("[io]", "", string.ascii_lowercase)


def dense_specs(ndim: int) -> tuple[str, str, str]:
    """Subscripts of Dense's product on an input of rank `ndim` (contract the last axis)."""
    batch = _LETTERS[: ndim - 1]
    return batch + "i", "io", batch + "o"
