"""`tf.random.experimental`: the Generator API and stateless seed helpers under TF's names."""

# ruff: noqa: F401
from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.random_index_shuffle import index_shuffle
from tapeflow.random_stateless import Algorithm, Generator, create_rng_state, get_global_generator, set_global_generator
from tapeflow.random_stateless import fold_in as stateless_fold_in
from tapeflow.random_stateless import split as stateless_split
from tapeflow.tensor import Tensor


def stateless_shuffle(value: Any, seed: Any, alg: Any = "auto_select", name: Any = None) -> Tensor:
    """`value` shuffled along its first axis by a permutation determined by `seed`."""
    from tapeflow.ops import movement as mv
    from tapeflow.ops.elementwise import unary_operand
    from tapeflow.random_stateless import stateless_uniform

    x = unary_operand(value, "stateless_shuffle")
    n = x.shape[0]
    keys = backend.to_numpy(stateless_uniform([n], seed, minval=None, maxval=None, dtype="int64", alg=alg)._value)
    return mv.gather(x, np.argsort(keys, kind="stable"))
