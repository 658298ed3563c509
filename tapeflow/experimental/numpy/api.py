"""The functions of `tf.experimental.numpy`: NumPy-style conversion and promotion in front of
`keras.ops`' NumPy functions, plus the few NumPy names `keras.ops` lacks."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.keras import ops as _k
from tapeflow.ops import elementwise as ew
from tapeflow.tensor import Tensor, convert_to_tensor

_PY = (bool, int, float, complex)


class _Config:
    prefer_float32 = False


def experimental_enable_numpy_behavior(prefer_float32: bool = False, dtype_conversion_mode: str = "legacy") -> None:
    """Switch on NumPy behaviour, as TF: tensors gain NumPy's methods (`T`, `reshape`, `ravel`,
    `astype`, `clip`, `transpose`, `flatten`, `max`/`min`/`mean`, `tolist`, `size`, `data`).

    `dtype_conversion_mode` picks how mixed dtypes meet: "legacy" promotes the operands of the
    arithmetic and comparison operators as NumPy does (int32 + int64 -> int64, int32 + float32 ->
    float64; with `prefer_float32` Python floats give float32); "all" and "safe" are TF's auto
    dtype conversion (Python values are weak: `tf.constant(5)` is a weak int32, `i32 + f32 ->
    f32`; "safe" refuses promotions that may lose values); "off" promotes nothing. Calling it
    again switches modes.
    """
    from tapeflow.experimental.numpy import promotion, weak_ops
    from tapeflow.ops.tensor_operators import NumpyBehavior

    if dtype_conversion_mode not in promotion.MODES:
        raise ValueError(
            f"The provided promotion mode {dtype_conversion_mode} does not exist. Make sure the provided dtype "
            "conversion mode is one of the followings: 'off', 'legacy', 'safe' or 'all'.")
    _Config.prefer_float32 = bool(prefer_float32)
    NumpyBehavior.methods = _numpy_methods()
    weak_ops.uninstall()
    promotion._State.mode = dtype_conversion_mode
    NumpyBehavior.promote = _promote_operands if dtype_conversion_mode == "legacy" else None
    if promotion.weak_mode():
        weak_ops.install()


def _disable_numpy_behavior() -> None:
    """Undo `experimental_enable_numpy_behavior` (for tests: TF itself has no switch back)."""
    from tapeflow.experimental.numpy import promotion, weak_ops
    from tapeflow.ops.tensor_operators import NumpyBehavior

    weak_ops.uninstall()
    promotion._State.mode = "off"
    _Config.prefer_float32 = False
    NumpyBehavior.promote = None
    NumpyBehavior.methods = {}


def _promote_operands(a: Any, b: Any) -> tuple:
    """Operands of a tensor operator in NumPy's common dtype (others, e.g. ragged, unchanged)."""
    if not builtins.all(isinstance(x, (Tensor, np.ndarray, np.generic, *_PY)) for x in (a, b)):
        return a, b
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype == b.dtype:
        return a, b
    d = result_type(a, b)._np
    return tuple(x if isinstance(x, Tensor) and x.dtype._np == d else
                 ew.cast(x, d.name) if isinstance(x, Tensor) else convert_to_tensor(np.asarray(x, dtype=d))
                 for x in (a, b))


def _reshape_method(a: Tensor, *newshape: Any, order: str = "C") -> Tensor:
    """`t.reshape(2, 3)` or `t.reshape((2, 3))`, as NumPy's method."""
    shape = newshape[0] if len(newshape) == 1 and not isinstance(newshape[0], int) else newshape
    if order == "F":  # column-major: reverse the axes, reshape to the reversed shape, reverse back
        return _k.transpose(_k.reshape(_k.transpose(a), tuple(shape)[::-1]))
    if order != "C":
        raise ValueError(f"reshape: order must be 'C' or 'F', received {order!r}.")
    return _k.reshape(a, shape)


def _transpose_method(a: Tensor, *axes: Any) -> Tensor:
    if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], int)):
        axes = axes[0]
    return _k.transpose(a, axes or None)


def _numpy_methods() -> dict:
    g = globals()
    return {
        "T": (lambda t: g["transpose"](t), True),
        "size": (lambda t: int(np.prod(t.shape)), True),
        "data": (lambda t: t, True),
        "tolist": (lambda t: t.numpy().tolist(), False),
        "transpose": (_transpose_method, False),
        "flatten": (g["flatten"], False),
        "reshape": (_reshape_method, False),
        "ravel": (g["ravel"], False),
        "clip": (g["clip"], False),
        "astype": (lambda t, dtype: ew.cast(t, _dt.as_dtype(dtype)), False),
        "max": (g["amax"], False),
        "min": (g["amin"], False),
        "mean": (g["mean"], False),
    }


def _prefers_float32() -> bool:
    """Python floats give float32: `prefer_float32`, or TF's auto dtype conversion modes."""
    from tapeflow.experimental.numpy import promotion

    return _Config.prefer_float32 or promotion.weak_mode()


def _default_float() -> Any:
    return np.float32 if _prefers_float32() else np.float64


def asarray(a: Any, dtype: Any = None) -> Tensor:
    """`a` as a tensor: tensors are kept (cast to `dtype`), other values take NumPy's dtypes."""
    if isinstance(a, Tensor):
        return a if dtype is None else ew.cast(a, _dt.as_dtype(np.dtype(dtype) if not isinstance(dtype, _dt.DType)
                                                                    else dtype))
    if isinstance(a, (list, tuple)) and builtins.any(isinstance(v, Tensor) for v in a):
        return stack_any(a, dtype)
    arr = np.asarray(a, dtype=None if dtype is None else (dtype.as_numpy_dtype if isinstance(dtype, _dt.DType)
                                                            else dtype))
    if dtype is None and arr.dtype == np.float64 and _prefers_float32():
        arr = arr.astype(np.float32)
    return convert_to_tensor(arr)


def stack_any(items: Any, dtype: Any = None) -> Tensor:
    ts = [asarray(v) for v in items]
    d = np.result_type(*[t.dtype._np for t in ts]) if dtype is None else np.dtype(dtype)
    return _k.stack([ew.cast(t, d.name) for t in ts])


def array(val: Any, dtype: Any = None, copy: bool = True, ndmin: int = 0) -> Tensor:
    """A new tensor from `val` (at least `ndmin` dims)."""
    t = asarray(val, dtype)
    while len(t.shape) < ndmin:
        t = _k.expand_dims(t, 0)
    return ew.identity(t) if copy else t


asanyarray = asarray
ascontiguousarray = asarray


def _np_dtype(x: Any) -> Any:
    if isinstance(x, Tensor):
        return x.dtype._np
    if isinstance(x, _PY):
        return x  # a weak Python scalar, as NumPy 2 treats it
    return np.asarray(x).dtype


def result_type(*arrays_and_dtypes: Any) -> Any:
    """The dtype NumPy gives an operation on these arrays/dtypes (a tf dtype); in the "safe" and
    "all" dtype conversion modes, TF's auto conversion result instead (Python values weak)."""
    from tapeflow.experimental.numpy import promotion

    if promotion.weak_mode():
        return promotion.result_type(*arrays_and_dtypes)[0]
    parts = []
    for x in arrays_and_dtypes:
        if isinstance(x, _dt.DType):
            parts.append(x._np)
        elif isinstance(x, (Tensor, np.ndarray, *_PY)):
            parts.append(_np_dtype(x))
        else:
            parts.append(np.dtype(x) if not isinstance(x, (list, tuple)) else np.asarray(x).dtype)
    d = np.result_type(*parts)
    if d == np.float64 and _prefers_float32() and builtins.all(isinstance(p, (float, int)) for p in parts):
        d = np.dtype(np.float32)
    return _dt.as_dtype(d)


def promote_types(type1: Any, type2: Any) -> np.dtype:
    """NumPy's promotion of two dtypes."""
    conv = [t._np if isinstance(t, _dt.DType) else t for t in (type1, type2)]
    return np.promote_types(*conv)


def issubdtype(arg1: Any, arg2: Any) -> bool:
    """NumPy's issubdtype, accepting tf dtypes."""
    conv = [a._np if isinstance(a, _dt.DType) else a for a in (arg1, arg2)]
    return bool(np.issubdtype(*conv))


def _promote(*xs: Any) -> list:
    """The non-None arguments as tensors of NumPy's common dtype (Python scalars weak); in TF's
    auto dtype conversion modes, of that promotion's dtype."""
    from tapeflow.experimental.numpy import promotion

    if promotion.weak_mode():
        d = promotion.result_type(*xs)[0]._np
    else:
        d = np.result_type(*[_np_dtype(x) for x in xs if x is not None])
    out = []
    for x in xs:
        if x is None:
            out.append(None)
        elif isinstance(x, Tensor):
            out.append(x if x.dtype._np == d else ew.cast(x, d.name))
        else:
            out.append(convert_to_tensor(np.asarray(x, dtype=d)))
    return out


def _floatify(x: Any) -> Tensor:
    t = asarray(x)
    if t.dtype._np.kind in "biu":
        return ew.cast(t, np.dtype(_default_float()).name)
    return t


def _binary(name: str) -> Any:
    fn = getattr(_k, name)

    def op(x1: Any, x2: Any, *args: Any, **kwargs: Any) -> Tensor:
        a, b = _promote(x1, x2)
        return fn(a, b, *args, **kwargs)

    op.__name__ = name
    op.__doc__ = f"NumPy's `{name}` with NumPy's promotion of x1 and x2."
    return op


def _float_unary(name: str) -> Any:
    fn = getattr(_k, name)

    def op(x: Any, *args: Any, **kwargs: Any) -> Tensor:
        return fn(_floatify(x), *args, **kwargs)

    op.__name__ = name
    op.__doc__ = f"NumPy's `{name}` (integer inputs compute in float64)."
    return op


def _plain(name: str) -> Any:
    fn = getattr(_k, name)

    def op(x: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(asarray(x) if not isinstance(x, (list, tuple)) or name not in _LISTS else x, *args, **kwargs)

    op.__name__ = name
    op.__doc__ = f"NumPy's `{name}` on tensors."
    return op


def _listy(name: str) -> Any:
    fn = getattr(_k, name)

    def op(xs: Any, *args: Any, **kwargs: Any) -> Tensor:
        return fn(_promote(*[asarray(x) if not isinstance(x, (Tensor, *_PY)) else x for x in xs]), *args, **kwargs)

    op.__name__ = name
    op.__doc__ = f"NumPy's `{name}` of a sequence of arrays (promoted to a common dtype)."
    return op


_BINARY = ("add subtract multiply divide true_divide floor_divide mod power maximum minimum arctan2 hypot "
           "logaddexp logaddexp2 copysign heaviside nextafter gcd lcm bitwise_and bitwise_or bitwise_xor equal "
           "not_equal less less_equal greater greater_equal logical_and logical_or logical_xor isclose allclose "
           "matmul dot inner outer cross kron tensordot vdot append").split()
_FLOAT_UNARY = ("sqrt exp exp2 expm1 log log10 log1p log2 sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh "
                "arccosh arctanh cbrt deg2rad rad2deg sinc mean average std var nanmean").split()
_LISTS = ("concatenate stack hstack vstack dstack").split()
_SKIP = set(_BINARY) | set(_FLOAT_UNARY) | set(_LISTS)

__all__ = ["asarray", "asanyarray", "ascontiguousarray", "array", "result_type", "promote_types", "issubdtype",
           "experimental_enable_numpy_behavior"]
_names = [n for n in dir(np) if not n.startswith("_")]
for _n in _BINARY:
    if hasattr(_k, _n):
        globals()[_n] = _binary(_n)
        __all__.append(_n)
for _n in _FLOAT_UNARY:
    if hasattr(_k, _n):
        globals()[_n] = _float_unary(_n)
        __all__.append(_n)
for _n in _LISTS:
    globals()[_n] = _listy(_n)
    __all__.append(_n)

_TNP = ("abs absolute all amax amin angle any arange argmax argmin argsort around bitwise_not broadcast_to ceil clip "
        "compress conj conjugate copy count_nonzero cumprod cumsum diag diagflat diagonal diff dsplit einsum empty "
        "empty_like expand_dims eye fabs flip fliplr flipud floor full full_like geomspace hsplit identity imag "
        "isfinite isinf isnan isneginf isposinf isreal linspace logical_not logspace max meshgrid min moveaxis "
        "nanprod nansum ndim negative nonzero ones ones_like pad prod ptp ravel real reciprocal repeat reshape "
        "roll rot90 round select shape sign signbit size sort split square squeeze sum swapaxes take "
        "take_along_axis tile trace transpose tri tril triu vander vsplit where zeros zeros_like").split()
for _n in _TNP:
    if hasattr(_k, _n) and _n not in globals():
        globals()[_n] = _k.__dict__[_n] if _n in ("arange", "linspace", "logspace", "geomspace", "eye", "identity",
                                                    "tri", "zeros", "ones", "empty", "full", "meshgrid", "where",
                                                    "select", "einsum") else _plain(_n)
        __all__.append(_n)


# -- the names keras.ops lacks ----------------------------------------------------------------

def remainder(x1: Any, x2: Any) -> Tensor:
    """The remainder of floor division (NumPy's `mod`)."""
    return globals()["mod"](x1, x2)


def float_power(x1: Any, x2: Any) -> Tensor:
    """x1 ** x2 computed in float64 (complex128 for complex inputs)."""
    a, b = _promote(x1, x2)
    d = "complex128" if a.dtype.is_complex else "float64"
    return _k.power(ew.cast(a, d), ew.cast(b, d))


def divmod(x1: Any, x2: Any) -> tuple:  # noqa: A001 - NumPy's name
    """(floor_divide(x1, x2), mod(x1, x2))."""
    return globals()["floor_divide"](x1, x2), globals()["mod"](x1, x2)


def positive(x: Any) -> Tensor:
    """+x (a copy)."""
    return ew.identity(asarray(x))


def fix(x: Any) -> Tensor:
    """Round towards zero, keeping the float dtype."""
    t = _floatify(x)
    return _k.where(_k.less(t, 0), _k.ceil(t), _k.floor(t))


def around(a: Any, decimals: int = 0) -> Tensor:
    """Round half to even at `decimals` places."""
    return _k.round(asarray(a), decimals)


def flatten(a: Any, order: str = "C") -> Tensor:
    """A 1-D copy of `a`."""
    return _k.reshape(asarray(a), [-1])


def array_equal(a1: Any, a2: Any) -> Tensor:
    """Whether the arrays have the same shape and elements (a scalar bool)."""
    x, y = asarray(a1), asarray(a2)
    if tuple(x.shape) != tuple(y.shape):
        return convert_to_tensor(False)
    return _k.all(globals()["equal"](x, y))


def atleast_1d(*arys: Any) -> Any:
    """Each input with at least 1 dimension."""
    out = [_k.reshape(t, [1]) if len(t.shape) == 0 else t for t in map(asarray, arys)]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys: Any) -> Any:
    """Each input with at least 2 dimensions (1-D becomes a row)."""
    out = []
    for t in map(asarray, arys):
        out.append(_k.reshape(t, [1, 1]) if len(t.shape) == 0 else _k.expand_dims(t, 0) if len(t.shape) == 1 else t)
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys: Any) -> Any:
    """Each input with at least 3 dimensions (NumPy's placement of the new axes)."""
    out = []
    for t in map(asarray, arys):
        n = len(t.shape)
        if n == 0:
            t = _k.reshape(t, [1, 1, 1])
        elif n == 1:
            t = _k.reshape(t, [1, -1, 1])
        elif n == 2:
            t = _k.expand_dims(t, -1)
        out.append(t)
    return out[0] if len(out) == 1 else out


def broadcast_arrays(*args: Any, **kwargs: Any) -> list:
    """The inputs broadcast to their common shape."""
    ts = [asarray(a) for a in args]
    shape = np.broadcast_shapes(*[tuple(t.shape) for t in ts])
    return [_k.broadcast_to(t, shape) for t in ts]


def diag_indices(n: int, ndim: int = 2) -> tuple:
    """The index arrays of the main diagonal of an n x ... x n array."""
    idx = convert_to_tensor(np.arange(int(n)))
    return tuple([idx] * int(ndim))


def ix_(*args: Any) -> tuple:
    """Open meshes from 1-D index arrays (for cross-product indexing)."""
    n = len(args)
    out = []
    for k, a in enumerate(args):
        t = asarray(a)
        out.append(_k.reshape(t, [1] * k + [-1] + [1] * (n - k - 1)))
    return tuple(out)


def iscomplex(x: Any) -> Tensor:
    """Elementwise: a non-zero imaginary part."""
    t = asarray(x)
    return _k.not_equal(_k.imag(t), 0) if t.dtype.is_complex else _k.zeros_like(t, dtype="bool")


def iscomplexobj(x: Any) -> bool:
    """Whether `x` has a complex dtype."""
    return asarray(x).dtype.is_complex


def isrealobj(x: Any) -> bool:
    """Whether `x` has a non-complex dtype."""
    return not asarray(x).dtype.is_complex


def isscalar(num: Any) -> bool:
    """Whether `num` is a scalar (a Python number, NumPy scalar or rank-0 tensor)."""
    if isinstance(num, Tensor):
        return len(num.shape) == 0
    return bool(np.isscalar(num))


def polyval(p: Any, x: Any) -> Tensor:
    """p[0] x^(n-1) + ... + p[n-1] by Horner's rule."""
    coeffs = asarray(p)
    xs = asarray(x)
    a, b = _promote(coeffs, xs)
    out = _k.zeros_like(b)
    for i in builtins.range(a.shape[0]):
        out = _k.add(_k.multiply(out, b), a[i])
    return out


def compress(condition: Any, a: Any, axis: Any = None) -> Tensor:
    """The slices of `a` along `axis` (flattened when None) where `condition` is true."""
    cond = backend.to_numpy(asarray(condition)._value).astype(bool)
    t = asarray(a)
    if axis is None:
        t = _k.reshape(t, [-1])
        axis = 0
    idx = np.nonzero(cond)[0]
    return _k.take(t, convert_to_tensor(idx), axis=axis)


__all__ += ["remainder", "float_power", "divmod", "positive", "fix", "around", "flatten", "array_equal",
            "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_arrays", "diag_indices", "ix_", "iscomplex",
            "iscomplexobj", "isrealobj", "isscalar", "polyval", "compress"]


# -- creation with NumPy's default dtypes ------------------------------------------------------

# The position of `dtype` among NumPy's positional arguments of each creator.
_DTYPE_POSITION = {"zeros": 1, "ones": 1, "empty": 1, "identity": 1, "eye": 3, "tri": 3, "linspace": 5,
                   "logspace": 5, "geomspace": 4}


def _creator(name: str) -> Any:
    fn = getattr(_k, name)
    at = _DTYPE_POSITION[name]

    def op(*args: Any, dtype: Any = None, **kwargs: Any) -> Tensor:
        positional = len(args) > at  # dtype given positionally, as `tnp.ones([2, 3], tnp.float32)`
        if positional:
            if dtype is not None:
                raise TypeError(f"{name}() got multiple values for argument 'dtype'")
            dtype = args[at]
        d = np.dtype(_default_float()).name if dtype is None else np.dtype(
            dtype.as_numpy_dtype if isinstance(dtype, _dt.DType) else dtype).name
        if positional:
            return fn(*args[:at], d, *args[at + 1:], **kwargs)
        return fn(*args, dtype=d, **kwargs)

    op.__name__ = name
    op.__doc__ = f"NumPy's `{name}` (float64 by default, float32 with prefer_float32)."
    return op


for _n in ("zeros", "ones", "empty", "eye", "identity", "tri", "linspace", "logspace", "geomspace"):
    globals()[_n] = _creator(_n)


def full(shape: Any, fill_value: Any, dtype: Any = None) -> Tensor:
    """An array of `shape` filled with `fill_value` (its NumPy dtype by default)."""
    v = asarray(fill_value, dtype)
    return _k.full(shape, v, dtype=v.dtype.name)


def arange(start: Any, stop: Any = None, step: Any = 1, dtype: Any = None) -> Tensor:
    """Evenly spaced values in [start, stop) (int64 for integer arguments, as NumPy)."""
    vals = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None and vals.dtype == np.float64 and _prefers_float32():
        vals = vals.astype(np.float32)
    return asarray(vals, dtype)


# -- NumPy's result dtypes where keras.ops differs ---------------------------------------------

def _true_div(name: str) -> Any:
    def op(x1: Any, x2: Any) -> Tensor:
        a, b = _promote(x1, x2)
        if a.dtype._np.kind in "biu":
            a, b = ew.cast(a, "float64"), ew.cast(b, "float64")
        return _k.divide(a, b)

    op.__name__ = name
    op.__doc__ = "x1 / x2 in floating point (integers divide in float64, as NumPy)."
    return op


divide = _true_div("divide")
true_divide = _true_div("true_divide")


def _wide_int(name: str) -> Any:
    fn = getattr(_k, name)

    def op(a: Any, *args: Any, **kwargs: Any) -> Tensor:
        t = asarray(a)
        if t.dtype._np.kind in "bi" and t.dtype._np.itemsize < 8:
            t = ew.cast(t, "int64")
        elif t.dtype._np.kind == "u" and t.dtype._np.itemsize < 8:
            t = ew.cast(t, "uint64")
        return fn(t, *args, **kwargs)

    op.__name__ = name
    op.__doc__ = f"NumPy's `{name}`: small integer inputs accumulate in 64 bits."
    return op


for _n in ("sum", "prod", "cumsum", "cumprod", "nansum", "nanprod"):
    globals()[_n] = _wide_int(_n)


def _index_result(name: str) -> Any:
    fn = getattr(_k, name)

    def op(*args: Any, **kwargs: Any) -> Any:
        out = fn(asarray(args[0]), *args[1:], **kwargs)
        if isinstance(out, (tuple, list)):
            return tuple(ew.cast(o, "int64") for o in out)
        return ew.cast(out, "int64")

    op.__name__ = name
    op.__doc__ = f"NumPy's `{name}` (int64 indices)."
    return op


for _n in ("argmax", "argmin", "argsort", "nonzero", "count_nonzero"):
    globals()[_n] = _index_result(_n)
