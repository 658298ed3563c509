"""`tf.random`: seeded random tensors and generators."""

from tapeflow.ops.random import (  # noqa: F401
    Generator,
    categorical,
    get_global_generator,
    normal,
    set_seed,
    shuffle,
    truncated_normal,
    uniform,
)
