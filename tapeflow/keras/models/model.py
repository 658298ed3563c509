"""`Model`: a Layer with a training API; `Model(inputs, outputs)` builds a Functional model."""

from __future__ import annotations

from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow.keras.layers.base import Layer
from tapeflow.keras.models.trainer import Trainer


class Model(Trainer, Layer):
    """Groups layers into an object with training and inference features.

    Two ways to make one:
      * Functional: `keras.Model(inputs, outputs)` from `keras.Input` tensors.
      * Subclassing: define layers in `__init__` and the forward pass in `call()`.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Model:
        if cls is Model and (len(args) >= 2 or "outputs" in kwargs or ("inputs" in kwargs and args)):
            from tapeflow.keras.models.functional import Functional

            return Functional.__new__(Functional, *args, **kwargs)
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or "outputs" in kwargs or "inputs" in kwargs:
            # A Model subclass given inputs and outputs (`CustomModel(inputs, outputs)`, or its
            # __init__ calling `super().__init__(inputs=..., outputs=...)`) is a functional model
            # with the subclass's methods: as Keras does, Functional enters its class hierarchy.
            from tapeflow.keras.models.functional import Functional

            _inject_functional(type(self), Functional)
            Functional.__init__(self, *args, **kwargs)
            return
        super().__init__(**kwargs)
        self._init_trainer()

    def _init_trainer(self) -> None:
        init = getattr(Trainer, "_trainer_init", None)
        if init is not None:
            init(self)

    @property
    def layers(self) -> list:
        return [layer for layer in self._sublayers()]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer with this `name` or at this `index` of `layers`."""
        if index is not None and name is not None:
            raise ValueError("Provide only a layer name or a layer index, not both.")
        if index is not None:
            layers = self.layers
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model only has {len(layers)} layers."
                )
            return layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(
                f"No such layer: {name}. Existing layers are: {[layer.name for layer in self.layers]}."
            )
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    def build(self, input_shape: Any = None) -> None:
        """Create the weights by running the model once on zeros of `input_shape`."""
        if input_shape is None:
            raise ValueError(f"Model '{self.name}': build() needs an input_shape.")
        if type(self).call is Layer.call:
            self.built = True
            return

        def zeros(shape: Any) -> Any:
            return tf.zeros([1 if d is None else d for d in shape])

        if (
            isinstance(input_shape, (list, tuple))
            and input_shape
            and isinstance(input_shape[0], (list, tuple))
        ):
            sample = [zeros(s) for s in input_shape]
        elif isinstance(input_shape, dict):
            sample = {k: zeros(s) for k, s in input_shape.items()}
        else:
            sample = zeros(input_shape)
        self.built = True
        self._build_input_shape = input_shape
        self(sample, training=False)

    def _maybe_build(self, inputs: Any) -> None:
        if self.built:
            return
        # A subclassed model builds its sub-layers by running call() once for real.
        self.built = True
        if getattr(self, "_build_input_shape", None) is None:
            self._build_input_shape = _batchless_shapes(inputs)

    def get_config(self) -> dict:
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Model:
        """Recreate a model: a Functional config (layers/input_layers/output_layers) gives a
        Functional model; otherwise `cls(**config)`."""
        if cls is Model and all(k in config for k in ("layers", "input_layers", "output_layers")):
            from tapeflow.keras.models.functional_config import functional_from_config

            return functional_from_config(config, custom_objects)
        try:
            return cls(**config)
        except TypeError as exc:
            raise TypeError(
                f"Unable to revive model {cls.__name__} from config {sorted(config)}: its get_config() must "
                f"return every argument of its constructor ({exc})."
            ) from exc

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return Layer.__call__(self, *args, **kwargs)

    # -- saving (implemented in tapeflow.keras.saving) ----------------------------------------
    def quantize(self, mode: Any = None, config: Any = None, filters: Any = None, **kwargs: Any) -> None:
        """Quantize every layer that supports it, as Keras 3.15 (see `tapeflow.keras.layers.quantization`).

        Args:
            mode: "int8", "int4", "float8" (Dense, EinsumDense; int8/int4 also Embedding), "gptq"
                or "awq" (calibrated; need `config`). None: `config.mode`.
            config: a `keras.quantizers.QuantizationConfig` (`GPTQConfig` / `AWQConfig` hold the
                calibration data, tokenizer and `quantization_layer_structure`).
            filters: a regex (or list of regexes) matched against layer names, or a callable
                `filters(layer) -> bool`, choosing the layers to quantize.

        Layers without a quantized form are skipped with a warning, as in Keras. For "gptq" and
        "awq" the model's structure comes from `config.quantization_layer_structure` or
        `get_quantization_layer_structure(mode)`.
        """
        import warnings

        type_check = kwargs.pop("type_check", True)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to Model.quantize: {kwargs}")
        if filters is not None and not (callable(filters) or isinstance(filters, (str, list, tuple))):
            raise ValueError(f"`filters` must be a regex string, a list of them, or a callable. Received: {filters!r}")

        for layer in self._flat_layers():
            if layer is self or layer._sublayers() or not chosen_by_filters(layer, filters):
                continue
            try:
                layer.quantize(mode, type_check=type_check, config=config)
            except TypeError as e:
                if "does not have a `quantize" not in str(e):
                    raise
                warnings.warn(str(e), stacklevel=2)
        self.__dict__["_traced_steps"] = {}  # the steps are traced again on the quantized layers
        if mode in ("gptq", "awq") or getattr(config, "mode", None) in ("gptq", "awq"):
            from tapeflow.keras.layers import gptq_awq

            mode = config.mode
            structure = config.quantization_layer_structure
            if structure is None:
                structure = self.get_quantization_layer_structure(mode)
            if structure is None:
                raise ValueError(f"For mode={mode!r}, a valid quantization structure must be provided either via "
                                 "`config.quantization_layer_structure` or by overriding "
                                 "`model.get_quantization_layer_structure(mode)`. The structure should be a "
                                 "dictionary with keys 'pre_block_layers' and 'sequential_blocks'.")
            gptq_awq.calibrate(mode, config, structure, filters=filters)

    def get_quantization_layer_structure(self, mode: Any = None) -> dict | None:
        """The layers GPTQ/AWQ calibration runs through: `{"pre_block_layers": [...],
        "sequential_blocks": [...]}` (override it in a model; None by default, as in Keras)."""
        del mode
        return None

    def save(self, filepath: Any, overwrite: bool = True, zipped: Any = None, **kwargs: Any) -> None:
        """Save architecture, weights, compile arguments and optimizer state (`.keras` or legacy `.h5`)."""
        from tapeflow.keras.saving.saving_api import save_model

        save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath: Any, overwrite: bool = True, max_shard_size: Any = None) -> None:
        """Write the weights (and optimizer state) to a `.weights.h5` (or `.weights.npz`) file, atomically."""
        from tapeflow.keras.saving import save_weights

        save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(self, filepath: Any, skip_mismatch: bool = False, **kwargs: Any) -> None:
        """Load weights from `.weights.h5`, `.keras`, legacy `.h5` (`by_name=`) or `.weights.npz` files."""
        from tapeflow.keras.saving import load_weights

        kwargs.pop("options", None)
        load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def to_json(self, **kwargs: Any) -> str:
        """The architecture (no weights) as JSON; see `keras.models.model_from_json`."""
        from tapeflow.keras.saving.model_io import model_to_json

        return model_to_json(self, **kwargs)


def _batchless_shapes(inputs: Any) -> Any:
    """Input shapes with the batch axis unknown, as `build()` takes them (None if not tensors)."""
    if isinstance(inputs, tf.Tensor):
        return (None,) + tuple(inputs.shape)[1:]
    if isinstance(inputs, (list, tuple)):
        shapes = [_batchless_shapes(x) for x in inputs]
        return None if any(s is None for s in shapes) else shapes
    if isinstance(inputs, dict):
        shapes = {k: _batchless_shapes(v) for k, v in inputs.items()}
        return None if any(s is None for s in shapes.values()) else shapes
    return None


def _to_numpy_list(values: Any) -> list:
    return [np.asarray(v) for v in values]


def _inject_functional(cls: type, functional: type) -> type:
    """Put `functional` where `Model` is among `cls`'s bases (recursively): the subclass then
    builds, calls and saves as a functional model (Keras's inject_functional_model_class)."""
    if cls is Model:
        return functional
    if cls is object or issubclass(cls, functional):
        return cls
    cls.__bases__ = tuple(_inject_functional(base, functional) for base in cls.__bases__)
    return cls


def chosen_by_filters(layer: Any, filters: Any) -> bool:
    """Keras's `should_quantize_layer`: whether `filters` (None, a regex or list of regexes on
    the layer's name, or a callable) selects `layer`."""
    import re

    if filters is None:
        return True
    if isinstance(filters, str):
        return bool(re.search(filters, layer.name))
    if isinstance(filters, (list, tuple)):
        return any(re.search(p, layer.name) for p in filters)
    if callable(filters):
        return bool(filters(layer))
    return True
