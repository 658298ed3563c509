"""`Tensor` (an immutable array with a dtype and shape), `Variable` (mutable, trainable) and
the conversions from Python and NumPy values that every op uses.

A Tensor wraps one NumPy or CuPy array in `_value`. Ops read `_value` directly; everything
else here is the user-facing surface (`shape`, `dtype`, `numpy()`, operators, printing).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow import string_values as _sv
from tapeflow.dimension import Dimension
from tapeflow.dtypes import is_inexact_np
from tapeflow.name_scope import scoped_name as _scoped_name
from tapeflow.tracing import state as _trace_state


class TensorShape(tuple):
    """A tuple of dimensions (`None` for unknown ones) with TF's `as_list()`, `rank`, ...

    Compares equal to tuples and lists of the same dimensions. `TensorShape(None)` is the shape
    of unknown rank (printed `<unknown>`): its `rank` and `dims` are None, and it has no length
    and no dimensions to iterate over, as in TF.
    """

    __slots__ = ()

    def __new__(cls, dims: Any = ()) -> TensorShape:
        if dims is None:
            return _UNKNOWN
        if type(dims) is _UnknownShape:
            return dims
        if isinstance(dims, (int, np.integer, Dimension)):
            dims = (dims,)
        return tuple.__new__(cls, (None if d is None or (type(d) is Dimension and d.value is None) else int(d)
                                   for d in dims))

    @property
    def rank(self) -> int | None:
        return len(self)

    ndims = rank

    @property
    def dims(self) -> list | None:
        """The dimensions as `tf.compat.v1.Dimension`s (as TF 2 still gives them)."""
        return [Dimension(d) for d in self]

    def as_list(self) -> list:
        return list(self)

    def num_elements(self) -> int | None:
        n = 1
        for d in self:
            if d is None:
                return None
            n *= d
        return n

    def is_fully_defined(self) -> bool:
        return None not in tuple(self)

    def is_compatible_with(self, other: Any) -> bool:
        other = TensorShape(other)
        if other.rank is None:
            return True
        if len(self) != len(other):
            return False
        return all(a is None or b is None or a == b for a, b in zip(self, other, strict=False))

    def concatenate(self, other: Any) -> TensorShape:
        other = TensorShape(other)
        if other.rank is None:
            return _UNKNOWN
        return TensorShape(tuple(self) + tuple(other))

    def __add__(self, other: Any) -> Any:
        # NOTE: with a shape of unknown rank the result is unknown, as TF's `concatenate`;
        # otherwise the tuple concatenation internal code relies on.
        if type(other) is _UnknownShape:
            return _UNKNOWN
        if isinstance(other, list):
            return self.concatenate(other)
        return tuple.__add__(self, other)

    def assert_is_compatible_with(self, other: Any) -> None:
        """ValueError unless `other` has this rank and agrees on every known dimension."""
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {TensorShape(other)} are incompatible")

    def assert_has_rank(self, rank: int) -> None:
        if self.rank not in (None, rank):
            raise ValueError(f"Shape {self} must have rank {rank}")

    def assert_same_rank(self, other: Any) -> None:
        other = TensorShape(other)
        if self.rank is not None and other.rank is not None and self.rank != other.rank:
            raise ValueError(f"Shapes {self} and {other} must have the same rank")

    def assert_is_fully_defined(self) -> None:
        if not self.is_fully_defined():
            raise ValueError(f"Shape {self} is not fully defined")

    def merge_with(self, other: Any) -> TensorShape:
        """The shape with the known dimensions of both (ValueError where they disagree)."""
        other = TensorShape(other)
        if other.rank is None:
            return self
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {other} are not compatible")
        return TensorShape(a if a is not None else b for a, b in zip(self, other, strict=True))

    def with_rank(self, rank: int) -> TensorShape:
        """This shape, checked to have `rank` dimensions (an unknown rank becomes `rank` Nones)."""
        if self.rank != rank:
            raise ValueError(f"Shape {self} must have rank {rank}")
        return self

    def with_rank_at_least(self, rank: int) -> TensorShape:
        if self.rank < rank:
            raise ValueError(f"Shape {self} must have rank at least {rank}")
        return self

    def with_rank_at_most(self, rank: int) -> TensorShape:
        if self.rank > rank:
            raise ValueError(f"Shape {self} must have rank at most {rank}")
        return self

    def most_specific_compatible_shape(self, other: Any) -> TensorShape:
        """The most specific shape both fit: unknown rank where the ranks differ, None where
        dimensions differ."""
        other = TensorShape(other)
        if other.rank is None or len(self) != len(other):
            return _UNKNOWN
        return TensorShape(a if a == b else None for a, b in zip(self, other, strict=True))

    def is_subtype_of(self, other: Any) -> bool:
        """Whether every shape this one admits `other` admits too (TF's TraceType rule)."""
        if not isinstance(other, TensorShape):
            return False
        if other.rank is None:
            return True
        if len(self) != len(other):
            return False
        return all(b is None or a == b for a, b in zip(self, other, strict=True))

    def most_specific_common_supertype(self, others: list) -> TensorShape | None:
        if not all(isinstance(o, TensorShape) for o in others):
            return None
        shape: TensorShape = self
        for o in others:
            shape = shape.most_specific_compatible_shape(o)
        return shape

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return TensorShape(tuple.__getitem__(self, key))
        return tuple.__getitem__(self, key)

    def __eq__(self, other: object) -> bool:
        if type(other) is _UnknownShape:
            return False
        if isinstance(other, (tuple, list)):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        return f"TensorShape({list(self)})"

    def __str__(self) -> str:
        if len(self) == 1:
            return f"({self[0]},)"
        return "(" + ", ".join(str(d) for d in self) + ")"


class _UnknownShape(TensorShape):
    """`TensorShape(None)`: a shape of unknown rank (one instance). As TF's, it is compatible
    with every shape, has no length, and `as_list()` / iteration raise ValueError."""

    __slots__ = ()

    def __new__(cls, dims: Any = None) -> _UnknownShape:
        return tuple.__new__(cls, ())

    def __reduce__(self) -> tuple:
        return (TensorShape, (None,))

    @property
    def rank(self) -> None:
        return None

    ndims = rank

    @property
    def dims(self) -> None:
        return None

    def as_list(self) -> list:
        raise ValueError("as_list() is not defined on an unknown TensorShape.")

    def num_elements(self) -> None:
        return None

    def is_fully_defined(self) -> bool:
        return False

    def is_compatible_with(self, other: Any) -> bool:
        TensorShape(other)
        return True

    def concatenate(self, other: Any) -> TensorShape:
        TensorShape(other)
        return self

    def __add__(self, other: Any) -> TensorShape:
        return self

    def __radd__(self, other: Any) -> TensorShape:
        return self

    def merge_with(self, other: Any) -> TensorShape:
        return TensorShape(other)

    def with_rank(self, rank: int) -> TensorShape:
        return TensorShape([None] * rank)

    def with_rank_at_least(self, rank: int) -> TensorShape:
        return self

    def with_rank_at_most(self, rank: int) -> TensorShape:
        return self

    def most_specific_compatible_shape(self, other: Any) -> TensorShape:
        TensorShape(other)
        return self

    def is_subtype_of(self, other: Any) -> bool:
        return type(other) is _UnknownShape

    def __len__(self) -> int:
        raise ValueError("Cannot take the length of shape with unknown rank.")

    def __bool__(self) -> bool:
        return False

    def __iter__(self) -> Any:
        raise ValueError("Cannot iterate over a shape with unknown rank.")

    def __contains__(self, item: Any) -> bool:
        raise ValueError("Cannot iterate over a shape with unknown rank.")

    def __getitem__(self, key: Any) -> Any:
        # NOTE: TF's rules: a dimension is unknown; a slice with a known, non-negative extent
        # has that many unknown dimensions, any other slice unknown rank.
        if not isinstance(key, slice):
            return None
        if key.step is not None:
            raise ValueError("Steps are not yet handled")
        start = 0 if key.start is None else key.start
        if key.stop is None or start < 0 or key.stop < 0:
            return self
        return TensorShape([None] * (key.stop - start))

    def __eq__(self, other: object) -> bool:
        if other is None or type(other) is _UnknownShape:
            return True
        if isinstance(other, (tuple, list)):
            return False
        return NotImplemented

    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        return "TensorShape(None)"

    def __str__(self) -> str:
        return "<unknown>"


_UNKNOWN = _UnknownShape()


class Tensor:
    """An immutable multi-dimensional array with a dtype, like `tf.Tensor`.

    Create tensors with `tf.constant`, `tf.convert_to_tensor` or any op; `numpy()` gives the
    values back.

    Example:
        >>> x = tf.constant([[1.0, 2.0]])
        >>> (x * 2).numpy()
        array([[2., 4.]], dtype=float32)
    """

    __slots__ = ("_value", "_keras_mask", "__weakref__")
    __array_priority__ = 100  # NumPy defers `ndarray + Tensor` to Tensor.__radd__

    def __init__(self, value: Any) -> None:
        self._value = value

    # -- metadata ---------------------------------------------------------------------------
    @property
    def shape(self) -> TensorShape:
        return tuple.__new__(TensorShape, self._value.shape)

    def get_shape(self) -> TensorShape:
        return self.shape

    def set_shape(self, shape: Any) -> None:
        """Check that `shape` (None dimensions allowed; None: any shape) fits this tensor, as
        TF's eager `set_shape` does; inside a `tf.function` it refines the static shape.

        Raises:
            ValueError: the tensor's shape is not compatible with `shape`.
        """
        if shape is None:
            return
        shape = TensorShape(shape)
        if not self.shape.is_compatible_with(shape):
            raise ValueError(f"Tensor's shape {self.shape} is not compatible with supplied shape {shape}.")

    @property
    def dtype(self) -> _dt.DType:
        return _dt.from_numpy(self._value.dtype)

    @property
    def ndim(self) -> int:
        return self._value.ndim

    @property
    def device(self) -> str:
        return backend.device_name(self._value)

    # -- values -----------------------------------------------------------------------------
    def numpy(self) -> Any:
        """The values as a NumPy array (a NumPy scalar for rank 0); copied from a GPU."""
        v = self._value
        if type(v) is not np.ndarray:
            v = backend.to_numpy(v)
        return v[()] if v.ndim == 0 else v

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        v = backend.to_numpy(self._value)
        if dtype is not None:
            v = v.astype(dtype, copy=False)
        return np.array(v, copy=True) if copy else v

    def _scalar(self, kind: str) -> Any:
        if self._value.size != 1:
            raise TypeError(
                f"Only tensors with one element can be converted to Python {kind}; "
                f"received shape {tuple(self._value.shape)}."
            )
        return backend.to_numpy(self._value).reshape(()).item()

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def __index__(self) -> int:
        if self._value.dtype.kind not in "iu":
            raise TypeError(f"Only integer tensors can be used as an index; dtype is {self.dtype.name}.")
        return int(self._scalar("int"))

    def __bool__(self) -> bool:
        return bool(self._scalar("bool"))

    def __len__(self) -> int:
        if self._value.ndim == 0:
            raise TypeError("len() of a scalar (rank-0) tensor is not defined.")
        return self._value.shape[0]

    def __iter__(self):
        shape = self.shape
        if len(shape) == 0:
            raise TypeError("Cannot iterate over a scalar (rank-0) tensor.")
        if shape[0] is None:
            raise TypeError("Cannot iterate over a tensor with unknown first dimension.")
        for i in range(shape[0]):
            yield self[i]

    def __format__(self, spec: str) -> str:
        # Like TF: the NumPy array's format, so f"{loss:.2f}" works on scalar tensors.
        return format(backend.to_numpy(self._value), spec)

    def __repr__(self) -> str:
        return (f"<tf.Tensor: shape={self.shape}, dtype={self.dtype.name}, "
                f"numpy={_numpy_text(self._value, True)}>")

    def __str__(self) -> str:
        return f"tf.Tensor({_numpy_text(self._value, False)}, shape={self.shape}, dtype={self.dtype.name})"

    def __hash__(self) -> int:
        raise TypeError("Tensor is unhashable. Instead, use tensor.ref() as the key.")

    def ref(self) -> Reference:
        """A hashable reference to this tensor (tensors themselves are not hashable)."""
        return Reference(self)

    experimental_ref = ref

    def __copy__(self) -> Tensor:
        return self

    def __deepcopy__(self, memo: Any) -> Tensor:
        return Tensor(self._value.copy())

    def __reduce__(self):
        return (constant, (self.numpy(),))


class Reference:
    """Hashable wrapper returned by `Tensor.ref()`; `deref()` gives the tensor back."""

    __slots__ = ("_tensor",)

    def __init__(self, tensor: Tensor) -> None:
        self._tensor = tensor

    def deref(self) -> Tensor:
        return self._tensor

    def __hash__(self) -> int:
        return id(self._tensor)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reference) and other._tensor is self._tensor


# Called with each new Variable (innermost last); a tf.distribute scope mirrors it from worker 0.
_variable_created_hooks: list = []
# Called with a variable before an eager assign changes it (keras.StatelessScope gives the variable
# the scope's own copy first, so the change stays in the scope).
_assign_hooks: list = []


def notify_writes(variables: Any) -> None:
    """Call before changing `variables` in place other than through `assign*` (optimizer steps,
    metric updates, seed counters): an active keras.StatelessScope gives them its own copies."""
    if _assign_hooks:
        hook = _assign_hooks[-1]
        for v in variables:
            hook(v)


_CALLABLE_VALUE_CLASSES: dict = {}


def _callable_value_class(cls: type) -> type:
    """`cls` with `__call__` returning the tensor itself (what `Variable.value` returns, so that
    both Keras 3's `v.value` and TF's `v.value()` read the variable)."""
    sub = _CALLABLE_VALUE_CLASSES.get(cls)
    if sub is None:
        sub = type(cls.__name__, (cls,), {"__slots__": (), "__call__": lambda self: self,
                                          "__module__": cls.__module__, "__qualname__": cls.__qualname__})
        _CALLABLE_VALUE_CLASSES[cls] = sub
    return sub


_creator_scopes: list = []  # tf.variable_creator_scope creators, outermost first
_creating = [0]  # > 0 while the default creator runs (creators are not consulted again for it)


def _create_through_scopes(variable: Variable, kwargs: dict) -> None:
    """Initialise `variable` through the active creators: the innermost is called with a
    `next_creator` that calls the next one out, down to the default constructor."""
    creators = list(_creator_scopes)

    def default(**kw: Any) -> Variable:
        _creating[0] += 1
        try:
            Variable.__init__(variable, **kw)
        finally:
            _creating[0] -= 1
        return variable

    def chain(level: int) -> Any:
        if level < 0:
            return default
        return lambda **kw: creators[level](chain(level - 1), **kw)

    result = chain(len(creators) - 1)(**kwargs)
    if result is not variable:
        from tapeflow.errors import UnimplementedError

        raise UnimplementedError(None, None, "tf.variable_creator_scope: a creator returned an object other than "
                                 "the one next_creator made; here a creator can change the arguments, observe or "
                                 "refuse the variable, not replace it.")


class Variable(Tensor):
    """A mutable tensor whose value persists across calls, like `tf.Variable`.

    Trainable variables read inside a `GradientTape` are watched automatically. `assign`,
    `assign_add` and `assign_sub` update the value in place.

    Args:
        initial_value: a tensor, array, Python value, or a callable returning one.
        trainable: whether tapes watch it automatically and optimizers update it.
        name: optional name (TF appends ":0").
        dtype: optional dtype to convert the initial value to.
        constraint: optional callable applied to the value after each optimizer update.
    """

    __slots__ = ("_trainable", "_name", "_path", "constraint", "_keras_owned", "aggregation", "_overwrite",
                 "_keras_var")

    def __init__(
        self,
        initial_value: Any = None,
        trainable: bool = True,
        name: str | None = None,
        dtype: Any = None,
        constraint: Any = None,
        shape: Any = None,
        **kwargs: Any,
    ) -> None:
        if _creator_scopes and not _creating[0]:  # tf.variable_creator_scope: the creators decide
            _create_through_scopes(self, dict(initial_value=initial_value, trainable=trainable, name=name,
                                              dtype=dtype, constraint=constraint, shape=shape, **kwargs))
            return
        if initial_value is None:
            raise ValueError("Variable requires an initial_value.")
        if _trace_state.graphs:
            initial_value = _traced_initial_value(initial_value, name)
        elif callable(initial_value):
            initial_value = initial_value()
        if isinstance(initial_value, Tensor):
            value = initial_value._value
            if dtype is not None and _dt.as_dtype(dtype)._np != value.dtype:
                value = value.astype(_dt.as_dtype(dtype)._np)
        else:
            value = _to_array(initial_value, dtype)
        xp = backend.get_xp(value)
        # NOTE: row-major like every TF buffer: an F-ordered initial value (Orthogonal's
        # transposed QR factor) would make every later op that mixes it, its slots and its
        # C-ordered gradients walk memory with strides (Adam on it took ~6x as long).
        self._value = xp.array(value, copy=True, order="C")
        self._trainable = bool(trainable)
        base = _scoped_name(name or "Variable")  # "outer/inner/name" inside tf.name_scope
        self._name = base if ":" in base else base + ":0"
        self._path = self._name.split(":")[0]
        self.constraint = constraint
        self._keras_owned = False
        self.aggregation = kwargs.get("aggregation")
        if _trace_state.graphs:
            from tapeflow.tracing.func_graph import on_variable_created

            on_variable_created(self)
        if _variable_created_hooks:
            _variable_created_hooks[-1](self)  # tf.distribute: mirror the new variable across workers

    @property
    def name(self) -> str:
        return self._name

    @property
    def path(self) -> str:
        return self._path

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)

    @property
    def overwrite_with_gradient(self) -> bool:
        """Keras 3's flag: optimizers assign this variable its gradient instead of a step (the
        float8 scales and amax histories, whose "gradients" are their next values)."""
        return getattr(self, "_overwrite", False)

    @overwrite_with_gradient.setter
    def overwrite_with_gradient(self, value: bool) -> None:
        self._overwrite = bool(value)

    def numpy(self) -> Any:
        v = backend.to_numpy(self._value)
        return v[()].copy() if v.ndim == 0 else v.copy()

    def read_value(self) -> Tensor:
        """A snapshot of the current value (later assignments do not change it)."""
        from tapeflow.ops.elementwise import identity

        return identity(self)

    @property
    def value(self) -> Tensor:
        """The current value as a tensor: Keras 3's `variable.value` property, and also callable
        as TF's `variable.value()` (calling it returns the same tensor)."""
        from tapeflow.ops.elementwise import identity

        out = identity(self)
        out.__class__ = _callable_value_class(type(out))
        return out

    def _check_assign(self, value: Any, what: str) -> Any:
        if isinstance(value, Tensor):
            arr = value._value
            if arr is None:
                raise TypeError(f"Cannot {what} a symbolic tensor to Variable '{self._name}' eagerly.")
            if arr.dtype != self._value.dtype:
                arr = _check_same_dtype_for_assign(self, arr, what)
        else:
            arr = _to_array(value, self._value.dtype, xp=backend.get_xp(self._value))
        if arr.shape != self._value.shape:
            try:
                np.broadcast_shapes(arr.shape, self._value.shape)
                ok = np.broadcast_shapes(arr.shape, self._value.shape) == self._value.shape
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(
                    f"Variable '{self._name}'.{what}: cannot assign a value of shape "
                    f"{tuple(arr.shape)} to a variable of shape {tuple(self._value.shape)}."
                )
        if type(arr) is not type(self._value) and backend.get_xp(arr) is not backend.get_xp(self._value):
            raise ValueError(
                f"Variable '{self._name}'.{what}: the value is on {backend.device_name(arr)} "
                f"but the variable is on {backend.device_name(self._value)}."
            )
        return arr

    def set_shape(self, shape: Any) -> None:
        """Check `shape` against the variable's (TF's `Variable.set_shape` merges static shapes)."""
        if shape is not None and not self.shape.is_compatible_with(TensorShape(shape)):
            raise ValueError(f"Shapes {self.shape} and {TensorShape(shape)} are not compatible")

    def assign(self, value: Any, use_locking: Any = None, name: Any = None,
               read_value: bool = True) -> Variable:
        """Set the value in place; returns the variable."""
        if _trace_state.graphs and _trace_state.graphs[-1] is not None:
            from tapeflow.tracing.func_graph import assign_in_trace

            return assign_in_trace(self, "assign", value)
        arr = self._check_assign(value, "assign")
        if _assign_hooks:
            _assign_hooks[-1](self)
        self._value[...] = arr
        return self

    def assign_add(self, delta: Any, use_locking: Any = None, name: Any = None,
                   read_value: bool = True) -> Variable:
        """Add `delta` in place; returns the variable."""
        if _trace_state.graphs and _trace_state.graphs[-1] is not None:
            from tapeflow.tracing.func_graph import assign_in_trace

            return assign_in_trace(self, "assign_add", delta)
        delta = self._check_assign(delta, "assign_add")
        if _assign_hooks:
            _assign_hooks[-1](self)
        self._value += delta
        return self

    def assign_sub(self, delta: Any, use_locking: Any = None, name: Any = None,
                   read_value: bool = True) -> Variable:
        """Subtract `delta` in place; returns the variable."""
        if _trace_state.graphs and _trace_state.graphs[-1] is not None:
            from tapeflow.tracing.func_graph import assign_in_trace

            return assign_in_trace(self, "assign_sub", delta)
        delta = self._check_assign(delta, "assign_sub")
        if _assign_hooks:
            _assign_hooks[-1](self)
        self._value -= delta
        return self

    def __hash__(self) -> int:
        raise TypeError(f"Variable is unhashable. Instead, use variable.ref() as the key. (Variable: {self!r})")

    def __repr__(self) -> str:
        if self._keras_owned or getattr(self, "_keras_var", False):
            # a Keras variable (a layer weight, keras.Variable) shows as Keras 3's does
            return (f"<Variable path={self._path}, shape={tuple(self.shape)}, dtype={self.dtype.name}, "
                    f"value={self.numpy()}>")
        return (f"<tf.Variable '{self._name}' shape={self.shape} dtype={self.dtype.name}, "
                f"numpy={_numpy_text(self._value, True)}>")

    __str__ = __repr__

    def __deepcopy__(self, memo: Any) -> Variable:
        copy = Variable(self._value.copy(), trainable=self._trainable, name=self._name)
        if self.overwrite_with_gradient:
            copy._overwrite = True
        return copy

    def __reduce__(self):
        return (Variable, (self.numpy(), self._trainable, self._name))


def _traced_initial_value(initial_value: Any, name: Any) -> Any:
    """A variable created during a tf.function trace gets its initial value eagerly (TF lifts
    initializers out of the function): callables run outside the trace, graph values are
    computed now."""
    from tapeflow.tracing.func_graph import eager_initial_value

    if callable(initial_value):
        with _trace_state.suspended():
            initial_value = initial_value()
    if isinstance(initial_value, Tensor) and initial_value._value is None:
        initial_value = eager_initial_value(initial_value, name or "Variable")
    return initial_value


def _numpy_text(value: Any, is_repr: bool) -> str:
    """The value as TF prints it: scalars bare, arrays by NumPy (multi-line ones on a new line)."""
    v = backend.to_numpy(value)
    if v.ndim == 0:
        if is_repr and is_inexact_np(v.dtype):
            return repr(v.item())  # TF 2.21's repr: the Python float (float32 0.1 -> 0.10000000149011612)
        return str(v[()])
    text = repr(v) if is_repr else str(v)
    return "\n" + text if "\n" in text else text


def _check_same_dtype_for_assign(var: Variable, arr: Any, what: str) -> Any:
    raise TypeError(
        f"Variable '{var._name}'.{what}: expected a value of dtype {var.dtype.name}, "
        f"received {_dt.from_numpy(arr.dtype).name}."
    )


# ---------------------------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------------------------

_PY_SCALARS = (bool, int, float, complex)


def _infer_np_dtype(value: Any) -> Any:
    """TF's default dtype for Python values: float32 for floats, int32 for ints."""
    if isinstance(value, bool):
        return np.bool_
    if isinstance(value, numbers.Integral) and not isinstance(value, np.integer):
        return np.int32 if -(2**31) <= value < 2**31 else np.int64
    if isinstance(value, float):
        return np.float32
    if isinstance(value, complex):
        return np.complex128
    return None


def _to_array(value: Any, dtype: Any = None, xp: Any = None) -> Any:
    """Convert a non-Tensor value to an array, following TF's dtype rules."""
    np_dtype = None if dtype is None else _dt.as_dtype(dtype)._np
    if isinstance(value, _PY_SCALARS) and not isinstance(value, np.generic):
        if np_dtype is None:
            np_dtype = _infer_np_dtype(value)
        elif np_dtype.kind in "iubO" and isinstance(value, float) or np_dtype.kind == "O":
            raise TypeError(f"Cannot convert {value!r} to a tensor of dtype {_dt.from_numpy(np_dtype).name}.")
        return backend.asarray(value, np_dtype, xp)
    if isinstance(value, range):  # TF converts a range like the list of its values
        value = list(value)
    if (np_dtype is not None and np_dtype.kind == "O") or _sv.is_text(value):
        return _text_array(value, np_dtype)
    if isinstance(value, (list, tuple)):
        if _contains_tensor(value):
            from tapeflow.ops.movement import stack

            return stack([convert_to_tensor(v, dtype) for v in value])._value
        try:
            arr = np.asarray(value)
        except ValueError:  # NumPy 2 refuses ragged nesting outright
            arr = np.asarray(None, dtype=object)
        if arr.dtype.kind in "OSU":  # (text first leaves went to _text_array)
            raise TypeError(f"Cannot convert {_short(value)} to a tensor: ragged or non-numeric elements.")
        if np_dtype is None:
            if arr.dtype == np.float64:
                np_dtype = np.float32
            elif arr.dtype == np.int64:
                fits = arr.size == 0 or (arr.min() >= -(2**31) and arr.max() < 2**31)
                np_dtype = np.int32 if fits else np.int64
        elif np_dtype.kind in "iub" and arr.dtype.kind == "f" and arr.size:  # [] is any dtype
            raise TypeError(
                f"Cannot convert {_short(value)} to a tensor of dtype {_dt.from_numpy(np_dtype).name}.")
        return backend.asarray(arr, np_dtype, xp)
    if isinstance(value, np.ndarray) or backend.is_gpu_array(value) or isinstance(value, np.generic):
        if value.dtype.kind not in "biufc":
            raise TypeError(f"Cannot convert an array of dtype {value.dtype} to a tensor.")
        if xp is None and backend.is_gpu_array(value):
            xp = backend.get_xp(value)
        return backend.asarray(value, np_dtype, xp)
    if hasattr(value, "__array__") and not isinstance(value, str):
        return _to_array(np.asarray(value), dtype, xp)
    for _, _, types, func in _CONVERSION_FUNCTIONS:
        if isinstance(value, types):
            out = func(value, dtype=None if dtype is None else _dt.as_dtype(dtype), name=None, as_ref=False)
            if out is not NotImplemented:
                return convert_to_tensor(out, dtype)._value
    raise TypeError(
        f"Cannot convert {_short(value)} of type {type(value).__name__} to a tensor; "
        "expected a number, list, NumPy array or Tensor."
    )


# (priority, order, types, function) from tf.register_tensor_conversion_function, tried in order
_CONVERSION_FUNCTIONS: list = []


def _text_array(value: Any, np_dtype: Any) -> Any:
    """A tf.string value (host object array of bytes); other requested dtypes are refused."""
    if np_dtype is not None and np_dtype.kind != "O":
        if isinstance(value, np.ndarray):  # NumPy's own conversion, as TF does (b"1" -> 1.0)
            return backend.asarray(value.astype(np_dtype), None, xp=np)
        raise TypeError(f"Cannot convert {_short(value)} to a tensor of dtype "
                        f"{_dt.from_numpy(np_dtype).name}.")
    if isinstance(value, np.ndarray) and value.dtype.kind not in "OSU":
        raise ValueError(f"Cannot convert an array of dtype {value.dtype} to a tensor of dtype string.")
    return _sv.to_bytes_array(value, requested=np_dtype is not None)


def _contains_tensor(seq: Any) -> bool:
    for v in seq:
        if isinstance(v, Tensor):
            return True
        if isinstance(v, (list, tuple)) and _contains_tensor(v):
            return True
    return False


def _short(value: Any) -> str:
    r = repr(value)
    return r if len(r) <= 60 else r[:57] + "..."


def convert_to_tensor(value: Any, dtype: Any = None, dtype_hint: Any = None, name: Any = None) -> Tensor:
    """Convert a Python value, NumPy array or Tensor to a Tensor (`tf.convert_to_tensor`).

    NumPy arrays keep their dtype; Python floats become float32 and ints int32. A Tensor of a
    different `dtype` than requested raises ValueError.
    """
    if isinstance(value, Tensor):
        if dtype is not None and value._value is not None:
            want = _dt.as_dtype(dtype)
            if want._np != value._value.dtype:
                raise ValueError(
                    f"Tensor conversion requested dtype {want.name} for Tensor with dtype "
                    f"{value.dtype.name}."
                )
        return value
    if isinstance(value, (list, tuple)) and _contains_tensor(value):
        # Stacked with a recorded op, so gradients flow to the listed tensors.
        from tapeflow.ops.movement import stack

        return stack([convert_to_tensor(v, dtype) for v in value])
    if dtype is None and dtype_hint is not None:
        try:
            return Tensor(_to_array(value, dtype_hint))
        except (TypeError, ValueError):
            pass
    return Tensor(_to_array(value, dtype))


def constant(value: Any, dtype: Any = None, shape: Any = None, name: Any = None) -> Tensor:
    """A tensor from a Python value or array (`tf.constant`); `shape` reshapes or broadcasts."""
    if isinstance(value, Tensor):
        arr = value._value
        if dtype is not None:
            arr = arr.astype(_dt.as_dtype(dtype)._np, copy=False)
    elif dtype is not None and isinstance(value, (np.ndarray, np.generic)) and _dt.as_dtype(dtype)._np.kind != "O":
        # Like TF, an explicit dtype casts NumPy values (lists and scalars are checked instead).
        arr = _to_array(value, None).astype(_dt.as_dtype(dtype)._np, copy=False)
    else:
        arr = _to_array(value, dtype)
    if shape is not None:
        shape = tuple(int(d) for d in shape)
        xp = backend.get_xp(arr)
        if arr.size == int(np.prod(shape)):
            arr = arr.reshape(shape)
        elif arr.size == 1:
            arr = xp.full(shape, arr.reshape(()), dtype=arr.dtype)
        else:
            raise TypeError(
                f"constant: cannot reshape a value with {arr.size} elements to shape {shape}."
            )
    return Tensor(arr)


_scalar_cache: dict = {}


def scalar_like(value: Any, like: Any, op_name: str) -> Tensor:
    """A Python number as a tensor of `like`'s dtype and device, for `x + 1.0` and friends."""
    arr_like = like._value
    np_dtype = arr_like.dtype if arr_like is not None else like.dtype._np
    key = (value, type(value), np_dtype, type(arr_like))
    try:
        t = _scalar_cache.get(key)
    except TypeError:  # unhashable
        t = None
        key = None
    if t is not None:
        return t
    if isinstance(value, float) and np_dtype.kind in "iub":
        raise TypeError(
            f"{op_name}: cannot convert {value!r} to the dtype of the other operand, "
            f"{_dt.from_numpy(np_dtype).name}."
        )
    if np_dtype.kind == "O":
        raise TypeError(f"{op_name}: cannot convert {value!r} to the dtype of the other operand, string.")
    xp = backend.get_xp(arr_like) if arr_like is not None else None
    t = Tensor(backend.asarray(value, np_dtype, xp))
    if key is not None:
        if len(_scalar_cache) > 4096:
            _scalar_cache.clear()
        _scalar_cache[key] = t
    return t


def operand_like(value: Any, like: Tensor, op_name: str) -> Tensor:
    """Convert the non-Tensor operand of a binary op, giving Python values `like`'s dtype."""
    if isinstance(value, _PY_SCALARS):
        return scalar_like(value, like, op_name)
    if like.dtype is _dt.string:
        return Tensor(_to_array(value, _sv.OBJECT))  # text only (numbers are refused)
    if _sv.is_text(value):
        raise TypeError(f"{op_name}: cannot convert {_short(value)} to the dtype of the other operand, "
                        f"{like.dtype.name}.")
    if isinstance(value, (list, tuple)):
        np_dtype = like._value.dtype if like._value is not None else like.dtype._np
        xp = backend.get_xp(like._value) if like._value is not None else None
        return Tensor(_to_array(value, np_dtype, xp))
    xp = backend.get_xp(like._value) if like._value is not None else None
    if isinstance(value, (np.ndarray, np.generic)) or backend.is_gpu_array(value):
        # NOTE: like TF, a NumPy operand takes the tensor's dtype (float64 arrays do not turn a
        # float32 computation into float64), floats into integers by truncation as TF's
        # conversion does (`tf.constant([1, 2]) + np.array([0.5, 1.5])` is [1, 3]); complex
        # values into real dtypes and non-numeric arrays are refused.
        np_dtype = like._value.dtype if like._value is not None else like.dtype._np
        if value.dtype != np_dtype:
            if value.dtype.kind == "c" and np_dtype.kind != "c" or value.dtype.kind not in "biufc":
                raise TypeError(
                    f"{op_name}: cannot convert an array of dtype {value.dtype} to the dtype of the "
                    f"other operand, {_dt.from_numpy(np_dtype).name}."
                )
            return Tensor(backend.asarray(value, np_dtype, xp))
    try:
        return Tensor(_to_array(value, None, xp))
    except TypeError:
        raise TypeError(
            f"{op_name}: expected a tensor, number or array operand, received "
            f"{type(value).__name__} {_short(value)}."
        ) from None

