"""Keras 3 operation nodes in Functional configs, as small Tapeflow layers.

Keras 3 records the mask arithmetic of a Functional model as operation nodes (module
`keras.src.ops.numpy`): `Embedding(mask_zero=True)` adds `NotEqual(tokens, 0)`, Masking
`NotEqual` and `Any`, merges `LogicalOr`, `ExpandDims`, `ZerosLike`, `Concatenate`, ...; the
layers that use the mask then receive it as an explicit `mask=` argument. Loading such a file
rebuilds each node as one of these layers, so the model computes the same masks Keras does, and
saving it writes them back under Keras's names. Only the operations listed here are read; any
other raises the unknown-object error naming it.
"""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras.layers.base import Layer

KERAS_OPS_MODULE = "keras.src.ops.numpy"


class KerasOperation(Layer):
    """A Keras 3 operation node: `call` applies it; the config holds its arguments."""

    keras_class_name = ""
    _options: tuple[str, ...] = ()
    _keras_operation = True  # not listed in `model.layers`, as Keras 3 lists no operations there

    def __init__(self, name: str | None = None, **options: Any) -> None:
        unknown = sorted(set(options) - set(self._options))
        if unknown:
            raise TypeError(f"Keras operation {self.keras_class_name} '{name}': unexpected argument(s) {unknown}.")
        super().__init__(name=name)
        self.autocast = False
        self.options = {key: options.get(key) for key in self._options}

    def _output_specs(self, args: tuple, kwargs: dict) -> tuple[list, bool]:
        return self._infer_spec(args, kwargs)  # dtypes follow the operation (bool masks)

    def get_config(self) -> dict:
        return {"name": self.name, **self.options}


class NotEqual(KerasOperation):
    keras_class_name = "NotEqual"

    def call(self, x1: Any, x2: Any) -> Any:
        return tf.not_equal(x1, x2)


class Equal(KerasOperation):
    keras_class_name = "Equal"

    def call(self, x1: Any, x2: Any) -> Any:
        return tf.equal(x1, x2)


class LogicalOr(KerasOperation):
    keras_class_name = "LogicalOr"

    def call(self, x1: Any, x2: Any) -> Any:
        return tf.logical_or(tf.cast(x1, "bool"), tf.cast(x2, "bool"))


class LogicalAnd(KerasOperation):
    keras_class_name = "LogicalAnd"

    def call(self, x1: Any, x2: Any) -> Any:
        return tf.logical_and(tf.cast(x1, "bool"), tf.cast(x2, "bool"))


class LogicalNot(KerasOperation):
    keras_class_name = "LogicalNot"

    def call(self, x: Any) -> Any:
        return tf.logical_not(tf.cast(x, "bool"))


class Any_(KerasOperation):
    keras_class_name = "Any"
    _options = ("axis", "keepdims")

    def call(self, x: Any) -> Any:
        return tf.reduce_any(tf.cast(x, "bool"), axis=self.options["axis"], keepdims=bool(self.options["keepdims"]))


class All(KerasOperation):
    keras_class_name = "All"
    _options = ("axis", "keepdims")

    def call(self, x: Any) -> Any:
        return tf.reduce_all(tf.cast(x, "bool"), axis=self.options["axis"], keepdims=bool(self.options["keepdims"]))


class ExpandDims(KerasOperation):
    keras_class_name = "ExpandDims"
    _options = ("axis",)

    def call(self, x: Any) -> Any:
        return tf.expand_dims(x, self.options["axis"])


class ZerosLike(KerasOperation):
    keras_class_name = "ZerosLike"
    _options = ("dtype",)

    def call(self, x: Any) -> Any:
        return tf.zeros_like(x, dtype=self.options["dtype"])


class OnesLike(KerasOperation):
    keras_class_name = "OnesLike"
    _options = ("dtype",)

    def call(self, x: Any) -> Any:
        return tf.ones_like(x, dtype=self.options["dtype"])


class Cast(KerasOperation):
    keras_class_name = "Cast"
    _options = ("dtype",)

    def call(self, x: Any) -> Any:
        return tf.cast(x, self.options["dtype"])


class ConcatenateOp(KerasOperation):
    keras_class_name = "Concatenate"
    _options = ("axis",)

    def call(self, xs: Any) -> Any:
        return tf.concat(list(xs), axis=self.options["axis"])


class Stack(KerasOperation):
    keras_class_name = "Stack"
    _options = ("axis",)

    def call(self, xs: Any) -> Any:
        return tf.stack(list(xs), axis=self.options["axis"])


OPERATIONS: dict[str, type] = {cls.keras_class_name: cls for cls in (
    NotEqual, Equal, LogicalOr, LogicalAnd, LogicalNot, Any_, All, ExpandDims, ZerosLike, OnesLike, Cast,
    ConcatenateOp, Stack)}
