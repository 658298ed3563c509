"""Top-level framework helpers of `tf.*`: control dependencies and grouping (eager: ordering is
program order), static values, gradient helpers (grad_pass_through, recompute_grad), the
variable enums, DeviceSpec, type specs, IndexedSlices, timestamps and the logger."""

from __future__ import annotations

import abc
import contextlib
import enum
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.ops import elementwise as ew
from tapeflow.tensor import Tensor, TensorShape, convert_to_tensor
from tapeflow.tracing.func_graph import is_symbolic, tracing
from tapeflow.tracing.spec import TensorSpec


@contextlib.contextmanager
def control_dependencies(control_inputs: Any) -> Any:
    """Run the block after `control_inputs`: ops already run in program order here (eagerly and
    in traced graphs, whose stateful nodes replay in order), so this only checks its argument."""
    if control_inputs is not None and not isinstance(control_inputs, (list, tuple)):
        raise TypeError(f"control_dependencies: expected a list of tensors or ops, received "
                        f"{type(control_inputs).__name__}.")
    yield None


def no_op(name: Any = None) -> None:
    """Does nothing (returns None eagerly, as TF)."""
    return None


def group(*inputs: Any, **kwargs: Any) -> None:
    """An op that waits for `inputs`: None, since every op has already run (as TF eagerly)."""
    return None


def tuple(tensors: Any, name: Any = None, control_inputs: Any = None) -> list:  # noqa: A001 - TF's name
    """The tensors, grouped (each passed through unchanged, Nones kept)."""
    return [None if t is None else ew.identity(t) for t in tensors]


def get_static_value(tensor: Any, partial: bool = False) -> Any:
    """The NumPy value of `tensor` if known without running a graph, else None."""
    if isinstance(tensor, Tensor):
        if tensor._value is None:
            return None
        return backend.to_numpy(tensor._value)
    if isinstance(tensor, TensorShape):
        return np.asarray([d for d in tensor], dtype=object if None in tensor else np.int32)
    return np.asarray(convert_to_tensor(tensor).numpy())


def make_ndarray(tensor: Any) -> np.ndarray:
    """A NumPy copy of a TensorProto's value (a Tensor is accepted too)."""
    if isinstance(tensor, Tensor):
        return np.array(backend.to_numpy(tensor._value))
    from tapeflow.toplevel_more import TensorProto

    if isinstance(tensor, TensorProto):
        from tapeflow.io.ops import parse_tensor

        return np.array(backend.to_numpy(parse_tensor(np.array(tensor.SerializeToString(), object),
                                                      tensor._dtype)._value))
    raise TypeError(f"make_ndarray: expected a TensorProto (from tf.make_tensor_proto) or a Tensor, received "
                    f"{type(tensor).__name__}.")


def inside_function() -> bool:
    """Whether a `tf.function` is being traced."""
    return tracing()


def is_symbolic_tensor(tensor: Any) -> bool:
    """Whether `tensor` is a graph (symbolic) tensor without a value."""
    return isinstance(tensor, Tensor) and is_symbolic(tensor)


def get_current_name_scope() -> str:
    """The current `tf.name_scope` path without its trailing slash ('' at the top)."""
    from tapeflow.name_scope import current_scope

    return current_scope().rstrip("/")


def get_logger() -> logging.Logger:
    """TF's logger, named 'tensorflow' (level WARNING unless configured)."""
    logger = logging.getLogger("tensorflow")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)
    return logger


def timestamp(name: Any = None) -> Tensor:
    """Seconds since the epoch as a float64 scalar."""
    return convert_to_tensor(np.float64(time.time()))


class AggregationMethod:
    """How gradients from several paths are combined (all add up here)."""

    ADD_N = 0
    DEFAULT = ADD_N
    EXPERIMENTAL_TREE = 1
    EXPERIMENTAL_ACCUMULATE_N = 2


class VariableAggregation(enum.Enum):
    """How a distributed variable's replicas' updates combine."""

    NONE = 0
    SUM = 1
    MEAN = 2
    ONLY_FIRST_REPLICA = 3


class VariableSynchronization(enum.Enum):
    """When a distributed variable is synchronised."""

    AUTO = 0
    NONE = 1
    ON_WRITE = 2
    ON_READ = 3


class DeviceSpec:
    """A device name's parts: job, replica, task, device_type, device_index."""

    def __init__(self, job: Any = None, replica: Any = None, task: Any = None, device_type: Any = None,
                 device_index: Any = None) -> None:
        self.job, self.replica, self.task = job, replica, task
        self.device_type = device_type.upper() if isinstance(device_type, str) and device_type.lower() in (
            "cpu", "gpu", "tpu") else device_type
        self.device_index = device_index

    @classmethod
    def from_string(cls, spec: str) -> DeviceSpec:
        """Parse '/job:w/replica:0/task:1/device:GPU:0' (each part optional; 'GPU:0' also works)."""
        out = cls()
        for part in [p for p in spec.split("/") if p]:
            bits = part.split(":")
            key = bits[0].lower()
            if key in ("job", "replica", "task") and len(bits) == 2:
                setattr(out, key, bits[1] if key == "job" else int(bits[1]))
            elif key == "device" and len(bits) in (2, 3):
                out.device_type = bits[1].upper() if bits[1].lower() in ("cpu", "gpu", "tpu") else bits[1]
                out.device_index = None if len(bits) == 2 or bits[2] == "*" else int(bits[2])
            elif key in ("cpu", "gpu", "tpu") and len(bits) == 2:
                out.device_type, out.device_index = key.upper(), None if bits[1] == "*" else int(bits[1])
            else:
                raise ValueError(f"DeviceSpec: cannot parse {part!r} of {spec!r}.")
        return out

    def to_string(self) -> str:
        """The canonical '/job:.../replica:.../task:.../device:TYPE:index' form."""
        s = ""
        if self.job is not None:
            s += f"/job:{self.job}"
        if self.replica is not None:
            s += f"/replica:{self.replica}"
        if self.task is not None:
            s += f"/task:{self.task}"
        if self.device_type is not None:
            s += f"/device:{self.device_type}:{'*' if self.device_index is None else self.device_index}"
        return s

    def replace(self, **kwargs: Any) -> DeviceSpec:
        """A copy with some fields replaced."""
        d = {k: getattr(self, k) for k in ("job", "replica", "task", "device_type", "device_index")}
        d.update(kwargs)
        return DeviceSpec(**d)

    def make_merged_spec(self, dev: DeviceSpec) -> DeviceSpec:
        """This spec with the fields `dev` sets taking precedence."""
        return self.replace(**{k: v for k, v in vars(dev).items() if v is not None})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeviceSpec) and self.to_string() == other.to_string()

    def __hash__(self) -> int:
        return hash(self.to_string())

    def __repr__(self) -> str:
        return f"<DeviceSpec {self.to_string()}>"


class TypeSpec(abc.ABC):  # noqa: B024 - a marker base: TensorSpec is registered as one
    """The base type of value specs (`tf.TensorSpec`, ...): `isinstance(spec, tf.TypeSpec)`."""


TypeSpec.register(TensorSpec)


class NoneTensorSpec:
    """The spec of a None value in a nested structure."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoneTensorSpec)

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "NoneTensorSpec()"


def type_spec_from_value(value: Any) -> Any:
    """The TensorSpec of a tensor (or value convertible to one); NoneTensorSpec for None."""
    if value is None:
        return NoneTensorSpec()
    spec = getattr(value, "_type_spec", None)  # extension types, ragged and sparse tensors
    if spec is not None and not isinstance(value, Tensor):
        return spec
    t = value if isinstance(value, Tensor) else convert_to_tensor(value)
    return TensorSpec(t.shape, t.dtype)


class IndexedSlices:
    """Rows `values` of a dense tensor of `dense_shape` at `indices` (how TF represents sparse
    gradients of gathers); converts to the dense tensor with `tf.convert_to_tensor`-style use."""

    def __init__(self, values: Any, indices: Any, dense_shape: Any = None) -> None:
        self.values = values if isinstance(values, Tensor) else convert_to_tensor(values)
        self.indices = indices if isinstance(indices, Tensor) else convert_to_tensor(indices)
        self.dense_shape = None if dense_shape is None else (
            dense_shape if isinstance(dense_shape, Tensor) else convert_to_tensor(dense_shape))

    @property
    def dtype(self) -> Any:
        return self.values.dtype

    @property
    def shape(self) -> TensorShape:
        if self.dense_shape is None:
            return TensorShape((None, *self.values.shape[1:]))
        return TensorShape(int(d) for d in self.dense_shape.numpy())

    def to_dense(self) -> Tensor:
        """The dense tensor (repeated indices add up)."""
        from tapeflow.array_extra import scatter_nd
        from tapeflow.ops import movement as mv

        if self.dense_shape is None:
            raise ValueError("IndexedSlices.to_dense: dense_shape is unknown.")
        idx = mv.expand_dims(self.indices, -1)
        return scatter_nd(idx, self.values, [int(d) for d in self.dense_shape.numpy()])

    def __repr__(self) -> str:
        return (f"IndexedSlices(indices={self.indices!r}, values={self.values!r}, "
                f"dense_shape={self.dense_shape!r})")


class IndexedSlicesSpec:
    """The type of an IndexedSlices: shape, dtype and index dtype."""

    def __init__(self, shape: Any = None, dtype: Any = "float32", indices_dtype: Any = "int64",
                 dense_shape_dtype: Any = None, indices_shape: Any = None) -> None:
        from tapeflow import dtypes

        self.shape = TensorShape(shape) if shape is not None else None
        self.dtype = dtypes.as_dtype(dtype)
        self.indices_dtype = dtypes.as_dtype(indices_dtype)

    def __repr__(self) -> str:
        return f"IndexedSlicesSpec(shape={self.shape}, dtype={self.dtype!r}, indices_dtype={self.indices_dtype!r})"


# -- gradient helpers --------------------------------------------------------------------------

def grad_pass_through(f: Callable) -> Callable:
    """`f` whose gradient is the identity: y = f(x) forward, dy/dx treated as 1 (straight-through)."""
    from tapeflow.autodiff.custom_gradient import custom_gradient

    @custom_gradient
    def wrapped(x: Any) -> Any:
        def grad(dy: Any, variables: Any = None) -> Any:
            return (dy, [None] * len(variables)) if variables else dy

        return f(x), grad

    return wrapped


_NO_GRADIENT: set = set()
_REGISTERED: dict = {}


def no_gradient(op_type: str) -> None:
    """Declare that ops of `op_type` have no gradient (recorded; Tapeflow's ops define their own)."""
    if not isinstance(op_type, str):
        raise TypeError(f"op_type must be a string, received {type(op_type).__name__}.")
    _NO_GRADIENT.add(op_type)


class RegisterGradient:
    """Decorator registering a gradient function for an op type name (kept in a registry that
    `tf.custom_gradient` users can look up; Tapeflow's own ops define their gradients inline)."""

    def __init__(self, op_type: str) -> None:
        if not isinstance(op_type, str):
            raise TypeError(f"op_type must be a string, received {type(op_type).__name__}.")
        self._op_type = op_type

    def __call__(self, f: Callable) -> Callable:
        if self._op_type in _REGISTERED:
            raise KeyError(f"Registering two gradient with name '{self._op_type}'!")
        _REGISTERED[self._op_type] = f
        return f


def recompute_grad(f: Callable) -> Callable:
    """`f` whose forward activations are recomputed during the backward pass (to save memory);
    the values and gradients are those of `f`."""
    from tapeflow.autodiff.custom_gradient import custom_gradient
    from tapeflow.autodiff.tape import GradientTape

    @custom_gradient
    def inner(*args: Any) -> Any:
        out = f(*args)

        def grad(*dys: Any, variables: Any = None) -> Any:
            with GradientTape() as tape:
                for a in args:
                    tape.watch(a)
                again = f(*args)
            srcs = list(args) + list(variables or [])
            grads = tape.gradient(again, srcs, output_gradients=list(dys) if len(dys) > 1 else dys[0])
            n = len(args)
            return (grads[:n], grads[n:]) if variables else grads[:n]

        return out, grad

    return inner

