"""The one place where `tf.data` calls the functions users give to `map`, `filter`, ...

# NOTE: TF traces these functions once with `tf.function` and runs the graph per element. Here
# `output_spec` traces once with `tf.function` on the element spec (so specs are TF's), but
# `UserFunction.__call__` runs the Python function eagerly on each element's tensors: replaying
# a traced graph costs about 27 us per call against about 6 us eagerly for a cast and a divide
# (measured on 28x28 images), so per-element maps stay eager until replay is cheaper. One
# visible difference: a Python `print` in the function runs for every element, not once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import nest
from tapeflow.data import structure
from tapeflow.tensor import Tensor
from tapeflow.tracing.spec import TensorSpec


class UserFunction:
    """A user function applied to dataset elements, with TF's calling convention.

    A tuple element is passed as separate positional arguments (`map(lambda x, y: ...)`); any
    other element (a tensor, a dict, a namedtuple) as one argument.

    Args:
        func: the user's callable.
        what: the transformation, e.g. "Dataset.map", for error messages.
    """

    def __init__(self, func: Any, what: str) -> None:
        if not callable(func):
            raise TypeError(f"{what}: expected a callable, received {type(func).__name__} {func!r}.")
        self.func = func
        self.what = what
        self.name = getattr(func, "__name__", type(func).__name__)
        self._traces: dict = {}  # input spec -> (output spec, elementwise, concrete function)

    def raw(self, element: Any) -> Any:
        """Call the function on the element (arrays) and return what it returned, unconverted."""
        args = structure.to_tensors(element)
        if type(args) is tuple:
            return self.func(*args)
        return self.func(args)

    def __call__(self, element: Any) -> Any:
        """The function's result as an element structure of arrays."""
        return self.convert(self.raw(element))

    def convert(self, result: Any) -> Any:
        """A result as an element structure; an error naming the function when it is not one."""
        try:
            return structure.normalize(result, f"{self.what}", lists_are_tuples=True)
        except TypeError as e:
            raise TypeError(
                f"{self.what}: the function `{self.name}` must return a tensor or a (nested) tuple "
                f"or dict of tensors; it returned {type(result).__name__}. {e}"
            ) from None

    def predicate(self, element: Any) -> bool:
        """Call a predicate (`filter`, `take_while`) and check it returned a scalar bool."""
        out = self.raw(element)
        try:
            arr = structure.component(out, self.what)
        except TypeError:
            arr = None
        if arr is None or arr.shape != () or arr.dtype != np.bool_:
            raise ValueError(
                f"{self.what}: the predicate `{self.name}` must return a scalar boolean tensor, "
                f"returned {_describe(out)}."
            )
        return bool(arr)

    def stand_in(self, input_spec: Any) -> Any:
        """An element of `input_spec` made of ones (zeros for integers), unknown dims at size 2."""
        return _stand_in(input_spec, 2)

    def output_spec(self, input_spec: Any) -> Any:
        """The spec structure of the function's results on elements of `input_spec`.

        Traced once with `tf.function` on symbolic elements of `input_spec` (as TF does); if
        tracing fails, by calling it on stand-in values with two sizes for unknown dimensions
        and two fill values. Returns None when both fail (the caller then looks at real data).
        """
        spec = self._traced_spec(input_spec)
        if spec is not None:
            return spec
        try:
            first = self(_stand_in(input_spec, 2, 1))
            second = self(_stand_in(input_spec, 3, 2))
        except Exception:  # noqa: BLE001 - any failure on stand-ins means: look at real data
            return None
        if not structure.same_structure(first, second):
            return None
        specs = [_merge_shapes(a, b) for a, b in
                 zip(structure.flatten(first), structure.flatten(second), strict=True)]
        return structure.pack(first, specs)

    def elementwise(self, input_spec: Any) -> bool:
        """Whether the function is elementwise on elements of `input_spec` (see `vectorize`), so
        that `on_stack` may run it on a stack of such elements at once."""
        return self._trace(input_spec)[1]

    def on_stack(self, input_spec: Any, stacked: Any) -> Any:
        """The results for a stack of elements (leading axis added), from one replay of the
        function's trace; only for `elementwise` functions.

        # NOTE: the trace is replayed rather than the Python function called, so values the
        # Python code read from the element while tracing (`x.shape[0]`) keep their element
        # values, and Python side effects happen once, at the trace, as in TF.
        """
        concrete = self._trace(input_spec)[2]
        leaves = structure.flatten(stacked) if isinstance(stacked, (tuple, dict)) else [stacked]
        return self.convert(concrete._call_flat([Tensor(a) for a in leaves]))

    def _traced_spec(self, input_spec: Any) -> Any:
        return self._trace(input_spec)[0]

    def stateful_op(self, input_spec: Any = None) -> str | None:
        """TF's name of a stateful op in the traced function (a py_function, random sampling),
        which makes an iterator through it refuse to be checkpointed, as in TF; None if none.
        Traced for `input_spec` first when given (a filter's predicate may not be yet)."""
        if input_spec is not None:
            self._trace(input_spec)
        for _, _, concrete in self._traces.values():
            if concrete is not None:
                found = _stateful_op(concrete._program.nodes)
                if found is not None:
                    return found
        return None

    def _trace(self, input_spec: Any) -> tuple:
        """Trace once per input spec with `tf.function`: (output spec or None, elementwise,
        the concrete function or None)."""
        from tapeflow.data.vectorize import is_elementwise
        from tapeflow.tracing.polymorphic import function

        key = repr(input_spec)
        found = self._traces.get(key)
        if found is not None:
            return found
        args = input_spec if type(input_spec) is tuple else (input_spec,)
        try:
            concrete = function(self.func).get_concrete_function(*args)
            found = (_spec_structure(concrete.structured_outputs), is_elementwise(concrete), concrete)
        except Exception:  # noqa: BLE001 - not traceable: fall back to stand-in values
            found = (None, False, None)
        self._traces[key] = found
        return found


def _spec_structure(outputs: Any) -> Any:
    """The TensorSpec structure of traced outputs (lists become tuples, as in TF)."""
    if isinstance(outputs, dict):
        return nest.mapping_like(outputs, {k: _spec_structure(v) for k, v in outputs.items()})
    if isinstance(outputs, (tuple, list)):
        items = [_spec_structure(v) for v in outputs]
        return type(outputs)(*items) if hasattr(outputs, "_fields") else tuple(items)
    if isinstance(outputs, Tensor):
        return TensorSpec(outputs.shape, outputs.dtype)
    arr = structure.component(outputs, "tf.data function output")
    return TensorSpec(arr.shape, arr.dtype)


def spec_from_real(result: Any, input_spec: Any) -> Any:
    """The spec of a real result; all dimensions unknown when the input had unknown ones or
    strings (whose contents, e.g. a parsed record, may size the result)."""
    spec = structure.spec_of(result)
    if not _has_unknown_dims(input_spec) and not _has_strings(input_spec):
        return spec
    return structure.map_leaves(_unknown_dims, spec)


def _unknown_dims(s: Any) -> Any:
    if type(s).__name__ == "SparseTensorSpec":
        return type(s)([None] * len(s.shape), s.dtype)
    if not isinstance(s, TensorSpec):  # a RaggedTensorSpec keeps its ragged rank
        return type(s)([None] * len(s.shape), s.dtype, s.ragged_rank, s.row_splits_dtype)
    return TensorSpec([None] * len(s.shape), s.dtype)


def _stand_in(spec: Any, size: int, fill: int = 1) -> Any:
    def make(s: TensorSpec) -> np.ndarray:
        shape = () if s.shape.rank is None else tuple(size if d is None else d for d in s.shape)
        return np.full(shape, fill, s.dtype._np)
    return structure.map_leaves(make, spec)


def _has_strings(spec: Any) -> bool:
    return any(getattr(s, "dtype", None) is not None and s.dtype._np.kind == "O" for s in structure.flatten(spec))


def _has_unknown_dims(spec: Any) -> bool:
    return any(s.shape.rank is None or None in tuple(s.shape) for s in structure.flatten(spec))


def _merge_shapes(a: np.ndarray, b: np.ndarray) -> TensorSpec:
    if a.ndim != b.ndim:
        return TensorSpec(None, a.dtype)
    return TensorSpec([d if d == e else None for d, e in zip(a.shape, b.shape, strict=True)], a.dtype)


def _describe(value: Any) -> str:
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return f"a value of shape {tuple(shape)} and dtype {getattr(dtype, 'name', dtype)}"
    return f"{type(value).__name__} {value!r}"


# The random sampling functions a trace lifts, by TF's op names.
_RANDOM_OPS = {"uniform": "RandomUniform", "normal": "RandomStandardNormal", "truncated_normal": "TruncatedNormal",
               "shuffle": "RandomShuffle", "categorical": "Multinomial"}


def _stateful_op(nodes: list) -> str | None:
    for node in nodes:
        fn = getattr(node, "fn", None)
        marker = getattr(fn, "py_function", None)
        if marker is not None:
            return marker.get("op", "EagerPyFunc")
        key = getattr(fn, "_saved_model_key", "")
        if key.startswith("tapeflow.ops.random."):
            name = key.rsplit(".", 1)[-1]
            return _RANDOM_OPS.get(name, name)
        for sub in [*getattr(node, "branches", ()), getattr(node, "cond_g", None), getattr(node, "body_g", None)]:
            program = getattr(sub, "program", None)
            found = _stateful_op(program.nodes) if program is not None else None
            if found is not None:
                return found
    return None
