"""`keras.export.ExportArchive`, Keras `Model.export(format="tf_saved_model" | "onnx")` and
`keras.layers.TFSMLayer`.

An archive traces each endpoint as a tf.function and writes a SavedModel
(`tapeflow.saved_model`) whose root holds the endpoints, the tracked variables and the
variable collections. `Model.export` is an archive with the model's inference call
(`training=False`) as the "serve" endpoint; `TFSMLayer` loads a SavedModel as a layer whose
call is an endpoint.
"""

from __future__ import annotations

import os
from typing import Any

from tapeflow import nest, tracking
from tapeflow.keras.layers.base import InputSpec, Layer
from tapeflow.tracing.polymorphic import Function


class _ArchiveRoot(tracking.AutoTrackable):
    """What an `ExportArchive` saves: the tracked variable lists, the endpoints (tf.functions)
    and the variable collections, as attributes (so `tf.saved_model.load` gives them back)."""

    def __init__(self) -> None:
        self.variables: list = []
        self.trainable_variables: list = []
        self.non_trainable_variables: list = []


def _tensor_spec(x: Any) -> Any:
    """A `tf.TensorSpec` for an endpoint argument given as a TensorSpec, `keras.InputSpec`,
    KerasTensor or tensor (batch dimension unknown, as Keras makes it)."""
    import tapeflow as tf

    if isinstance(x, tf.TensorSpec):
        return x
    if isinstance(x, InputSpec):
        if x.shape is None or x.dtype is None:
            raise ValueError(f"The `shape` and `dtype` must be provided. Received: x={x}")
        return tf.TensorSpec(tuple(x.shape), tf.as_dtype(x.dtype), x.name)
    if isinstance(x, tf.Tensor) or hasattr(x, "_keras_history"):
        shape = (None, *tuple(x.shape)[1:])
        return tf.TensorSpec(shape, x.dtype, getattr(x, "name", None) if x._value is None else None)
    raise TypeError(f"Unsupported x={x} of the type ({type(x)}). Supported types are: `keras.InputSpec`, "
                    "`keras.KerasTensor` and backend tensor.")


class ExportArchive:
    """`keras.export.ExportArchive`: write a SavedModel with the serving endpoints you choose.

    `track(model)` adds a built layer's or model's variables, `add_endpoint(name, fn,
    input_signature)` traces `fn` as a tf.function (or takes a tf.function that was already
    called), `add_variable_collection(name, variables)` saves a list of variables by name, and
    `write_out(path)` writes the SavedModel: every endpoint is a function and a signature, and the
    first is also "serving_default". Reload it with `tf.saved_model.load` or
    `keras.layers.TFSMLayer`.

    Example:
        >>> archive = keras.export.ExportArchive()
        >>> archive.track(model)
        >>> archive.add_endpoint("serve", model.call, [keras.InputSpec(shape=(None, 3), dtype="float32")])
        >>> archive.write_out("path/to/artifact")
        >>> tf.saved_model.load("path/to/artifact").serve(x)
    """

    def __init__(self, format: str = "saved_model") -> None:  # noqa: A002 - Keras's argument name
        if format != "saved_model":
            raise ValueError(f"Unsupported format: {format}")
        self._root = _ArchiveRoot()
        self._endpoint_names: list = []
        self._endpoint_signatures: dict = {}

    @property
    def variables(self) -> list:
        return self._root.variables

    @property
    def trainable_variables(self) -> list:
        return self._root.trainable_variables

    @property
    def non_trainable_variables(self) -> list:
        return self._root.non_trainable_variables

    def track(self, resource: Any) -> None:
        """Add the variables of a built Keras layer or model (or of a `tf.Module`)."""
        import tapeflow as tf

        if isinstance(resource, Layer) and not resource.built:
            raise ValueError("The layer provided has not yet been built. It must be built before export.")
        if not isinstance(resource, (Layer, tf.Module)):
            raise ValueError("Invalid resource type. Expected a Keras `Layer` or `Model` or a TensorFlow `Trackable` "
                             f"object. Received object {resource} of type '{type(resource)}'. ")
        self._root.variables += list(resource.variables)
        self._root.trainable_variables += list(resource.trainable_variables)
        self._root.non_trainable_variables += list(resource.non_trainable_variables)

    def add_endpoint(self, name: str, fn: Any, input_signature: Any = None, **kwargs: Any) -> Any:
        """Register `fn` as the endpoint `name`; returns the tf.function that was added.

        Args:
            name: the endpoint's name (an attribute and a signature of the reloaded object).
            fn: a callable of tensors; with no `input_signature`, a tf.function called at least once.
            input_signature: a list (one entry per argument) of `keras.InputSpec`, `tf.TensorSpec`,
                KerasTensors or tensors, nested as the arguments are.
        """
        import tapeflow as tf

        if name in self._endpoint_names:
            raise ValueError(f"Endpoint name '{name}' is already taken.")
        if "jax2tf_kwargs" in kwargs or "is_static" in kwargs:
            raise ValueError("'jax2tf_kwargs' and 'is_static' are only supported with the jax backend. Current "
                             "backend: tensorflow")
        if kwargs:
            raise ValueError(f"ExportArchive.add_endpoint: unrecognised arguments {sorted(kwargs)}.")
        if input_signature is None:
            if not isinstance(fn, Function):
                raise ValueError("If the `fn` argument provided is not a `tf.function`, you must provide an "
                                 "`input_signature` argument to specify the shape and dtype of the function "
                                 "arguments.")
            if not fn._cache:
                raise ValueError(f"The provided tf.function '{fn}' has never been called. To specify the expected "
                                 "shape and dtype of the function's arguments, you must either provide a function "
                                 "that has been called at least once, or alternatively pass an `input_signature` "
                                 "argument in `add_endpoint()`.")
            decorated = fn
        else:
            specs = nest.map_structure(_tensor_spec, list(input_signature))
            decorated = tf.function(fn, input_signature=specs, autograph=False)
            self._endpoint_signatures[name] = specs
        setattr(self._root, name, decorated)
        self._endpoint_names.append(name)
        return decorated

    def track_and_add_endpoint(self, name: str, resource: Any, input_signature: Any, **kwargs: Any) -> Any:
        """`track(resource)`, then `add_endpoint(name, resource.__call__, input_signature)`."""
        self.track(resource)
        return self.add_endpoint(name, resource.__call__, input_signature, **kwargs)

    def add_variable_collection(self, name: str, variables: Any) -> None:
        """Save `variables` (a list, tuple or set) as the attribute `name` of the reloaded object."""
        import tapeflow as tf

        if not isinstance(variables, (list, tuple, set)):
            raise ValueError(f"Expected `variables` to be a list/tuple/set. Received instead object of type "
                             f"'{type(variables)}'.")
        if not all(isinstance(v, tf.Variable) for v in variables):
            raise ValueError("Expected all elements in `variables` to be `tf.Variable` instances. Found instead the "
                             f"following types: {list({type(v) for v in variables})}")
        setattr(self._root, name, list(variables))

    def _concrete(self, name: str) -> Any:
        fn = getattr(self._root, name)
        if name in self._endpoint_signatures:
            return fn.get_concrete_function()
        return next(iter(fn._cache.values()))

    def write_out(self, filepath: Any, options: Any = None, verbose: bool = True) -> None:
        """Write the SavedModel; every endpoint is also a signature, the first one "serving_default"."""
        import tapeflow as tf

        if not self._endpoint_names:
            raise ValueError("No endpoints have been set yet. Call add_endpoint().")
        signatures = {name: self._concrete(name) for name in self._endpoint_names}
        if "serving_default" not in signatures:
            signatures["serving_default"] = signatures[self._endpoint_names[0]]
        tf.saved_model.save(self._root, os.fspath(filepath), signatures=signatures, options=options)
        if verbose:
            endpoints = "\n\n".join("\n".join([f"* Endpoint '{name}'", *str(signatures[name]).split("\n")[1:]])
                                     for name in self._endpoint_names)
            print(f"Saved artifact at '{os.fspath(filepath)}'. The following endpoints are available:\n\n{endpoints}")


def _model_input_signature(model: Any) -> list:
    """The specs `Model.export` traces with: the model's inputs (named after them, so the
    signature takes them by name), or for a subclassed model the shapes of its first call (the
    batch unknown, the model's dtype), as Keras infers them."""
    import tapeflow as tf

    inputs = getattr(model, "inputs", None)
    if inputs:
        # The batch size left open, as Keras's export_utils.make_input_spec does; a stateful
        # layer keeps it: its states are variables of that batch size.
        keep = any(getattr(m, "stateful", False) is True for m in (model, *model.submodules))
        specs = nest.map_structure(
            lambda t: tf.TensorSpec((tuple(t.shape)[0] if keep else None, *tuple(t.shape)[1:]), t.dtype,
                                    getattr(t, "name", None)), list(inputs))
        return [specs[0]] if len(specs) == 1 else [specs]
    shapes = getattr(model, "_build_input_shape", None) if getattr(model, "built", False) else None
    if shapes is None:
        raise ValueError("Model.export: the model has no known inputs; build it (call it once, or start "
                         "with keras.Input) or pass input_signature=[tf.TensorSpec(...)].")
    dtype = getattr(model, "compute_dtype", None) or "float32"

    def spec(s: Any) -> Any:
        if isinstance(s, dict):
            return {k: spec(v) for k, v in s.items()}
        if isinstance(s, (list, tuple)) and not all(d is None or isinstance(d, int) for d in s):
            return [spec(v) for v in s]
        return tf.TensorSpec((None, *tuple(s)[1:]), dtype)

    return [spec(shapes)]


def default_save_signature(model: Any) -> Any:
    """The "serving_default" signature `tf.saved_model.save(model, path)` gives a Keras model
    when no signatures are passed (Keras's `_default_save_signature`): the model's call on its
    inputs (or the shapes of its first call), taking `inputs`."""
    import tapeflow as tf

    try:
        signature = _model_input_signature(model)
    except ValueError:
        return None
    specs = nest.map_structure(lambda s: tf.TensorSpec(s.shape, s.dtype), signature)

    def serving_default(inputs: Any) -> Any:
        return model(inputs, training=False)

    return tf.function(serving_default, input_signature=specs)


def export_model(model: Any, filepath: str, format: str = "tf_saved_model", verbose: Any = None,  # noqa: A002
                 input_signature: Any = None, **kwargs: Any) -> None:
    """Write `model`'s inference function as a SavedModel with the endpoint `serve` (through
    `ExportArchive`, as Keras does)."""

    if format == "onnx":
        from tapeflow.keras.saving.onnx_export import export_onnx

        opset_version = kwargs.pop("opset_version", None)
        if kwargs:
            raise ValueError(f"Model.export: unrecognised arguments {sorted(kwargs)}.")
        export_onnx(model, filepath, verbose=verbose, input_signature=input_signature, opset_version=opset_version)
        return
    if format != "tf_saved_model":
        raise ValueError(f"Model.export: format {format!r} is not supported; Tapeflow exports 'tf_saved_model' "
                         "and 'onnx'.")
    if kwargs:
        raise ValueError(f"Model.export: unrecognised arguments {sorted(kwargs)}.")
    if input_signature is None:
        input_signature = _model_input_signature(model)

    def serve(*args: Any) -> Any:
        return model(*args, training=False)

    serve.__name__ = "serve"
    archive = ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve, input_signature)
    archive.write_out(filepath, verbose=verbose is None or bool(verbose))


class TFSMLayer(Layer):
    """A layer that calls an endpoint of a SavedModel (`keras.layers.TFSMLayer`).

    Its weights are the variables the endpoints use (training them changes what the endpoints
    compute).

    Args:
        filepath: the SavedModel directory.
        call_endpoint: the endpoint (a saved function or a signature) used when `training` is
            False (default "serve").
        call_training_endpoint: an endpoint used when `training` is True (default: the same).
        trainable: whether the loaded variables are trainable weights of the layer.
    """

    def __init__(self, filepath: str, call_endpoint: str = "serve", call_training_endpoint: str | None = None,
                 trainable: bool = True, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(trainable=trainable, name=name, dtype=dtype)
        import tapeflow as tf

        self.filepath = filepath
        self.call_endpoint = call_endpoint
        self.call_training_endpoint = call_training_endpoint
        self._loaded = tf.saved_model.load(filepath)
        self._endpoint = self._find(call_endpoint)
        self._training_endpoint = self._find(call_training_endpoint) if call_training_endpoint else None
        used: dict = {}
        for fn in (self._endpoint, self._training_endpoint):
            for v in getattr(fn, "variables", ()):
                used.setdefault(id(v), v)
        self._weights_own.extend(used.values())
        self.built = True

    def _find(self, endpoint: str) -> Any:
        fn = getattr(self._loaded, endpoint, None)
        if fn is None:
            fn = self._loaded.signatures.get(endpoint)
        if fn is None:
            raise ValueError(f"The endpoint '{endpoint}' is neither an attribute of the reloaded SavedModel, nor an "
                             "entry in the `signatures` field of the reloaded SavedModel. Select another endpoint via "
                             "the `call_endpoint` argument. Available endpoints for this SavedModel: "
                             f"{list(self._loaded.signatures.keys())}")
        return fn

    def call(self, inputs: Any, training: Any = False, **kwargs: Any) -> Any:
        if training and self._training_endpoint is not None:
            return self._training_endpoint(inputs, **kwargs)
        return self._endpoint(inputs, **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"filepath": self.filepath, "call_endpoint": self.call_endpoint,
                       "call_training_endpoint": self.call_training_endpoint})
        return config
