"""`keras.legacy.saving`: the Keras 2 object format (see `keras.utils.legacy`)."""

from tapeflow.keras.utils.legacy import deserialize_keras_object, serialize_keras_object

__all__ = ["deserialize_keras_object", "serialize_keras_object"]
