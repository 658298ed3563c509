"""`converted_call`: how converted code calls other functions.

TF's AutoGraph converts recursively: a helper called from a converted function is converted
too, so its `if x > 0:` on a traced tensor also becomes `tf.cond`. Library code (Tapeflow
itself, NumPy, the standard library), builtins and functions marked `do_not_convert` are
called as they are; a few builtins get tensor-aware versions for traced arguments, as in
TF: `range` of tensors is `tf.range`, `len` of a traced tensor its first dimension,
`enumerate`/`zip` unroll a traced tensor's rows, `int`/`float` cast, `max`/`min`/`any`/`all`
reduce, and a `tf.range` made while tracing is remembered so that `for i in tf.range(n)` loops
on a counter. Eager values keep Python's builtins, so converted code runs as the original.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types
import weakref
from collections.abc import Callable
from typing import Any

from tapeflow.autograph import ag_logging
from tapeflow.autograph.errors import ConversionError
from tapeflow.tracing import state as _trace_state

DO_NOT_CONVERT = "__autograph_do_not_convert__"
CONVERTED = "__autograph_converted__"
CONVERTED_CODE: set = set()  # code objects compiled by the converter (nested functions included)

# Top-level packages whose functions run unconverted (their control flow is on Python values).
_LIBRARY_PACKAGES = {"tapeflow", "numpy", "scipy", "tensorflow", "keras", "pytest", "_pytest", "importlib",
                     "typing", "six", "absl"}


def _is_tensor(x: Any) -> bool:
    from tapeflow.tensor import Tensor

    return isinstance(x, Tensor)


def _symbolic(x: Any) -> bool:
    return _is_tensor(x) and x._value is None


# Range tensors built in a trace from tensor bounds: id(tensor) -> (weakref, start, limit, delta).
# A `for` over one is a graph loop on a counter (TF's range-loop special case), not a gather.
_RANGES: dict = {}


def range_bounds(x: Any) -> tuple | None:
    """`(start, limit, delta)` when `x` is a `tf.range` made in converted code while tracing."""
    entry = _RANGES.get(id(x))
    if entry is None or entry[0]() is not x:
        return None
    return entry[1:]


def _tf_range(start: Any, limit: Any = None, delta: Any = 1, dtype: Any = None, name: Any = "range") -> Any:
    """`tf.range`, remembering symbolic bounds for `for_stmt`."""
    import tapeflow

    result = tapeflow.range(start, limit, delta, dtype=dtype, name=name)
    if limit is None:
        start, limit = 0, start
    bounds = (start, limit, delta)
    if any(_symbolic(v) for v in bounds) or (_tracing() and any(_is_tensor(v) for v in bounds)):
        key = id(result)
        _RANGES[key] = (weakref.ref(result, lambda _r, key=key: _RANGES.pop(key, None)), start, limit, delta)
    return result


def _tracing() -> bool:
    from tapeflow.tracing.func_graph import tracing

    return tracing()


def _range(*args: Any) -> Any:
    """`range` with tensor bounds is `tf.range` (so `for i in range(n)` loops in the graph)."""
    if any(_is_tensor(a) for a in args):
        return _tf_range(*args)
    return range(*args)


def _len(x: Any) -> Any:
    """`len` of a symbolic tensor: its static first dimension, else `tf.shape(x)[0]`."""
    if _symbolic(x):
        if len(x.shape) == 0:
            raise TypeError("len is not well defined for a rank-0 tensor")
        if x.shape[0] is not None:
            return x.shape[0]
        import tapeflow

        return tapeflow.shape(x)[0]
    return len(x)


def iterable(x: Any) -> Any:
    """`x`, or for a symbolic tensor its rows as a list (unrolled while tracing, as TF does
    when Python iterates a graph tensor; its first dimension must be known)."""
    if not _symbolic(x):
        return x
    if len(x.shape) == 0:
        raise TypeError("Cannot iterate over a scalar tensor.")
    if x.shape[0] is None:
        raise TypeError("Cannot iterate over a tensor with unknown first dimension.")
    import tapeflow

    return tapeflow.unstack(x, num=x.shape[0])


def unpack(value: Any, count: int) -> Any:
    """The right side of `a, b = value` in converted code: a symbolic tensor's rows."""
    if _symbolic(value) and (len(value.shape) == 0 or value.shape[0] != count):
        raise ValueError(f"cannot unpack a tensor of shape {value.shape} into {count} values")
    return iterable(value)


def _enumerate(x: Any, start: int = 0) -> Any:
    return enumerate(iterable(x), start)


def _zip(*xs: Any, strict: bool = False) -> Any:
    return zip(*(iterable(x) for x in xs), strict=strict)


def _cast_to(dtype: str, python_type: type) -> Callable:
    """`int`/`float` of a traced tensor: a cast (the value is unknown while tracing), as in TF."""

    def convert(x: Any = 0, *args: Any) -> Any:
        if _symbolic(x) and not args:
            import tapeflow

            return tapeflow.cast(x, dtype)
        return python_type(x, *args)

    return convert


def _reduction(reduce_name: str, builtin: Callable) -> Callable:
    """`max`/`min`/`any`/`all` of traced tensors as reductions, as TF's AutoGraph does: one
    tensor of rank 0 or 1, or several scalar tensors."""

    def reduce(*args: Any, **kwargs: Any) -> Any:
        if not any(_symbolic(a) for a in args):
            return builtin(*args, **kwargs)
        import tapeflow

        name = builtin.__name__
        if kwargs:
            raise ValueError(f"{name}() of tensors does not support the keyword arguments {sorted(kwargs)}")
        if len(args) == 1:
            if len(args[0].shape) > 1:
                raise ValueError(f"{name}(tensor) supports tensors of rank 0 or 1, got shape {args[0].shape}")
            return getattr(tapeflow, reduce_name)(args[0]) if len(args[0].shape) == 1 else args[0]
        if any(isinstance(a, tapeflow.Tensor) and len(a.shape) != 0 for a in args):
            raise ValueError(f"{name}(a, b, ...) of tensors supports only scalars")
        return getattr(tapeflow, reduce_name)(tapeflow.stack([tapeflow.convert_to_tensor(a) for a in args]))

    return reduce


@functools.cache
def _overloads() -> dict:
    """Callables replaced by tensor-aware versions in converted code (built on first use:
    `tapeflow` imports this package)."""
    import tapeflow

    return {range: _range, len: _len, enumerate: _enumerate, zip: _zip, tapeflow.range: _tf_range,
            int: _cast_to("int32", int), float: _cast_to("float32", float),
            max: _reduction("reduce_max", max), min: _reduction("reduce_min", min),
            any: _reduction("reduce_any", any), all: _reduction("reduce_all", all)}


def is_library_function(func: Callable) -> bool:
    """Whether `func` belongs to a library or the standard library (not converted)."""
    module = getattr(func, "__module__", None) or ""
    top = module.split(".")[0]
    return top in _LIBRARY_PACKAGES or top in sys.stdlib_module_names or module == "builtins"


def should_convert(func: Any) -> bool:
    """Whether `converted_call` converts `func` before calling it."""
    if getattr(func, DO_NOT_CONVERT, False) or getattr(func, CONVERTED, False):
        return False
    if isinstance(func, types.MethodType):
        return should_convert(func.__func__)
    if not isinstance(func, types.FunctionType) or func.__code__ in CONVERTED_CODE:
        return False
    if inspect.isgeneratorfunction(func) or inspect.iscoroutinefunction(func):
        return False
    return not is_library_function(func)


def converted_call(func: Any, args: tuple, kwargs: dict | None) -> Any:
    """Call `func(*args, **kwargs)` from converted code, converting `func` if it is user code."""
    kwargs = kwargs or {}
    overload = _overloads().get(func) if _hashable(func) else None
    if overload is not None:
        return overload(*args, **kwargs)
    target = func
    if isinstance(func, functools.partial):
        target = func.func
    elif not isinstance(func, (types.FunctionType, types.MethodType, type)) and isinstance(_user_call(func),
                                                                                         types.FunctionType):
        target = func.__call__  # a callable object whose __call__ is user code
    if not should_convert(target):
        if _trace_state.graphs and _trace_state.graphs[-1] is not None:
            from tapeflow.tracing.func_graph import call_on_unknown_rank

            return call_on_unknown_rank(func, args, kwargs)
        return func(*args, **kwargs)
    from tapeflow.autograph.conversion import SourceUnavailable, convert_entity

    try:
        converted = convert_entity(target, recursive=True)
    except (ConversionError, SourceUnavailable) as e:  # TF too runs a callee it cannot convert as it is
        ag_logging.log(1, f"AutoGraph could not convert {_describe(target)} and will run it as-is: {e}")
        return func(*args, **kwargs)
    ag_logging.log(2, f"Calling {_describe(target)} converted")
    if isinstance(func, functools.partial):
        return converted(*func.args, *args, **{**func.keywords, **kwargs})
    return converted(*args, **kwargs)


def _describe(target: Any) -> str:
    """A name for log lines that never calls the user's `__repr__` (a bound method's repr shows
    its instance, whose repr may read tensor values that a trace does not have)."""
    return f"<{type(target).__name__} {getattr(target, '__qualname__', '?')}>"


def _user_call(obj: Any) -> Any:
    """The `__call__` defined by `obj`'s class (None for non-callables)."""
    return next((c.__dict__["__call__"] for c in type(obj).__mro__ if "__call__" in c.__dict__), None)


def _hashable(x: Any) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True
