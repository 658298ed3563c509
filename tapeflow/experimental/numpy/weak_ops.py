"""The ops that follow auto dtype conversion in the "safe" and "all" modes, installed over the
public names while such a mode is on (nothing changes, and nothing costs, otherwise).

Unary ops convert a Python or weak input to its weak dtype and return a WeakTensor; binary ops
promote both operands to their join (`promotion.result_type`) and return a weak result when the
join is weak; comparisons promote and return a normal bool tensor; `tf.constant` of Python
values is weak; `Variable.assign*` refuse a value whose promotion would change the variable's
dtype. Which public names take part is TF 2.21's list, checked name by name against TF
(`tf.nn.relu` and `tf.maximum` do not, `tf.nn.relu6` and `tf.add` do).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import numpy as np

from tapeflow.experimental.numpy import promotion
from tapeflow.experimental.numpy.weak_tensor import WeakTensor, mark_weak

_SPECIAL = (
    "bessel_i0 bessel_i0e bessel_i1 bessel_i1e bessel_j0 bessel_j1 bessel_k0 bessel_k0e bessel_k1 "
    "bessel_k1e bessel_y0 bessel_y1 dawsn expint fresnel_cos fresnel_sin spence"
).split()
_MATH_UNARY = (
    "abs acos acosh angle asin asinh atan atanh bessel_i0 bessel_i0e bessel_i1 bessel_i1e ceil conj cos "
    "cosh digamma erf erfc erfcinv erfinv exp expm1 floor imag lgamma log log1p log_sigmoid log_softmax "
    "ndtri negative real reciprocal reciprocal_no_nan reduce_euclidean_norm reduce_logsumexp reduce_max "
    "reduce_mean reduce_min reduce_prod reduce_std reduce_sum reduce_variance rint round rsqrt scalar_mul "
    "sigmoid sign sin sinh softplus sqrt square tan tanh"
).split()
_UNARY = {
    "tapeflow": (
        "abs acos asin atan clip_by_value cos exp expand_dims floor identity negative ones_like "
        "reduce_max reduce_mean reduce_min reduce_prod reduce_sum reshape round sigmoid sign sin sqrt "
        "square squeeze stop_gradient tan tanh transpose zeros_like"
    ).split(),
    "tapeflow.math": _MATH_UNARY,
    "tapeflow.math.special": _SPECIAL,
    "tapeflow.nn": ("depth_to_space gelu leaky_relu log_softmax relu6 sigmoid silu softplus "
                    "space_to_depth swish tanh").split(),
    "tapeflow.linalg": "diag diag_part matrix_transpose tensor_diag_part trace".split(),
    "tapeflow.debugging": "check_numerics".split(),
    "tapeflow.experimental.numpy": (
        "abs absolute amax amin angle arange arccos arcsin arcsinh arctan arctanh around array asanyarray "
        "asarray ascontiguousarray atleast_1d average bitwise_not cbrt ceil conj conjugate copy cos cosh "
        "cumprod cumsum deg2rad diag diagflat diagonal diff empty_like exp exp2 expm1 fabs fix flip "
        "fliplr flipud floor imag log log10 log1p log2 max mean min moveaxis nanmean negative ones_like "
        "positive prod rad2deg ravel real reciprocal repeat reshape rot90 round sign sin sinc sinh sort "
        "sqrt square squeeze std sum swapaxes tan tanh trace transpose triu var zeros_like"
    ).split(),
}
_BINARY = {
    "tapeflow": "add divide matmul multiply pow realdiv subtract truediv truncatediv truncatemod".split(),
    "tapeflow.math": ("add divide divide_no_nan floordiv floormod mod multiply multiply_no_nan pow subtract "
                      "truediv").split(),
    "tapeflow.linalg": "matmul".split(),
    "tapeflow.experimental.numpy": "matmul".split(),
}
# Promoted, with a normal (strong) result: comparisons, and maximum/minimum as TF 2.21 returns them.
_PROMOTE_STRONG = {
    "tapeflow": "equal maximum minimum".split(),
    "tapeflow.math": "equal maximum minimum".split(),
}
_DUNDER_BINARY = "add sub mul truediv floordiv mod pow matmul".split()
_DUNDER_COMPARISON = "lt le gt ge".split()

_saved: list = []  # (owner, attribute name, original value) to restore


def _convert(x: Any, dtype: Any) -> Any:
    from tapeflow.ops import elementwise as ew
    from tapeflow.tensor import Tensor, convert_to_tensor

    if isinstance(x, Tensor):
        return x if x.dtype == dtype else ew.cast(x, dtype)
    return convert_to_tensor(np.asarray(x, dtype=dtype._np))


def _strong(x: Any) -> bool:
    from tapeflow.tensor import Tensor

    return isinstance(x, Tensor) and not isinstance(x, WeakTensor)


def _unary(op: Any) -> Any:
    try:
        sig = inspect.signature(op)
    except (TypeError, ValueError):
        return op
    params = list(sig.parameters)
    if not params:
        return op
    first, takes_dtype = params[0], "dtype" in sig.parameters

    @functools.wraps(op)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ba = sig.bind(*args, **kwargs)
        bound = ba.arguments
        x = bound.get(first)
        if _strong(x) or bound.get("dtype") is not None:
            return op(*args, **kwargs)
        try:
            target, weak = promotion.result_type(x)
        except promotion.UnsupportedPromotion:
            return op(*args, **kwargs)
        if takes_dtype and not isinstance(x, WeakTensor):
            bound["dtype"] = target
        else:
            bound[first] = _convert(x, target)
        out = op(*ba.args, **ba.kwargs)
        return mark_weak(out) if weak else out

    return wrapper


def _binary(op: Any, comparison: bool = False) -> Any:
    @functools.wraps(op)
    def wrapper(x: Any, y: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            target, weak = promotion.result_type(x, y)
        except promotion.UnsupportedPromotion:
            return op(x, y, *args, **kwargs)
        out = op(_convert(x, target), _convert(y, target), *args, **kwargs)
        return mark_weak(out) if weak and not comparison else out

    return wrapper


def _constant(op: Any) -> Any:
    @functools.wraps(op)
    def constant(value: Any, dtype: Any = None, shape: Any = None, name: Any = None) -> Any:
        if isinstance(value, WeakTensor):
            value = value.to_tensor()
        elif dtype is None:
            try:
                target, weak = promotion.result_type(value)
            except promotion.UnsupportedPromotion:
                return op(value, dtype, shape, name)
            out = op(value, target, shape, name)
            return mark_weak(out) if weak else out
        return op(value, dtype, shape, name)

    return constant


def _variable_method(method: Any) -> Any:
    @functools.wraps(method)
    def wrapper(self: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            target, _ = promotion.result_type(self, value)
        except promotion.UnsupportedPromotion:
            return method(self, value, *args, **kwargs)
        if target != self.dtype:
            raise TypeError(
                f"Variable dtype is immutable. Calling {method.__name__} of Variable (with dtype "
                f"<dtype: '{self.dtype.name}'>) on {value} requires converting {value} to "
                f"<dtype: '{self.dtype.name}'>. This is disabled in the current promotion semantics. "
                f"Please convert {value} manually before calling {method.__name__}.")
        return method(self, _convert(value, target), *args, **kwargs)

    return wrapper


def _set(owner: Any, name: str, value: Any) -> None:
    _saved.append((owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)))
    setattr(owner, name, value)


def _namespace(path: str) -> Any:
    import tapeflow

    obj = tapeflow
    for part in path.split(".")[1:]:
        obj = getattr(obj, part)
    return obj


def install() -> None:
    """Put the converting wrappers over the public names (idempotent)."""
    if _saved:
        return
    from tapeflow.ops import elementwise as ew
    from tapeflow.ops import linalg as la
    from tapeflow.tensor import Tensor, Variable

    wrapped: dict = {}
    comparison = functools.partial(_binary, comparison=True)
    for table, make in ((_UNARY, _unary), (_BINARY, _binary), (_PROMOTE_STRONG, comparison)):
        for module_name, names in table.items():
            module = _namespace(module_name)
            for name in names:
                fn = getattr(module, name, None)
                if fn is None:
                    continue
                if id(fn) not in wrapped:
                    wrapped[id(fn)] = make(fn)
                _set(module, name, wrapped[id(fn)])
    import tapeflow

    _set(tapeflow, "constant", _constant(tapeflow.constant))
    dunder_ops = {"add": ew.add, "sub": ew.subtract, "mul": ew.multiply, "truediv": ew.truediv,
                  "floordiv": ew.floordiv, "mod": ew.floormod, "pow": ew.pow, "matmul": la.matmul}
    for name in _DUNDER_BINARY:
        op = _binary(dunder_ops[name])
        _set(Tensor, f"__{name}__", op)
        _set(Tensor, f"__r{name}__", lambda self, other, op=op: op(other, self))
    comparisons = {"lt": ew.less, "le": ew.less_equal, "gt": ew.greater, "ge": ew.greater_equal}
    for name in _DUNDER_COMPARISON:
        _set(Tensor, f"__{name}__", _binary(comparisons[name], comparison=True))
    for name, op in (("__neg__", ew.negative), ("__abs__", ew.abs)):
        _set(Tensor, name, _unary(op))
    for name in ("assign", "assign_add", "assign_sub"):
        _set(Variable, name, _variable_method(Variable.__dict__[name]))


def uninstall() -> None:
    while _saved:
        owner, name, value = _saved.pop()
        setattr(owner, name, value)
