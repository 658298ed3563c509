"""`tf.random`: seeded random tensors, TF's counter-based stateless ops and Generator."""

# ruff: noqa: F401
from __future__ import annotations

from typing import Any as _Any

from tapeflow import random_experimental as experimental
from tapeflow.ops.random import categorical, normal, set_seed, shuffle, truncated_normal, uniform
from tapeflow.random_samplers import (
    all_candidate_sampler,
    fixed_unigram_candidate_sampler,
    gamma,
    learned_unigram_candidate_sampler,
    log_uniform_candidate_sampler,
    poisson,
    uniform_candidate_sampler,
)
from tapeflow.random_stateless import (
    Algorithm,
    Generator,
    create_rng_state,
    fold_in,
    get_global_generator,
    set_global_generator,
    split,
    stateless_binomial,
    stateless_categorical,
    stateless_gamma,
    stateless_normal,
    stateless_parameterized_truncated_normal,
    stateless_poisson,
    stateless_truncated_normal,
    stateless_uniform,
)
