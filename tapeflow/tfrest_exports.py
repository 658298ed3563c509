"""The rest of the top-level `tf.*` names, gathered from their modules (imported with `*` by
`tapeflow/__init__.py`, so that file stays a short list)."""

# ruff: noqa: F401
from tapeflow.array_extra import (
    approx_top_k,
    batch_to_space,
    bitcast,
    broadcast_dynamic_shape,
    broadcast_static_shape,
    dynamic_partition,
    dynamic_stitch,
    ensure_shape,
    guarantee_const,
    histogram_fixed_width,
    histogram_fixed_width_bins,
    identity_n,
    meshgrid,
    parallel_stack,
    required_space_to_batch_paddings,
    reverse_sequence,
    roll,
    scatter_nd,
    searchsorted,
    sequence_mask,
    shape_n,
    space_to_batch,
    space_to_batch_nd,
    tensor_scatter_nd_add,
    tensor_scatter_nd_max,
    tensor_scatter_nd_min,
    tensor_scatter_nd_sub,
    tensor_scatter_nd_update,
    unique,
    unique_with_counts,
    unravel_index,
)
from tapeflow.debugging.asserts import Assert, assert_equal, assert_greater, assert_less, assert_rank
from tapeflow.framework_extra import (
    AggregationMethod,
    DeviceSpec,
    IndexedSlices,
    IndexedSlicesSpec,
    NoneTensorSpec,
    RegisterGradient,
    TypeSpec,
    VariableAggregation,
    VariableSynchronization,
    control_dependencies,
    get_current_name_scope,
    get_logger,
    get_static_value,
    grad_pass_through,
    group,
    inside_function,
    is_symbolic_tensor,
    make_ndarray,
    no_gradient,
    no_op,
    recompute_grad,
    timestamp,
    tuple,
    type_spec_from_value,
)
from tapeflow.functional_ops import foldl, foldr, map_fn, scan, vectorized_map
from tapeflow.linalg_extra import eig, eigvals
from tapeflow.linalg_extra import sqrtm as matrix_square_root
from tapeflow.math_extra import (
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    cosh,
    scalar_mul,
    sinh,
    truncatediv,
    truncatemod,
)
from tapeflow.ops.complex import complex
from tapeflow.ops.elementwise import tan
from tapeflow.random_index_shuffle import random_index_shuffle
from tapeflow.runtime_extras import (
    check_pinned,
    graph_util,
    import_graph_def,
    load_library,
    load_op_library,
    nondifferentiable_batch_function,
    sysconfig,
    variable_creator_scope,
)
from tapeflow.signal.fft import fftnd, ifftnd, irfftnd, rfftnd
from tapeflow.toplevel_more import (
    CriticalSection,
    OptionalSpec,
    TensorArraySpec,
    conv,
    conv2d_backprop_filter_v2,
    conv2d_backprop_input_v2,
    extract_volume_patches,
    make_tensor_proto,
    ragged_fill_empty_rows,
    ragged_fill_empty_rows_grad,
    register_tensor_conversion_function,
)

__all__ = [n for n in dir() if not n.startswith("_")]
