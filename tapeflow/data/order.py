"""Order and count: shuffle, repeat, take, skip, shard (kept as index plans over rows of arrays)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow.data import index_plan as _plan
from tapeflow.data.dataset import INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset, check_count
from tapeflow.ops import random as _random

_op_seeds = itertools.count(1)


class SeedStream:
    """The random generators of a dataset node, one per iteration, with TF's seeding rules.

    With an op `seed` or a global seed (`tf.random.set_seed`) the sequence of generators is
    reproducible; `reshuffle_each_iteration=False` gives the same generator every iteration.
    The k-th call seeds its generator with `(entropy..., k)`, so `(entropy, k)` is the whole
    state: a checkpointed iterator saves it and replays its iteration with the same draws.
    """

    def __init__(self, seed: int | None, reshuffle_each_iteration: bool) -> None:
        global_seed = _random.get_global_seed()
        if seed is None and global_seed is None:
            self.entropy = [int(np.random.SeedSequence().entropy)]
        else:
            self.entropy = [int(global_seed or 0), int(seed if seed is not None else next(_op_seeds))]
        self.reshuffle = bool(reshuffle_each_iteration)
        self.calls = 0

    def __call__(self) -> np.random.Generator:
        key = self.entropy if not self.reshuffle else [*self.entropy, self.calls]
        self.calls += 1
        return np.random.default_rng(np.random.SeedSequence(key))

    def get_state(self) -> list:
        """`[calls, *entropy]`: JSON-able integers."""
        return [self.calls, *self.entropy]

    def set_state(self, state: list) -> None:
        self.calls, self.entropy = int(state[0]), [int(v) for v in state[1:]]


def seeded_rng_factory(seed: int | None, reshuffle_each_iteration: bool) -> SeedStream:
    """A `SeedStream`: called once per iteration, it gives that iteration's random generator."""
    return SeedStream(seed, reshuffle_each_iteration)


class ShuffleDataset(Dataset):
    """`shuffle(buffer_size)`: each element drawn at random from the next `buffer_size`."""

    def __init__(self, input_ds: Dataset, buffer_size: int, seed: int | None,
                 reshuffle_each_iteration: bool, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        size = check_count(buffer_size, "Dataset.shuffle: `buffer_size`", -1)
        if size == 0 or size < -1:
            raise ValueError(f"Dataset.shuffle: `buffer_size` must be greater than zero, received "
                             f"{buffer_size}.")
        if size == -1:  # AUTOTUNE: the whole dataset when it is finite
            n = input_ds._compute_cardinality()
            size = n if n > 0 else 10_000
        self._buffer_size = size
        if reshuffle_each_iteration is None:
            reshuffle_each_iteration = True
        self._rng = seeded_rng_factory(seed, bool(reshuffle_each_iteration))

    def _compute_element_spec(self) -> Any:
        return self._inputs[0].element_spec

    def _compute_cardinality(self) -> int:
        return self._inputs[0]._compute_cardinality()

    def _index_plan(self) -> Any:
        inner = self._inputs[0]._index_plan()
        if inner is None or self._inputs[0]._compute_cardinality() < 0:
            return None
        size, rng_for = self._buffer_size, self._rng

        def chunks() -> Iterator:
            yield _plan.buffer_shuffle(_plan.one_pass(inner), size, rng_for())
        return inner.with_chunks(chunks)

    def _iter_elements(self) -> Iterator:
        plan = self._index_plan()
        if plan is not None:
            yield from plan.elements()
            return
        rng = self._rng()
        size = self._buffer_size
        buf: list = []
        for element in self._inputs[0]._iter_elements():
            if len(buf) < size:
                buf.append(element)
                continue
            j = int(rng.integers(size))
            yield buf[j]
            buf[j] = element
        for j in rng.permutation(len(buf)).tolist():
            yield buf[j]


class RepeatDataset(Dataset):
    """`repeat(count)`: the input `count` times; None or -1 repeats forever."""

    def __init__(self, input_ds: Dataset, count: int | None, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        self._count = -1 if count is None else check_count(count, "Dataset.repeat: `count`", -1)

    def _compute_element_spec(self) -> Any:
        return self._inputs[0].element_spec

    def _compute_cardinality(self) -> int:
        n, count = self._inputs[0]._compute_cardinality(), self._count
        if n == 0 or count == 0:
            return 0
        if count == -1:
            return INFINITE_CARDINALITY  # as TF counts it, even for an input of unknown size
        if n < 0:
            return n
        return n * count

    def _passes(self) -> Iterator:
        return itertools.count() if self._count == -1 else iter(range(self._count))

    def _index_plan(self) -> Any:
        inner = self._inputs[0]._index_plan()
        if inner is None:
            return None

        def chunks() -> Iterator:
            for _ in self._passes():
                produced = False
                for chunk in inner.chunks():
                    produced = True
                    yield chunk
                if not produced:
                    return
        return inner.with_chunks(chunks)

    def _iter_elements_from(self, position: int) -> Iterator | None:
        """Past whole passes arithmetically when every pass is the same (no seed stream in the
        input, a known finite size): the input from the position within its pass, then the
        remaining passes."""
        if self._index_plan() is not None:
            return Dataset._iter_elements_from(self, position)
        from tapeflow.data.iterator import _seed_streams

        n = self._inputs[0]._compute_cardinality()
        if n <= 0 or _seed_streams(self._inputs[0]):
            return None
        first, offset = divmod(position, n)
        if self._count != -1 and first >= self._count:
            return (x for x in ())
        upstream = self._inputs[0]._iter_elements_from(offset)
        if upstream is None:
            return None

        def elements() -> Iterator:
            yield from upstream
            passes = itertools.count() if self._count == -1 else range(self._count - first - 1)
            for _ in passes:
                yield from self._inputs[0]._iter_elements()
        return elements()

    def _iter_elements(self) -> Iterator:
        for _ in self._passes():
            produced = False
            for element in self._inputs[0]._iter_elements():
                produced = True
                yield element
            if not produced:  # an empty input repeated forever is empty, not a busy loop
                return


class TakeDataset(Dataset):
    """`take(count)`: the first `count` elements (-1: all)."""

    def __init__(self, input_ds: Dataset, count: int, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        self._count = check_count(count, "Dataset.take: `count`", -1)

    def _compute_element_spec(self) -> Any:
        return self._inputs[0].element_spec

    def _compute_cardinality(self) -> int:
        n, k = self._inputs[0]._compute_cardinality(), self._count
        if k == -1:
            return n
        if n == INFINITE_CARDINALITY:
            return k
        if n == UNKNOWN_CARDINALITY:
            return UNKNOWN_CARDINALITY
        return min(n, k)

    def _index_plan(self) -> Any:
        inner = self._inputs[0]._index_plan()
        if inner is None:
            return None
        stop = None if self._count == -1 else self._count
        return inner.with_chunks(lambda: _plan.slice_stream(inner.chunks(), 0, stop))

    def _iter_elements_from(self, position: int) -> Iterator | None:
        if self._index_plan() is not None:
            return Dataset._iter_elements_from(self, position)
        if self._count != -1 and position >= self._count:
            return (x for x in ())
        upstream = self._inputs[0]._iter_elements_from(position)
        if upstream is None or self._count == -1:
            return upstream
        return (x for x in itertools.islice(upstream, self._count - position))

    def _iter_elements(self) -> Iterator:
        if self._count == -1:
            yield from self._inputs[0]._iter_elements()
            return
        if self._count == 0:
            return
        it = self._inputs[0]._iter_elements()
        try:
            for i, element in enumerate(it):
                yield element
                if i + 1 >= self._count:
                    return
        finally:
            it.close()


class SkipDataset(Dataset):
    """`skip(count)`: all but the first `count` elements (-1: skip everything)."""

    def __init__(self, input_ds: Dataset, count: int, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        self._count = check_count(count, "Dataset.skip: `count`", -1)

    def _compute_element_spec(self) -> Any:
        return self._inputs[0].element_spec

    def _compute_cardinality(self) -> int:
        n, k = self._inputs[0]._compute_cardinality(), self._count
        if n < 0:
            return n if k != -1 or n == UNKNOWN_CARDINALITY else 0
        return 0 if k == -1 else max(n - k, 0)

    def _index_plan(self) -> Any:
        inner = self._inputs[0]._index_plan()
        if inner is None or self._count == -1:
            return None
        return inner.with_chunks(lambda: _plan.slice_stream(inner.chunks(), self._count, None))

    def _iter_elements(self) -> Iterator:
        if self._count == -1:
            for _ in self._inputs[0]._iter_elements():
                pass
            return
        yield from itertools.islice(self._inputs[0]._iter_elements(), self._count, None)

    def _iter_elements_from(self, position: int) -> Iterator | None:
        if self._index_plan() is not None:
            return Dataset._iter_elements_from(self, position)
        if self._count == -1:
            return (x for x in ())
        return self._inputs[0]._iter_elements_from(position + self._count)


class ShardDataset(Dataset):
    """`shard(num_shards, index)`: elements index, index + num_shards, ..."""

    def __init__(self, input_ds: Dataset, num_shards: int, index: int, name: str | None = None) -> None:
        super().__init__((input_ds,), name)
        self._num = check_count(num_shards, "Dataset.shard: `num_shards`", 1)
        self._index = check_count(index, "Dataset.shard: `index`", 0)
        if self._index >= self._num:
            raise ValueError(f"Dataset.shard: `index` must be in [0, num_shards), received index "
                             f"{self._index} with num_shards {self._num}.")

    def _compute_element_spec(self) -> Any:
        return self._inputs[0].element_spec

    def _compute_cardinality(self) -> int:
        n = self._inputs[0]._compute_cardinality()
        if n < 0:
            return n
        return n // self._num + (1 if self._index < n % self._num else 0)

    def _index_plan(self) -> Any:
        inner = self._inputs[0]._index_plan()
        if inner is None or self._inputs[0]._compute_cardinality() < 0:
            return None
        return inner.with_chunks(lambda: iter([_plan.one_pass(inner)[self._index::self._num]]))

    def _iter_elements(self) -> Iterator:
        yield from itertools.islice(self._inputs[0]._iter_elements(), self._index, None, self._num)

    def _iter_elements_from(self, position: int) -> Iterator | None:
        if self._index_plan() is not None:
            return Dataset._iter_elements_from(self, position)
        upstream = self._inputs[0]._iter_elements_from(self._index + position * self._num)
        return None if upstream is None else (x for x in itertools.islice(upstream, 0, None, self._num))
