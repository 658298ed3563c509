"""Core layers: Input, Dense, Activation, Flatten, Reshape, Permute, RepeatVector, Dropout,
GaussianNoise, Lambda, Embedding."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tapeflow as tf
from tapeflow.dispatch import CompositeTensor
from tapeflow.dtypes import is_real_float_np
from tapeflow.errors import UnimplementedError
from tapeflow.graph import SymbolicTensor
from tapeflow.keras import activations, backend, constraints, initializers, regularizers
from tapeflow.keras.layers import quantization as _quant
from tapeflow.keras.layers.base import InputSpec, Layer
from tapeflow.ops import dense as _dense_op
from tapeflow.tensor import Tensor


class InputLayer(Layer):
    """The entry point of a model: holds the symbolic input tensor (see `keras.Input`).

    Args:
        shape: shape of one sample, without the batch axis.
        batch_size: optional fixed batch size.
        dtype: input dtype (default floatx).
        batch_shape: full shape including the batch axis (instead of shape/batch_size).
    """

    def __init__(
        self,
        shape: Any = None,
        batch_size: int | None = None,
        dtype: Any = None,
        sparse: Any = None,
        batch_shape: Any = None,
        input_tensor: Any = None,
        name: str | None = None,
        ragged: Any = None,
        **kwargs: Any,
    ) -> None:
        input_shape = kwargs.pop("input_shape", None)
        if shape is None and input_shape is not None:
            shape = input_shape
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        if batch_shape is None and batch_input_shape is not None:
            batch_shape = batch_input_shape
        super().__init__(name=name, dtype=dtype, **kwargs)
        if input_tensor is not None:
            self.output_tensor = input_tensor
            batch_shape = tuple(input_tensor.shape)
        else:
            if batch_shape is None:
                if shape is None:
                    raise ValueError("You must pass a `shape` argument.")
                shape = (shape,) if isinstance(shape, int) else shape
                batch_shape = (batch_size,) + backend.standardize_shape(shape)
            batch_shape = backend.standardize_shape(batch_shape)
            self.output_tensor = SymbolicTensor(batch_shape, dtype or backend.floatx(), name=self.name)
        self.batch_shape = batch_shape
        # Whether SparseTensor / RaggedTensor values are expected: they are fed to the layers as
        # they are (Dense multiplies a SparseTensor by its kernel), as in Keras.
        self.sparse = bool(sparse)
        self.ragged = bool(ragged)
        self.output_tensor._keras_history = (self, 0, 0)
        self.built = True

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        return {
            "batch_shape": list(self.batch_shape),
            "dtype": self._dtype,
            "sparse": self.sparse,
            "ragged": self.ragged,
            "name": self.name,
        }

    @property
    def output(self) -> Any:
        return self.output_tensor


def Input(
    shape: Any = None,
    batch_size: int | None = None,
    dtype: Any = None,
    sparse: Any = None,
    batch_shape: Any = None,
    name: str | None = None,
    tensor: Any = None,
    **kwargs: Any,
) -> SymbolicTensor:  # noqa: N802
    """A symbolic input tensor for the Functional API.

    Example:
        >>> inputs = keras.Input(shape=(784,))
        >>> outputs = keras.layers.Dense(10)(inputs)
        >>> model = keras.Model(inputs, outputs)
    """
    layer = InputLayer(
        shape=shape,
        batch_size=batch_size,
        dtype=dtype,
        sparse=sparse,
        batch_shape=batch_shape,
        name=name,
        input_tensor=tensor,
        **kwargs,
    )
    return layer.output_tensor



_KERNEL_MODES = ("int8", "int4", "float8", "gptq", "awq")


def _quantization_config_entry(layer: Any) -> dict:
    """`{"quantization_config": ...}` for get_config: Keras 3.15 always writes it (None unset)."""
    config = getattr(layer, "quantization_config", None)
    if config is None:
        return {"quantization_config": None}
    from tapeflow.keras.saving.serialization import serialize_keras_object

    return {"quantization_config": serialize_keras_object(config)}

class Dense(Layer):
    """Densely connected layer: `activation(inputs @ kernel + bias)` on the last axis.

    Args:
        units: output dimension.
        activation: activation name or callable (default linear).
        use_bias: whether to add a bias vector.
        kernel_initializer / bias_initializer / *_regularizer / *_constraint: as in Keras.

    Shapes: (..., input_dim) -> (..., units); kernel (input_dim, units), bias (units,).
    """

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        lora_rank: Any = None,
        lora_alpha: Any = None,
        quantization_config: Any = None,
        **kwargs: Any,
    ) -> None:
        quantization_config = _quant.check_quantization_config("Dense", quantization_config)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False
        self.quantization_config = quantization_config
        if int(units) <= 0:
            raise ValueError(f"Dense: units must be a positive integer, received {units!r}.")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True
        self._fused: str | None = None

    def _supports_quantized_policy(self, policy: Any) -> bool:
        return policy.quantization_mode in _KERNEL_MODES

    def build(self, input_shape: Any) -> None:
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"Dense '{self.name}': the last dimension of the input must be known, "
                f"received shape {tuple(input_shape)}."
            )
        mode = self.quantization_mode
        if mode is not None:  # a quantized layer being rebuilt (a loaded model): Keras's variable order
            _quant.build_quantized(self, (input_dim, self.units), (0,), (self.units,))
            if mode != "float8":
                self.bias = self._build_bias()
                self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
                self.built = True
                return
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_dim, self.units),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = self._build_bias()
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank)  # (as Keras 3.15: alpha becomes the rank here)

    def enable_lora(self, rank: int, lora_alpha: Any = None, a_initializer: Any = "he_uniform",
                    b_initializer: Any = "zeros") -> None:
        """Low-rank adaptation (Keras 3): freeze the kernel and learn kernel + (alpha / rank) A @ B,
        A (input_dim, rank) and B (rank, units) float32 (B starts at zero, so outputs do not move)."""
        if self.kernel_constraint:
            raise ValueError("Lora is incompatible with kernel constraints. In order to enable lora on this layer, "
                             "remove the `kernel_constraint` argument.")
        if not self.built:
            raise ValueError("Cannot enable lora on a layer that isn't yet built.")
        if self.lora_enabled:
            raise ValueError("lora is already enabled. This can only be done once per layer.")
        if self.quantization_mode is not None:
            raise UnimplementedError(None, None, f"Dense '{self.name}': LoRA on a quantized kernel "
                                     f"({self.quantization_mode}) is not supported by Tapeflow; enable LoRA "
                                     "before quantizing or on a float layer.")
        self.lora_kernel_a = self.add_weight(name="lora_kernel_a", shape=(self.kernel.shape[0], rank),
                                             initializer=initializers.get(a_initializer), dtype="float32",
                                             regularizer=self.kernel_regularizer)
        self.lora_kernel_b = self.add_weight(name="lora_kernel_b", shape=(rank, self.kernel.shape[1]),
                                             initializer=initializers.get(b_initializer), dtype="float32",
                                             regularizer=self.kernel_regularizer)
        self.kernel.trainable = False
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank

    def _effective_kernel(self) -> Any:
        """The kernel the layer computes with: with LoRA, kernel + (alpha / rank) A @ B."""
        if not self.lora_enabled:
            return self.kernel
        delta = (self.lora_alpha / self.lora_rank) * tf.matmul(self.lora_kernel_a, self.lora_kernel_b)
        return tf.cast(self.kernel + tf.cast(delta, self.kernel.dtype), self.compute_dtype)

    def save_own_variables(self, store: dict) -> None:
        """As Keras: with LoRA, the merged kernel and the bias (no LoRA factors)."""
        if not self.lora_enabled:
            return super().save_own_variables(store)
        store["0"] = self._effective_kernel().numpy()
        if self.bias is not None:
            store["1"] = self.bias.numpy()

    def load_own_variables(self, store: dict) -> None:
        """As Keras: with LoRA, the kernel takes the (merged) saved kernel and A, B restart at zero."""
        if not self.lora_enabled:
            return super().load_own_variables(store)
        self.kernel.assign(store["0"])
        if self.bias is not None:
            self.bias.assign(store["1"])
        self.lora_kernel_a.assign(tf.zeros(self.lora_kernel_a.shape))
        self.lora_kernel_b.assign(tf.zeros(self.lora_kernel_b.shape))

    def _build_bias(self) -> Any:
        if not self.use_bias:
            return None
        return self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer,
                               regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def quantize(self, mode: Any = None, type_check: bool = True, config: Any = None) -> None:
        """Quantize the kernel as Keras 3.15 does (see `tapeflow.keras.layers.quantization`).

        Args:
            mode: "int8", "int4", "float8", "gptq" or "awq" (None: `config.mode`).
            type_check: refuse subclasses of Dense (Keras's default).
            config: a `keras.quantizers.QuantizationConfig` (default: the mode's default
                config; "int4" then uses groups of 128 input rows).

        Afterwards `dtype_policy` is "<mode>_from_<policy>" ("int4/128_from_float32", ...).
        """
        _quant.quantize_kernel(self, Dense, mode, type_check, config, (0,), lambda s: tf.reshape(s, (-1,)))

    def _keras_variable_order(self) -> list:
        return _quant.keras_variable_order(self)

    def _quantized_call(self, x: Tensor, training: Any) -> Tensor:
        if isinstance(x, CompositeTensor):
            raise ValueError(f"Dense '{self.name}': a quantized Dense ({self.quantization_mode}) does not take "
                             "sparse inputs.")
        y = _quant.quantized_product(self, x, _quant.dense_specs(x.ndim), "o", training, dense=True)
        if self.bias is not None:
            y = y + (_quant.float8_bias(self, self.bias) if self.quantization_mode == "float8" else self.bias)
        return self.activation(y)

    def call(self, inputs: Tensor, training: Any = None) -> Tensor:
        x = inputs
        if not is_real_float_np(x.dtype._np):
            x = tf.cast(x, self._dtype)
        if self._dtype_policy._quantization_mode is not None:
            return self._quantized_call(x, training)
        fused = self._fused
        if fused is None:
            fused = self._fused = _fused_name(self.activation)
        kernel = self._effective_kernel() if self.lora_enabled else self.kernel
        if isinstance(x, CompositeTensor):  # a SparseTensor input: sparse @ kernel, as Keras
            y = tf.sparse.sparse_dense_matmul(x, kernel)
            return self.activation(y + self.bias if self.bias is not None else y)
        if fused and x.ndim == 2:
            if fused == "sigmoid" and self.activation is activations.sigmoid:
                # Keras's sigmoid records its logits so binary cross-entropy can start from them.
                return self.activation(_dense_op.dense(x, kernel, self.bias, "linear"))
            return _dense_op.dense(x, kernel, self.bias, fused)
        if x.ndim == 2:
            y = tf.matmul(x, kernel)
        else:
            shape = x.shape
            y = tf.reshape(
                tf.matmul(tf.reshape(x, (-1, shape[-1])), kernel),
                tuple(-1 if d is None else d for d in shape[:-1]) + (self.units,),
            )
        if self.bias is not None:
            y = y + self.bias
        if self.activation is not None and self.activation is not activations.linear:
            y = self.activation(y)
        return y

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape)[:-1] + (self.units,)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                **_quantization_config_entry(self),
            }
        )
        if self.lora_rank:
            config["lora_rank"] = self.lora_rank
            config["lora_alpha"] = self.lora_alpha
        return config


def _fused_name(activation: Any) -> str:
    """The fused-kernel name of a built-in activation, or "" when it has none."""
    if activation is None or activation is activations.linear:
        return "linear"
    name = getattr(activation, "__name__", "")
    module = getattr(activation, "__module__", "") or ""
    if module.startswith("tapeflow") and name in _dense_op.ACTIVATIONS:
        return name
    return ""


class Activation(Layer):
    """Apply an activation function (name or callable) elementwise."""

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.supports_masking = True

    def call(self, inputs: Tensor) -> Tensor:
        return self.activation(inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Flatten(Layer):
    """Flatten each sample to one axis: (batch, ...) -> (batch, prod(...))."""

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = data_format or backend.image_data_format()
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs: Tensor) -> Tensor:
        x = inputs
        if self.data_format == "channels_first" and x.ndim > 2:
            x = tf.transpose(x, [0] + list(range(2, x.ndim)) + [1])
        if x.ndim == 1:
            return tf.expand_dims(x, 1)
        rest = tuple(x.shape)[1:]
        if x.shape[0] is None and None not in rest:
            # Inside a trace with an unknown batch: the known features, the batch inferred.
            return tf.reshape(x, (-1, int(_prod(rest))))
        return tf.reshape(x, (x.shape[0], -1))

    def compute_output_shape(self, input_shape: Any) -> tuple:
        rest = tuple(input_shape)[1:]
        n = None if any(d is None for d in rest) else int(_prod(rest))
        return (input_shape[0], n if rest else 1)

    def get_config(self) -> dict:
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


def _prod(xs: Any) -> int:
    n = 1
    for d in xs:
        n *= d
    return n


class Reshape(Layer):
    """Reshape each sample to `target_shape` (one entry may be -1)."""

    def __init__(self, target_shape: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def call(self, inputs: Tensor) -> Tensor:
        return tf.reshape(inputs, (inputs.shape[0],) + self.target_shape)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        target = list(self.target_shape)
        rest = tuple(input_shape)[1:]
        if -1 in target and all(d is not None for d in rest):
            known = _prod(d for d in target if d != -1)
            total = _prod(rest)
            if known == 0 or total % known:
                raise ValueError(
                    f"Reshape '{self.name}': cannot reshape input of shape {tuple(input_shape)} to "
                    f"target shape {self.target_shape}."
                )
            target[target.index(-1)] = total // known
        elif -1 not in target and all(d is not None for d in rest) and _prod(rest) != _prod(target):
            raise ValueError(
                f"Reshape '{self.name}': total size of the input {tuple(input_shape)[1:]} ({_prod(rest)}) "
                f"does not match target shape {self.target_shape} ({_prod(target)})."
            )
        return (input_shape[0],) + tuple(None if d == -1 else d for d in target)

    def get_config(self) -> dict:
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config


class Permute(Layer):
    """Permute the non-batch axes; `dims` are 1-based like Keras (e.g. (2, 1))."""

    def __init__(self, dims: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(
                f"Permute: dims must be a permutation of 1..{len(self.dims)}, received {self.dims}."
            )

    def call(self, inputs: Tensor) -> Tensor:
        return tf.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        s = tuple(input_shape)
        return (s[0],) + tuple(s[d] for d in self.dims)

    def get_config(self) -> dict:
        config = super().get_config()
        config["dims"] = list(self.dims)
        return config


class RepeatVector(Layer):
    """Repeat the input n times: (batch, features) -> (batch, n, features)."""

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs: Tensor) -> Tensor:
        return tf.tile(tf.expand_dims(inputs, 1), [1, self.n, 1])

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self) -> dict:
        config = super().get_config()
        config["n"] = self.n
        return config


class Dropout(Layer):
    """Randomly zero a fraction `rate` of inputs during training (scaling the rest by 1/(1-rate)).

    Does nothing at inference time.
    """

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0 <= float(rate) <= 1:
            raise ValueError(f"Dropout: rate must be in [0, 1], received {rate}.")
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed
        self.supports_masking = True

    def call(self, inputs: Tensor, training: Any = None) -> Tensor:
        if training and self.rate > 0:
            if self.rate >= 1:
                return tf.zeros_like(inputs)
            return tf.nn.dropout(inputs, rate=self.rate, noise_shape=self.noise_shape, seed=self.seed)
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed})
        return config


class GaussianNoise(Layer):
    """Add zero-mean Gaussian noise with `stddev` during training."""

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stddev = float(stddev)
        self.seed = seed
        self.supports_masking = True

    def call(self, inputs: Tensor, training: Any = None) -> Tensor:
        if training and self.stddev > 0:
            return inputs + tf.random.normal(
                tuple(inputs.shape), stddev=self.stddev, dtype=inputs.dtype, seed=self.seed
            )
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"stddev": self.stddev, "seed": self.seed})
        return config


class Lambda(Layer):
    """Wrap an arbitrary function as a layer (in-process only: it is not serialisable)."""

    def __init__(
        self,
        function: Callable,
        output_shape: Any = None,
        mask: Any = None,
        arguments: dict | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.function = function
        self._output_shape = output_shape
        self.mask = mask
        self.arguments = arguments or {}
        import inspect

        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            params = {}
        self._fn_takes_training = "training" in params
        self._fn_takes_mask = "mask" in params

    def call(self, inputs: Any, mask: Any = None, training: Any = None) -> Any:
        kwargs = dict(self.arguments)
        if self._fn_takes_mask:
            kwargs["mask"] = mask
        if self._fn_takes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self._output_shape is None:
            # As Keras: run the function on a symbolic input of that shape.
            from tapeflow.keras.layers.base import KerasTensor

            shapes = input_shape
            is_shape = isinstance(shapes, (tuple, list)) and all(d is None or isinstance(d, int) for d in shapes)
            symbolic = (KerasTensor(tuple(shapes), self.compute_dtype) if is_shape else
                        tf.nest.map_structure_up_to(shapes, lambda s: KerasTensor(tuple(s), self.compute_dtype),
                                                    shapes))
            return tf.nest.map_structure(lambda t: tuple(t.shape), self.call(symbolic))
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        s = tuple(self._output_shape)
        batch = input_shape[0] if isinstance(input_shape, tuple) and input_shape else None
        return (batch,) + s

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self) -> dict:
        """Keras's config: a lambda as `{"class_name": "__lambda__"}` with its marshalled code
        (what Keras writes; Tapeflow never loads code from a file, but this process can clone
        its own lambdas), a named function by name."""
        from tapeflow.keras.saving import lambda_functions
        from tapeflow.keras.saving.serialization import serialize_keras_object

        config = {"function": lambda_functions.function_config(self.function)}
        if self._output_shape is not None:
            config["output_shape"] = (lambda_functions.function_config(self._output_shape)
                                      if callable(self._output_shape) else self._output_shape)
        if self.mask is not None:
            config["mask"] = (lambda_functions.function_config(self.mask) if callable(self.mask)
                              else serialize_keras_object(self.mask))
        config["arguments"] = serialize_keras_object(self.arguments)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None, safe_mode: Any = None) -> Lambda:
        from tapeflow.keras.saving import lambda_functions

        config = dict(config)
        for key in ("function", "output_shape", "mask"):
            value = config.get(key)
            if isinstance(value, (str, dict)) and not (key == "output_shape" and isinstance(value, list)):
                config[key] = lambda_functions.load_function(value, custom_objects)
        if isinstance(config.get("output_shape"), list):
            config["output_shape"] = tuple(config["output_shape"])
        return cls(**config)


class Embedding(Layer):
    """Map integer indices to dense vectors: (batch, ...) ints -> (batch, ..., output_dim).

    Args:
        input_dim: vocabulary size (indices in [0, input_dim)).
        output_dim: embedding size.
        mask_zero: whether index 0 is padding (produces a mask for downstream RNN layers).
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        input_length: Any = None,
        quantization_config: Any = None,
        **kwargs: Any,
    ) -> None:
        quantization_config = _quant.check_quantization_config("Embedding", quantization_config)
        if kwargs.pop("lora_rank", None):
            raise UnimplementedError(None, None, "Embedding: LoRA (lora_rank) on embeddings is not supported by "
                                     "Tapeflow; LoRA works on Dense layers.")
        kwargs.pop("lora_alpha", None)
        if input_length is not None and "input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,) if isinstance(input_length, int) else tuple(input_length)
        super().__init__(**kwargs)
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.supports_masking = mask_zero
        self.autocast = False
        self.quantization_config = quantization_config

    def _supports_quantized_policy(self, policy: Any) -> bool:
        return policy.quantization_mode in ("int8", "int4")

    def quantize(self, mode: Any = None, type_check: bool = True, config: Any = None) -> None:
        """Quantize the table per vocabulary row, as Keras 3.15: "int8", or "int4" (packed along
        `output_dim`; default config: groups of 128 columns with a zero point)."""
        _quant.quantize_embedding(self, Embedding, mode, type_check, config)

    def _keras_variable_order(self) -> list:
        return _quant.keras_variable_order(self, _quant.EMBEDDING_SPEC)

    def build(self, input_shape: Any = None) -> None:
        if self.quantization_mode is not None:
            _quant.build_embedding(self, self.quantization_mode,
                                   _quant.block_size_for(self, self.quantization_config))
            self.built = True
            return
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.input_dim, self.output_dim),
            initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint,
        )
        self.built = True

    def call(self, inputs: Tensor) -> Tensor:
        if isinstance(inputs, CompositeTensor) and hasattr(inputs, "flat_values"):  # a RaggedTensor
            return inputs.with_flat_values(self.call(inputs.flat_values))
        idx = inputs
        if idx.dtype.is_floating or idx.dtype.is_bool:
            idx = tf.cast(idx, "int32")
        v = idx._value
        if v is not None and v.size:
            lo, hi = int(v.min()), int(v.max())
            if lo < 0 or hi >= self.input_dim:
                from tapeflow.errors import InvalidArgumentError

                raise InvalidArgumentError(
                    f"Embedding '{self.name}': indices must be in [0, {self.input_dim}), received "
                    f"{lo if lo < 0 else hi}."
                )
        if self._dtype_policy._quantization_mode is not None:
            return _quant.embedding_lookup(self, idx)
        return tf.gather(self.embeddings, idx)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if not self.mask_zero:
            return None
        return tf.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero,
                **_quantization_config_entry(self),
            }
        )
        return config
