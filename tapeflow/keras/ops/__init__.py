"""`keras.ops`: Keras 3's backend-agnostic ops on Tapeflow's engine (the public list).

`from tapeflow.keras import ops` gives the NumPy-style functions (`ops.numpy`), `ops.nn`,
`ops.image`, `ops.linalg`, and the core and math functions, each differentiable under
`tf.GradientTape` and on the device of its inputs. Result dtypes follow Keras's promotion
rules (`keras.backend.result_type`).

Example:
    >>> from tapeflow.keras import ops
    >>> ops.add(ops.arange(3), 1.5)          # int32 + a Python float -> float32
    >>> ops.image.resize(images, (224, 224))
    >>> carry, ys = ops.scan(lambda c, x: (c + x, c), 0.0, ops.arange(4.0))
"""

from tapeflow.keras.ops import image, linalg, nn, numpy  # noqa: F401
from tapeflow.keras.ops.core import (  # noqa: F401
    associative_scan, cast, cond, convert_to_numpy, convert_to_tensor, custom_gradient, dtype,
    fori_loop, is_tensor, map, saturate_cast, scan, scatter, scatter_update, shape, slice,
    slice_update, stop_gradient, switch, unstack, vectorize, vectorized_map, while_loop,
)
from tapeflow.keras.ops.einops import rearrange  # noqa: F401
from tapeflow.keras.ops.linalg import (  # noqa: F401
    cholesky, cholesky_inverse, det, eig, eigh, inv, jvp, logdet, lstsq, lu_factor, matrix_rank,
    norm, pinv, qr, slogdet, solve, solve_triangular, svd,
)
from tapeflow.keras.ops.math import (  # noqa: F401
    cdist, erf, erfc, erfinv, extract_sequences, fft, fft2, ifft2, in_top_k, irfft, istft,
    logsumexp, rfft, rsqrt, segment_max, segment_min, segment_prod, segment_sum, stft, top_k,
    view_as_complex, view_as_real,
)
from tapeflow.keras.ops.nn import *  # noqa: F401,F403
from tapeflow.keras.ops.numpy import *  # noqa: F401,F403
