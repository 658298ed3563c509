"""Background work in tf.data: prefetch and parallel map run ahead on bounded threads, stop when
the iterator is dropped, and hand worker exceptions to the consumer (nothing hangs)."""

from __future__ import annotations

import gc
import threading
import time
import traceback

import numpy as np
import pytest

import tapeflow as tf

D = tf.data.Dataset


def _data_threads() -> list:
    return [t for t in threading.enumerate() if t.name.startswith("tapeflow-data")]


def _wait_no_threads(timeout: float = 3.0) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        if not _data_threads():
            return True
        time.sleep(0.02)
    return False


def _not_elementwise(x):
    # int() on a value cannot be traced elementwise: the function runs per element, on threads.
    return x + int(x) * 0


def test_parallel_map_keeps_order_and_runs_on_threads():
    names = set()

    def f(x):
        names.add(threading.current_thread().name)
        return x * 2 + int(x) * 0

    out = list(D.range(50).map(f, num_parallel_calls=3).as_numpy_iterator())
    assert out == [2 * i for i in range(50)]
    assert any(n.startswith("tapeflow-data-map") for n in names)
    unordered = list(D.range(50).map(_not_elementwise, num_parallel_calls=3, deterministic=False)
                     .as_numpy_iterator())
    assert sorted(unordered) == list(range(50))


def test_prefetch_runs_ahead_with_a_bounded_buffer():
    produced = []

    def gen():
        for i in range(100):
            produced.append(i)
            yield i

    ds = D.from_generator(gen, output_signature=tf.TensorSpec((), tf.int64)).prefetch(3)
    it = iter(ds)
    assert int(next(it)) == 0
    time.sleep(0.2)
    assert 2 <= len(produced) <= 1 + 3 + 2  # ahead of the consumer, but bounded by the buffer
    rest = [int(v) for v in it]
    assert rest == list(range(1, 100))


def test_worker_exception_reaches_consumer_with_traceback():
    def explode(x):
        if int(x) == 5:
            raise KeyError("element five")
        return x

    with pytest.raises(KeyError, match="element five") as info:
        list(D.range(20).map(explode, num_parallel_calls=2).prefetch(2))
    frames = "".join(traceback.format_tb(info.value.__traceback__))
    assert "explode" in frames  # the original traceback, from the worker thread
    assert _wait_no_threads()

    def bad_gen():
        yield 1
        raise RuntimeError("generator failed")

    ds = D.from_generator(bad_gen, output_signature=tf.TensorSpec((), tf.int32)).prefetch(1)
    with pytest.raises(RuntimeError, match="generator failed"):
        list(ds)
    assert _wait_no_threads()


def test_dropping_an_iterator_stops_its_threads():
    ds = D.range(10**9).map(_not_elementwise, num_parallel_calls=2).prefetch(4)
    it = iter(ds)
    next(it)
    assert _data_threads()
    del it
    gc.collect()
    assert _wait_no_threads()
    it = iter(D.range(10**9).prefetch(2))
    next(it)
    it.close()
    assert _wait_no_threads()


def test_parallel_interleave_and_batch_threads_shut_down():
    inter = D.range(4).interleave(lambda x: D.from_tensors(x).repeat(3), cycle_length=2,
                                  num_parallel_calls=2)
    assert sorted(int(v) for v in inter) == sorted(list(range(4)) * 3)
    batched = D.from_tensor_slices(np.arange(10)).batch(3, num_parallel_calls=2)
    assert [b.numpy().tolist() for b in batched][-1] == [9]
    assert _wait_no_threads()


def test_zero_parallel_calls_is_an_error():
    with pytest.raises(ValueError, match="num_parallel_calls"):
        D.range(3).map(lambda x: x, num_parallel_calls=0)


def test_autotune_prefetch_threads_only_a_slow_producer():
    def slow():
        for i in range(40):
            time.sleep(0.001)
            yield i

    slow_ds = D.from_generator(slow, output_signature=tf.TensorSpec((), tf.int64)).prefetch(tf.data.AUTOTUNE)
    it = iter(slow_ds)
    seen = [int(next(it)) for _ in range(12)]
    assert seen == list(range(12)) and _data_threads()
    assert [int(v) for v in it] == list(range(12, 40))
    fast = iter(D.range(100).prefetch(tf.data.AUTOTUNE))
    assert [int(next(fast)) for _ in range(20)] == list(range(20))
    assert not _data_threads()
