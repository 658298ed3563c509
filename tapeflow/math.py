"""`tf.math`: elementwise math, reductions and comparisons."""

from tapeflow.ops.elementwise import (  # noqa: F401
    abs, add, add_n, ceil, cos, divide, divide_no_nan, div_no_nan, equal, erf, exp, expm1, floor,
    floordiv, floormod, greater, greater_equal, is_finite, is_inf, is_nan, less, less_equal, log,
    log1p, logical_and, logical_not, logical_or, logical_xor, maximum, minimum, mod, multiply,
    negative, not_equal, pow, reciprocal, round, rsqrt, sigmoid, sign, sin, sqrt, square,
    squared_difference, subtract, tan, tanh, truediv,
)
from tapeflow.ops.reduce import (  # noqa: F401
    argmax, argmin, count_nonzero, cumprod, cumsum, reduce_all, reduce_any, reduce_euclidean_norm,
    reduce_logsumexp, reduce_max, reduce_mean, reduce_min, reduce_prod, reduce_std, reduce_sum,
    reduce_variance,
)
from tapeflow.ops.movement import top_k  # noqa: F401
from tapeflow.nn import l2_normalize, log_sigmoid, softplus  # noqa: F401
from tapeflow.ops.nn import log_softmax, softmax  # noqa: F401

sigmoid = sigmoid

# tf.math ops that take RaggedTensor / SparseTensor arguments (the one dispatch hook).
from tapeflow import dispatch as _dispatch  # noqa: E402

_dispatch.wrap_namespace(globals())
