"""The adaptive BLAS thread policy: threads for the cores other processes leave free."""

from __future__ import annotations

import numpy as np
import pytest

from tapeflow.backend import blas_threads


@pytest.mark.parametrize("others, cores, default, want", [
    (0.0, 2, 2, 2), (0.2, 2, 2, 2), (1.0, 2, 2, 1), (1.9, 2, 2, 1), (3.0, 2, 2, 1),
    (0.0, 8, 8, 8), (2.0, 8, 8, 6), (2.5, 8, 4, 4), (7.6, 8, 8, 1),
])
def test_threads_for_the_free_cores(others, cores, default, want):
    assert blas_threads.threads_for(others, cores, default) == want


class _Controller:
    def __init__(self):
        self.calls = []

    def threadpool_limits(self, limits, user_api):
        self.calls.append((limits, user_api))


def _policy(monkeypatch, samples, own, cores=2, default=2):
    """A policy on 2 cores whose /proc/stat and own CPU time follow the given sequences."""
    monkeypatch.setenv("TAPEFLOW_ADAPTIVE_THREADS", "1")
    p = blas_threads.BlasThreadPolicy()
    p.cores, p._default, p.current = cores, default, default
    p._controller = _Controller()
    clock = iter(np.arange(0.0, 100.0, 1.5))
    busy = iter(samples)
    mine = iter(own)
    monkeypatch.setattr(blas_threads.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(blas_threads, "_proc_stat_busy", lambda: (next(busy), 0.0))
    monkeypatch.setattr(blas_threads, "_own_cpu_seconds", lambda: next(mine))
    return p


def test_a_busy_core_drops_to_one_thread_and_a_quiet_machine_gets_it_back(monkeypatch):
    # each look is 1.5 s apart; the machine's busy seconds grow by (ours + others')
    # look 1: baseline; look 2: others used 1.5 s (one core) -> 1 thread; look 3: others 0 -> 2.
    p = _policy(monkeypatch, samples=[0.0, 3.0, 4.5], own=[0.0, 1.5, 3.0])
    assert p.maybe_adapt() is None
    assert p.maybe_adapt() == 1
    assert p._controller.calls == [(1, "blas")]
    assert p.maybe_adapt() == 2
    assert p._controller.calls[-1] == (2, "blas")


def test_our_own_threads_do_not_count_as_others(monkeypatch):
    # we keep both cores busy ourselves (3 CPU seconds in 1.5 s): nothing changes
    p = _policy(monkeypatch, samples=[0.0, 3.0], own=[0.0, 3.0])
    assert p.maybe_adapt() is None
    assert p.maybe_adapt() is None
    assert p._controller.calls == []


def test_checks_at_most_once_a_second(monkeypatch):
    monkeypatch.setenv("TAPEFLOW_ADAPTIVE_THREADS", "1")
    p = blas_threads.BlasThreadPolicy()
    ticks = iter([10.0, 10.5])
    monkeypatch.setattr(blas_threads.time, "monotonic", lambda: next(ticks))
    looked = []
    monkeypatch.setattr(p, "_active", lambda: looked.append(1) or False)
    p.maybe_adapt()
    p.maybe_adapt()
    assert looked == [1]


def test_off_by_environment_and_when_the_user_sets_the_count(monkeypatch):
    monkeypatch.setenv("TAPEFLOW_ADAPTIVE_THREADS", "0")
    assert blas_threads.BlasThreadPolicy().enabled is False
    pytest.importorskip("threadpoolctl")
    import tapeflow as tf

    monkeypatch.setenv("TAPEFLOW_ADAPTIVE_THREADS", "1")
    p = blas_threads.BlasThreadPolicy()
    monkeypatch.setattr(tf.config.threading, "_intra", 1)
    assert p._active() is False


def test_fit_consults_the_policy(monkeypatch):
    from tapeflow import keras

    seen = []
    monkeypatch.setattr(blas_threads.policy, "enabled", True)
    monkeypatch.setattr(blas_threads.policy, "maybe_adapt", lambda: seen.append(1))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 3), "float32"), np.ones((8, 1), "float32"), batch_size=4, epochs=2, verbose=0)
    assert len(seen) == 4  # once per batch (the policy itself looks at most once a second)
