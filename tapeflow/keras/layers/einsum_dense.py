"""`EinsumDense`: a dense layer whose product is an einsum equation (`"ab,bc->ac"` is Dense).

The kernel's shape comes from the equation: each kernel subscript takes its size from the input
when the input has it, else from `output_shape`; `bias_axes` names the output subscripts the
bias varies over. An ellipsis on the left (`"...b,bc->...c"`) or right keeps those input axes.
"""

from __future__ import annotations

import re
from typing import Any

import tapeflow as tf
from tapeflow.keras import activations, constraints, initializers, regularizers
from tapeflow.keras.layers import quantization as _quant
from tapeflow.keras.layers.base import Layer
from tapeflow.tensor import Tensor

_PLAIN = re.compile(r"^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$")
_LEFT = re.compile(r"^\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)$")
_RIGHT = re.compile(r"^([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]{2,})\.\.\.$")


def _shapes(equation: str, bias_axes: str | None, input_shape: tuple, output_shape: Any) -> tuple:
    """(kernel shape, bias shape or None, full output shape) for `equation` on `input_shape`."""
    eq = equation.replace(" ", "")
    left = right = False
    m = _PLAIN.match(eq)
    if m is None:
        m = _LEFT.match(eq)
        left = m is not None
    if m is None:
        m = _RIGHT.match(eq)
        right = m is not None
    if m is None:
        raise ValueError(f"EinsumDense: invalid einsum equation {equation!r}; equations must be of the form "
                         "'ab,bc->ac', '...ab,bc->...ac' or 'ab...,bc->ac...'.")
    in_spec, w_spec, out_spec = m.groups()
    elided = len(input_shape) - len(in_spec)
    if elided < 0 or (elided and not (left or right)):
        raise ValueError(f"EinsumDense: equation {equation!r} expects inputs of rank {len(in_spec)}, received "
                         f"shape {tuple(input_shape)}.")
    out = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    out.insert(0, input_shape[0])
    if left:
        for i in range(1, elided):
            out.insert(1, input_shape[i])
        in_map = {d: i + elided - len(input_shape) for i, d in enumerate(in_spec)}
        out_map = {d: i + elided - len(out) for i, d in enumerate(out_spec)}
    else:
        out.extend(input_shape[len(input_shape) - elided:])
        in_map = {d: i for i, d in enumerate(in_spec)}
        out_map = {d: i for i, d in enumerate(out_spec)}
    for d in in_spec:
        if d in out_map and out[out_map[d]] is None:
            out[out_map[d]] = input_shape[in_map[d]]  # an output axis that is an input axis
        if d in out_map and out[out_map[d]] is not None and input_shape[in_map[d]] is not None \
                and out[out_map[d]] != input_shape[in_map[d]]:
            raise ValueError(f"EinsumDense: output_shape {output_shape!r} gives {out[out_map[d]]} for subscript "
                             f"{d!r}, but the input has {input_shape[in_map[d]]}.")
    kernel = []
    for d in w_spec:
        if d in in_map:
            kernel.append(input_shape[in_map[d]])
        elif d in out_map:
            kernel.append(out[out_map[d]])
        else:
            raise ValueError(f"EinsumDense: kernel subscript {d!r} of {equation!r} is in neither the input nor "
                             "the output.")
    if any(k is None for k in kernel):
        raise ValueError(f"EinsumDense: the kernel shape {kernel} of {equation!r} needs every dimension; give "
                         "them in output_shape or the input shape.")
    bias = None
    if bias_axes:
        for d in bias_axes:
            if d not in out_spec:
                raise ValueError(f"EinsumDense: bias axis {d!r} is not an output subscript of {equation!r}.")
        first = min(out_spec.find(d) for d in bias_axes)
        bias = [out[out_map[d]] if d in bias_axes else 1 for d in out_spec[first:]]
        if not left:
            bias.extend([1] * elided)
    return tuple(kernel), None if bias is None else tuple(bias), tuple(out)


class EinsumDense(Layer):
    """A dense layer computing `einsum(equation, inputs, kernel) + bias`, then `activation`.

    Args:
        equation: e.g. "ab,bc->ac" (Dense), "abc,cde->abde" (per-head projections).
        output_shape: the output's shape without the batch axis (None for axes taken from the
            input); an int for one axis.
        activation: applied last.
        bias_axes: output subscripts the bias varies over (None: no bias).
        kernel_*, bias_*: as for Dense.
    """

    def __init__(self, equation: str, output_shape: Any, activation: Any = None, bias_axes: str | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, lora_rank: Any = None, lora_alpha: Any = None,
                 gptq_unpacked_column_size: int | None = None, quantization_config: Any = None,
                 **kwargs: Any) -> None:
        quantization_config = _quant.check_quantization_config("EinsumDense", quantization_config)
        if lora_rank:
            raise ValueError("EinsumDense: LoRA (lora_rank) is not supported by Tapeflow.")
        super().__init__(**kwargs)
        self.equation = equation
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self.activation = activations.get(activation)
        self.bias_axes = bias_axes
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.quantization_config = quantization_config
        self._gptq_unpacked_column_size = gptq_unpacked_column_size

    def _supports_quantized_policy(self, policy: Any) -> bool:
        return policy.quantization_mode in ("int8", "int4", "float8", "gptq", "awq")

    def _specs(self) -> tuple[str, str, str]:
        return _quant.einsum_specs(self.equation, self._input_ndim)

    def build(self, input_shape: Any) -> None:
        kernel, bias, self.full_output_shape = _shapes(self.equation, self.bias_axes, tuple(input_shape),
                                                       self.partial_output_shape)
        self._input_ndim = len(input_shape)
        mode = self.quantization_mode
        if mode is not None:  # a quantized layer being rebuilt (a loaded model): Keras's variable order
            _, k_spec, out_spec = self._specs()
            reduced = tuple(i for i, c in enumerate(k_spec) if c not in out_spec)
            scale_shape = tuple(kernel[k_spec.index(c)] if c in k_spec else 1 for c in out_spec)
            _quant.build_quantized(self, tuple(kernel), reduced, scale_shape)
            if mode != "float8":
                self.bias = None
                if bias is not None:
                    self.bias = self.add_weight(shape=bias, name="bias", initializer=self.bias_initializer,
                                                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
                self.built = True
                return
        self.kernel = self.add_weight(shape=kernel, name="kernel", initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = None
        if bias is not None:
            self.bias = self.add_weight(shape=bias, name="bias", initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def quantize(self, mode: Any = None, type_check: bool = True, config: Any = None) -> None:
        """Quantize the kernel as Keras 3.15 ("int8", "int4", "float8", "gptq", "awq"; see
        `tapeflow.keras.layers.quantization`). int8: one scale per output unit (abs-max over the
        contracted axes), stored in the output's axis order as Keras stores it; int4: the kernel
        flattened to (contracted, other) and packed."""
        in_spec, k_spec, out_spec = self._specs()
        reduced = tuple(i for i, c in enumerate(k_spec) if c not in out_spec)
        _quant.quantize_kernel(self, EinsumDense, mode, type_check, config, reduced,
                               lambda s: _quant.relayout(s, k_spec, out_spec), custom_int4_quantizer=False)

    def _keras_variable_order(self) -> list:
        return _quant.keras_variable_order(self)

    def call(self, inputs: Tensor, training: Any = None) -> Tensor:
        x = inputs if inputs.dtype._np == self._np_dtype else tf.cast(inputs, self._np_dtype)
        mode = self._dtype_policy._quantization_mode
        if mode is not None:
            specs = _quant.einsum_specs(self.equation, x.ndim)
            y = _quant.quantized_product(self, x, specs, specs[2], training)
            if self.bias is not None:
                y = y + (_quant.float8_bias(self, self.bias) if mode == "float8" else self.bias)
            return self.activation(y) if self.activation is not None else y
        y = tf.einsum(self.equation, x, self.kernel)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y) if self.activation is not None else y

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return _shapes(self.equation, self.bias_axes, tuple(input_shape), self.partial_output_shape)[2]

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "output_shape": self.partial_output_shape, "equation": self.equation,
            "activation": activations.serialize(self.activation), "bias_axes": self.bias_axes,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "quantization_config": None,  # Keras 3.15 always writes it
        })
        if self.quantization_config is not None:
            from tapeflow.keras.saving.serialization import serialize_keras_object

            config["quantization_config"] = serialize_keras_object(self.quantization_config)
        if self._gptq_unpacked_column_size is not None:
            config["gptq_unpacked_column_size"] = self._gptq_unpacked_column_size
        return config
