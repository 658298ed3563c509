"""`keras.Variable`: Keras 3's constructor (an initializer and a shape) for the engine's Variable.

Every engine variable counts as a `keras.Variable` (`isinstance(layer.kernel, keras.Variable)`),
as in Keras 3 where layer weights are Keras variables.
"""

from __future__ import annotations

import weakref
from typing import Any

from tapeflow import tensor as _tensor

# Variables made with autocast=False (by id; entries go with their variables).
_NO_AUTOCAST: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def autocasts(variable: Any) -> bool:
    """Whether a layer casts `variable` to its compute dtype under mixed precision."""
    return id(variable) not in _NO_AUTOCAST


class _KerasVariableType(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, _tensor.Variable)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, _tensor.Variable)


class Variable(metaclass=_KerasVariableType):
    """A variable made from an initializer and a shape, or from a value (Keras 3's signature).

    Returns an engine `tf.Variable` (so tapes watch it as any trainable variable).

    Args:
        initializer: a value (array, tensor, Python number or list), an initializer name or
            instance, or any callable `f(shape, dtype=...)`.
        shape: the shape; required when `initializer` is an initializer.
        dtype: the dtype (default: the value's, or `keras.config.floatx()` for initializers).
        trainable: whether optimizers update it.
        autocast: whether a layer whose attribute holds it reads it in its compute dtype under
            mixed precision (float16 inside `call`, as Keras does).
        aggregation: how replicas combine it ("none", "mean", "sum", "only_first_replica").
        synchronization: accepted for Keras's signature ("auto").
        name: the variable's name.

    Example:
        >>> v = keras.Variable(initializer="ones", shape=(2, 3), name="v")
    """

    def __new__(cls, initializer: Any = None, shape: Any = None, dtype: Any = None, trainable: bool = True,
                autocast: bool = True, aggregation: str = "none", synchronization: str = "auto",
                name: str | None = None, initial_value: Any = None, **kwargs: Any) -> _tensor.Variable:
        from tapeflow.keras import backend as kbackend
        from tapeflow.keras import initializers

        if initializer is None:
            initializer = initial_value
        if initializer is None:
            raise ValueError("keras.Variable needs an `initializer`: a value, an initializer name or instance, "
                             "or a callable f(shape, dtype).")
        if isinstance(initializer, (str, dict)):
            initializer = initializers.get(initializer)
        if callable(initializer) and not isinstance(initializer, _tensor.Tensor):
            if shape is None:
                raise ValueError("When creating a Variable from an initializer, the `shape` argument should be "
                                 f"specified. Received: initializer={initializer} and shape={shape}")
            dtype = dtype or kbackend.floatx()
            value = initializer(tuple(shape), dtype=dtype)
        else:
            value = initializer
            if shape is not None and tuple(_tensor.convert_to_tensor(value).shape) != tuple(shape):
                raise ValueError(f"Initial value has shape {tuple(_tensor.convert_to_tensor(value).shape)}, which "
                                 f"does not match the `shape` argument {tuple(shape)}.")
        var = _tensor.Variable(value, trainable=trainable, name=name or kbackend.unique_name("variable"), dtype=dtype,
                               aggregation=aggregation, **kwargs)
        var._name = var._name.split(":")[0]  # Keras's variable names have no ":0"
        var._keras_var = True  # a layer attribute holding it makes it a weight (a plain tf.Variable does not)
        if not autocast:
            _NO_AUTOCAST[id(var)] = var
        return var
