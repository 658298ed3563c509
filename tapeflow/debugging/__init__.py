"""`tf.debugging`: run-time assertions on tensor values, dtypes and shapes, and numeric checks.

Value assertions raise `tf.errors.InvalidArgumentError` (eagerly, or each time a traced
`tf.function` runs); static dtype/shape assertions raise `TypeError`/`ValueError` at once, as TF.
"""

from tapeflow.debugging.asserts import (  # noqa: F401
    Assert, assert_all_finite, assert_equal, assert_greater, assert_greater_equal, assert_integer,
    assert_less, assert_less_equal, assert_near, assert_negative, assert_non_negative,
    assert_non_positive, assert_none_equal, assert_positive, assert_proper_iterable, assert_rank,
    assert_rank_at_least, assert_rank_in, assert_same_float_dtype, assert_scalar, assert_shapes,
    assert_type, is_numeric_tensor,
)
from tapeflow.debugging.numerics import (  # noqa: F401
    check_numerics, disable_check_numerics, disable_traceback_filtering, enable_check_numerics,
    enable_traceback_filtering, get_log_device_placement, is_traceback_filtering_enabled,
    set_log_device_placement,
)
from tapeflow.debugging import experimental  # noqa: F401
