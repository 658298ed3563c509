"""`tf.random` (TF1): samples drawn anew each time the graph runs."""

from tapeflow.compat.v1.array_ops import (  # noqa: F401
    multinomial,
    random_categorical,
    random_normal,
    random_shuffle,
    random_uniform,
    set_random_seed,
    truncated_normal,
)

normal = random_normal
uniform = random_uniform
shuffle = random_shuffle
categorical = random_categorical
set_seed = set_random_seed
