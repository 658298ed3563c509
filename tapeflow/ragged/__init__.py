"""`tf.ragged`: RaggedTensor factories and ops (the class itself is `tf.RaggedTensor`)."""

from tapeflow.ragged.functions import (  # noqa: F401
    boolean_mask, constant, cross, cross_hashed, map_flat_values, range, row_splits_to_segment_ids,
    segment_ids_to_row_splits, stack, stack_dynamic_partitions,
)
from tapeflow.ragged.ragged_tensor import RaggedTensor  # noqa: F401
from tapeflow.ragged.spec import RaggedTensorSpec  # noqa: F401
from tapeflow.tracing.composite_calls import lift_module_functions

# Inside tf.function, a call on graph tensors (or RaggedTensors of them) is one node each.
lift_module_functions(globals(), ("boolean_mask", "cross", "cross_hashed", "range",
                                  "row_splits_to_segment_ids", "segment_ids_to_row_splits", "stack",
                                  "stack_dynamic_partitions"), "tf.ragged")
del lift_module_functions
