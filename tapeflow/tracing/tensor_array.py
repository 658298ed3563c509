"""`tf.TensorArray`: a list of same-dtype tensors written one index at a time (loop outputs).

Eagerly a TensorArray is a mutable Python list of tensors (`write` returns the array itself,
as in TF 2). Inside a tf.function trace its contents are a graph value, the *flow* (a Tensor
wrapping the list): every operation is a node that takes the flow and returns a new one
(copy-on-write), so a TensorArray can be carried through `tf.while_loop` and `tf.cond` like any
loop variable.
"""

from __future__ import annotations

from typing import Any

from tapeflow import dtypes as _dt
from tapeflow import graph
from tapeflow.errors import InvalidArgumentError
from tapeflow.tensor import Tensor, TensorShape, convert_to_tensor
from tapeflow.tracing import state
from tapeflow.tracing.func_graph import CallNode, _register_lifted, is_symbolic


class _Elements:
    """The runtime contents: the written tensors (None where unwritten) and the rules."""

    __slots__ = ("items", "dynamic", "dtype", "element_shape")

    def __init__(self, items: list, dynamic: bool, dtype: _dt.DType, element_shape: Any) -> None:
        self.items = items
        self.dynamic = dynamic
        self.dtype = dtype
        self.element_shape = element_shape

    def copy(self) -> _Elements:
        return _Elements(list(self.items), self.dynamic, self.dtype, self.element_shape)


def _index(i: Any) -> int:
    return int(i)


def _write(e: _Elements, index: Any, value: Any, in_place: bool) -> _Elements:
    out = e if in_place else e.copy()
    i = _index(index)
    value = value if isinstance(value, Tensor) else convert_to_tensor(value, dtype=e.dtype)
    if value.dtype != e.dtype:
        raise TypeError(f"TensorArray.write: expected a value of dtype {e.dtype.name}, received "
                        f"{value.dtype.name}.")
    if i < 0:
        raise InvalidArgumentError(f"TensorArray.write: index {i} is negative.")
    if i >= len(out.items):
        if not out.dynamic:
            raise InvalidArgumentError(f"Tried to write to index {i} but array is not resizeable and "
                                       f"size is: {len(out.items)}")
        out.items.extend([None] * (i + 1 - len(out.items)))
    if out.element_shape is not None and not TensorShape(out.element_shape).is_compatible_with(value.shape):
        raise ValueError(f"TensorArray.write: value of shape {tuple(value.shape)} does not match the "
                         f"element shape {tuple(out.element_shape)}.")
    if out.element_shape is None or None in tuple(out.element_shape):
        out.element_shape = tuple(value.shape)
    out.items[i] = value
    return out


def _read(e: _Elements, index: Any) -> Tensor:
    i = _index(index)
    if not 0 <= i < len(e.items):
        raise InvalidArgumentError(f"Tried to read from index {i} but array size is: {len(e.items)}")
    v = e.items[i]
    if v is None:
        if e.element_shape is not None and None not in tuple(e.element_shape):
            from tapeflow.ops.creation import zeros

            return zeros(tuple(e.element_shape), e.dtype)
        raise InvalidArgumentError(f"Could not read from TensorArray index {i} because it has not yet "
                                   "been written to.")
    return v


def _stack(e: _Elements) -> Tensor:
    from tapeflow.ops.creation import zeros
    from tapeflow.ops.movement import stack

    if not e.items:
        shape = () if e.element_shape is None else tuple(e.element_shape)
        if None in shape:
            raise ValueError("TensorArray.stack: the array is empty and its element shape is unknown.")
        return zeros((0, *shape), e.dtype)
    return stack([_read(e, i) for i in range(len(e.items))])


def _gather(e: _Elements, indices: Any) -> Tensor:
    from tapeflow.ops.movement import stack

    idx = [int(i) for i in (indices.numpy().ravel() if isinstance(indices, Tensor) else indices)]
    return stack([_read(e, i) for i in idx])


def _concat(e: _Elements) -> Tensor:
    from tapeflow.ops.movement import concat

    return concat([_read(e, i) for i in range(len(e.items))], 0)


def _unstack(e: _Elements, value: Any, in_place: bool) -> _Elements:
    from tapeflow.ops.movement import unstack

    value = value if isinstance(value, Tensor) else convert_to_tensor(value, dtype=e.dtype)
    rows = unstack(value) if value.shape[0] else []
    out = e if in_place else e.copy()
    if not out.dynamic and len(rows) > len(out.items):
        raise InvalidArgumentError(f"TensorArray.unstack: {len(rows)} elements do not fit an array of "
                                   f"fixed size {len(out.items)}.")
    for i, r in enumerate(rows):
        out = _write(out, i, r, True)
    return out


def _scatter(e: _Elements, indices: Any, value: Any, in_place: bool) -> _Elements:
    from tapeflow.ops.movement import unstack

    value = value if isinstance(value, Tensor) else convert_to_tensor(value, dtype=e.dtype)
    idx = [int(i) for i in (indices.numpy().ravel() if isinstance(indices, Tensor) else indices)]
    out = e if in_place else e.copy()
    for i, r in zip(idx, unstack(value), strict=True):
        out = _write(out, i, r, True)
    return out


def _split(e: _Elements, value: Any, lengths: Any, in_place: bool) -> _Elements:
    from tapeflow.ops.movement import split

    value = value if isinstance(value, Tensor) else convert_to_tensor(value, dtype=e.dtype)
    sizes = [int(n) for n in (lengths.numpy().ravel() if isinstance(lengths, Tensor) else lengths)]
    out = e if in_place else e.copy()
    for i, part in enumerate(split(value, sizes)):
        out = _write(out, i, part, True)
    return out


def _size(e: _Elements) -> Tensor:
    return convert_to_tensor(len(e.items), dtype=_dt.int32)


def _new(size: Any, dynamic: bool, dtype: _dt.DType, element_shape: Any) -> _Elements:
    return _Elements([None] * int(size), dynamic, dtype, element_shape)


# The graph form of each operation: module-level functions of the flow (a Tensor wrapping the
# `_Elements`) and the operation's arguments, registered so that a SavedModel saves them by name.
_UPDATES = {"write": _write, "unstack": _unstack, "scatter": _scatter, "split": _split}
_VALUES = {"read": _read, "stack": _stack, "gather": _gather, "concat": _concat, "size": _size}


def tensor_array_new(size: Any, dynamic: bool, dtype: str, element_shape: Any) -> Tensor:
    """A new array's flow (`TensorArrayV3`)."""
    return Tensor(_new(size, bool(dynamic), _dt.as_dtype(dtype), None if element_shape is None
                       else tuple(element_shape)))


def tensor_array_update(kind: str, flow: Tensor, *args: Any) -> Tensor:
    """The flow after `write` / `unstack` / `scatter` / `split` (a new array: copy-on-write)."""
    if kind not in _UPDATES:
        raise ValueError(f"TensorArray: unknown update {kind!r}; expected one of {sorted(_UPDATES)}.")
    return Tensor(_UPDATES[kind](flow._value, *args, False))


def tensor_array_value(kind: str, flow: Tensor, *args: Any) -> Tensor:
    """`read` / `stack` / `gather` / `concat` / `size` of the flow's array."""
    if kind not in _VALUES:
        raise ValueError(f"TensorArray: unknown read {kind!r}; expected one of {sorted(_VALUES)}.")
    return _VALUES[kind](flow._value, *args)


for _fn in (tensor_array_new, tensor_array_update, tensor_array_value):
    _register_lifted(_fn, _fn)


def _flow_node(fn: Any, args: tuple, name: str) -> Any:
    """A graph node computing a new flow value (an `_Elements`) from `args`."""
    node = CallNode(fn, args, {}, name, stateful=False)
    out = graph.new_output((), _dt.int32, node, 0, name)
    node.outputs = [out]
    node._out_slots = [0]
    return out


def _value_node(fn: Any, args: tuple, shape: Any, dtype: _dt.DType, name: str) -> Tensor:
    node = CallNode(fn, args, {}, name, stateful=False)
    out = graph.new_output(shape, dtype, node, 0, name)
    node.outputs = [out]
    node._out_slots = [0]
    return out


class TensorArray:
    """A list of tensors of one dtype, like `tf.TensorArray`.

    Args:
        dtype: the element dtype.
        size: the initial number of elements (may be 0 with `dynamic_size=True`).
        dynamic_size: whether writes past the end grow the array.
        clear_after_read: accepted for TF compatibility (reads never clear elements here).
        element_shape: the shape every element must have (checked on write).
        infer_shape: take the element shape from the first write when not given.
        tensor_array_name, handle, flow, colocate_with_first_write_call, name: accepted for TF
            compatibility (`handle` and `flow` must be None).

    Example:
        >>> ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        >>> for i in range(3):
        ...     ta = ta.write(i, float(i))
        >>> ta.stack()
        <tf.Tensor: shape=(3,), dtype=float32, numpy=array([0., 1., 2.], dtype=float32)>
    """

    def __init__(self, dtype: Any, size: Any = None, dynamic_size: Any = None,
                 clear_after_read: Any = None, tensor_array_name: Any = None, handle: Any = None,
                 flow: Any = None, infer_shape: bool = True, element_shape: Any = None,
                 colocate_with_first_write_call: bool = True, name: Any = None) -> None:
        if handle is not None or flow is not None:
            raise ValueError("TensorArray: building from an existing handle or flow is not supported "
                             "(create the array from dtype and size).")
        self._dtype = _dt.as_dtype(dtype)
        self._dynamic = bool(dynamic_size)
        if size is None:
            if not self._dynamic:
                raise ValueError("TensorArray: size must be given unless dynamic_size=True.")
            size = 0
        shape = None if element_shape is None else tuple(TensorShape(element_shape))
        self._element_shape = shape
        if state.current() is not None:
            self._flow = _flow_node(tensor_array_new, (size, self._dynamic, self._dtype.name,
                                                       None if shape is None else list(shape)), "TensorArrayV3")
        else:
            self._flow = _new(size, self._dynamic, self._dtype, shape)

    # -- metadata ---------------------------------------------------------------------------
    @property
    def dtype(self) -> _dt.DType:
        return self._dtype

    @property
    def dynamic_size(self) -> bool:
        return self._dynamic

    @property
    def element_shape(self) -> TensorShape:
        if isinstance(self._flow, _Elements) and self._flow.element_shape is not None:
            return TensorShape(self._flow.element_shape)
        return TensorShape(self._element_shape) if self._element_shape is not None else TensorShape(None)

    @property
    def flow(self) -> Any:
        return self._flow

    def _graph(self) -> bool:
        return state.current() is not None

    def _with_flow(self, flow: Any) -> TensorArray:
        ta = object.__new__(TensorArray)
        ta._dtype, ta._dynamic, ta._element_shape = self._dtype, self._dynamic, self._element_shape
        ta._flow = flow
        return ta

    def _flow_for_graph(self) -> Tensor:
        """The flow as a graph tensor (an eager array captured by a trace is copied in)."""
        if isinstance(self._flow, _Elements):
            captured = self._flow
            return _flow_node(lambda: Tensor(captured.copy()), (), "TensorArrayCopy")
        return self._flow

    # -- writing (new array in a trace, the same array eagerly) --------------------------------
    def _update(self, kind: str, args: tuple, name: str) -> TensorArray:
        if self._graph():
            return self._with_flow(_flow_node(tensor_array_update, (kind, self._flow_for_graph(), *args), name))
        _UPDATES[kind](self._flow, *args, True)
        return self

    def write(self, index: Any, value: Any, name: Any = None) -> TensorArray:
        """Set element `index` to `value`; returns the updated array (use the result)."""
        out = self._update("write", (index, value), "TensorArrayWriteV3")
        if out is not self and out._element_shape is None and isinstance(value, Tensor) \
                and value.shape.rank is not None:
            out._element_shape = tuple(value.shape)  # inferred from the first write, as TF does
        return out

    def unstack(self, value: Any, name: Any = None) -> TensorArray:
        """Write the rows of `value` as elements 0..n-1."""
        out = self._update("unstack", (value,), "TensorArrayUnstack")
        if out is not self and out._element_shape is None and isinstance(value, Tensor) and value.ndim:
            out._element_shape = tuple(value.shape[1:])  # inferred from the rows, as TF does
        return out

    def scatter(self, indices: Any, value: Any, name: Any = None) -> TensorArray:
        """Write the rows of `value` at `indices`."""
        return self._update("scatter", (indices, value), "TensorArrayScatterV3")

    def split(self, value: Any, lengths: Any, name: Any = None) -> TensorArray:
        """Write consecutive pieces of `value` (of `lengths` rows) as elements."""
        return self._update("split", (value, lengths), "TensorArraySplitV3")

    # -- reading ----------------------------------------------------------------------------
    def _element_spec_shape(self, lead: tuple) -> Any:
        if self._element_shape is None:
            return None
        return lead + tuple(self._element_shape)

    def _value(self, kind: str, args: tuple, shape: Any, name: str) -> Tensor:
        if self._graph():
            if shape is None:
                raise ValueError(f"TensorArray.{name}: inside tf.function the element_shape must be "
                                 "known; pass element_shape= when creating the TensorArray.")
            return _value_node(tensor_array_value, (kind, self._flow_for_graph(), *args), shape,
                               self._dtype, name)
        return _VALUES[kind](self._flow, *args)

    def read(self, index: Any, name: Any = None) -> Tensor:
        """Element `index`."""
        return self._value("read", (index,), self._element_spec_shape(()), "read")

    def stack(self, name: Any = None) -> Tensor:
        """All elements stacked along a new first axis."""
        return self._value("stack", (), self._element_spec_shape((None,)), "stack")

    def gather(self, indices: Any, name: Any = None) -> Tensor:
        """The elements at `indices`, stacked."""
        n = None if is_symbolic(indices) else len(convert_to_tensor(indices).numpy().ravel())
        return self._value("gather", (indices,), self._element_spec_shape((n,)), "gather")

    def concat(self, name: Any = None) -> Tensor:
        """All elements joined along their first axis."""
        shape = None if self._element_shape is None else (None, *self._element_shape[1:])
        return self._value("concat", (), shape, "concat")

    def size(self, name: Any = None) -> Tensor:
        """The number of elements (an int32 scalar)."""
        if self._graph():
            return _value_node(tensor_array_value, ("size", self._flow_for_graph()), (), _dt.int32,
                               "TensorArraySizeV3")
        return _size(self._flow)

    def close(self, name: Any = None) -> None:
        """Accepted for TF compatibility (nothing to release)."""

    def identity(self) -> TensorArray:
        return self

    def __repr__(self) -> str:
        return f"<TensorArray dtype={self._dtype.name} dynamic_size={self._dynamic}>"
