"""Random tensors with TF's seeding rules: a global seed (`set_seed`) makes every sequence
reproducible; an op-level `seed` gives each op its own reproducible stream.
"""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.tensor import Tensor, convert_to_tensor
from tapeflow.tracing.func_graph import lifted_when_tracing

_np_host = backend.host  # seeding state lives on the host; samples use the device's module
_DEFAULT_GLOBAL_SEED = 87654321


class _SeedState:
    global_seed: int | None = None
    rng = _np_host.random.default_rng()
    op_rngs: dict = {}
    gpu_rngs: dict = {}


def set_seed(seed: int | None) -> None:
    """Set the global random seed: all later random ops become reproducible."""
    _SeedState.global_seed = None if seed is None else int(seed)
    _SeedState.rng = _np_host.random.default_rng(seed)
    _SeedState.op_rngs = {}
    _SeedState.gpu_rngs = {}


class rng_state_preserved:  # noqa: N801 - a context manager
    """Restore the host generators' states on exit (a traced random op's shape probe must not
    advance the sequence the calls will draw from)."""

    def __enter__(self) -> None:
        self._rng = _SeedState.rng
        self._state = _SeedState.rng.bit_generator.state
        self._ops = {k: (g, g.bit_generator.state) for k, g in _SeedState.op_rngs.items()}

    def __exit__(self, *exc: Any) -> None:
        self._rng.bit_generator.state = self._state
        _SeedState.rng = self._rng
        for g, st in self._ops.values():
            g.bit_generator.state = st
        for k in list(_SeedState.op_rngs):
            if k not in self._ops:
                del _SeedState.op_rngs[k]


def get_global_seed() -> int | None:
    return _SeedState.global_seed


def host_state() -> dict:
    """The host generators' states as JSON data: the global seed, the generator ops without a
    seed draw from, and each op-seeded generator (BackupAndRestore keeps it with the weights)."""
    return {"global_seed": _SeedState.global_seed, "rng": _SeedState.rng.bit_generator.state,
            "op_rngs": [[int(k), g.bit_generator.state] for k, g in _SeedState.op_rngs.items()]}


def parse_host_state(state: Any) -> tuple:
    """(global seed, generator, op-seeded generators) from `host_state`'s data, checked.

    Raises:
        ValueError: `state` is not such data (a damaged or hostile file).
    """
    def generator(st: Any) -> Any:
        ok = (isinstance(st, dict) and st.get("bit_generator") == "PCG64" and isinstance(st.get("state"), dict)
              and all(type(st["state"].get(k)) is int and 0 <= st["state"][k] < 2**128 for k in ("state", "inc"))
              and st.get("has_uint32") in (0, 1) and type(st.get("uinteger")) is int
              and 0 <= st["uinteger"] < 2**32)
        if not ok:
            raise ValueError(f"not a PCG64 generator state: {st!r:.120}")
        g = _np_host.random.default_rng()
        g.bit_generator.state = st
        return g

    seed = state.get("global_seed") if isinstance(state, dict) else None
    if (not isinstance(state, dict) or not (seed is None or type(seed) is int)
            or not isinstance(state.get("op_rngs"), list)
            or not all(isinstance(e, list) and len(e) == 2 and type(e[0]) is int for e in state["op_rngs"])):
        raise ValueError(f"not a random state: {state!r:.120}")
    return seed, generator(state.get("rng")), {k: generator(st) for k, st in state["op_rngs"]}


def set_host_state(state: Any) -> None:
    """Restore what `host_state` returned (device generators are derived from it again)."""
    _SeedState.global_seed, _SeedState.rng, _SeedState.op_rngs = parse_host_state(state)
    _SeedState.gpu_rngs = {}


def _host_rng(seed: Any) -> Any:
    if seed is None:
        return _SeedState.rng
    key = int(seed)
    rng = _SeedState.op_rngs.get(key)
    if rng is None:
        g = _SeedState.global_seed if _SeedState.global_seed is not None else _DEFAULT_GLOBAL_SEED
        rng = _np_host.random.default_rng([g, key])
        _SeedState.op_rngs[key] = rng
    return rng


def _device_rng(host: Any, xp: Any) -> Any:
    """A generator on the device of `xp`, seeded from (and cached per) host generator."""
    if xp is _np_host:
        return host
    rng = _SeedState.gpu_rngs.get(id(host))
    if rng is None:
        rng = xp.random.default_rng(int(host.integers(0, 2**63 - 1)))
        _SeedState.gpu_rngs[id(host)] = (host, rng)
        return rng
    return rng[1]


def _shape(shape: Any) -> tuple:
    if isinstance(shape, Tensor):
        shape = backend.to_numpy(shape._value).tolist()
    if isinstance(shape, int):
        return (shape,)
    return tuple(int(d) for d in shape)


def _uniform(rng: Any, shape: tuple, minval: Any, maxval: Any, np_dtype: Any, xp: Any) -> Any:
    if np_dtype.kind in "iu":
        if maxval is None:
            raise ValueError("uniform: maxval must be given for integer dtypes.")
        return rng.integers(int(minval), int(maxval), size=shape).astype(np_dtype)
    if maxval is None:
        maxval = 1.0
    u = rng.random(shape, dtype=np_dtype if np_dtype in (_np_host.float32,
                   _np_host.float64) else _np_host.float64)
    return (u * (maxval - minval) + minval).astype(np_dtype, copy=False)


def _normal(rng: Any, shape: tuple, mean: Any, stddev: Any, np_dtype: Any) -> Any:
    z = rng.standard_normal(shape, dtype=np_dtype if np_dtype in (_np_host.float32,
                            _np_host.float64) else _np_host.float64)
    return (z * stddev + mean).astype(np_dtype, copy=False)


def _truncated(rng: Any, shape: tuple, mean: Any, stddev: Any, np_dtype: Any, xp: Any) -> Any:
    # NOTE: resample values outside two standard deviations, as TF does.
    z = rng.standard_normal(shape,
                            dtype=_np_host.float64 if np_dtype == _np_host.float64 else _np_host.float32)
    bad = abs(z) > 2
    while bool(bad.any()):
        z[bad] = rng.standard_normal(int(bad.sum()), dtype=z.dtype)
        bad = abs(z) > 2
    return (z * stddev + mean).astype(np_dtype, copy=False)


def _scalar(v: Any) -> Any:
    if isinstance(v, Tensor):
        return backend.to_numpy(v._value)
    return v


@lifted_when_tracing(rng_state_preserved)
def uniform(shape: Any, minval: Any = 0, maxval: Any = None, dtype: Any = _dt.float32, seed: Any = None,
            name: Any = None) -> Tensor:
    """Uniform samples in [minval, maxval) (maxval defaults to 1 for floats)."""
    xp = backend.default_xp()
    rng = _device_rng(_host_rng(seed), xp)
    np_dtype = _dt.as_dtype(dtype)._np
    return Tensor(_uniform(rng, _shape(shape), _scalar(minval), _scalar(maxval), np_dtype, xp))


@lifted_when_tracing(rng_state_preserved)
def normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = _dt.float32, seed: Any = None,
           name: Any = None) -> Tensor:
    """Normal samples with the given mean and standard deviation."""
    xp = backend.default_xp()
    rng = _device_rng(_host_rng(seed), xp)
    return Tensor(_normal(rng, _shape(shape), _scalar(mean), _scalar(stddev), _dt.as_dtype(dtype)._np))


@lifted_when_tracing(rng_state_preserved)
def truncated_normal(shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = _dt.float32,
                     seed: Any = None,
                     name: Any = None) -> Tensor:
    """Normal samples, redrawn when more than two standard deviations from the mean."""
    xp = backend.default_xp()
    host = _host_rng(seed)
    arr = _truncated(host, _shape(shape), _scalar(mean), _scalar(stddev), _dt.as_dtype(dtype)._np, xp)
    return Tensor(backend.asarray(arr, None, xp))


@lifted_when_tracing(rng_state_preserved)
def shuffle(value: Any, seed: Any = None, name: Any = None) -> Tensor:
    """`value` with its first axis randomly permuted."""
    x = convert_to_tensor(value)
    perm = _host_rng(seed).permutation(x._value.shape[0])
    xp = backend.get_xp(x._value)
    return Tensor(x._value[backend.asarray(perm, None, xp)])


@lifted_when_tracing(rng_state_preserved)
def categorical(logits: Any, num_samples: int, dtype: Any = None, seed: Any = None,
                name: Any = None) -> Tensor:
    """Draw `num_samples` class indices per row of unnormalised log-probabilities (batch, classes)."""
    z = backend.to_numpy(convert_to_tensor(logits)._value).astype(_np_host.float64)
    rng = _host_rng(seed)
    # NOTE: Gumbel-max trick: argmax(logits + Gumbel noise) samples from softmax(logits).
    g = -_np_host.log(-_np_host.log(rng.random((z.shape[0], int(num_samples), z.shape[1]))))
    out = (z[:, None, :] + g).argmax(-1).astype(_dt.as_dtype(dtype or _dt.int64)._np)
    return Tensor(backend.asarray(out, None, backend.default_xp()))


def random_mask(shape: tuple, keep_prob: float, np_dtype: Any, xp: Any, seed: Any = None) -> Any:
    """A 0/1 array with ones at probability `keep_prob` (for dropout), on `xp`'s device."""
    rng = _device_rng(_host_rng(seed), xp)
    u = rng.random(shape, dtype=np_dtype if np_dtype in (_np_host.float32,
                   _np_host.float64) else _np_host.float32)
    return u < keep_prob


class Generator:
    """A random-number generator with its own state (`tf.random.Generator`)."""

    def __init__(self, seed: Any = None) -> None:
        self._rng = _np_host.random.default_rng(seed)

    @classmethod
    def from_seed(cls, seed: int, alg: Any = None) -> Generator:
        return cls(int(seed))

    @classmethod
    def from_non_deterministic_state(cls, alg: Any = None) -> Generator:
        return cls(None)

    def reset_from_seed(self, seed: int) -> None:
        self._rng = _np_host.random.default_rng(int(seed))

    def _dev(self) -> tuple:
        xp = backend.default_xp()
        return _device_rng(self._rng, xp), xp

    def uniform(self, shape: Any, minval: Any = 0, maxval: Any = None, dtype: Any = _dt.float32,
                name: Any = None) -> Tensor:
        rng, xp = self._dev()
        return Tensor(_uniform(rng, _shape(shape), _scalar(minval), _scalar(maxval),
                      _dt.as_dtype(dtype)._np, xp))

    def normal(self, shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = _dt.float32,
               name: Any = None) -> Tensor:
        rng, _ = self._dev()
        return Tensor(_normal(rng, _shape(shape), _scalar(mean), _scalar(stddev), _dt.as_dtype(dtype)._np))

    def truncated_normal(self, shape: Any, mean: Any = 0.0, stddev: Any = 1.0, dtype: Any = _dt.float32,
                         name: Any = None) -> Tensor:
        xp = backend.default_xp()
        arr = _truncated(self._rng, _shape(shape), _scalar(mean), _scalar(stddev), _dt.as_dtype(dtype)._np,
                         xp)
        return Tensor(backend.asarray(arr, None, xp))

    def uniform_full_int(self, shape: Any, dtype: Any = _dt.int64, name: Any = None) -> Tensor:
        d = _dt.as_dtype(dtype)._np
        info = _np_host.iinfo(d)
        return Tensor(backend.asarray(self._rng.integers(info.min, info.max, size=_shape(shape), dtype=d,
                                                         endpoint=True), None, backend.default_xp()))

    def make_seeds(self, count: int = 1) -> Tensor:
        return Tensor(self._rng.integers(0, 2**31 - 1, size=(2, count)).astype(_np_host.int64))

    def split(self, count: int = 1) -> list:
        return [Generator(int(s)) for s in self._rng.integers(0, 2**63 - 1, size=count)]


_global_generator: list = []


def get_global_generator() -> Generator:
    if not _global_generator:
        _global_generator.append(Generator(_SeedState.global_seed))
    return _global_generator[0]
