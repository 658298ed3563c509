"""Elementwise primitives (arithmetic, transcendental, comparison) and their compositions.

Binary ops broadcast like NumPy; the tape sums gradients back to each input's shape.
"""

from __future__ import annotations

import math
from typing import Any

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow import string_values as _sv
from tapeflow.autodiff.function import Function
from tapeflow.dtypes import is_inexact_np, is_real_float_np
from tapeflow.errors import InvalidArgumentError, UnimplementedError
from tapeflow.tensor import Tensor, convert_to_tensor, operand_like, scalar_like
from tapeflow.tracing.func_graph import lifted_on_graph_tensors

get_xp = backend.get_xp


# ---------------------------------------------------------------------------------------------
# Operand conversion
# ---------------------------------------------------------------------------------------------

def binary_operands(x: Any, y: Any, name: str) -> tuple[Tensor, Tensor]:
    """Convert the operands of a binary op; Python values take the other operand's dtype."""
    if isinstance(x, Tensor):
        if not isinstance(y, Tensor):
            y = operand_like(y, x, name)
    elif isinstance(y, Tensor):
        x = operand_like(x, y, name)
    else:
        x = convert_to_tensor(x)
        y = operand_like(y, x, name)
    xv = x._value
    yv = y._value
    if xv is not None and yv is not None:
        if xv.dtype != yv.dtype:
            raise _dtype_mismatch(name, x.dtype, y.dtype)
    elif x.dtype != y.dtype:
        raise _dtype_mismatch(name, x.dtype, y.dtype)
    return x, y


def _dtype_mismatch(name: str, a: Any, b: Any) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"{name}: both operands must have the same dtype, received {a.name} and {b.name}. "
        "Use tf.cast to convert one of them."
    )


def unary_operand(x: Any, name: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    try:
        return convert_to_tensor(x)
    except TypeError as e:
        raise TypeError(f"{name}: {e}") from None


def _float_operand(x: Any, name: str) -> Tensor:
    x = unary_operand(x, name)
    if not is_inexact_np(x.dtype._np):
        raise TypeError(f"{name}: expected a floating-point tensor, received dtype {x.dtype.name}.")
    return x


# ---------------------------------------------------------------------------------------------
# Arithmetic primitives
# ---------------------------------------------------------------------------------------------

class Add(Function):
    def forward(self, a: Any, b: Any) -> Any:
        out = a + b
        if type(out) is bytes:  # NOTE: two rank-0 strings concatenate to a bare bytes object
            return _sv.scalar(out)
        return out

    fresh_outputs = True

    def forward_into(self, out: Any, a: Any, b: Any) -> Any:
        return get_xp(out).add(a, b, out=out)

    def backward(self, dy: Tensor) -> tuple:
        return dy, dy


class Sub(Function):
    def forward(self, a: Any, b: Any) -> Any:
        return a - b

    fresh_outputs = True

    def forward_into(self, out: Any, a: Any, b: Any) -> Any:
        return get_xp(out).subtract(a, b, out=out)

    def backward(self, dy: Tensor) -> tuple:
        return dy, (negative(dy) if self.needs_input_grad[1] else None)


# NOTE: backward methods call primitives directly (`Mul()(dy, b)`) rather than the public
# functions: their operands are already tensors of one dtype, so the conversion checks are skipped.

class Mul(Function):
    def forward(self, a: Any, b: Any) -> Any:
        return a * b

    fresh_outputs = True

    def forward_into(self, out: Any, a: Any, b: Any) -> Any:
        return get_xp(out).multiply(a, b, out=out)

    def backward(self, dy: Tensor) -> tuple:
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (Mul()(dy, b) if na else None), (Mul()(dy, a) if nb else None)


class Div(Function):
    def forward(self, a: Any, b: Any) -> Any:
        return a / b

    fresh_outputs = True

    def forward_into(self, out: Any, a: Any, b: Any) -> Any:
        return get_xp(out).true_divide(a, b, out=out)

    def backward(self, dy: Tensor) -> tuple:
        a, b = self.inputs
        na, nb = self.needs_input_grad
        da = Div()(dy, b) if na or nb else None
        # d(a/b)/db = -(a/b)/b: reuse dy/b.
        db = Neg()(Mul()(da, self.outputs[0])) if nb else None
        return (da if na else None), db


class Neg(Function):
    def forward(self, a: Any) -> Any:
        return -a

    fresh_outputs = True

    def forward_into(self, out: Any, a: Any) -> Any:
        return get_xp(out).negative(a, out=out)

    def backward(self, dy: Tensor) -> tuple:
        return (Neg()(dy),)


class Pow(Function):
    def forward(self, a: Any, b: Any) -> Any:
        return a ** b

    def backward(self, dy: Tensor) -> tuple:
        a, b = self.inputs
        na, nb = self.needs_input_grad
        da = db = None
        if na:
            da = multiply(dy, multiply(b, pow(a, subtract(b, 1))))
        if nb:
            # NOTE: d(a^b)/db = a^b log(a), taken as 0 where a <= 0 (as TF does).
            xp = get_xp(a._value)
            positive = Tensor(a._value > 0)
            safe_a = where(positive, a, Tensor(xp.ones_like(a._value)))
            db = multiply(dy, where(positive, multiply(self.outputs[0], log(safe_a)), zeros_like_t(a)))
        return da, db


_SELECT_TESTS = {
    "positive": lambda y: y > 0,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "true": lambda c: c,
    "false": lambda c: ~c,
    "between": lambda x, lo, hi: (x >= lo) & (x <= hi),
}


class SelectGrad(Function):
    """`dy` where a test of the operands holds, zero elsewhere: the gradient of the piecewise
    ops (relu, maximum/minimum, where, clip). Inputs are `(*operands, dy)`; the test is computed
    from the operands in the same pass, so a trace records it rather than a constant mask.
    """

    fresh_outputs = True

    def __init__(self, test: str, *params: Any) -> None:
        self.test = test
        self.params = params
        if test != "positive":
            self.forward_into = None  # a select (xp.where) has no output argument

    def forward_into(self, out: Any, *xs: Any) -> Any:
        mask = _SELECT_TESTS["positive"](*xs[:-1])
        return get_xp(out).multiply(xs[-1], mask, out=out)

    def forward(self, *xs: Any) -> Any:
        dy = xs[-1]
        mask = _SELECT_TESTS[self.test](*xs[:-1], *self.params)
        if self.test == "positive":
            # NOTE: a multiply by the 0/1 mask, not xp.where: branch-free, about 10x faster on
            # random masks (where's per-element branch mispredicts). Like TF's ReluGrad, an inf
            # or nan in `dy` at an unselected position gives nan.
            return dy * mask
        # TF's gradients of where / maximum / minimum / clip select: an unselected position is
        # 0 even where dy is inf or nan (a branch tf.where discarded must not poison the result).
        return get_xp(dy).where(mask, dy, dy.dtype.type(0))

    def backward(self, ddx: Tensor) -> tuple:
        operands = self.inputs[:-1]
        return (*([None] * len(operands)), SelectGrad(self.test, *self.params)(*operands, ddx))


class Maximum(Function):
    def forward(self, a: Any, b: Any) -> Any:
        return get_xp(a).maximum(a, b)

    def backward(self, dy: Tensor) -> tuple:
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (SelectGrad("ge")(a, b, dy) if na else None), (SelectGrad("lt")(a, b, dy) if nb else None)


class Minimum(Function):
    def forward(self, a: Any, b: Any) -> Any:
        return get_xp(a).minimum(a, b)

    def backward(self, dy: Tensor) -> tuple:
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (SelectGrad("le")(a, b, dy) if na else None), (SelectGrad("gt")(a, b, dy) if nb else None)


class Where(Function):
    """`cond ? x : y` with broadcasting; `cond` gets no gradient."""

    def forward(self, c: Any, a: Any, b: Any) -> Any:
        return get_xp(a).where(c, a, b)

    def backward(self, dy: Tensor) -> tuple:
        c = self.inputs[0]
        _, na, nb = self.needs_input_grad
        return None, (SelectGrad("true")(c, dy) if na else None), (SelectGrad("false")(c, dy) if nb else None)


class Cast(Function):
    def __init__(self, np_dtype: Any) -> None:
        self.np_dtype = np_dtype

    def forward(self, a: Any) -> Any:
        if a.dtype.kind == "c" and self.np_dtype.kind != "c":
            a = a.real  # NOTE: complex -> real keeps the real part, as tf.cast does.
        return a.astype(self.np_dtype)

    def backward(self, dy: Tensor) -> tuple:
        x = self.inputs[0]
        if not (x.dtype.is_floating or x.dtype.is_complex):
            return (None,)
        return (cast(dy, x.dtype),)


# ---------------------------------------------------------------------------------------------
# Unary primitives
# ---------------------------------------------------------------------------------------------

class Exp(Function):
    def forward(self, a: Any) -> Any:
        return get_xp(a).exp(a)

    fresh_outputs = True

    def forward_into(self, out: Any, a: Any) -> Any:
        return get_xp(out).exp(a, out=out)

    def backward(self, dy: Tensor) -> tuple:
        return (multiply(dy, self.outputs[0]),)


class Log(Function):
    def forward(self, a: Any) -> Any:
        return get_xp(a).log(a)

    def backward(self, dy: Tensor) -> tuple:
        return (divide(dy, self.inputs[0]),)


class Log1p(Function):
    def forward(self, a: Any) -> Any:
        return get_xp(a).log1p(a)

    def backward(self, dy: Tensor) -> tuple:
        return (divide(dy, add(self.inputs[0], 1)),)


class Expm1(Function):
    def forward(self, a: Any) -> Any:
        return get_xp(a).expm1(a)

    def backward(self, dy: Tensor) -> tuple:
        return (multiply(dy, add(self.outputs[0], 1)),)


class Sqrt(Function):
    def forward(self, a: Any) -> Any:
        return get_xp(a).sqrt(a)

    def backward(self, dy: Tensor) -> tuple:
        return (divide(multiply(dy, 0.5), self.outputs[0]),)


class Rsqrt(Function):
    def forward(self, a: Any) -> Any:
        xp = get_xp(a)
        return xp.reciprocal(xp.sqrt(a))

    def backward(self, dy: Tensor) -> tuple:
        y = self.outputs[0]
        return (multiply(dy, multiply(multiply(y, multiply(y, y)), -0.5)),)


class Square(Function):
    def forward(self, a: Any) -> Any:
        return a * a

    fresh_outputs = True

    def forward_into(self, out: Any, a: Any) -> Any:
        return get_xp(out).multiply(a, a, out=out)

    def backward(self, dy: Tensor) -> tuple:
        return (multiply(dy, multiply(self.inputs[0], 2)),)


class Sin(Function):
    def forward(self, a: Any) -> Any:
        return get_xp(a).sin(a)

    def backward(self, dy: Tensor) -> tuple:
        return (multiply(dy, cos(self.inputs[0])),)


class Cos(Function):
    def forward(self, a: Any) -> Any:
        return get_xp(a).cos(a)

    def backward(self, dy: Tensor) -> tuple:
        return (negative(multiply(dy, sin(self.inputs[0]))),)


class Tanh(Function):
    def forward(self, a: Any) -> Any:
        return get_xp(a).tanh(a)

    fresh_outputs = True

    def forward_into(self, out: Any, a: Any) -> Any:
        return get_xp(out).tanh(a, out=out)

    def backward(self, dy: Tensor) -> tuple:
        y = self.outputs[0]
        return (multiply(dy, subtract(1, multiply(y, y))),)


class Sigmoid(Function):
    """Logistic function; a primitive for stability (no overflow) and a one-op backward."""

    def forward(self, a: Any) -> Any:
        xp = get_xp(a)
        # NOTE: 1/(1+exp(-x)) overflows exp for x << 0; tanh form is stable everywhere.
        return xp.tanh(a * 0.5) * 0.5 + 0.5 if is_real_float_np(a.dtype) else 1 / (1 + xp.exp(-a))

    fresh_outputs = True

    def forward_into(self, out: Any, a: Any) -> Any:
        if not is_real_float_np(a.dtype):
            out[...] = self.forward(a)
            return out
        xp = get_xp(out)
        xp.multiply(a, 0.5, out=out)
        xp.tanh(out, out=out)
        out *= 0.5
        out += 0.5
        return out

    def backward(self, dy: Tensor) -> tuple:
        y = self.outputs[0]
        return (multiply(dy, multiply(y, subtract(1, y))),)


class Erf(Function):
    def forward(self, a: Any) -> Any:
        return backend.erf(a)

    def backward(self, dy: Tensor) -> tuple:
        x = self.inputs[0]
        return (multiply(dy, multiply(exp(negative(multiply(x, x))), 2.0 / math.sqrt(math.pi))),)


class Abs(Function):
    def forward(self, a: Any) -> Any:
        return get_xp(a).abs(a)

    def backward(self, dy: Tensor) -> tuple:
        x = self.inputs[0]
        if x.dtype.is_complex:  # NOTE: TF's convention: d|z| = Re(dy) z / |z| (0 at z = 0)
            return (multiply(cast(dy, x.dtype), div_no_nan(x, cast(self.outputs[0], x.dtype))),)
        return (multiply(dy, sign(x)),)


class Relu(Function):
    """max(x, 0); a primitive: one pass forward, one masked pass backward."""

    def forward(self, a: Any) -> Any:
        return get_xp(a).maximum(a, a.dtype.type(0))

    fresh_outputs = True

    def forward_into(self, out: Any, a: Any) -> Any:
        return get_xp(out).maximum(a, a.dtype.type(0), out=out)

    def backward(self, dy: Tensor) -> tuple:
        # NOTE: the gradient at exactly 0 is 0, as in TF.
        return (SelectGrad("positive")(self.outputs[0], dy),)


class ZeroGradUnary(Function):
    """Piecewise-constant functions (sign, round, floor, ceil): gradient zero."""

    def __init__(self, fname: str) -> None:
        self.fname = fname

    def forward(self, a: Any) -> Any:
        xp = get_xp(a)
        if self.fname == "round":
            return xp.round(a)
        return getattr(xp, self.fname)(a)

    def backward(self, dy: Tensor) -> tuple:
        return (zeros_like_t(dy),)


class NonDifferentiable(Function):
    """Comparisons, logical and integer ops: `xp.<fname>` with no gradient."""

    differentiable = False

    def __init__(self, fname: str) -> None:
        self.fname = fname

    def forward(self, *xs: Any) -> Any:
        return getattr(get_xp(*xs), self.fname)(*xs)


# ---------------------------------------------------------------------------------------------
# Public functions (tf.* / tf.math.*)
# ---------------------------------------------------------------------------------------------

def add(x: Any, y: Any, name: Any = None) -> Tensor:
    """x + y elementwise, with broadcasting (`tf.add`)."""
    x, y = binary_operands(x, y, "Add")
    return Add()(x, y)


def subtract(x: Any, y: Any, name: Any = None) -> Tensor:
    """x - y elementwise, with broadcasting (`tf.subtract`)."""
    x, y = binary_operands(x, y, "Sub")
    return Sub()(x, y)


def multiply(x: Any, y: Any, name: Any = None) -> Tensor:
    """x * y elementwise, with broadcasting (`tf.multiply`)."""
    x, y = binary_operands(x, y, "Mul")
    return Mul()(x, y)


def _int_to_float(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    kind = x._value.dtype.kind if x._value is not None else x.dtype._np.kind
    if kind in "iub":
        size = x._value.dtype.itemsize if x._value is not None else x.dtype.size
        target = _dt.float32 if size <= 2 else _dt.float64
        return cast(x, target), cast(y, target)
    return x, y


def truediv(x: Any, y: Any, name: Any = None) -> Tensor:
    """x / y; integer inputs are divided in floating point, as in TF."""
    x, y = binary_operands(x, y, "RealDiv")
    x, y = _int_to_float(x, y)
    return Div()(x, y)


def divide(x: Any, y: Any, name: Any = None) -> Tensor:
    """x / y elementwise (`tf.divide`)."""
    return truediv(x, y)


def div_no_nan(x: Any, y: Any, name: Any = None) -> Tensor:
    """x / y, with 0 wherever y == 0 (`tf.math.divide_no_nan`)."""
    x, y = binary_operands(x, y, "DivNoNan")
    nz = not_equal(y, 0)
    safe_y = where(nz, y, ones_like_t(y))
    return where(nz, divide(x, safe_y), zeros_like_t(divide(x, safe_y)))


divide_no_nan = div_no_nan


def floordiv(x: Any, y: Any, name: Any = None) -> Tensor:
    """floor(x / y) elementwise (no gradient)."""
    x, y = binary_operands(x, y, "FloorDiv")
    return NonDifferentiable("floor_divide")(x, y)


def floormod(x: Any, y: Any, name: Any = None) -> Tensor:
    """Remainder of floor division; the result has the sign of y (no gradient)."""
    x, y = binary_operands(x, y, "FloorMod")
    return NonDifferentiable("mod")(x, y)


mod = floormod


def pow(x: Any, y: Any, name: Any = None) -> Tensor:  # noqa: A001 - TF's name
    """x ** y elementwise (`tf.pow`)."""
    x, y = binary_operands(x, y, "Pow")
    return Pow()(x, y)


def negative(x: Any, name: Any = None) -> Tensor:
    return Neg()(unary_operand(x, "Neg"))


def abs(x: Any, name: Any = None) -> Tensor:  # noqa: A001 - TF's name
    return Abs()(unary_operand(x, "Abs"))


def sign(x: Any, name: Any = None) -> Tensor:
    return ZeroGradUnary("sign")(unary_operand(x, "Sign"))


def round(x: Any, name: Any = None) -> Tensor:  # noqa: A001 - TF's name
    """Round half to even, like TF."""
    return ZeroGradUnary("round")(unary_operand(x, "Round"))


def floor(x: Any, name: Any = None) -> Tensor:
    return ZeroGradUnary("floor")(unary_operand(x, "Floor"))


def ceil(x: Any, name: Any = None) -> Tensor:
    return ZeroGradUnary("ceil")(unary_operand(x, "Ceil"))


def square(x: Any, name: Any = None) -> Tensor:
    return Square()(unary_operand(x, "Square"))


def sqrt(x: Any, name: Any = None) -> Tensor:
    return Sqrt()(_float_operand(x, "Sqrt"))


def rsqrt(x: Any, name: Any = None) -> Tensor:
    return Rsqrt()(_float_operand(x, "Rsqrt"))


def exp(x: Any, name: Any = None) -> Tensor:
    return Exp()(_float_operand(x, "Exp"))


def log(x: Any, name: Any = None) -> Tensor:
    return Log()(_float_operand(x, "Log"))


def log1p(x: Any, name: Any = None) -> Tensor:
    return Log1p()(_float_operand(x, "Log1p"))


def expm1(x: Any, name: Any = None) -> Tensor:
    return Expm1()(_float_operand(x, "Expm1"))


def sin(x: Any, name: Any = None) -> Tensor:
    return Sin()(_float_operand(x, "Sin"))


def cos(x: Any, name: Any = None) -> Tensor:
    return Cos()(_float_operand(x, "Cos"))


def tan(x: Any, name: Any = None) -> Tensor:
    return divide(sin(x), cos(x))


def tanh(x: Any, name: Any = None) -> Tensor:
    return Tanh()(_float_operand(x, "Tanh"))


def sigmoid(x: Any, name: Any = None) -> Tensor:
    return Sigmoid()(_float_operand(x, "Sigmoid"))


def erf(x: Any, name: Any = None) -> Tensor:
    return Erf()(_float_operand(x, "Erf"))


def relu(features: Any, name: Any = None) -> Tensor:
    return Relu()(unary_operand(features, "Relu"))


def reciprocal(x: Any, name: Any = None) -> Tensor:
    return divide(1, x) if isinstance(x, Tensor) else divide(1.0, x)


def squared_difference(x: Any, y: Any, name: Any = None) -> Tensor:
    d = subtract(x, y)
    return multiply(d, d)


def maximum(x: Any, y: Any, name: Any = None) -> Tensor:
    """Elementwise max; at ties the gradient goes to x, as in TF."""
    x, y = binary_operands(x, y, "Maximum")
    return Maximum()(x, y)


def minimum(x: Any, y: Any, name: Any = None) -> Tensor:
    """Elementwise min; at ties the gradient goes to x, as in TF."""
    x, y = binary_operands(x, y, "Minimum")
    return Minimum()(x, y)


def clip_by_value(t: Any, clip_value_min: Any, clip_value_max: Any, name: Any = None) -> Tensor:
    """Clamp `t` to [min, max]; the gradient passes where min <= t <= max."""
    t = unary_operand(t, "ClipByValue")
    v = t._value
    if (v is not None and is_real_float_np(v.dtype) and type(clip_value_min) in (int, float)
            and type(clip_value_max) in (int, float)):
        return ClipByValue(v.dtype.type(clip_value_min), v.dtype.type(clip_value_max))(t)
    return minimum(maximum(t, clip_value_min), clip_value_max)


class ClipByValue(Function):
    """Clamp to scalar bounds [lo, hi] in one op; the gradient passes where lo <= x <= hi."""

    def __init__(self, lo: Any, hi: Any) -> None:
        self.lo = lo
        self.hi = hi

    def forward(self, a: Any) -> Any:
        xp = get_xp(a)
        out = xp.maximum(a, self.lo)
        return xp.minimum(out, self.hi, out=out) if out.ndim else xp.minimum(out, self.hi)

    def backward(self, dy: Tensor) -> tuple:
        return (SelectGrad("between", self.lo, self.hi)(self.inputs[0], dy),)


def where(condition: Any, x: Any = None, y: Any = None, name: Any = None) -> Tensor:
    """Choose from `x` where `condition` is true, else `y` (broadcasting); with only
    `condition`, the indices of true elements as an int64 (n, rank) tensor."""
    c = unary_operand(condition, "Where")
    if x is None and y is None:
        return _argwhere(c)
    if x is None or y is None:
        raise ValueError("where: x and y must both be given, or neither.")
    x, y = binary_operands(x, y, "Where")
    if c.dtype._np.kind != "b":
        raise TypeError(f"where: condition must be bool, received dtype {c.dtype.name}.")
    return Where()(c, x, y)


@lifted_on_graph_tensors
def _argwhere(c: Tensor) -> Tensor:
    return Tensor(get_xp(c._value).argwhere(c._value).astype("int64"))


def cast(x: Any, dtype: Any, name: Any = None) -> Tensor:
    """Convert `x` to `dtype` (`tf.cast`); float to int truncates toward zero."""
    x = unary_operand(x, "Cast")
    np_dtype = _dt.as_dtype(dtype)._np
    if x._value is not None and x._value.dtype == np_dtype:
        return x
    if (x.dtype._np.kind == "O") != (np_dtype.kind == "O"):
        # NOTE: as in TF; tf.strings.to_number / as_string convert between text and numbers.
        raise UnimplementedError(f"Cast {x.dtype.name} to {_dt.from_numpy(np_dtype).name} is not "
                                 "supported [Op:Cast]")
    return Cast(np_dtype)(x)


def saturate_cast(value: Any, dtype: Any, name: Any = None) -> Tensor:
    d = _dt.as_dtype(dtype)
    return cast(clip_by_value(value, d.min, d.max), d)


def identity(x: Any, name: Any = None) -> Tensor:
    """A copy of `x` (a snapshot for variables); the gradient passes through.

    Inside `tf.device(...)` the copy is made on that device, which is how tensors move between
    the CPU and a GPU (ops never move them silently).
    """
    x = unary_operand(x, "Identity")
    v = x._value
    if v is not None:
        target = backend.default_xp()
        if get_xp(v) is not target and v.dtype.kind != "O":  # strings stay on the host, as in TF
            return ToDevice(target)(x)
    return Identity()(x)


class Identity(Function):
    def forward(self, a: Any) -> Any:
        return a.copy()

    def backward(self, dy: Tensor) -> tuple:
        return (dy,)


class ToDevice(Function):
    """Copy to the device of array module `xp`; the gradient is copied back."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def forward(self, a: Any) -> Any:
        self.source_xp = get_xp(a)
        return backend.asarray(a, None, self.xp)

    def backward(self, dy: Tensor) -> tuple:
        return (ToDevice(self.source_xp)(dy),)


class StopGradient(Function):
    differentiable = False

    def forward(self, a: Any) -> Any:
        return a


def stop_gradient(x: Any, name: Any = None) -> Tensor:
    """`x`, treated as a constant by gradient computations."""
    return StopGradient()(unary_operand(x, "StopGradient"))


def _compare(fname: str, op: str) -> Any:
    ordered = fname not in ("equal", "not_equal")

    def compare(x: Any, y: Any, name: Any = None) -> Tensor:
        x, y = binary_operands(x, y, op)
        if ordered and x.dtype is _dt.string:
            raise InvalidArgumentError(f"{op}: string tensors are not ordered (TF's {op} takes "
                                       "numbers only); received dtype string.")
        return NonDifferentiable(fname)(x, y)

    compare.__name__ = fname
    compare.__doc__ = f"Elementwise `{fname}` (a bool tensor; no gradient)."
    return compare


equal = _compare("equal", "Equal")
not_equal = _compare("not_equal", "NotEqual")
less = _compare("less", "Less")
less_equal = _compare("less_equal", "LessEqual")
greater = _compare("greater", "Greater")
greater_equal = _compare("greater_equal", "GreaterEqual")


def _logical(fname: str, op: str) -> Any:
    def logical(x: Any, y: Any, name: Any = None) -> Tensor:
        x, y = binary_operands(x, y, op)
        if x.dtype._np.kind != "b":
            raise TypeError(f"{op}: expected bool tensors, received dtype {x.dtype.name}.")
        return NonDifferentiable(fname)(x, y)

    logical.__name__ = fname
    return logical


logical_and = _logical("logical_and", "LogicalAnd")
logical_or = _logical("logical_or", "LogicalOr")
logical_xor = _logical("logical_xor", "LogicalXor")


def logical_not(x: Any, name: Any = None) -> Tensor:
    x = unary_operand(x, "LogicalNot")
    if x.dtype._np.kind != "b":
        raise TypeError(f"LogicalNot: expected a bool tensor, received dtype {x.dtype.name}.")
    return NonDifferentiable("logical_not")(x)


def bitwise_invert(x: Any) -> Tensor:
    return NonDifferentiable("invert")(unary_operand(x, "Invert"))


def is_nan(x: Any, name: Any = None) -> Tensor:
    return NonDifferentiable("isnan")(unary_operand(x, "IsNan"))


def is_inf(x: Any, name: Any = None) -> Tensor:
    return NonDifferentiable("isinf")(unary_operand(x, "IsInf"))


def is_finite(x: Any, name: Any = None) -> Tensor:
    return NonDifferentiable("isfinite")(unary_operand(x, "IsFinite"))


def add_n(inputs: list, name: Any = None) -> Tensor:
    """Sum of a list of same-shape tensors."""
    if not inputs:
        raise ValueError("add_n: inputs must be a non-empty list of tensors.")
    total = unary_operand(inputs[0], "AddN")
    for t in inputs[1:]:
        total = add(total, t)
    return total


@lifted_on_graph_tensors
def zeros_like_t(x: Tensor) -> Tensor:
    return Tensor(get_xp(x._value).zeros_like(x._value))


@lifted_on_graph_tensors
def ones_like_t(x: Tensor) -> Tensor:
    return Tensor(get_xp(x._value).ones_like(x._value))


def scalar(value: float, like: Tensor) -> Tensor:
    return scalar_like(value, like, "scalar")
