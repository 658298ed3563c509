"""Overlapped gradient all-reduce (distribute/overlap.py) in one process, over a stand-in
collective of two identical workers: bucket plans, when the backward walk reports gradients,
where traced bucket-start nodes go, and that the update uses the early reduction."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.autodiff import tape as tape_module
from tapeflow.distribute.collective import LocalCollective
from tapeflow.distribute.overlap import BucketPlan, GradientReducer
from tapeflow.distribute.strategy import Strategy, StrategyExtended


class _Done:
    def __init__(self, out: np.ndarray) -> None:
        self.out = out

    def done(self) -> bool:
        return True


class TwinCollective(LocalCollective):
    """Two workers holding the same values: a sum doubles, a mean returns the input."""

    size = 2
    bucket_elements = 64

    def __init__(self) -> None:
        self.started: list = []   # (number of backward records walked when started, buffer size)
        self.walked = 0
        self.overlapped_reductions = 0
        self.blocking_reductions = 0

    def start_allreduce(self, flat: np.ndarray, op: str = "sum", gather: bool = True) -> _Done:
        self.started.append((self.walked, flat.size))
        return _Done(np.array(flat) * (2 if op == "sum" else 1))

    def progress(self) -> None:
        self.walked += 1

    def wait_allreduces(self, pending: list) -> None:
        pass

    def count_time(self, wall: float, cpu: float) -> None:
        pass


def _twin_strategy() -> Strategy:
    class Twin(Strategy):
        pass

    s = Twin.__new__(Twin)
    Strategy.__init__(s, StrategyExtended(s, TwinCollective(), ("/cpu:0",)))
    return s


def test_bucket_plan_reverse_order_size_limit_and_dtypes():
    specs = [((4, 4), np.float32), ((4,), np.float32), ((100,), np.float32), ((3,), np.float64),
             None, ((5,), np.float16), ((6,), np.float32)]
    plan = BucketPlan(specs, bucket_elements=20)
    layout = [(str(dtype), [m[0] for m in members]) for dtype, members, _ in plan.buckets]
    # Reverse order; float16 travels as float32; float64 alone; the 100-element gradient alone;
    # the last bucket stops at 20 elements.
    assert layout == [("float32", [6, 5]), ("float64", [3]), ("float32", [2]), ("float32", [1, 0])]
    assert 4 not in plan.bucket_of


def test_reducer_starts_buckets_in_plan_order_and_packs():
    coll = TwinCollective()
    plan = BucketPlan([((3,), np.float32), ((2,), np.float64), ((4,), np.float32)], bucket_elements=4)
    r = GradientReducer(coll, plan, "sum")
    r.ready(0, np.ones(3, np.float32))   # bucket 2: waits for buckets 0 and 1
    assert coll.started == []
    r.ready(2, np.full(4, 2, np.float32))
    assert [n for _, n in coll.started] == [4]
    r.ready(1, None)                      # no gradient: zeros travel, None comes back
    out = r.finish()
    assert [n for _, n in coll.started] == [4, 2, 3]
    np.testing.assert_array_equal(out[0], np.full(3, 2, np.float32))
    assert out[1] is None and out[2].dtype == np.float32
    np.testing.assert_array_equal(out[2], np.full(4, 4, np.float32))


def _model() -> keras.Model:
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="tanh"),
                              keras.layers.Dense(7, activation="relu"), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    return model


def test_eager_walk_reports_last_layer_gradients_before_the_first_layers_backward(monkeypatch):
    strategy = _twin_strategy()
    coll = strategy.extended._collective
    keras.utils.set_random_seed(0)
    model = _model()
    x = tf.constant(np.random.default_rng(0).normal(size=(8, 5)).astype(np.float32))
    reported = []  # (records still to walk, sources reported)
    original = tape_module._report_finished

    def spy(hook, finished, j, grads):
        if j in finished:
            reported.append((j, sorted(i for i, _ in finished[j])))
        original(hook, finished, j, grads)

    monkeypatch.setattr(tape_module, "_report_finished", spy)
    with strategy._replica_context("sum"):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model(x) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
    # Variables k1 b1 k2 b2 k3 b3 (0..5) finish layer by layer from the last one, each as the
    # walk passes its layer's record, with the earlier layers' records still to walk.
    assert [ids for _, ids in reported] == [[4, 5], [2, 3], [0, 1]]
    left = [j for j, _ in reported]
    assert left[0] > left[1] > left[2] == 0
    # Buckets of at most 64 elements: [b3, k3, b2 (2 + 14 + 7)], [k2, b1 (42 + 6)], [k1 (30)].
    assert [n for _, n in coll.started] == [2 + 14 + 7, 42 + 6, 30]
    # The tape still returns this worker's own gradients.
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x) ** 2)
    local = tape.gradient(loss, model.trainable_variables)
    for g, want in zip(grads, local, strict=True):
        np.testing.assert_array_equal(g.numpy(), want.numpy())


def _train(model, x, y, strategy=None, mode="mean", steps=3, traced=True, custom=False):
    opt = model.optimizer

    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(xb, training=True) - yb) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        if custom:  # changed gradients: not the arrays the walk reduced
            grads = [g * 1.0 for g in grads]
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    fn = tf.function(step) if traced else step
    for _ in range(steps):
        if strategy is None:
            fn(x, y)
        else:
            with strategy._replica_context(mode):
                fn(x, y)


@pytest.mark.parametrize("traced", [False, True])
@pytest.mark.parametrize("custom", [False, True])
def test_update_uses_the_early_reduction_eager_and_traced(traced, custom):
    x = tf.constant(np.random.default_rng(1).normal(size=(8, 5)).astype(np.float32))
    y = tf.constant(np.random.default_rng(2).normal(size=(8, 2)).astype(np.float32))
    keras.utils.set_random_seed(3)
    ref = _model()
    _train(ref, x, y, traced=traced)
    strategy = _twin_strategy()
    coll = strategy.extended._collective
    keras.utils.set_random_seed(3)
    model = _model()
    # "sum" over two identical workers doubles every gradient: a different result.
    _train(model, x, y, strategy, "mean", traced=traced, custom=custom)
    for a, b in zip(model.weights, ref.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    if custom:
        assert coll.blocking_reductions == 3 and coll.overlapped_reductions == 0
    else:
        assert coll.overlapped_reductions == 3 and coll.blocking_reductions == 0
        assert len(coll.started) == 3 * 3


def test_traced_step_starts_buckets_between_backward_nodes():
    strategy = _twin_strategy()
    keras.utils.set_random_seed(0)
    model = _model()
    x = tf.constant(np.ones((8, 5), np.float32))
    y = tf.constant(np.ones((8, 2), np.float32))

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(xb) - yb) ** 2)
        grads = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))

    with strategy._replica_context("mean"):
        step(x, y)
        nodes = step.get_concrete_function(x, y).graph.nodes
    names = [n.name for n in nodes]
    starts = [i for i, n in enumerate(names) if n == "allreduce_bucket_start"]
    assert len(starts) == 3
    # Each bucket starts right after its last gradient is produced (or after the previous
    # bucket's start: buckets start in order), before the rest of the backward pass.
    previous = -1
    for i in starts:
        ids = set(map(id, nodes[i].inputs))
        producer = max(k for k, n in enumerate(nodes) if any(id(o) in ids for o in n.outputs))
        assert i == max(producer, previous) + 1
        previous = i
    apply_at = names.index("apply")
    assert starts[-1] < apply_at
    assert "MatMul" in names[starts[0]:starts[1]]  # the first bucket travels during backward work


def test_no_hook_outside_a_multi_worker_replica_context():
    calls = []
    real = tape_module.gradient_hooks[0]

    class Spy:
        @staticmethod
        def eager(sources):
            out = real.eager(sources)
            calls.append(out)
            return out

        traced = staticmethod(real.traced)

    tape_module.gradient_hooks[0] = Spy
    try:
        v = tf.Variable([1.0, 2.0])
        with tf.GradientTape() as t:
            y = tf.reduce_sum(v * v)
        t.gradient(y, [v])
        with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
            with tf.GradientTape() as t:
                y = tf.reduce_sum(v * v)
            t.gradient(y, [v])
    finally:
        tape_module.gradient_hooks[0] = real
    assert calls == [None, None]


def test_sharded_update_only_for_elementwise_plain_optimizers():
    from tapeflow.distribute import sharded_update

    opt = keras.optimizers
    assert all(sharded_update.supported(o) for o in (opt.Adam(), opt.SGD(momentum=0.9, nesterov=True),
                                                      opt.RMSprop(centered=True), opt.Lion(), opt.Nadam()))
    assert not any(sharded_update.supported(o) for o in (
        opt.Adam(clipnorm=1.0), opt.Adam(global_clipnorm=1.0), opt.AdamW(), opt.Adam(use_ema=True),
        opt.SGD(gradient_accumulation_steps=2), opt.Lamb(), opt.Adafactor(), None))
