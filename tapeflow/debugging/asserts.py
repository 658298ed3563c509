"""The `tf.debugging.assert_*` family: value checks that raise `InvalidArgumentError` and
static dtype/shape checks that raise `TypeError`/`ValueError` at once.

A value check on tensors of a `tf.function` trace is recorded as a stateful node, so it runs
(and fails) on every call of the traced function, like TF's Assert op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.errors import InvalidArgumentError
from tapeflow.tensor import Tensor, convert_to_tensor
from tapeflow.tracing.func_graph import is_symbolic, lift_call, tracing


def _run_or_record(check: Callable, args: tuple, name: str) -> None:
    """Run `check(*args)` now, or record it to run whenever the traced graph runs."""
    if tracing() and any(is_symbolic(a) for a in args):
        lift_call(check, args, name=name, stateful=True, result=None)
        return None
    check(*args)
    return None


def _np(x: Any) -> np.ndarray:
    return backend.to_numpy(x._value) if isinstance(x, Tensor) else np.asarray(x)


def _tensor(x: Any, name: str) -> Tensor:
    try:
        return x if isinstance(x, Tensor) else convert_to_tensor(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name}: cannot convert {x!r} to a tensor ({e}).") from None


def _first(values: np.ndarray, summarize: Any) -> str:
    n = 3 if summarize is None else int(summarize)
    return str(values.reshape(-1)[:n])


def _prefix(message: Any) -> str:
    return f"{message}\n" if message else ""


def _binary(symbol: str, fn: Callable, op: str) -> Callable:
    def assertion(x: Any, y: Any, message: Any = None, summarize: Any = None, name: Any = None) -> None:
        tx, ty = _tensor(x, op), _tensor(y, op)
        if tx.dtype != ty.dtype:
            raise TypeError(f"{op}: x and y must have the same dtype, received {tx.dtype.name} and "
                            f"{ty.dtype.name}.")
        if None not in tuple(tx.shape) and None not in tuple(ty.shape):
            try:
                np.broadcast_shapes(tuple(tx.shape), tuple(ty.shape))
            except ValueError:
                raise ValueError(f"{op}: shapes {tuple(tx.shape)} and {tuple(ty.shape)} are incompatible.") from None

        def check(a: Any, b: Any) -> None:
            av, bv = _np(a), _np(b)
            ok = fn(av, bv)
            if not bool(np.all(ok)):
                bad = np.argwhere(~np.broadcast_to(ok, np.broadcast_shapes(av.shape, bv.shape)))
                n = 3 if summarize is None else int(summarize)
                ab, bb = np.broadcast_arrays(av, bv)
                where = tuple(bad[:n].T)
                raise InvalidArgumentError(
                    f"{_prefix(message)}Condition x {symbol} y did not hold.\n"
                    f"Indices of first {len(bad[:n])} different values:\n{bad[:n]}\n"
                    f"Corresponding x values:\n{ab[where]}\nCorresponding y values:\n{bb[where]}\n"
                    f"First {min(n, av.size)} elements of x:\n{_first(av, n)}\n"
                    f"First {min(n, bv.size)} elements of y:\n{_first(bv, n)}")

        return _run_or_record(check, (tx, ty), op)

    assertion.__name__ = op
    assertion.__doc__ = (f"Raise `InvalidArgumentError` unless `x {symbol} y` holds elementwise (with "
                         "broadcasting); returns None.")
    return assertion


assert_equal = _binary("==", np.equal, "assert_equal")
assert_none_equal = _binary("!=", np.not_equal, "assert_none_equal")
assert_less = _binary("<", np.less, "assert_less")
assert_less_equal = _binary("<=", np.less_equal, "assert_less_equal")
assert_greater = _binary(">", np.greater, "assert_greater")
assert_greater_equal = _binary(">=", np.greater_equal, "assert_greater_equal")


def _sign(symbol: str, fn: Callable, op: str) -> Callable:
    def assertion(x: Any, message: Any = None, summarize: Any = None, name: Any = None) -> None:
        tx = _tensor(x, op)

        def check(a: Any) -> None:
            av = _np(a)
            if not bool(np.all(fn(av))):
                raise InvalidArgumentError(
                    f"{_prefix(message)}Condition x {symbol} 0 did not hold element-wise:\n"
                    f"x (shape={tuple(av.shape)} dtype={tx.dtype.name}) = \n{_first(av, summarize)}")

        return _run_or_record(check, (tx,), op)

    assertion.__name__ = op
    assertion.__doc__ = f"Raise `InvalidArgumentError` unless `x {symbol} 0` elementwise; returns None."
    return assertion


assert_positive = _sign(">", lambda a: a > 0, "assert_positive")
assert_negative = _sign("<", lambda a: a < 0, "assert_negative")
assert_non_negative = _sign(">=", lambda a: a >= 0, "assert_non_negative")
assert_non_positive = _sign("<=", lambda a: a <= 0, "assert_non_positive")


def assert_near(x: Any, y: Any, rtol: Any = None, atol: Any = None, message: Any = None,
                summarize: Any = None, name: Any = None) -> None:
    """Raise `InvalidArgumentError` unless |x - y| <= atol + rtol |y| elementwise (defaults: 10 eps
    of the dtype, as TF)."""
    tx, ty = _tensor(x, "assert_near"), _tensor(y, "assert_near")
    if tx.dtype != ty.dtype:
        raise TypeError(f"assert_near: x and y must have the same dtype, received {tx.dtype.name} and "
                        f"{ty.dtype.name}.")
    eps = float(np.finfo(tx.dtype._np).eps) if tx.dtype._np.kind in "fc" else 0.0
    r = 10 * eps if rtol is None else float(_np(rtol))
    t = 10 * eps if atol is None else float(_np(atol))

    def check(a: Any, b: Any) -> None:
        av, bv = _np(a), _np(b)
        if not bool(np.all(np.abs(av - bv) <= t + r * np.abs(bv))):
            raise InvalidArgumentError(
                f"{_prefix(message)}x and y not equal to tolerance rtol = {r}, atol = {t}\n"
                f"x (shape={av.shape} dtype={tx.dtype.name}) = {_first(av, summarize)}\n"
                f"y (shape={bv.shape} dtype={ty.dtype.name}) = {_first(bv, summarize)}")

    return _run_or_record(check, (tx, ty), "assert_near")


def assert_all_finite(x: Any, message: Any, name: Any = None) -> Tensor:
    """`x` itself after checking it has no NaN or Inf (`InvalidArgumentError` otherwise)."""
    from tapeflow.debugging.numerics import check_numerics

    return check_numerics(x, message)


def Assert(condition: Any, data: Any, summarize: Any = None, name: Any = None) -> None:  # noqa: N802
    """Raise `InvalidArgumentError` showing `data` (a list of tensors/strings) when the scalar
    bool `condition` is false."""
    cond = _tensor(condition, "Assert")
    if cond.dtype != _dt.bool or len(cond.shape) != 0:
        raise ValueError(f"Assert: condition must be a scalar bool, received shape {tuple(cond.shape)} "
                         f"and dtype {cond.dtype.name}.")
    items = list(data)

    def check(c: Any, *values: Any) -> None:
        if not bool(_np(c)):
            shown = []
            for v in values:
                if isinstance(v, (str, bytes)):
                    shown.append(repr(v.encode() if isinstance(v, str) else v))
                else:
                    shown.append(", ".join(str(e) for e in _np(v).reshape(-1)[:summarize or 3]))
            raise InvalidArgumentError(f"Expected '{_np(c)}' to be true. Summarized data: " + "\n".join(shown))

    return _run_or_record(check, (cond, *items), "Assert")


# -- static checks -----------------------------------------------------------------------------

def _dtype_of(x: Any) -> Any:
    return x.dtype if isinstance(x, Tensor) else convert_to_tensor(x).dtype


def assert_type(tensor: Any, tf_type: Any, message: Any = None, name: Any = None) -> None:
    """Raise `TypeError` unless `tensor` has dtype `tf_type`."""
    want = _dt.as_dtype(tf_type)
    got = _dtype_of(tensor)
    if got != want:
        raise TypeError(f"{_prefix(message)}tensor must be of type {want!r}; got {got!r}".replace("<dtype: '", "tf.")
                        .replace("'>", ""))


def assert_integer(x: Any, message: Any = None, name: Any = None) -> None:
    """Raise `TypeError` unless `x` has an integer dtype."""
    d = _dtype_of(x)
    if not d.is_integer:
        raise TypeError(f'{_prefix(message)}Expected "x" to be integer type.  Found: tensor of dtype {d!r}')


def assert_scalar(tensor: Any, message: Any = None, name: Any = None) -> None:
    """Raise `ValueError` unless `tensor` has rank 0."""
    shape = tuple(_tensor(tensor, "assert_scalar").shape)
    if shape != ():
        raise ValueError(f"{_prefix(message)}Expected scalar shape, saw shape: {shape}.")


def _rank(x: Any) -> int:
    return len(_tensor(x, "assert_rank").shape)


def assert_rank(x: Any, rank: Any, message: Any = None, name: Any = None) -> None:
    """Raise `ValueError` unless `x` has rank `rank`."""
    r = int(_np(rank))
    if _rank(x) != r:
        raise ValueError(f"{_prefix(message)}Tensor must have rank {r}.  Received rank {_rank(x)}, shape "
                         f"{tuple(_tensor(x, 'assert_rank').shape)}")


def assert_rank_at_least(x: Any, rank: Any, message: Any = None, name: Any = None) -> None:
    """Raise `ValueError` unless `x` has rank >= `rank`."""
    r = int(_np(rank))
    if _rank(x) < r:
        raise ValueError(f"{_prefix(message)}Tensor must have rank at least {r}.  Received rank {_rank(x)}.")


def assert_rank_in(x: Any, ranks: Any, message: Any = None, name: Any = None) -> None:
    """Raise `ValueError` unless the rank of `x` is one of `ranks`."""
    rs = [int(_np(r)) for r in ranks]
    if _rank(x) not in rs:
        raise ValueError(f"{_prefix(message)}Tensor must have rank in {tuple(rs)}.  Received rank {_rank(x)}.")


def assert_same_float_dtype(tensors: Any = None, dtype: Any = None) -> Any:
    """The common float dtype of `tensors` (and `dtype`); `ValueError` if they differ or are not float."""
    found = _dt.as_dtype(dtype) if dtype is not None else None
    for t in tensors or ():
        d = _dtype_of(t)
        if found is None:
            found = d
        elif d != found:
            raise ValueError(f"assert_same_float_dtype: expected dtype {found.name}, received {d.name}.")
    if found is None:
        return _dt.float32
    if not found.is_floating:
        raise ValueError(f"assert_same_float_dtype: expected a floating dtype, received {found.name}.")
    return found


def assert_proper_iterable(values: Any) -> None:
    """Raise `TypeError` if `values` is a tensor, an array, a string or not iterable."""
    if isinstance(values, (Tensor, np.ndarray, str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"Expected argument 'values' to be a 'proper' iterable.  Found: {type(values)}")


def assert_shapes(shapes: Any, data: Any = None, summarize: Any = None, message: Any = None,
                  name: Any = None) -> None:
    """Check tensors' shapes against symbolic specs: `[(x, ('N', 'Q')), (y, ('N',))]` requires x of
    rank 2 and y of rank 1 with the same size N. A spec entry is a name (bound on first use), an
    int, or '...' / '*' for any leading dims; `ValueError` on a mismatch."""
    items = shapes.items() if isinstance(shapes, dict) else shapes
    bound: dict = {}
    for x, spec in items:
        t = _tensor(x, "assert_shapes")
        shape = tuple(t.shape)
        spec = [spec] if isinstance(spec, (str, int)) else list(spec)
        head = spec and spec[0] in ("...", "*")
        dims = spec[1:] if head else spec
        if (head and len(shape) < len(dims)) or (not head and len(shape) != len(dims)):
            raise ValueError(f"{_prefix(message)}assert_shapes: tensor of shape {shape} must have rank "
                             f"{'at least ' if head else ''}{len(dims)}, as spec {tuple(spec)} says.")
        for k, d in enumerate(dims):
            size = shape[len(shape) - len(dims) + k]
            if isinstance(d, str) and d not in bound:
                bound[d] = (size, shape)
                continue
            want, owner = (d, None) if not isinstance(d, str) else bound[d]
            if size is not None and want is not None and int(size) != int(want):
                src = f"Specified by tensor shape={owner} dimension '{d}'.  " if owner else ""
                raise ValueError(f"{_prefix(message)}{src}Tensor shape={shape} dimension "
                                 f"{len(shape) - len(dims) + k} must have size {want}.  Received size {size}, "
                                 f"shape {shape}")


def is_numeric_tensor(tensor: Any) -> bool:
    """Whether `tensor` is a Tensor of a numeric (int, float, complex) dtype."""
    return isinstance(tensor, Tensor) and tensor.dtype.is_numeric and not tensor.dtype.is_bool
