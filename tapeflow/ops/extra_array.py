"""Non-differentiable array primitives for `keras.ops`: index results computed on the inputs'
device (`ArrayFunction`) and constant fills shaped like a tensor (`FillLike`); primitives, so
they apply to symbolic and traced tensors too."""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function
from tapeflow.tensor import Tensor

get_xp = backend.get_xp


class ArrayFunction(Function):
    """A non-differentiable function of arrays on their device (index results such as argsort or
    searchsorted); a primitive so that it also runs on graph tensors inside `tf.function`."""

    differentiable = False

    def __init__(self, name: str, fn: Any) -> None:
        self.fname = name
        self.fn = fn

    @property
    def name(self) -> str:
        return self.fname

    def forward(self, *xs: Any) -> Any:
        return self.fn(get_xp(*xs), *xs)


class FillLike(Function):
    """An array shaped like the input filled with `value` (of `dtype`, or the input's); no
    gradient. A primitive, so it also applies to symbolic tensors (Keras inputs, tf.function)."""

    differentiable = False

    def __init__(self, value: Any, dtype: Any = None) -> None:
        self.value = value
        self.dtype = dtype

    def forward(self, a: Any) -> Any:
        return get_xp(a).full(a.shape, self.value, dtype=self.dtype or a.dtype)


def fill_like(x: Tensor, value: Any, dtype: Any = None) -> Tensor:
    """`FillLike(value, dtype)(x)`: zeros_like/ones_like that work on symbolic tensors too."""
    return FillLike(value, dtype)(x)
