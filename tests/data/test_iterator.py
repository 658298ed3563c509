"""tf.data iterators: get_next / next / get_next_as_optional at the end as TF 2.21 behaves, and
saving an iterator's position in a tf.train.Checkpoint (restored in place or into a rebuilt
pipeline)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tapeflow as tf

X = np.arange(24, dtype=np.float32).reshape(12, 2)
Y = np.arange(12)

# Deterministic pipelines, built with tapeflow or TensorFlow (`m` is the module).
PIPELINES = {
    "range": lambda m: m.data.Dataset.range(10),
    "slices_map_batch": lambda m: m.data.Dataset.from_tensor_slices((X, Y)).map(
        lambda a, b: (a * 2.0, b + 1)).batch(5),
    "repeat_take_skip": lambda m: m.data.Dataset.range(5).repeat(3).skip(2).take(11),
    "batch_prefetch": lambda m: m.data.Dataset.range(9).batch(2).prefetch(m.data.AUTOTUNE),
    "prefetch_fixed": lambda m: m.data.Dataset.range(9).map(lambda v: v * v).prefetch(3),
    "dict_filter": lambda m: m.data.Dataset.from_tensor_slices({"x": X, "y": Y}).filter(
        lambda d: d["y"] % 3 != 0),
    "parallel_map": lambda m: m.data.Dataset.range(20).map(lambda v: v + 100, num_parallel_calls=2),
}


def _numpy(element):
    return tf.nest.map_structure(lambda t: np.asarray(t).tolist(), element)


def _take(it, n):
    return [_numpy(it.get_next()) for _ in range(n)]


def test_iterator_interface_and_end_of_sequence():
    it = iter(tf.data.Dataset.range(3))
    assert isinstance(it, tf.data.Iterator) and iter(it) is it
    assert it.element_spec == tf.TensorSpec([], tf.int64)
    assert int(it.get_next()) == 0
    assert int(it.next()) == 1
    opt = it.get_next_as_optional()
    assert isinstance(opt, tf.experimental.Optional)
    assert bool(opt.has_value()) and int(opt.get_value()) == 2
    empty = it.get_next_as_optional()
    assert not bool(empty.has_value()) and empty.element_spec == tf.TensorSpec([], tf.int64)
    with pytest.raises(tf.errors.InvalidArgumentError, match="does not have a value"):
        empty.get_value()
    with pytest.raises(tf.errors.OutOfRangeError, match="End of sequence"):
        it.get_next()
    with pytest.raises(StopIteration):
        next(it)
    with pytest.raises(StopIteration):
        it.next()
    with pytest.raises(TypeError, match="abstract"):
        tf.data.Iterator()
    with pytest.raises(TypeError, match="abstract"):
        tf.experimental.Optional()


def test_optional_values_and_structures():
    opt = tf.experimental.Optional.from_value((1, {"a": 2.0}))
    assert opt.element_spec == (tf.TensorSpec([], tf.int32), {"a": tf.TensorSpec([], tf.float32)})
    value = opt.get_value()
    assert int(value[0]) == 1 and float(value[1]["a"]) == 2.0
    assert tf.experimental.Optional.empty(None).element_spec is None
    it = iter(tf.data.Dataset.from_tensor_slices({"a": [1, 2]}))
    assert int(tf.data.experimental.get_next_as_optional(it).get_value()["a"]) == 1


@pytest.mark.oracle
def test_iterator_matches_tensorflow():
    ktf = pytest.importorskip("tensorflow")
    for m in (tf, ktf):
        it = iter(m.data.Dataset.from_tensor_slices({"a": [1, 2]}))
        assert isinstance(it, m.data.Iterator)
        assert _numpy(it.get_next()) == {"a": 1}
        assert _numpy(it.get_next_as_optional().get_value()) == {"a": 2}
        assert not bool(it.get_next_as_optional().has_value())
        with pytest.raises(m.errors.OutOfRangeError):
            it.get_next()
        with pytest.raises(StopIteration):
            next(it)


@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_checkpoint_restores_position(tmp_path, name):
    make = PIPELINES[name]
    it = iter(make(tf))
    before = _take(it, 2)
    ckpt = tf.train.Checkpoint(iterator=it)
    path = ckpt.save(str(tmp_path / "ckpt"))
    after = [_numpy(e) for e in it]
    ckpt.restore(path).assert_consumed()
    assert [_numpy(e) for e in it] == after
    fresh = iter(make(tf))                       # a rebuilt pipeline continues the same way
    tf.train.Checkpoint(iterator=fresh).restore(path).assert_consumed()
    assert [_numpy(e) for e in fresh] == after
    assert before + after == [_numpy(e) for e in make(tf)]


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(PIPELINES))
def test_checkpointed_iteration_matches_tensorflow(tmp_path, name):
    ktf = pytest.importorskip("tensorflow")
    sequences = []
    for m in (tf, ktf):
        it = iter(PIPELINES[name](m))
        first = _take(it, 2)
        ckpt = m.train.Checkpoint(iterator=it)
        path = ckpt.save(str(tmp_path / m.__name__ / "ckpt"))
        list(it)
        ckpt.restore(path)
        sequences.append(first + [_numpy(e) for e in it])
    assert sequences[0] == sequences[1]


def _shuffled(seed, by_index):
    ds = tf.data.Dataset.range(30)
    if not by_index:                             # the element-by-element shuffle buffer
        ds = ds.filter(_nonnegative)
    return ds.shuffle(8, seed=seed).repeat(2).batch(4)


def _nonnegative(value):
    return value >= 0


def test_seeded_and_unseeded_shuffle_restore_into_a_new_pipeline(tmp_path):
    for seed, by_index in ((7, True), (None, True), (3, False)):
        ds = _shuffled(seed, by_index)
        list(ds)                                 # an earlier pass moves the shuffle's seed stream
        it = iter(ds)
        _take(it, 5)
        path = tf.train.Checkpoint(it=it).save(str(tmp_path / f"s{seed}{by_index}"))
        rest = [_numpy(e) for e in it]
        fresh = iter(_shuffled(seed, by_index))
        tf.train.Checkpoint(it=fresh).restore(path)
        assert [_numpy(e) for e in fresh] == rest
        flat = sorted(v for b in _take(iter(ds), 15) for v in b)
        assert flat == sorted(list(range(30)) * 2)


def test_checkpoint_with_variables_and_manager(tmp_path):
    ds = tf.data.Dataset.range(6)
    it = iter(ds)
    step = tf.Variable(0, dtype=tf.int64)
    ckpt = tf.train.Checkpoint(step=step, iterator=it)
    manager = tf.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=2)
    for _ in range(4):
        step.assign_add(it.get_next())
    manager.save()
    names = dict(tf.train.list_variables(manager.latest_checkpoint))
    assert "iterator/.ATTRIBUTES/ITERATOR_STATE" in names
    list(it)
    step.assign(0)
    ckpt.restore(manager.latest_checkpoint).assert_consumed()
    assert int(step) == 6 and [int(v) for v in it] == [4, 5]
    list(it)                                     # an exhausted iterator restores as exhausted
    path = ckpt.save(str(tmp_path / "end"))
    ckpt.restore(path)
    with pytest.raises(tf.errors.OutOfRangeError):
        it.get_next()


@pytest.mark.filterwarnings("ignore:Value in checkpoint could not be found")
def test_uncheckpointable_pipelines_raise_tf_errors(tmp_path):
    gen = tf.data.Dataset.from_generator(lambda: iter([1, 2]), output_signature=tf.TensorSpec([], tf.int32))
    with pytest.raises(tf.errors.FailedPreconditionError, match="PyFunc is stateful"):
        tf.train.Checkpoint(iterator=iter(gen.batch(2))).save(str(tmp_path / "g"))
    assert not list(tmp_path.glob("g-1*")) and tf.train.latest_checkpoint(str(tmp_path)) is None
    unordered = tf.data.Dataset.range(5).filter(lambda v: v >= 0).map(
        lambda v: v, num_parallel_calls=2, deterministic=False)
    with pytest.raises(tf.errors.FailedPreconditionError, match="deterministic=True"):
        tf.train.Checkpoint(iterator=iter(unordered)).save(str(tmp_path / "u"))
    path = tf.train.Checkpoint(iterator=iter(tf.data.Dataset.range(5).batch(2))).save(str(tmp_path / "r"))
    with pytest.raises(tf.errors.NotFoundError, match="dataset definition has not changed"):
        tf.train.Checkpoint(iterator=iter(tf.data.Dataset.range(5))).restore(path)


def test_corrupt_iterator_state_is_a_data_loss_error():
    from tapeflow.data.iterator import STATE_NAME

    it = iter(tf.data.Dataset.range(3))
    good = it._serialize_to_tensors()[STATE_NAME]
    for bad in (good[:-3], np.frombuffer(b'{"format": "x"}', np.uint8), good.astype(np.int32),
                np.frombuffer(good.tobytes().replace(b'"position": 0', b'"position": -4'), np.uint8),
                np.frombuffer(good.tobytes().replace(b'"seeds": []', b'"seeds": [[0, -1]]'), np.uint8)):
        with pytest.raises(tf.errors.DataLossError):
            it._restore_from_tensors({STATE_NAME: bad})


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(cut=st.floats(0.0, 1.0), flips=st.lists(st.tuples(st.floats(0.0, 0.999), st.integers(0, 7)), max_size=3))
def test_damaged_iterator_states_end_in_tf_errors(cut, flips):
    from tapeflow.data.iterator import STATE_NAME

    ds = tf.data.Dataset.range(50).shuffle(10, seed=1).batch(3)
    it = iter(ds)
    _take(it, 4)
    state = bytearray(it._serialize_to_tensors()[STATE_NAME].tobytes())
    for where, bit in flips:
        state[int(len(state) * where)] ^= 1 << bit
    damaged = np.frombuffer(bytes(state[:int(len(state) * cut)] if cut < 1 else state), np.uint8)
    start = time.perf_counter()
    try:
        iter(ds)._restore_from_tensors({STATE_NAME: damaged})
    except (tf.errors.DataLossError, tf.errors.NotFoundError):
        pass
    assert time.perf_counter() - start < 5
    huge = bytes(it._serialize_to_tensors()[STATE_NAME].tobytes()).replace(b'"position": 4', b'"position": 99')
    with pytest.raises(tf.errors.DataLossError, match="past the end"):
        iter(ds)._restore_from_tensors({STATE_NAME: np.frombuffer(huge, np.uint8)})
