"""`tf.sparse`: SparseTensor conversions, structure ops and arithmetic."""

from tapeflow.sparse.cross import cross, cross_hashed  # noqa: F401
from tapeflow.sparse.math_ops import (  # noqa: F401
    add, bincount, maximum, minimum, reduce_max, reduce_sum, sampled_addmm, segment_mean,
    segment_sqrt_n, segment_sum, softmax, sparse_dense_matmul,
)
from tapeflow.sparse.ops import (  # noqa: F401
    concat, expand_dims, eye, fill_empty_rows, from_dense, map_values, mask, reorder, reset_shape,
    reshape, retain, slice, split, to_dense, to_indicator, transpose,
)
from tapeflow.sparse.sparse_tensor import SparseTensor, SparseTensorSpec  # noqa: F401
from tapeflow.tracing.composite_calls import lift_module_functions

# Inside tf.function, a call on graph tensors (or SparseTensors of them) is one node each.
lift_module_functions(globals(), ("cross", "cross_hashed", "add", "bincount", "maximum", "minimum",
                                  "reduce_max", "reduce_sum", "sampled_addmm", "segment_mean",
                                  "segment_sqrt_n", "segment_sum", "softmax", "sparse_dense_matmul",
                                  "concat", "expand_dims", "eye", "fill_empty_rows", "from_dense",
                                  "mask", "reorder", "reset_shape", "reshape", "retain", "slice",
                                  "split", "to_dense", "to_indicator", "transpose"), "tf.sparse")
del lift_module_functions
