"""`tf.random.experimental`: the Generator API and stateless seed helpers under TF's names."""

# ruff: noqa: F401
from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
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


def index_shuffle(index: Any, seed: Any, max_index: Any) -> Tensor:
    """The position of `index` under a seeded permutation of 0..max_index (not TF's permutation)."""
    from tapeflow.ops import elementwise as ew

    idx = ew.unary_operand(index, "index_shuffle")
    s = backend.to_numpy(seed._value) if isinstance(seed, Tensor) else np.asarray(seed)
    perm = np.random.default_rng([int(v) & 0xFFFFFFFF for v in s.reshape(-1)]).permutation(int(max_index) + 1)
    return Tensor(backend.asarray(perm[backend.to_numpy(idx._value)].astype(idx.dtype._np), None,
                                  backend.get_xp(idx._value)))
