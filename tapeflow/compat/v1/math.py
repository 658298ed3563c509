"""`tf.math` (TF1): the engine's `tapeflow.math`, graph-aware, with TF1 reduction arguments."""

from tapeflow import math as _m
from tapeflow.compat.v1.array_ops import (  # noqa: F401
    argmax,
    argmin,
    count_nonzero,
    floormod,
    log,
    log1p,
    reciprocal,
    reduce_all,
    reduce_any,
    reduce_logsumexp,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
    squared_difference,
)
from tapeflow.compat.v1.lift import graph_function as _g

abs = _g(_m.abs)
add = _g(_m.add)
add_n = _g(_m.add_n)
ceil = _g(_m.ceil)
cos = _g(_m.cos)
cumprod = _g(_m.cumprod)
cumsum = _g(_m.cumsum)
div_no_nan = _g(_m.div_no_nan)
divide = _g(_m.divide)
divide_no_nan = _g(_m.divide_no_nan)
equal = _g(_m.equal)
erf = _g(_m.erf)
exp = _g(_m.exp)
expm1 = _g(_m.expm1)
floor = _g(_m.floor)
floordiv = _g(_m.floordiv)
greater = _g(_m.greater)
greater_equal = _g(_m.greater_equal)
is_finite = _g(_m.is_finite)
is_inf = _g(_m.is_inf)
is_nan = _g(_m.is_nan)
l2_normalize = _g(_m.l2_normalize)
less = _g(_m.less)
less_equal = _g(_m.less_equal)
log_sigmoid = _g(_m.log_sigmoid)
log_softmax = _g(_m.log_softmax)
logical_and = _g(_m.logical_and)
logical_not = _g(_m.logical_not)
logical_or = _g(_m.logical_or)
logical_xor = _g(_m.logical_xor)
maximum = _g(_m.maximum)
minimum = _g(_m.minimum)
mod = _g(_m.mod)
multiply = _g(_m.multiply)
negative = _g(_m.negative)
not_equal = _g(_m.not_equal)
pow = _g(_m.pow)
reduce_euclidean_norm = _g(_m.reduce_euclidean_norm)
reduce_std = _g(_m.reduce_std)
reduce_variance = _g(_m.reduce_variance)
round = _g(_m.round)
rsqrt = _g(_m.rsqrt)
sigmoid = _g(_m.sigmoid)
sign = _g(_m.sign)
sin = _g(_m.sin)
softmax = _g(_m.softmax)
softplus = _g(_m.softplus)
sqrt = _g(_m.sqrt)
square = _g(_m.square)
subtract = _g(_m.subtract)
tan = _g(_m.tan)
tanh = _g(_m.tanh)
top_k = _g(_m.top_k)
truediv = _g(_m.truediv)


def __getattr__(name: str) -> object:
    # TF 1 names that are TF 2 objects (the generated table compat/v1/v2_names.py), on first use.
    from tapeflow.compat.v1.v2_alias import lookup

    return lookup("math", name)
