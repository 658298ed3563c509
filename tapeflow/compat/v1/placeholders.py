"""TF1 placeholders: symbolic graph inputs that `Session.run` fills from its `feed_dict`."""

from __future__ import annotations

from typing import Any

from tapeflow import dtypes as _dt
from tapeflow import graph
from tapeflow.compat.v1.graph import get_default_graph
from tapeflow.errors import InvalidArgumentError
from tapeflow.graph import SymbolicTensor
from tapeflow.tensor import Tensor, TensorShape, convert_to_tensor


def shape_text(shape: Any, unknown_rank: bool = False) -> str:
    """TF1's way of printing a static shape: `(?, 784)`, or `<unknown>`."""
    if unknown_rank or getattr(shape, "rank", 0) is None:
        return "<unknown>"
    dims = ["?" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


class _FeedNode(graph.Node):
    """The source of a placeholder: fails with a clear error when no value was fed."""

    def __init__(self, placeholder: Placeholder, default: Tensor | None) -> None:
        super().__init__(self._value, [], name=placeholder.name)
        self.placeholder = placeholder
        self.default = default

    def _value(self) -> Tensor:
        if self.default is not None:
            return self.default
        p = self.placeholder
        raise InvalidArgumentError(
            f"You must feed a value for placeholder tensor '{p.name}' with dtype {p.dtype.name} "
            f"and shape {shape_text(p.shape, p.unknown_rank)} (pass it in feed_dict)."
        )


class Placeholder(SymbolicTensor):
    """A graph input with a dtype and a (partly) known shape, fed through `Session.run`.

    Placeholders are hashable by identity so they can key a `feed_dict`.
    """

    __slots__ = ("unknown_rank",)

    def __init__(self, dtype: Any, shape: Any, name: str, default: Tensor | None = None) -> None:
        self.unknown_rank = shape is None
        super().__init__(shape, dtype, None, 0, name)  # None: unknown rank
        self.node = _FeedNode(self, default)
        self.node.outputs = [self]

    def __repr__(self) -> str:
        return (f"<tf.Tensor '{self.name}' shape={shape_text(self.shape, self.unknown_rank)} "
                f"dtype={self.dtype.name}>")

    __str__ = __repr__


def _shape_arg(shape: Any) -> Any:
    if shape is None:
        return None
    if isinstance(shape, (int,)):
        return (shape,)
    if isinstance(shape, Tensor) and shape._value is not None:
        return tuple(int(d) for d in shape.numpy().reshape(-1))
    return tuple(TensorShape(shape))


def placeholder(dtype: Any, shape: Any = None, name: str | None = None) -> Placeholder:
    """A tensor whose value must be fed when the graph runs (`tf.placeholder`).

    Args:
        dtype: the element type (fed values are converted to it).
        shape: the static shape; `None` entries are unknown dimensions (e.g. the batch), and
            `shape=None` leaves even the rank open.
        name: optional name (made unique in the graph).

    Returns:
        A `Placeholder` usable in ops and as a `feed_dict` key.

    Example:
        >>> x = tf.placeholder(tf.float32, [None, 784])
        >>> y = tf.reduce_sum(x, axis=1)
        >>> tf.Session().run(y, feed_dict={x: np.ones((2, 784))})
        array([784., 784.], dtype=float32)
    """
    dt = _dt.as_dtype(dtype)
    unique = get_default_graph().unique_name(name or "Placeholder")
    return Placeholder(dt, _shape_arg(shape), unique)


def placeholder_with_default(input: Any, shape: Any, name: str | None = None) -> Placeholder:  # noqa: A002
    """A placeholder that takes the value of `input` when it is not fed.

    Args:
        input: the default value (a constant tensor or array).
        shape: the static shape of fed values (may be less specific than `input`'s).
        name: optional name.

    Returns:
        A `Placeholder` with a default.
    """
    default = convert_to_tensor(input)
    if default._value is None:
        raise TypeError(
            f"placeholder_with_default: the default must be a constant value, received the symbolic "
            f"tensor {default.name}."
        )
    shape = _shape_arg(shape)
    if shape is not None and not TensorShape(shape).is_compatible_with(default.shape):
        raise ValueError(
            f"placeholder_with_default: the default of shape {tuple(default.shape)} is not compatible "
            f"with shape {shape_text(shape)}."
        )
    unique = get_default_graph().unique_name(name or "PlaceholderWithDefault")
    return Placeholder(default.dtype, shape, unique, default=default)
