"""Quantization of Dense, EinsumDense and Embedding (`layer.quantize(mode)`), as Keras 3.15 does it.

- "int8": the float kernel becomes an int8 `kernel` with a float `kernel_scale` per output unit
  (abs-max over the contracted axes). A call quantizes its inputs per row the same way, runs the
  product on integers (exact, int32), and divides by both scales.
- "int4": the kernel, flattened to (contracted, other) = (rows, columns), is quantized to [-8, 7]
  per column (`block_size` None/-1, symmetric) or per group of `block_size` rows with a zero
  point (`kernel_zero`, `g_idx`), and packed two values per byte along the columns.
- "float8": the float kernel stays and is trained; inputs and kernel are quantize-dequantized
  to float8_e4m3fn and the output gradient to float8_e5m2 with delayed scaling (`*_scale` and
  `*_amax_history` variables that the optimizer overwrites with their "gradients").
- Embedding: "int8" and "int4" per vocabulary row (groups along `output_dim`).

Gradients flow to the inputs through the dequantized kernel (straight-through); int weights are
not trained. Variables, names, shapes, dtypes and file order are Keras's.
"""

from __future__ import annotations

import re
import string
from typing import Any

import tapeflow as tf
from tapeflow.keras.quantizers import configs as _configs
from tapeflow.keras.quantizers import quantizers as _q
from tapeflow.keras.quantizers.configs import QuantizationConfig
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


# Keras's `variable_serialization_spec`: the attributes whose variables a layer writes, in order.
KERNEL_SPEC = {
    None: ("kernel", "bias"),
    "int8": ("kernel", "bias", "kernel_scale"),
    "int4": ("kernel", "bias", "kernel_scale", "kernel_zero", "g_idx"),
    "float8": ("kernel", "bias", "inputs_scale", "inputs_amax_history", "kernel_scale", "kernel_amax_history",
               "outputs_grad_scale", "outputs_grad_amax_history"),
    "gptq": ("bias", "quantized_kernel", "kernel_scale", "kernel_zero", "g_idx"),
    "awq": ("bias", "quantized_kernel", "kernel_scale", "kernel_zero", "awq_scales", "g_idx"),
}
EMBEDDING_SPEC = {
    None: ("embeddings",),
    "int8": ("embeddings", "embeddings_scale"),
    "int4": ("embeddings", "embeddings_scale", "embeddings_zero", "g_idx"),
}
_FLOAT8_E4M3_MAX = 448.0
_FLOAT8_E5M2_MAX = 57344.0


def resolve_config(mode: Any, config: Any) -> Any:
    """Keras's `validate_and_resolve_config`: the config a `quantize(mode, config=...)` call uses
    (the mode's default config when only `mode` is given)."""
    from tapeflow.keras.dtype_policies.quantized import QUANTIZATION_MODES

    if isinstance(config, str):
        mode, config = config, None
    if mode is not None and mode not in QUANTIZATION_MODES:
        raise ValueError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. Received: mode={mode!r}")
    if config is None:
        defaults = {"int8": _configs.Int8QuantizationConfig, "int4": _configs.Int4QuantizationConfig,
                    "float8": _configs.Float8QuantizationConfig}
        if mode in defaults:
            return defaults[mode]()
        if mode in ("gptq", "awq"):
            name = "GPTQConfig" if mode == "gptq" else "AWQConfig"
            raise ValueError(f"For {mode.upper()}, you must pass a `{name}` object in the `config` argument.")
        raise ValueError("You must provide either `mode` or `config` to `quantize`.")
    if not isinstance(config, QuantizationConfig):
        raise ValueError("Argument `config` must be an instance of `QuantizationConfig`. "
                         f"Received: config={config!r} (of type {type(config)})")
    if mode is not None and config.mode != mode:
        raise ValueError(f"Contradictory arguments: mode={mode!r} but config.mode={config.mode!r}")
    return config


def _check_quantize_args(layer: Any, base: type, mode: Any, type_check: bool, config: Any,
                         modes: tuple = ("int8", "int4", "float8", "gptq", "awq")) -> Any:
    if type_check and type(layer) is not base:
        raise TypeError(f"Layer {type(layer).__name__} does not have a `quantize()` method implemented "
                        f"(only {base.__name__} itself is quantized; pass type_check=False to quantize a subclass).")
    config = resolve_config(mode, config)
    mode = config.mode
    if mode not in modes:
        raise TypeError(f"Layer {type(layer).__name__} does not have a `quantize()` method implemented for "
                        f"mode {mode!r}: Keras quantizes {base.__name__} in modes {modes}.")
    if not layer.built:
        raise ValueError(f"Cannot quantize a layer that isn't yet built. Layer '{layer.name}' (of type "
                         f"'{type(layer).__name__}') is not built yet.")
    if layer.quantization_mode is not None:
        raise ValueError(f"Layer '{layer.name}' is already quantized with dtype_policy='{layer.dtype_policy.name}'. "
                         f"Received: mode={mode}")
    if mode == "int8" and layer.compute_dtype == "float16":
        raise ValueError(f"Quantization mode='{mode}' doesn't work well with compute_dtype='float16'. Consider "
                         "loading model/layer with another dtype policy such as 'mixed_bfloat16' or "
                         "'mixed_float16' before calling `quantize()`.")
    return config


def block_size_for(layer: Any, config: Any) -> int | None:
    """Keras's `get_block_size_for_layer`: the int4 group size (None: per channel)."""
    if isinstance(config, _configs.Int4QuantizationConfig):
        return None if config.block_size == -1 else config.block_size
    block = getattr(layer.dtype_policy, "block_size", None)
    return None if block in (None, -1) else block


def _drop(layer: Any, name: str) -> Any:
    """Remove the weight held in attribute `name` from the layer (Keras's `del self._kernel`)."""
    old = layer.__dict__.pop(name)
    layer._weights_own[:] = [w for w in layer._weights_own if w is not old]
    layer._regularized[:] = [(w, r) for w, r in layer._regularized if w is not old]
    return old


def _set_policy(layer: Any, name: str) -> None:
    from tapeflow.keras.dtype_policies import get

    if layer.dtype_policy.quantization_mode is None:
        layer._set_dtype_policy(get(f"{name}_from_{layer.dtype_policy.name}"))


def _flat_sizes(kernel_shape: tuple, reduced: tuple) -> tuple[int, int]:
    rows = cols = 1
    for i, d in enumerate(kernel_shape):
        if i in reduced:
            rows *= int(d)
        else:
            cols *= int(d)
    return rows, cols


def quantize_kernel(layer: Any, base: type, mode: Any, type_check: bool, config: Any, reduced_axes: tuple,
                    to_scale_layout: Any, custom_int4_quantizer: bool = True) -> None:
    """Quantize `layer.kernel` (Dense / EinsumDense) in `mode` and switch to the quantized policy.

    `reduced_axes` are the kernel's contracted axes; `to_scale_layout` maps an int8 keepdims
    scale to Keras's stored `kernel_scale` layout. `custom_int4_quantizer`: whether a config's
    weight quantizer is used for per-channel int4 (Dense) or not (EinsumDense), as in Keras.
    """
    config = _check_quantize_args(layer, base, mode, type_check, config)
    mode = config.mode
    kernel_shape = tuple(int(d) for d in layer.kernel.shape)
    policy = mode
    if mode == "int8":
        weight_quantizer = QuantizationConfig.weight_quantizer_or_default(config, AbsMaxQuantizer(axis=reduced_axes))
        value, scale = weight_quantizer(layer.kernel, to_numpy=True)
        _drop(layer, "kernel")
        build_int8(layer, kernel_shape, tuple(to_scale_layout(scale).shape), config)
        layer.kernel.assign(value)
        layer.kernel_scale.assign(to_scale_layout(scale))
    elif mode == "int4":
        block = block_size_for(layer, config)
        rows, cols = _flat_sizes(kernel_shape, reduced_axes)
        flat = tf.reshape(layer.kernel, (rows, cols))
        zero = None
        if block is None:
            default = AbsMaxQuantizer(axis=0, value_range=(-8, 7), output_dtype="int8")
            quantizer = (QuantizationConfig.weight_quantizer_or_default(config, default) if custom_int4_quantizer
                         else default)
            value, scale = quantizer(flat, axis=0, to_numpy=True)
            scale = tf.reshape(scale, (cols,))
        else:
            value, scale, zero = _q.abs_max_quantize_grouped_with_zero_point(flat, block_size=block, to_numpy=True)
        packed, _, _ = _q.pack_int4(value, axis=-1)
        _drop(layer, "kernel")
        build_int4(layer, kernel_shape, reduced_axes, block, config)
        layer.kernel.assign(packed)
        layer.kernel_scale.assign(scale)
        if zero is not None:
            layer.kernel_zero.assign(zero)
        policy = f"int4/{-1 if block is None else block}"
    elif mode == "float8":
        build_float8(layer)
    else:
        from tapeflow.keras.layers import gptq_awq

        gptq_awq.build_calibrated(layer, kernel_shape, reduced_axes, mode, config)
        policy = config.dtype_policy_string()
    layer.quantization_config = config
    _set_policy(layer, policy)


def build_quantized(layer: Any, kernel_shape: tuple, reduced_axes: tuple, scale_shape: tuple) -> None:
    """The quantized variables of a layer built under a quantized policy (a loaded model).

    `scale_shape` is the int8 `kernel_scale` shape. float8 creates its variables only; the
    caller creates the float kernel next (Keras's order).
    """
    mode = layer.quantization_mode
    config = getattr(layer, "quantization_config", None)
    if mode == "int8":
        build_int8(layer, kernel_shape, scale_shape, config)
    elif mode == "int4":
        build_int4(layer, kernel_shape, reduced_axes, block_size_for(layer, config), config)
    elif mode == "float8":
        build_float8(layer)
    else:
        from tapeflow.keras.layers import gptq_awq

        gptq_awq.build_calibrated(layer, kernel_shape, reduced_axes, mode, config, from_policy=True)


def build_int8(layer: Any, kernel_shape: tuple, scale_shape: tuple, config: Any = None) -> None:
    """The int8 weights (zeros / ones until quantized or loaded) and the inputs' quantizer."""
    layer.inputs_quantizer = QuantizationConfig.activation_quantizer_or_default(config, AbsMaxQuantizer())
    layer.kernel = layer.add_weight(name="kernel", shape=kernel_shape, initializer="zeros", dtype="int8",
                                    trainable=False)
    layer.kernel_scale = layer.add_weight(name="kernel_scale", shape=scale_shape, initializer="ones",
                                          trainable=False)


def build_int4(layer: Any, kernel_shape: tuple, reduced_axes: tuple, block: int | None, config: Any = None) -> None:
    """The packed int4 kernel (rows, ceil(columns / 2)) and its scale (columns,), or with
    `block`, scale and int8 zero point (ceil(rows / block), columns) and `g_idx` (rows,)."""
    layer.inputs_quantizer = QuantizationConfig.activation_quantizer_or_default(config, None)
    rows, cols = _flat_sizes(kernel_shape, reduced_axes)
    layer._int4_layout = (rows, cols, block, tuple(kernel_shape))
    layer.kernel = layer.add_weight(name="kernel", shape=(rows, (cols + 1) // 2), initializer="zeros",
                                    dtype="int8", trainable=False)
    scale_shape = (cols,) if block is None else (-(-rows // block), cols)
    layer.kernel_scale = layer.add_weight(name="kernel_scale", shape=scale_shape, initializer="ones",
                                          trainable=False)
    if block is not None:
        layer.kernel_zero = layer.add_weight(name="kernel_zero", shape=scale_shape, initializer="zeros",
                                             dtype="int8", trainable=False)
        layer.g_idx = layer.add_weight(name="g_idx", shape=(rows,), initializer="zeros", dtype="float32",
                                       trainable=False)
        layer.g_idx.assign(tf.cast(tf.range(rows) // block, "float32"))


def build_float8(layer: Any) -> None:
    """float8 scaling state: a scale () and an amax history (`amax_history_length`,) for the
    inputs, the kernel and the output gradient; float32, trained by overwriting."""
    length = getattr(layer.dtype_policy, "amax_history_length", 1024)
    for what in ("inputs", "kernel", "outputs_grad"):
        setattr(layer, f"{what}_scale", layer.add_weight(
            name=f"{what}_scale", shape=(), initializer="ones", dtype="float32", trainable=True, autocast=False,
            overwrite_with_gradient=True))
        setattr(layer, f"{what}_amax_history", layer.add_weight(
            name=f"{what}_amax_history", shape=(length,), initializer="zeros", dtype="float32", trainable=True,
            autocast=False, overwrite_with_gradient=True))


def keras_variable_order(layer: Any, spec: dict | None = None) -> list:
    """The layer's variables in Keras's file order (`variable_serialization_spec`)."""
    names = (spec or KERNEL_SPEC)[layer.quantization_mode]
    return [v for v in (layer.__dict__.get(n) for n in names) if v is not None]


def check_quantization_config(layer: str, config: Any) -> Any:
    """A layer's `quantization_config` argument: None, a config, or Keras's serialized dict."""
    if config is None or isinstance(config, QuantizationConfig):
        return config
    if isinstance(config, dict) and config.get("class_name") in _configs.CONFIG_CLASSES:
        return _configs.CONFIG_CLASSES[config["class_name"]].from_config(config.get("config") or {})
    raise ValueError(f"{layer}: quantization_config={config!r} is not supported: expected None, a "
                     "keras.quantizers.QuantizationConfig or its serialized dict.")


def quantized_product(layer: Any, x: Any, specs: tuple[str, str, str], scale_spec: str, training: Any,
                      dense: bool = False) -> Any:
    """`einsum(specs, x, kernel)` of a quantized Dense / EinsumDense (before bias)."""
    mode = layer.quantization_mode
    if mode == "int8":
        return int8_product(layer, x, specs, scale_spec)
    if mode == "int4":
        return int4_product(layer, x, specs, dense)
    if mode == "float8":
        return float8_product(layer, x, specs, training)
    from tapeflow.keras.layers import gptq_awq

    return gptq_awq.calibrated_product(layer, x, specs)


def int4_kernel(layer: Any) -> Any:
    """The int4 kernel dequantized to the compute dtype, in the float kernel's shape."""
    rows, cols, block, shape = layer._int4_layout
    unpacked = _q.unpack_int4_tensor(layer.kernel, cols, axis=-1)
    if block is None:
        flat = tf.cast(unpacked, layer.compute_dtype) / tf.cast(layer.kernel_scale, layer.compute_dtype)
    else:
        flat = tf.cast(_q.dequantize_with_sz_map(unpacked, layer.kernel_scale, layer.kernel_zero, layer.g_idx,
                                                 group_axis=0), layer.compute_dtype)
    return tf.reshape(flat, shape)


def int4_product(layer: Any, x: Any, specs: tuple[str, str, str], dense: bool) -> Any:
    """The int4 product: the dequantized kernel; per channel with an inputs quantizer, on
    quantized inputs divided by their scale (Keras's order of operations per layer type)."""
    in_spec, k_spec, out_spec = specs
    equation = f"{in_spec},{k_spec}->{out_spec}"
    compute = layer.compute_dtype
    rows, cols, block, shape = layer._int4_layout
    quantizer = layer.inputs_quantizer if block is None else None
    if quantizer is None:
        if dense and block is None:  # Keras's Dense divides the integer product by the scale
            unpacked = _q.unpack_int4_tensor(layer.kernel, cols, axis=-1)
            float_kernel = tf.cast(unpacked, compute)
            y = tf.einsum(equation, x, float_kernel)
            return y / tf.cast(layer.kernel_scale, compute)
        return tf.einsum(equation, x, int4_kernel(layer))
    float_kernel = int4_kernel(layer)

    @tf.custom_gradient
    def product(x: Any) -> Any:
        q, x_scale = quantizer(x, axis=_reduced(in_spec, out_spec))
        if dense:
            unpacked = tf.cast(_q.unpack_int4_tensor(layer.kernel, cols, axis=-1), compute)
            y = tf.einsum(equation, tf.cast(q, compute), unpacked)
            y = y / (tf.cast(layer.kernel_scale, compute) * relayout(x_scale, in_spec, out_spec))
        else:
            y = tf.einsum(equation, tf.cast(q, compute), float_kernel) / relayout(x_scale, in_spec, out_spec)

        def grad(dy: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(x)
                again = tf.einsum(equation, x, float_kernel)
            return tape.gradient(again, x, output_gradients=dy)

        return y, grad

    return product(x)


def float8_product(layer: Any, x: Any, specs: tuple[str, str, str], training: Any) -> Any:
    """Keras's float8 product: inputs and kernel quantize-dequantized to float8_e4m3fn with the
    current scales; in training, the "gradients" of the scale and history variables are their
    next values (the optimizer overwrites them), and the output gradient goes through
    float8_e5m2 with its own delayed scale."""
    in_spec, k_spec, out_spec = specs
    compute = layer.compute_dtype

    def qdq_inputs(value: Any, scale: Any, history: Any) -> Any:
        @tf.custom_gradient
        def qdq(value: Any, scale: Any, history: Any) -> Any:
            if training:
                new_scale = _q.compute_float8_scale(tf.reduce_max(history, axis=0), scale, _FLOAT8_E4M3_MAX)
                new_history = _q.compute_float8_amax_history(value, history)
            else:
                new_scale = new_history = None
            out = _q.quantize_and_dequantize(value, scale, "float8_e4m3fn", compute)

            def grad(dy: Any) -> tuple:
                return dy, new_scale, new_history

            return out, grad

        # identity: the variables enter as inputs (their "gradients" are returned), as Keras's
        # convert_to_tensor does.
        return qdq(value, tf.identity(scale), tf.identity(history))

    @tf.custom_gradient
    def qdq_outputs(value: Any, scale: Any, history: Any) -> Any:
        def grad(dy: Any) -> tuple:
            new_scale = _q.compute_float8_scale(tf.reduce_max(history, axis=0), scale, _FLOAT8_E5M2_MAX)
            out = _q.quantize_and_dequantize(dy, scale, "float8_e5m2", compute)
            return out, new_scale, _q.compute_float8_amax_history(dy, history)

        return tf.identity(value), grad

    kernel = tf.cast(layer.kernel, compute) if layer.kernel.dtype != compute else tf.identity(layer.kernel)
    y = tf.einsum(f"{in_spec},{k_spec}->{out_spec}",
                  qdq_inputs(x, layer.inputs_scale, layer.inputs_amax_history),
                  qdq_inputs(kernel, layer.kernel_scale, layer.kernel_amax_history))
    return qdq_outputs(y, tf.identity(layer.outputs_grad_scale), tf.identity(layer.outputs_grad_amax_history))


def float8_bias(layer: Any, bias: Any) -> Any:
    """Keras's float8 bias: rounded through bfloat16 when the compute dtype is float32 (its
    gradient too, as TF's Cast gradient casts the upstream gradient)."""
    if layer.dtype_policy.compute_dtype != "float32":
        return bias

    @tf.custom_gradient
    def through_bfloat16(b: Any) -> Any:
        def grad(dy: Any) -> Any:
            return tf.cast(tf.cast(dy, "bfloat16"), dy.dtype)

        return tf.cast(tf.cast(b, "bfloat16"), b.dtype), grad

    return through_bfloat16(tf.identity(bias))


# -- Embedding ------------------------------------------------------------------------------------
def quantize_embedding(layer: Any, base: type, mode: Any, type_check: bool, config: Any) -> None:
    """Quantize `layer.embeddings` per vocabulary row: "int8", or "int4" (per row, or in groups
    of `block_size` along `output_dim` with a zero point), packed along `output_dim`."""
    config = _check_quantize_args(layer, base, mode, type_check, config, modes=("int8", "int4"))
    mode = config.mode
    table = layer.embeddings
    policy = mode
    if mode == "int8":
        quantizer = QuantizationConfig.weight_quantizer_or_default(config, AbsMaxQuantizer(axis=-1))
        value, scale = quantizer(table, to_numpy=True)
        _drop(layer, "embeddings")
        build_embedding(layer, mode, None)
        layer.embeddings.assign(value)
        layer.embeddings_scale.assign(tf.reshape(scale, (-1,)))
    else:
        block = block_size_for(layer, config)
        zero = None
        if block is None:
            quantizer = QuantizationConfig.weight_quantizer_or_default(
                config, AbsMaxQuantizer(axis=-1, value_range=(-8, 7), output_dtype="int8"))
            value, scale = quantizer(table, to_numpy=True)
            scale = tf.reshape(scale, (-1,))
        else:
            value, scale, zero = _q.abs_max_quantize_grouped_with_zero_point(
                tf.transpose(table), block_size=block, value_range=(-8, 7), dtype="int8", to_numpy=True)
            value, scale, zero = tf.transpose(value), tf.transpose(scale), tf.transpose(zero)
        packed, _, _ = _q.pack_int4(value, axis=-1)
        _drop(layer, "embeddings")
        build_embedding(layer, mode, block)
        layer.embeddings.assign(packed)
        layer.embeddings_scale.assign(scale)
        if zero is not None:
            layer.embeddings_zero.assign(zero)
        policy = f"int4/{-1 if block is None else block}"
    layer.quantization_config = config
    _set_policy(layer, policy)


def build_embedding(layer: Any, mode: str, block: int | None) -> None:
    """The quantized table of an Embedding (int8 (input_dim, output_dim) or packed int4
    (input_dim, ceil(output_dim / 2))) with its per-row scale, or per-group scale and zero."""
    n, d = layer.input_dim, layer.output_dim
    if mode == "int8":
        layer.embeddings = layer.add_weight(name="embeddings", shape=(n, d), initializer="zeros", dtype="int8",
                                            trainable=False)
        layer.embeddings_scale = layer.add_weight(name="embeddings_scale", shape=(n,), initializer="ones",
                                                  trainable=False)
        return
    layer._int4_layout = (n, d, block, (n, d))
    layer.embeddings = layer.add_weight(name="embeddings", shape=(n, (d + 1) // 2), initializer="zeros",
                                        dtype="int8", trainable=False)
    scale_shape = (n,) if block is None else (n, -(-d // block))
    layer.embeddings_scale = layer.add_weight(name="embeddings_scale", shape=scale_shape, initializer="ones",
                                              trainable=False)
    if block is not None:
        layer.embeddings_zero = layer.add_weight(name="embeddings_zero", shape=scale_shape, initializer="zeros",
                                                 dtype="int8", trainable=False)
        layer.g_idx = layer.add_weight(name="g_idx", shape=(d,), initializer="zeros", dtype="float32",
                                       trainable=False)
        layer.g_idx.assign(tf.cast(tf.range(d) // block, "float32"))


def embedding_lookup(layer: Any, idx: Any) -> Any:
    """Rows `idx` of a quantized Embedding, dequantized to the compute dtype."""
    compute = layer.compute_dtype
    if layer.quantization_mode == "int8":
        rows = tf.gather(layer.embeddings, idx)
        return tf.cast(rows, compute) / tf.expand_dims(tf.cast(tf.gather(layer.embeddings_scale, idx), compute), -1)
    _, d, block, _ = layer._int4_layout
    rows = tf.gather(_q.unpack_int4_tensor(layer.embeddings, d, axis=-1), idx)
    scale = tf.gather(layer.embeddings_scale, idx)
    if block is None:
        return tf.cast(rows, compute) / tf.expand_dims(tf.cast(scale, compute), -1)
    zero = tf.gather(layer.embeddings_zero, idx)
    return tf.cast(_q.dequantize_with_sz_map(tf.cast(rows, compute), scale, zero, layer.g_idx, group_axis=-1),
                   compute)


_LETTERS = re.sub("[io]", "", string.ascii_lowercase)


def dense_specs(ndim: int) -> tuple[str, str, str]:
    """Subscripts of Dense's product on an input of rank `ndim` (contract the last axis)."""
    batch = _LETTERS[: ndim - 1]
    return batch + "i", "io", batch + "o"
