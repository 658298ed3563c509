"""Keras `Model.export(format="tf_saved_model" | "onnx")` and `keras.layers.TFSMLayer`.

An export traces the model's inference call (`training=False`) with its input specs as the
"serve" endpoint (also the "serving_default" signature) and writes a SavedModel
(`tapeflow.saved_model`); `TFSMLayer` loads one as a layer whose call is an endpoint.
"""

from __future__ import annotations

from typing import Any

from tapeflow import nest
from tapeflow.keras.layers.base import Layer


class _ExportArchive:
    """What `Model.export` saves: the `serve` endpoint (and the model's variables through it)."""

    def __init__(self, serve: Any) -> None:
        self.serve = serve


def export_model(model: Any, filepath: str, format: str = "tf_saved_model", verbose: Any = None,  # noqa: A002
                 input_signature: Any = None, **kwargs: Any) -> None:
    """Write `model`'s inference function as a SavedModel with the endpoint `serve`."""
    import tapeflow as tf

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
        inputs = getattr(model, "inputs", None)
        if not inputs:
            raise ValueError("Model.export: the model has no known inputs; build it (call it once, or start "
                             "with keras.Input) or pass input_signature=[tf.TensorSpec(...)].")
        specs = nest.map_structure(lambda t: tf.TensorSpec(tuple(t.shape), t.dtype), list(inputs))
        input_signature = [specs[0]] if len(specs) == 1 else [specs]

    def serve(*args: Any) -> Any:
        return model(*args, training=False)

    serve.__name__ = "serve"
    endpoint = tf.function(serve, input_signature=list(input_signature))
    tf.saved_model.save(_ExportArchive(endpoint), filepath, signatures={"serving_default": endpoint})
    if verbose is None or verbose:
        print(f"Saved artifact at '{filepath}'. The following endpoints are available:\n\n* Endpoint 'serve'")


class TFSMLayer(Layer):
    """A layer that calls an endpoint of a SavedModel (`keras.layers.TFSMLayer`).

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
        self._weights_own.extend(self._loaded.variables)
        self.built = True

    def _find(self, endpoint: str) -> Any:
        fn = getattr(self._loaded, endpoint, None)
        if fn is None:
            fn = self._loaded.signatures.get(endpoint)
        if fn is None:
            raise ValueError(f"TFSMLayer: the SavedModel at {self.filepath} has no endpoint {endpoint!r}.")
        return fn

    def call(self, inputs: Any, training: Any = None) -> Any:
        fn = self._training_endpoint if training and self._training_endpoint is not None else self._endpoint
        return fn(inputs)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"filepath": self.filepath, "call_endpoint": self.call_endpoint,
                       "call_training_endpoint": self.call_training_endpoint})
        return config
