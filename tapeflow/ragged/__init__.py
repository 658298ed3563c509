"""`tf.ragged`: RaggedTensor factories and ops (the class itself is `tf.RaggedTensor`)."""

from tapeflow.ragged.functions import (  # noqa: F401
    boolean_mask, constant, cross, cross_hashed, map_flat_values, range, row_splits_to_segment_ids,
    segment_ids_to_row_splits, stack, stack_dynamic_partitions,
)
from tapeflow.ragged.ragged_tensor import RaggedTensor  # noqa: F401
from tapeflow.ragged.spec import RaggedTensorSpec  # noqa: F401
