"""Stateful gamma/Poisson sampling and the candidate samplers of `tf.random` (for sampled
losses); drawn from the global-seed streams of `ops.random` (not TF's bit streams)."""

from __future__ import annotations

import collections
import math
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.ops.random import _host_rng, _shape
from tapeflow.tensor import Tensor, convert_to_tensor

_Sampled = collections.namedtuple("CandidateSamplerOutput",
                                  ["sampled_candidates", "true_expected_count", "sampled_expected_count"])


def _np(v: Any) -> np.ndarray:
    return backend.to_numpy(v._value) if isinstance(v, Tensor) else np.asarray(v)


def _out(a: np.ndarray) -> Tensor:
    return Tensor(backend.asarray(a, None, backend.default_xp()))


def gamma(shape: Any, alpha: Any, beta: Any = None, dtype: Any = _dt.float32, seed: Any = None,
          name: Any = None) -> Tensor:
    """Gamma(alpha, beta) samples of shape shape + broadcast(alpha, beta).shape."""
    a = _np(alpha).astype(np.float64)
    b = np.ones_like(a) if beta is None else _np(beta).astype(np.float64)
    full = _shape(shape) + np.broadcast_shapes(a.shape, b.shape)
    g = _host_rng(seed).standard_gamma(np.broadcast_to(a, full)) / np.broadcast_to(b, full)
    return _out(g.astype(_dt.as_dtype(dtype)._np))


def poisson(shape: Any, lam: Any, dtype: Any = _dt.float32, seed: Any = None, name: Any = None) -> Tensor:
    """Poisson(lam) samples of shape shape + lam.shape."""
    lam_v = _np(lam).astype(np.float64)
    full = _shape(shape) + lam_v.shape
    return _out(_host_rng(seed).poisson(np.broadcast_to(lam_v, full)).astype(_dt.as_dtype(dtype)._np))


def _expected(p: np.ndarray, num_tries: float, unique: bool) -> np.ndarray:
    # NOTE: TF's expected count: p * num_sampled, or 1 - (1 - p)^num_tries for unique sampling.
    return -np.expm1(num_tries * np.log1p(-np.minimum(p, 1 - 1e-12))) if unique else p * num_tries


def _sample(probs: np.ndarray, true_classes: Any, num_sampled: int, unique: bool, seed: Any) -> _Sampled:
    rng = _host_rng(seed)
    n = probs.shape[0]
    if unique:
        if num_sampled > n:
            raise ValueError(f"candidate sampler: num_sampled {num_sampled} exceeds range_max {n} with unique=True.")
        picks, tries = [], 0
        seen: set = set()
        while len(picks) < num_sampled:
            c = int(rng.choice(n, p=probs))
            tries += 1
            if c not in seen:
                seen.add(c)
                picks.append(c)
        sampled = np.asarray(picks, np.int64)
        num_tries = float(tries)
    else:
        sampled = rng.choice(n, size=num_sampled, p=probs).astype(np.int64)
        num_tries = float(num_sampled)
    tc = _np(true_classes).astype(np.int64)
    true_count = _expected(probs[tc], num_tries, unique).astype(np.float32)
    sampled_count = _expected(probs[sampled], num_tries, unique).astype(np.float32)
    return _Sampled(convert_to_tensor(sampled), convert_to_tensor(true_count), convert_to_tensor(sampled_count))


def uniform_candidate_sampler(true_classes: Any, num_true: int, num_sampled: int, unique: bool, range_max: int,
                              seed: Any = None, name: Any = None) -> _Sampled:
    """Sample classes uniformly from [0, range_max): (sampled, true expected counts, sampled expected counts)."""
    return _sample(np.full(int(range_max), 1.0 / int(range_max)), true_classes, int(num_sampled), unique, seed)


def log_uniform_candidate_sampler(true_classes: Any, num_true: int, num_sampled: int, unique: bool, range_max: int,
                                  seed: Any = None, name: Any = None) -> _Sampled:
    """Sample classes with Zipf's law P(k) = log((k + 2) / (k + 1)) / log(range_max + 1)."""
    k = np.arange(int(range_max), dtype=np.float64)
    p = np.log((k + 2) / (k + 1)) / math.log(int(range_max) + 1)
    return _sample(p / p.sum(), true_classes, int(num_sampled), unique, seed)


def fixed_unigram_candidate_sampler(true_classes: Any, num_true: int, num_sampled: int, unique: bool, range_max: int,
                                    vocab_file: str = "", distortion: float = 1.0, num_reserved_ids: int = 0,
                                    num_shards: int = 1, shard: int = 0, unigrams: Any = (), seed: Any = None,
                                    name: Any = None) -> _Sampled:
    """Sample classes by the given `unigrams` counts raised to `distortion` (a vocab_file is not read)."""
    if vocab_file:
        raise ValueError("fixed_unigram_candidate_sampler: pass the counts as `unigrams`; Tapeflow does not read "
                         "a vocab_file.")
    u = np.asarray(list(unigrams), np.float64)
    if u.shape[0] + int(num_reserved_ids) != int(range_max):
        raise ValueError(f"fixed_unigram_candidate_sampler: len(unigrams) + num_reserved_ids must equal range_max "
                         f"{range_max}, received {u.shape[0]} + {num_reserved_ids}.")
    p = np.concatenate([np.zeros(int(num_reserved_ids)), u ** float(distortion)])
    return _sample(p / p.sum(), true_classes, int(num_sampled), unique, seed)


def learned_unigram_candidate_sampler(true_classes: Any, num_true: int, num_sampled: int, unique: bool,
                                      range_max: int, seed: Any = None, name: Any = None) -> _Sampled:
    """Sample by a unigram distribution learned from the true classes seen so far (uniform before any)."""
    tc = _np(true_classes).astype(np.int64).reshape(-1)
    _LEARNED.setdefault(int(range_max), np.ones(int(range_max)))
    counts = _LEARNED[int(range_max)]
    np.add.at(counts, tc, 1.0)
    return _sample(counts / counts.sum(), true_classes, int(num_sampled), unique, seed)


_LEARNED: dict = {}


def all_candidate_sampler(true_classes: Any, num_true: int, num_sampled: int, unique: bool, seed: Any = None,
                          name: Any = None) -> _Sampled:
    """All classes 0..num_sampled-1 as the 'sample', each with expected count 1."""
    tc = _np(true_classes)
    return _Sampled(convert_to_tensor(np.arange(int(num_sampled), dtype=np.int64)),
                    convert_to_tensor(np.ones(tc.shape, np.float32)),
                    convert_to_tensor(np.ones(int(num_sampled), np.float32)))
