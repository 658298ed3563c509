"""The public AutoGraph functions: `convert` (what `tf.function` applies), `to_graph`,
`to_code` and `do_not_convert`."""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any

from tapeflow import errors as _errors
from tapeflow.autograph import ag_logging, call
from tapeflow.autograph.conversion import SourceUnavailable, convert_entity, source_of


def _check_features(experimental_optional_features: Any) -> None:
    if experimental_optional_features is not None:
        raise _errors.UnimplementedError(None, None,
            "AutoGraph's experimental_optional_features are not supported by Tapeflow; pass None")


def convert(func: Callable, recursive: bool = True) -> Callable:
    """The AutoGraph-converted `func`, as `tf.function(autograph=True)` runs it.

    Functions, nested functions, closures, bound methods and objects with a user-defined
    `__call__` are converted (cached per function); anything whose source is unavailable
    (builtins, C functions, exec'd code, a lambda sharing its line with another) or that is
    marked `do_not_convert` comes back unchanged. A construct AutoGraph cannot convert raises
    `ConversionError` naming the function and line.

    Args:
        func: the function or bound method to convert.
        recursive: also convert the user functions it calls, when they are called.

    Returns:
        A callable with `func`'s signature.
    """
    if isinstance(func, functools.partial):
        return functools.partial(convert(func.func, recursive), *func.args, **func.keywords)
    if not isinstance(func, (types.FunctionType, types.MethodType, type)) and callable(func) \
            and call.should_convert(func.__call__):
        return convert(func.__call__, recursive)  # a callable object whose __call__ is user code
    target = func.__func__ if isinstance(func, types.MethodType) else func
    if getattr(target, call.DO_NOT_CONVERT, False) or getattr(target, call.CONVERTED, False):
        return func
    if not isinstance(target, types.FunctionType):
        ag_logging.log(1, f"Not converting {func!r}: not a Python function")
        return func
    try:
        return convert_entity(func, recursive)
    except SourceUnavailable as e:
        ag_logging.log(1, f"Not converting {func!r}: {e}")
        return func


def to_graph(entity: Callable, recursive: bool = True, experimental_optional_features: Any = None) -> Callable:
    """`tf.autograph.to_graph`: the converted Python function, whose tensor-dependent control
    flow builds graph ops when called inside `tf.function`.

    Args:
        entity: a function or bound method.
        recursive: also convert the user functions it calls.
        experimental_optional_features: must be None (no optional conversions exist here).

    Returns:
        The converted function.

    Example:
        >>> def f(x):
        ...     return x if x > 0 else -x
        >>> g = tf.autograph.to_graph(f)
    """
    _check_features(experimental_optional_features)
    return convert_entity(entity, recursive)


def to_code(entity: Callable, recursive: bool = True, experimental_optional_features: Any = None) -> str:
    """`tf.autograph.to_code`: the source code of the converted `entity`, as a string.

    Example:
        >>> print(tf.autograph.to_code(f))  # doctest: +SKIP
    """
    _check_features(experimental_optional_features)
    return source_of(entity, recursive)


def do_not_convert(func: Callable | None = None) -> Any:
    """Decorator: AutoGraph leaves `func` (and what it calls) unconverted; its Python control
    flow then needs Python values, as in TF's `tf.autograph.experimental.do_not_convert`.

    Example:
        >>> @tf.autograph.experimental.do_not_convert
        ... def helper(x):
        ...     return x
    """
    if func is None:
        return do_not_convert

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    setattr(wrapper, call.DO_NOT_CONVERT, True)
    return wrapper
