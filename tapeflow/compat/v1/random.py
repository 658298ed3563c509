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


def __getattr__(name: str) -> object:
    # TF 1 names that are TF 2 objects (the generated table compat/v1/v2_names.py), on first use.
    from tapeflow.compat.v1.v2_alias import lookup

    return lookup("random", name)
