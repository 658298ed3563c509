"""TF's counter-based random numbers: the `tf.random.stateless_*` family, `fold_in`/`split`,
`create_rng_state`, and `tf.random.Generator` (Philox state [counter_lo, counter_hi, key]).

Uniform, normal, truncated-normal, full-range and bounded integer samples, categorical draws
and Generator streams reproduce TF's Philox kernels (`tapeflow.philox`), so the same seed gives
TF's numbers (float32 normals to within an ulp). The gamma, Poisson and binomial samplers and
the parameterized truncated normal are statistically right but not TF's bit stream.
"""

from __future__ import annotations

import enum
import os
import weakref
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow import philox as px
from tapeflow.ops import elementwise as ew
from tapeflow.tensor import Tensor, convert_to_tensor
from tapeflow.tracking import AutoTrackable


class Algorithm(enum.Enum):
    """The RNG algorithms of `tf.random` (Philox is the one Tapeflow implements)."""

    PHILOX = 1
    THREEFRY = 2
    AUTO_SELECT = 3


def _check_alg(alg: Any) -> None:
    if alg is None:
        return
    name = alg.name.lower() if isinstance(alg, Algorithm) else str(alg).lower()
    if name in ("1", "3"):
        return
    if name not in ("philox", "auto_select"):
        raise ValueError(f"tf.random: algorithm {alg!r} is not supported; Tapeflow implements 'philox' "
                         "(and 'auto_select', which is Philox on CPU as in TF).")


def _shape(shape: Any) -> tuple:
    if isinstance(shape, Tensor):
        shape = backend.to_numpy(shape._value).tolist()
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(d) for d in shape)


def _seed_pair(seed: Any, op: str) -> tuple:
    s = backend.to_numpy(seed._value) if isinstance(seed, Tensor) else np.asarray(seed)
    if s.shape != (2,) or s.dtype.kind not in "iu":
        raise ValueError(f"{op}: seed must be an integer tensor of shape [2], received {s.tolist()!r}.")
    return int(s[0]), int(s[1])


def _out(array: np.ndarray) -> Tensor:
    return Tensor(backend.asarray(array, None, backend.default_xp()))


# -- the fills of TF's kernels, from a (key, counter) stream ---------------------------------

def fill_uniform(key: tuple, counter: tuple, n: int, np_dtype: Any) -> np.ndarray:
    """n samples in [0, 1) of float16/32/64 as TF's UniformDistribution."""
    d = np.dtype(np_dtype)
    if d == np.float64:
        w = px.words(key, counter, 2 * n)
        return px.uint64_to_double(w[0::2], w[1::2])
    w = px.words(key, counter, n)
    if d == np.float16:
        return px.uint16_to_half(w)
    if d == np.float32:
        return px.uint32_to_float(w)
    raise ValueError(f"uniform: float dtype must be float16, float32 or float64, received {d.name}.")


def fill_normal(key: tuple, counter: tuple, n: int, np_dtype: Any) -> np.ndarray:
    """n standard normals as TF's NormalDistribution (Box-Muller, pairs in order)."""
    d = np.dtype(np_dtype)
    if d == np.float64:
        m = n + n % 2
        w = px.words(key, counter, 2 * m)
        a, b = px.box_muller_double(w[0::4], w[1::4], w[2::4], w[3::4])
    elif d in (np.float32, np.float16):
        m = n + n % 2
        w = px.words(key, counter, m)
        a, b = px.box_muller_float(w[0::2], w[1::2])
    else:
        raise ValueError(f"normal: dtype must be float16, float32 or float64, received {d.name}.")
    return np.stack([a, b], -1).reshape(-1)[:n].astype(d)


def fill_truncated_normal(key: tuple, counter: tuple, n: int, np_dtype: Any) -> np.ndarray:
    """n normals within 2 standard deviations as TF's TruncatedNormalDistribution: each group
    of outputs rejects from its own region of 64 Philox blocks per output."""
    d = np.dtype(np_dtype)
    group = 2 if d == np.float64 else 4
    n_groups = -(-n // group)
    out = np.empty((n_groups, group), d)
    blocks_per_try = 2
    todo = np.arange(n_groups)
    while todo.size:
        cand = []
        for g in todo:  # NOTE: one vectorised Philox call per group's region; regions are disjoint
            w = px.blocks(key, px.skip(counter, int(g) * group * 64), blocks_per_try).reshape(-1)
            if d == np.float64:
                a, b = px.box_muller_double(w[0::4], w[1::4], w[2::4], w[3::4])
            else:
                a, b = px.box_muller_float(w[0::2], w[1::2])
            cand.append(np.stack([a, b], -1).reshape(-1))
        cand = np.stack(cand)
        ok = np.abs(cand) < 2.0
        enough = ok.sum(1) >= group
        for row, g in enumerate(todo):
            if enough[row]:
                out[g] = cand[row][ok[row]][:group]
        todo = todo[~enough]
        blocks_per_try *= 4
    return out.reshape(-1)[:n].astype(d)


def fill_int(key: tuple, counter: tuple, n: int, np_dtype: Any, lo: Any, hi: Any) -> np.ndarray:
    """n integers in [lo, hi) as TF's UniformDistribution for ints (sample mod range), or the full
    range of the dtype when lo and hi are None."""
    d = np.dtype(np_dtype)
    wide = d.itemsize == 8
    w = px.words(key, counter, 2 * n if wide else n)
    bits = (w[0::2].astype(np.uint64) | (w[1::2].astype(np.uint64) << np.uint64(32))) if wide else w
    if lo is None:
        return bits.view(np.int64 if d == np.int64 else np.uint64).astype(d) if wide else bits.astype(np.uint32).view(
            np.int32 if d == np.int32 else np.uint32).astype(d)
    span = int(hi) - int(lo)
    if span <= 0:
        raise ValueError(f"uniform: need minval < maxval, received {lo} and {hi}.")
    rem = bits.astype(np.uint64) % np.uint64(span)
    return (rem.astype(object) + int(lo)).astype(d) if wide else (rem.astype(np.int64) + int(lo)).astype(d)


# -- stateless ops -------------------------------------------------------------------------------

def _stream(seed: Any, op: str, alg: Any = None) -> tuple:
    _check_alg(alg)
    return px.key_counter_from_seed(*_seed_pair(seed, op))


def _scalar(v: Any) -> Any:
    return backend.to_numpy(v._value) if isinstance(v, Tensor) else np.asarray(v)


def stateless_uniform(shape: Any, seed: Any, minval: Any = 0, maxval: Any = None, dtype: Any = _dt.float32,
                      name: Any = None, alg: Any = "auto_select") -> Tensor:
    """Uniform samples determined by `seed` (shape [2]): floats in [minval, maxval) (default
    [0, 1)); ints in [minval, maxval), or the whole int range with minval = maxval = None."""
    d = _dt.as_dtype(dtype)
    shp = _shape(shape)
    n = int(np.prod(shp))
    key, ctr = _stream(seed, "stateless_uniform", alg)
    if d.is_integer:
        if (minval is None) != (maxval is None):
            raise ValueError("stateless_uniform: minval and maxval must both be None (full range) or both given "
                             "for integer dtypes.")
        if minval is None:
            return _out(fill_int(key, ctr, n, d._np, None, None).reshape(shp))
        return _out(fill_int(key, ctr, n, d._np, int(_scalar(minval)), int(_scalar(maxval))).reshape(shp))
    if not d.is_floating:
        raise ValueError(f"stateless_uniform: dtype must be floating or integer, received {d.name}.")
    u = fill_uniform(key, ctr, n, d._np).reshape(shp)
    lo = _scalar(0 if minval is None else minval).astype(d._np)
    hi = _scalar(1 if maxval is None else maxval).astype(d._np)
    return _out((u * (hi - lo) + lo).astype(d._np))


def stateless_normal(shape: Any, seed: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = _dt.float32,
                     name: Any = None, alg: Any = "auto_select") -> Tensor:
    """Normal samples determined by `seed`: mean + stddev * N(0, 1)."""
    d = _dt.as_dtype(dtype)
    shp = _shape(shape)
    key, ctr = _stream(seed, "stateless_normal", alg)
    z = fill_normal(key, ctr, int(np.prod(shp)), d._np).reshape(shp)
    return _out((z * _scalar(stddev).astype(d._np) + _scalar(mean).astype(d._np)).astype(d._np))


def stateless_truncated_normal(shape: Any, seed: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = _dt.float32,
                               name: Any = None, alg: Any = "auto_select") -> Tensor:
    """Normal samples within two standard deviations of the mean, determined by `seed`."""
    d = _dt.as_dtype(dtype)
    shp = _shape(shape)
    key, ctr = _stream(seed, "stateless_truncated_normal", alg)
    z = fill_truncated_normal(key, ctr, int(np.prod(shp)), d._np).reshape(shp)
    return _out((z * _scalar(stddev).astype(d._np) + _scalar(mean).astype(d._np)).astype(d._np))


def stateless_categorical(logits: Any, num_samples: int, seed: Any, dtype: Any = _dt.int64, name: Any = None) -> Tensor:
    """Class indices drawn from each row of `logits` (batch, classes), determined by `seed`
    (TF's CPU multinomial: one double per sample from the row's Philox region)."""
    lg = backend.to_numpy(ew.unary_operand(logits, "stateless_categorical")._value).astype(np.float64)
    if lg.ndim != 2:
        raise ValueError(f"stateless_categorical: logits must be 2-D, received shape {lg.shape}.")
    key, ctr = _stream(seed, "stateless_categorical")
    b, k = lg.shape
    s = int(num_samples)
    out = np.empty((b, s), _dt.as_dtype(dtype)._np)
    w = px.words(key, ctr, 2 * s * b)
    # NOTE: rows are consumed in order from one stream (TF's single-shard order for small inputs).
    u = px.uint64_to_double(w[0::2], w[1::2]).reshape(b, s)
    finite = np.isfinite(lg)
    mx = np.where(finite, lg, -np.inf).max(1, keepdims=True)
    cdf = np.cumsum(np.where(finite, np.exp(lg - mx), 0.0), 1)
    for r in range(b):
        out[r] = np.searchsorted(cdf[r], u[r] * cdf[r, -1], side="right")
    return _out(out)


def _np_rng(seed: Any, op: str) -> np.random.Generator:
    key, ctr = _stream(seed, op)
    return np.random.default_rng([key[0], key[1], ctr[2], ctr[3]])


def stateless_gamma(shape: Any, seed: Any, alpha: Any, beta: Any = None, dtype: Any = _dt.float32,
                    name: Any = None) -> Tensor:
    """Gamma(alpha, beta) samples determined by `seed` (not TF's bit stream), shape `shape`
    broadcast with alpha/beta."""
    d = _dt.as_dtype(dtype)
    a = _scalar(alpha).astype(np.float64)
    b = np.ones_like(a) if beta is None else _scalar(beta).astype(np.float64)
    shp = _shape(shape)
    g = _np_rng(seed, "stateless_gamma").standard_gamma(np.broadcast_to(a, shp))
    return _out((g / np.broadcast_to(b, shp)).astype(d._np))


def stateless_poisson(shape: Any, seed: Any, lam: Any, dtype: Any = _dt.int32, name: Any = None) -> Tensor:
    """Poisson(lam) samples determined by `seed` (not TF's bit stream)."""
    shp = _shape(shape)
    lam_v = np.broadcast_to(_scalar(lam).astype(np.float64), shp)
    return _out(_np_rng(seed, "stateless_poisson").poisson(lam_v).astype(_dt.as_dtype(dtype)._np))


def stateless_binomial(shape: Any, seed: Any, counts: Any, probs: Any, output_dtype: Any = _dt.int32,
                       name: Any = None) -> Tensor:
    """Binomial(counts, probs) samples determined by `seed` (not TF's bit stream)."""
    shp = _shape(shape)
    c = np.broadcast_to(_scalar(counts).astype(np.int64), shp)
    p = np.broadcast_to(_scalar(probs).astype(np.float64), shp)
    return _out(_np_rng(seed, "stateless_binomial").binomial(c, p).astype(_dt.as_dtype(output_dtype)._np))


def stateless_parameterized_truncated_normal(shape: Any, seed: Any, means: Any = 0.0, stddevs: Any = 1.0,
                                             minvals: Any = -2.0, maxvals: Any = 2.0, name: Any = None) -> Tensor:
    """Normal(means, stddevs) samples restricted to [minvals, maxvals], determined by `seed`
    (inverse-CDF sampling; not TF's bit stream)."""
    from math import sqrt

    shp = _shape(shape)
    m, s, lo, hi = (np.broadcast_to(_scalar(v).astype(np.float64), shp) for v in (means, stddevs, minvals, maxvals))
    erf = np.vectorize(__import__("math").erf)
    a, b = (lo - m) / s, (hi - m) / s
    ca, cb = 0.5 * (1 + erf(a / sqrt(2))), 0.5 * (1 + erf(b / sqrt(2)))
    u = _np_rng(seed, "stateless_parameterized_truncated_normal").uniform(size=shp)
    from tapeflow.ops.extra import _erfinv_array

    z = sqrt(2) * _erfinv_array(2 * (ca + u * (cb - ca)) - 1)
    dt = _scalar(means).dtype if np.asarray(_scalar(means)).dtype.kind == "f" else np.float32
    return _out(np.clip(m + s * z, lo, hi).astype(dt))


def split(seed: Any, num: int = 2, alg: Any = "auto_select") -> Tensor:
    """`num` new seeds (num, 2) derived from `seed`, of the seed's dtype."""
    s = seed if isinstance(seed, Tensor) else convert_to_tensor(seed)
    return stateless_uniform([int(num), 2], s, minval=None, maxval=None, dtype=s.dtype, alg=alg)


def fold_in(seed: Any, data: Any, alg: Any = "auto_select") -> Tensor:
    """A new seed [f(seed), data] that mixes the integer `data` into `seed`."""
    dt = data if isinstance(data, Tensor) else convert_to_tensor(data)
    first = stateless_uniform([], seed, minval=None, maxval=None, dtype=dt.dtype, alg=alg)
    return _out(np.stack([backend.to_numpy(first._value), backend.to_numpy(dt._value)]))


def create_rng_state(seed: Any, alg: Any) -> np.ndarray:
    """The int64 Philox state [counter_lo, counter_hi, key] for an int seed (split into 64-bit
    words, low first) or a list of up to 3 words (right-aligned)."""
    _check_alg(alg)
    if isinstance(seed, (int, np.integer)):
        v = int(seed)
        words = []
        for _ in range(3):
            words.append(v & 0xFFFFFFFFFFFFFFFF)
            v >>= 64
        return np.asarray(words, np.uint64).view(np.int64)
    arr = np.asarray(backend.to_numpy(seed._value) if isinstance(seed, Tensor) else seed).astype(np.int64).reshape(-1)
    if arr.size > 3:
        raise ValueError(f"create_rng_state: a seed list has at most 3 words, received {arr.size}.")
    return np.concatenate([np.zeros(3 - arr.size, np.int64), arr])


# -- tf.random.Generator ---------------------------------------------------------------------------

# Generators created under a tf.distribute strategy (TF's `_distribution_strategy`): inside that
# strategy's `run`, each replica draws with the key hashed with its replica id, so that replicas
# get different streams from the same (mirrored) state. id(state variable) -> strategy.
_strategy_of_state: dict = {}


def _note_strategy(state: Any) -> None:
    from tapeflow.distribute import context

    if not context.has_strategy():
        return
    strategy = context.get_strategy()
    key = id(state)
    _strategy_of_state[key] = strategy
    weakref.finalize(state, _strategy_of_state.pop, key, None)
    strategy._rng_states[key] = state


def _replica_key(state: Any, key: tuple) -> tuple:
    """`key`, or inside a replica context of the generator's strategy the key hashed with the
    replica id (TF: stateless_random_uniform_full_int_v2 of the key at counter [replica, 0])."""
    strategy = _strategy_of_state.get(id(state))
    if strategy is None:
        return key
    from tapeflow.distribute import context

    replica = context._state.replica
    if not replica or replica[-1].strategy is not strategy:
        return key
    rid = replica[-1]._replica_id
    hashed = int(fill_int(key, (rid & 0xFFFFFFFF, rid >> 32, 0, 0), 1, np.uint64, None, None)[0])
    return (hashed & 0xFFFFFFFF, hashed >> 32)


def _draw(state: Any, method: str, *args: Any, **kwargs: Any) -> Any:
    """One draw of `Generator.<method>` on the generator whose state variable is `state`.

    A module-level function of the state variable so that a tf.function lifts it into one node
    run on every call (advancing the variable then, not at trace time) that a SavedModel can name.
    """
    gen = Generator.__new__(Generator)
    object.__setattr__(gen, "_state", state)
    object.__setattr__(gen, "algorithm", Algorithm.PHILOX.value)
    return getattr(Generator, "_eager_" + method)(gen, *args, **kwargs)


def _register_draw() -> None:
    from tapeflow.tracing import func_graph

    func_graph._register_lifted(_draw, _draw)


class _PreservedState:
    """Context manager restoring a state variable after the shape probe of a trace."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def __enter__(self) -> None:
        self.saved = backend.to_numpy(self.state._value).copy()

    def __exit__(self, *exc: Any) -> None:
        self.state.assign(self.saved)


def _sampler(method: str) -> Any:
    def sample(self: Generator, *args: Any, **kwargs: Any) -> Any:
        from tapeflow.tracing import func_graph, state

        if state.graphs and state.graphs[-1] is not None:
            def probe(*a: Any, **k: Any) -> Any:
                with _PreservedState(self._state):
                    return _draw(*a, **k)

            return func_graph.lift_call(_draw, (self._state, method, *args), kwargs, name=f"Generator.{method}",
                                        stateful=True, probe=probe)
        return getattr(Generator, "_eager_" + method)(self, *args, **kwargs)

    eager = getattr(Generator, "_eager_" + method)
    sample.__name__ = method
    sample.__qualname__ = f"Generator.{method}"
    sample.__doc__ = eager.__doc__
    return sample


class Generator(AutoTrackable):
    """A Philox random-number generator with its own state, as `tf.random.Generator`: the same
    seed gives TF's numbers; every draw advances the counter by 256 blocks per output element.

    As in TF it is trackable: its state variable is checkpointed (edge `_state_var`) and saved in
    a SavedModel; draws inside a tf.function advance the state on every call.
    """

    def __init__(self, copy_from: Any = None, state: Any = None, alg: Any = None) -> None:
        from tapeflow.tensor import Variable

        _check_alg(alg)
        if copy_from is not None:
            st = backend.to_numpy(copy_from.state._value).copy()
        elif state is not None:
            st = np.asarray(backend.to_numpy(state._value) if isinstance(state, Tensor) else state, np.int64)
            if st.shape != (3,):
                raise ValueError(f"Generator: a Philox state has 3 int64 words, received shape {st.shape}.")
        else:
            raise ValueError("Generator: give copy_from or state (or use from_seed / from_non_deterministic_state).")
        self._state = Variable(st.astype(np.int64), trainable=False, name="rng_state")
        self.algorithm = Algorithm.PHILOX.value
        _note_strategy(self._state)

    def _checkpoint_children(self) -> list:
        return [("_state_var", self._state)]

    @classmethod
    def from_seed(cls, seed: Any, alg: Any = None) -> Generator:
        """A generator whose state comes from `seed` (`create_rng_state`)."""
        return cls(state=create_rng_state(seed, alg or "philox"), alg=alg)

    @classmethod
    def from_non_deterministic_state(cls, alg: Any = None) -> Generator:
        """A generator seeded from the operating system's entropy."""
        return cls.from_seed(int.from_bytes(os.urandom(8), "little") >> 1, alg)

    @classmethod
    def from_state(cls, state: Any, alg: Any) -> Generator:
        """A generator with the given state vector."""
        return cls(state=state, alg=alg)

    @classmethod
    def from_key_counter(cls, key: Any, counter: Any, alg: Any) -> Generator:
        """A generator from a Philox key (1 int64) and counter (2 int64)."""
        k = np.asarray(key, np.int64).reshape(-1)
        c = np.asarray(counter, np.int64).reshape(-1)
        return cls(state=np.concatenate([c, k]), alg=alg)

    @property
    def state(self) -> Any:
        """The state variable [counter_lo, counter_hi, key] (int64)."""
        return self._state

    @property
    def key(self) -> Tensor:
        return convert_to_tensor(backend.to_numpy(self._state._value)[2:])

    def reset(self, state: Any) -> None:
        """Set the state vector."""
        self._state.assign(np.asarray(state, np.int64))

    def reset_from_seed(self, seed: Any) -> None:
        """Reset the state as `from_seed(seed)` would create it."""
        self._state.assign(create_rng_state(seed, "philox"))

    def reset_from_key_counter(self, key: Any, counter: Any) -> None:
        """Reset the state from a key and a counter."""
        self._state.assign(np.concatenate([np.asarray(counter, np.int64).reshape(-1),
                                           np.asarray(key, np.int64).reshape(-1)]))

    def _take(self, n_elements: int) -> tuple:
        st = backend.to_numpy(self._state._value).astype(np.int64).view(np.uint64)
        lo, hi, k = (int(v) for v in st)
        key = (k & 0xFFFFFFFF, k >> 32)
        ctr = (lo & 0xFFFFFFFF, lo >> 32, hi & 0xFFFFFFFF, hi >> 32)
        new = px.skip(ctr, 256 * int(n_elements))
        new_state = np.asarray([new[0] | new[1] << 32, new[2] | new[3] << 32, k], np.uint64).view(np.int64)
        self._state.assign(new_state)
        return _replica_key(self._state, key), ctr

    def _eager_uniform(self, shape: Any, minval: Any = 0, maxval: Any = None, dtype: Any = _dt.float32,
                name: Any = None) -> Tensor:
        """Uniform samples (floats in [minval, maxval), ints in [minval, maxval) given maxval)."""
        d = _dt.as_dtype(dtype)
        shp = _shape(shape)
        n = int(np.prod(shp))
        key, ctr = self._take(n)
        if d.is_integer:
            if maxval is None:
                raise ValueError("Generator.uniform: maxval is required for integer dtypes "
                                 "(use uniform_full_int for the whole range).")
            return _out(fill_int(key, ctr, n, d._np, int(_scalar(minval)), int(_scalar(maxval))).reshape(shp))
        u = fill_uniform(key, ctr, n, d._np).reshape(shp)
        lo = _scalar(minval).astype(d._np)
        hi = _scalar(1 if maxval is None else maxval).astype(d._np)
        return _out((u * (hi - lo) + lo).astype(d._np))

    def _eager_uniform_full_int(self, shape: Any, dtype: Any = _dt.uint64, name: Any = None) -> Tensor:
        """Integers over the whole range of `dtype`."""
        d = _dt.as_dtype(dtype)
        shp = _shape(shape)
        n = int(np.prod(shp))
        key, ctr = self._take(n)
        return _out(fill_int(key, ctr, n, d._np, None, None).reshape(shp))

    def _eager_normal(self, shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = _dt.float32,
               name: Any = None) -> Tensor:
        """Normal samples mean + stddev * N(0, 1)."""
        d = _dt.as_dtype(dtype)
        shp = _shape(shape)
        n = int(np.prod(shp))
        key, ctr = self._take(n)
        z = fill_normal(key, ctr, n, d._np).reshape(shp)
        return _out((z * _scalar(stddev).astype(d._np) + _scalar(mean).astype(d._np)).astype(d._np))

    def _eager_truncated_normal(self, shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = _dt.float32,
                         name: Any = None) -> Tensor:
        """Normal samples within two standard deviations of the mean."""
        d = _dt.as_dtype(dtype)
        shp = _shape(shape)
        n = int(np.prod(shp))
        key, ctr = self._take(n)
        z = fill_truncated_normal(key, ctr, n, d._np).reshape(shp)
        return _out((z * _scalar(stddev).astype(d._np) + _scalar(mean).astype(d._np)).astype(d._np))

    def _eager_make_seeds(self, count: int = 1) -> Tensor:
        """Seeds (2, count) for the stateless ops: random int64 keys over zeros."""
        keys = backend.to_numpy(self._eager_uniform_full_int([int(count)], _dt.int64)._value)
        return _out(np.stack([keys, np.zeros_like(keys)]))

    def split(self, count: int = 1) -> list:
        """`count` new independent generators (state [0, 0, key]); advances this one."""
        keys = backend.to_numpy(self._eager_uniform_full_int([int(count)], _dt.int64)._value)
        return [Generator(state=np.asarray([0, 0, int(k)], np.int64)) for k in keys]

    def _eager_binomial(self, shape: Any, counts: Any, probs: Any, dtype: Any = _dt.int32, name: Any = None) -> Tensor:
        """Binomial samples (statistically right; not TF's bit stream)."""
        seed = backend.to_numpy(self._eager_make_seeds(1)._value)[:, 0]
        return stateless_binomial(shape, seed, counts, probs, dtype)


for _m in ("uniform", "uniform_full_int", "normal", "truncated_normal", "make_seeds", "binomial"):
    setattr(Generator, _m, _sampler(_m))
_register_draw()


_global: list = []


def get_global_generator() -> Generator:
    """The global generator (created from the global seed, or non-deterministically)."""
    if not _global:
        from tapeflow.ops.random import get_global_seed

        s = get_global_seed()
        _global.append(Generator.from_non_deterministic_state() if s is None else Generator.from_seed(s))
    return _global[0]


def set_global_generator(generator: Generator) -> None:
    """Replace the global generator."""
    if not isinstance(generator, Generator):
        raise TypeError(f"set_global_generator: expected a tf.random.Generator, received {type(generator).__name__}.")
    _global[:] = [generator]
