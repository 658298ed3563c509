"""`tf.experimental.dispatch_for_api` and the elementwise variants: route TF API calls whose
arguments are extension types to user functions.

Extension types are composite tensors, so the dispatching wrapper of `tapeflow.dispatch` hands
calls with them to `dispatch` below, which picks the first registered target whose signature
matches. Registering for an API that has no wrapper yet puts one in front of it in every
`tf.*` namespace that exposes it.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import typing
from collections.abc import Callable
from typing import Any

from tapeflow import dispatch as _dispatch

# TF's elementwise API lists (those Tapeflow has).
UNARY = (
    "abs acos acosh angle asin asinh atan atanh bessel_i0 bessel_i0e bessel_i1 bessel_i1e cast ceil conj cos cosh "
    "digamma erf erfc erfinv exp expm1 floor identity imag invert is_finite is_inf is_nan lgamma log log1p "
    "log_sigmoid logical_not ndtri negative real reciprocal reciprocal_no_nan rint round rsqrt saturate_cast "
    "sigmoid sign sin sinh softplus softsign sqrt square stop_gradient tan tanh zeros_like ones_like relu relu6 "
    "elu selu gelu silu"
).split()
BINARY = (
    "add atan2 complex div_no_nan divide divide_no_nan equal floordiv floormod greater greater_equal igamma "
    "igammac less less_equal logical_and logical_or logical_xor maximum minimum mod multiply multiply_no_nan "
    "not_equal polygamma pow realdiv squared_difference subtract truediv truncatediv truncatemod xdivy xlog1py "
    "xlogy zeta bitwise_and bitwise_or bitwise_xor left_shift right_shift"
).split()
BINARY_ASSERT = ("assert_equal assert_greater assert_greater_equal assert_less assert_less_equal "
                 "assert_none_equal").split()
_NAMESPACES = ("tapeflow", "tapeflow.math", "tapeflow.nn", "tapeflow.linalg", "tapeflow.debugging",
               "tapeflow.bitwise", "tapeflow.strings", "tapeflow.image", "tapeflow.signal", "tapeflow.dtypes")

_api_targets: dict[int, list] = {}  # id(raw API function) -> [(matcher, target)]
_unary: list = []  # (type, target)
_binary: list = []  # (x type, y type, target)
_binary_assert: list = []


def _raw(api: Callable) -> Callable:
    return getattr(api, "_tf_raw", api)


_own_wrappers: dict[int, Callable] = {}


def _extension_wrapper(raw: Callable, name: str) -> Callable:
    """A wrapper that sends calls with an extension-type argument to `dispatch` and leaves all
    others (RaggedTensor and SparseTensor included) to `raw`, for APIs `tapeflow.dispatch`
    does not wrap."""
    from tapeflow.experimental.extension_types import ExtensionType

    wrapper = _own_wrappers.get(id(raw))
    if wrapper is None:
        @functools.wraps(raw)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if any(isinstance(a, ExtensionType) for a in args) or any(
                    isinstance(v, ExtensionType) for v in kwargs.values()):
                out = dispatch(raw, name, args, kwargs)
                if out is not NotImplemented:
                    return out
            return raw(*args, **kwargs)

        wrapper._tf_raw = raw  # type: ignore[attr-defined]
        _own_wrappers[id(raw)] = wrapper
    return wrapper


def _ensure_wrapped(raw: Callable, name: str) -> None:
    """Put a dispatching wrapper in front of `raw` wherever a tf namespace exposes it."""
    kind = _dispatch.API_KINDS.get(name)
    wrapper = _dispatch.api_function(raw, name, kind) if kind else _extension_wrapper(raw, name)
    for module_name in _NAMESPACES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        space = vars(module)
        for attr, value in list(space.items()):
            if value is raw:
                space[attr] = wrapper


def _matches(value: Any, annotation: Any) -> bool:
    if annotation is inspect.Parameter.empty or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Union or type(annotation).__name__ == "UnionType":
        return any(_matches(value, a) for a in typing.get_args(annotation))
    if origin in (list, typing.List, tuple, typing.Tuple):  # noqa: UP006
        (inner, *_) = typing.get_args(annotation) or (Any,)
        return isinstance(value, (list, tuple)) and any(_matches(v, inner) for v in value)
    return isinstance(annotation, type) and isinstance(value, annotation)


def _matcher(api: Callable, signature: dict) -> Callable:
    params = inspect.signature(api)

    def match(args: tuple, kwargs: dict) -> bool:
        try:
            bound = params.bind(*args, **kwargs)
        except TypeError:
            return False
        return all(name in bound.arguments and _matches(bound.arguments[name], t) for name, t in signature.items())

    return match


def dispatch_for_api(api: Callable, *signatures: dict) -> Callable:
    """Decorator: call the decorated function instead of `api` when the arguments match one of
    `signatures` ({parameter name: type}) or, with none given, the function's annotations.

    Example:
        >>> @tf.experimental.dispatch_for_api(tf.reshape, {"tensor": MaskedTensor})
        ... def masked_reshape(tensor, shape, name=None):
        ...     return MaskedTensor(tf.reshape(tensor.values, shape), tf.reshape(tensor.mask, shape))
    """
    raw = _raw(api)
    if not callable(raw):
        raise TypeError(f"dispatch_for_api: expected a TF API function, received {api!r}.")

    def decorator(target: Callable) -> Callable:
        sigs = list(signatures)
        if not sigs:
            hints = typing.get_type_hints(target)
            sigs = [{k: v for k, v in hints.items() if k != "return"}]
            if not sigs[0]:
                raise ValueError("dispatch_for_api: give a signature dict or annotate the target's parameters.")
        api_params = set(inspect.signature(raw).parameters)
        for sig in sigs:
            unknown = set(sig) - api_params
            if unknown:
                raise ValueError(f"dispatch_for_api: {sorted(unknown)} are not parameters of {raw.__name__}.")
        _ensure_wrapped(raw, raw.__name__)
        entries = _api_targets.setdefault(id(raw), [])
        entries.extend((_matcher(raw, sig), target) for sig in sigs)
        return target

    return decorator


def _register_elementwise(names: list, table: list, entry: tuple) -> None:
    table.append(entry)
    for module_name in _NAMESPACES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        for name in names:
            fn = vars(module).get(name)
            if callable(fn) and not isinstance(fn, type):
                _ensure_wrapped(_raw(fn), name)


def dispatch_for_unary_elementwise_apis(x_type: Any) -> Callable:
    """Decorator: `target(api_func, x)` handles every unary elementwise API (tf.abs, tf.math.exp,
    tf.cast, ...) called with an `x_type` first argument; other arguments are bound in `api_func`."""
    def decorator(target: Callable) -> Callable:
        _register_elementwise(UNARY, _unary, (x_type, target))
        return target

    return decorator


def dispatch_for_binary_elementwise_apis(x_type: Any, y_type: Any) -> Callable:
    """Decorator: `target(api_func, x, y)` handles every binary elementwise API (tf.add,
    tf.math.maximum, tf.equal, ...) when x and y match the types."""
    def decorator(target: Callable) -> Callable:
        _register_elementwise(BINARY, _binary, (x_type, y_type, target))
        return target

    return decorator


def dispatch_for_binary_elementwise_assert_apis(x_type: Any, y_type: Any) -> Callable:
    """Decorator: `target(assert_func, x, y)` handles tf.debugging.assert_equal, assert_less, ..."""
    def decorator(target: Callable) -> Callable:
        _register_elementwise(BINARY_ASSERT, _binary_assert, (x_type, y_type, target))
        return target

    return decorator


def unregister_dispatch_for(dispatch_target: Callable) -> None:
    """Remove every registration of `dispatch_target`; ValueError if it was never registered."""
    found = False
    for entries in _api_targets.values():
        before = len(entries)
        entries[:] = [e for e in entries if e[1] is not dispatch_target]
        found |= len(entries) != before
    for table in (_unary, _binary, _binary_assert):
        before = len(table)
        table[:] = [e for e in table if e[-1] is not dispatch_target]
        found |= len(table) != before
    if not found:
        raise ValueError(f"Function {dispatch_target!r} was not registered using a `@dispatch_for_*` decorator.")


def _split(fn: Callable, args: tuple, kwargs: dict, count: int) -> tuple[list, Callable]:
    """The first `count` tensor arguments, and `fn` with the rest bound."""
    params = list(inspect.signature(fn).parameters)
    bound = dict(zip(params, args, strict=False))
    bound.update(kwargs)
    names = params[:count]
    firsts = [bound.pop(n) for n in names]

    def api_func(*xs: Any) -> Any:
        return fn(**dict(zip(names, xs, strict=True)), **bound)

    return firsts, api_func


def dispatch(fn: Callable, api_name: str, args: tuple, kwargs: dict) -> Any:
    """The registered target's result for `fn(*args, **kwargs)`, or NotImplemented."""
    for match, target in _api_targets.get(id(fn), ()):
        if match(args, kwargs):
            return target(*args, **kwargs)
    name = getattr(fn, "__name__", api_name)
    if name in UNARY and _unary:
        (x,), api_func = _split(fn, args, kwargs, 1)
        for x_type, target in _unary:
            if _matches(x, x_type):
                return target(api_func, x)
    for names, table in ((BINARY, _binary), (BINARY_ASSERT, _binary_assert)):
        if name in names and table:
            (x, y), api_func = _split(fn, args, kwargs, 2)
            for x_type, y_type, target in table:
                if _matches(x, x_type) and _matches(y, y_type):
                    return target(api_func, x, y)
    return NotImplemented


__all__ = ["dispatch_for_api", "dispatch_for_binary_elementwise_apis", "dispatch_for_binary_elementwise_assert_apis",
           "dispatch_for_unary_elementwise_apis", "unregister_dispatch_for"]
