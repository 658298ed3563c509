"""Restoring an iterator positions the pipeline instead of replaying it where the nodes allow
(`Dataset._iter_elements_from`), with exactly the elements a replay gives; map functions do
not run again on the skipped elements."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf

X = np.arange(120, dtype=np.float32).reshape(60, 2)


class Calls:
    """A map function whose Python body counts its calls (a py_function: not vectorised)."""

    def __init__(self):
        self.count = 0

    def __call__(self, v):
        def body(a):
            self.count += 1
            return a * 3

        return tf.py_function(body, [v], v.dtype)


def _ignoring(ds):
    """The pipeline saved despite its py_function (TF refuses stateful functions by default)."""
    options = tf.data.Options()
    options.experimental_external_state_policy = tf.data.experimental.ExternalStatePolicy.IGNORE
    return ds.with_options(options)


PIPELINES = {
    "rows_map_shuffle_batch_prefetch": lambda f: tf.data.Dataset.from_tensor_slices(X).map(
        lambda a: a / 2.0).shuffle(16, seed=1).batch(8).prefetch(tf.data.AUTOTUNE),
    "python_map_batch_take": lambda f: tf.data.Dataset.range(100).map(f).batch(7).take(10),
    "shuffle_repeat_batch": lambda f: tf.data.Dataset.range(30).shuffle(10, seed=3).repeat(3).batch(4),
    "python_map_repeat": lambda f: tf.data.Dataset.range(20).map(f).repeat(3),
    "skip_shard_parallel_map": lambda f: tf.data.Dataset.range(90).map(f).skip(5).shard(3, 1).map(
        lambda v: v + 1, num_parallel_calls=2, deterministic=True),
    "unseeded_repeat_of_shuffle": lambda f: tf.data.Dataset.range(12).map(f).shuffle(5).repeat(2),
    "zip_concatenate_counter": lambda f: tf.data.Dataset.zip((
        tf.data.Dataset.range(8).map(f).concatenate(tf.data.Dataset.from_tensors(tf.constant(99, tf.int64))
                                                    .repeat(4)),
        tf.data.experimental.Counter(5, 2))).map(lambda a, b: a + b),
    "enumerate_take": lambda f: tf.data.Dataset.range(40).map(f).enumerate(3).map(lambda i, v: i * 1000 + v)
    .take(20),
    "cache_then_batch": lambda f: tf.data.Dataset.range(30).map(f).cache().batch(4),
    "filter_falls_back_to_replay": lambda f: tf.data.Dataset.range(50).map(f).filter(
        lambda v: v % 2 == 0).batch(3),
}
# Pipelines whose restore produces no skipped element (their map calls after restore are only
# those of the elements handed out).
POSITIONED = {"python_map_batch_take": 7, "python_map_repeat": 1, "skip_shard_parallel_map": 3,
              "zip_concatenate_counter": 1, "enumerate_take": 1}


def _values(iterable) -> list:
    return [np.asarray(e).tolist() for e in iterable]


@pytest.mark.parametrize("name", sorted(PIPELINES))
@pytest.mark.parametrize("consumed", [0, 1, 5, 9])
def test_restore_continues_exactly_as_the_saved_iterator(tmp_path, name, consumed):
    make = lambda calls: _ignoring(PIPELINES[name](calls))  # noqa: E731
    it = iter(make(Calls()))
    for _ in range(consumed):
        next(it, None)
    path = tf.train.Checkpoint(iterator=it).save(str(tmp_path / "ckpt"))
    expected = _values(it)
    calls = Calls()
    fresh = iter(make(calls))
    tf.train.Checkpoint(iterator=fresh).restore(path).assert_consumed()
    assert _values(fresh) == expected
    if name in POSITIONED:
        full = Calls()
        _values(make(full))
        per_element = POSITIONED[name]  # map calls per element the iterator hands out
        assert calls.count <= full.count - consumed * per_element + per_element


def test_restore_far_into_a_dataset_does_not_replay_it(tmp_path):
    calls = Calls()
    it = iter(_ignoring(tf.data.Dataset.range(5000).map(calls).batch(10)))
    for _ in range(400):
        next(it)
    path = tf.train.Checkpoint(iterator=it).save(str(tmp_path / "ckpt"))
    restored_calls = Calls()
    fresh = iter(_ignoring(tf.data.Dataset.range(5000).map(restored_calls).batch(10)))
    restored_calls.count = 0  # (tracing the function ran it on stand-ins)
    tf.train.Checkpoint(iterator=fresh).restore(path)
    assert np.asarray(next(fresh)).tolist() == [3 * v for v in range(4000, 4010)]
    assert restored_calls.count == 10  # the batch it handed out, not the 4000 skipped elements


@pytest.mark.parametrize("name", ["tapeflow", pytest.param("tensorflow", marks=pytest.mark.oracle)])
def test_make_saveable_from_iterator_answers_as_tf_2_21(name):
    """TF 2.21 keeps TF 1's make_saveable_from_iterator: it checks the policy, then fails on
    anything but a TF 1 graph iterator (eager iterators included) with an AttributeError."""
    lib = pytest.importorskip("tensorflow") if name == "tensorflow" else tf
    make = lib.data.experimental.make_saveable_from_iterator
    it = iter(lib.data.Dataset.range(3))
    with pytest.raises(ValueError, match=r"Invalid `ExternalStatePolicy.` Supported values include 'warn', "
                                         r"'ignore', and 'fail.' Received bogus."):
        make(it, "bogus")
    with pytest.raises(AttributeError, match="'list' object has no attribute '_iterator_resource'"):
        make([1, 2])
    for policy in (None, "warn", lib.data.experimental.ExternalStatePolicy.IGNORE):
        with pytest.raises(AttributeError, match="Tensor.name is undefined when eager execution is enabled"):
            make(it, policy)
    assert [p.value for p in lib.data.experimental.ExternalStatePolicy] == [0, 1, 2]


@pytest.mark.parametrize("name", ["tapeflow", pytest.param("tensorflow", marks=pytest.mark.oracle)])
def test_stateful_functions_refuse_checkpoints_unless_the_policy_allows(tmp_path, name):
    """TF: a py_function or random op in a pipeline's function makes saving the iterator a
    FailedPreconditionError naming the op, unless experimental_external_state_policy says
    WARN or IGNORE."""
    lib = pytest.importorskip("tensorflow") if name == "tensorflow" else tf
    policy = lib.data.experimental.ExternalStatePolicy
    cases = {"EagerPyFunc": lambda: lib.data.Dataset.range(5).map(
                 lambda x: lib.py_function(lambda v: v, [x], lib.int64)),
             "RandomUniform": lambda: lib.data.Dataset.range(5).map(lambda x: lib.random.uniform(())),
             "PyFunc": lambda: lib.data.Dataset.range(5).filter(
                 lambda x: lib.numpy_function(lambda v: v > 1, [x], lib.bool))}
    for op, make in cases.items():
        it = iter(make())
        next(it)
        with pytest.raises(lib.errors.FailedPreconditionError, match=f"{op} is stateful"):
            lib.train.Checkpoint(iterator=it).save(str(tmp_path / op))
    assert lib.data.Options().experimental_external_state_policy is None
    for choice in (policy.WARN, policy.IGNORE):
        options = lib.data.Options()
        options.experimental_external_state_policy = choice
        it = iter(cases["EagerPyFunc"]().with_options(options))
        next(it)
        path = lib.train.Checkpoint(iterator=it).save(str(tmp_path / choice.name))
        assert [int(v) for v in it] == [1, 2, 3, 4]
        fresh = iter(cases["EagerPyFunc"]().with_options(options))
        lib.train.Checkpoint(iterator=fresh).restore(path)
        assert [int(v) for v in fresh] == [1, 2, 3, 4]


def test_restore_through_a_filled_cache_reads_the_recording(tmp_path):
    calls = Calls()
    ds = _ignoring(tf.data.Dataset.range(30).map(calls).cache().batch(4))
    first_pass = _values(ds)  # records the pass in memory
    it = iter(ds)
    for _ in range(3):
        next(it)
    path = tf.train.Checkpoint(iterator=it).save(str(tmp_path / "ckpt"))
    fresh = iter(ds)
    calls.count = 0
    tf.train.Checkpoint(iterator=fresh).restore(path)
    assert _values(fresh) == first_pass[3:] and calls.count == 0
