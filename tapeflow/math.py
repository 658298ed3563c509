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
from tapeflow.math_extra import (  # noqa: F401, E402
    accumulate_n, acos, acosh, angle, approx_max_k, approx_min_k, asin, asinh, atan, atan2, atanh,
    bessel_i0, bessel_i0e, bessel_i1, bessel_i1e, betainc, bincount, confusion_matrix, conj, cosh,
    cumulative_logsumexp, digamma, erfc, erfcinv, erfinv, igamma, igammac, imag, in_top_k,
    invert_permutation, is_non_decreasing, is_strictly_increasing, lbeta, lgamma, multiply_no_nan,
    ndtri, nextafter, polygamma, polyval, real, reciprocal_no_nan, rint, scalar_mul, segment_max,
    segment_mean, segment_min, segment_prod, segment_sum, sinh, unsorted_segment_max,
    unsorted_segment_mean, unsorted_segment_min, unsorted_segment_prod, unsorted_segment_sqrt_n,
    unsorted_segment_sum, truncatediv, truncatemod, xdivy, xlog1py, xlogy, zero_fraction, zeta,
)
from tapeflow.nn import softsign  # noqa: F401, E402
from tapeflow.math_sobol import sobol_sample  # noqa: F401, E402
from tapeflow import math_special as special  # noqa: F401, E402

# tf.math ops that take RaggedTensor / SparseTensor arguments (the one dispatch hook).
from tapeflow import dispatch as _dispatch  # noqa: E402

_dispatch.wrap_namespace(globals())
