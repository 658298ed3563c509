"""tf.data sources and introspection: element_spec, cardinality, len, iteration, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf

D = tf.data.Dataset


def values(ds):
    return list(ds.as_numpy_iterator())


def test_from_tensor_slices_spec_repr_and_iteration():
    x = np.arange(24, dtype=np.float32).reshape(4, 2, 3)
    ds = D.from_tensor_slices((x, np.arange(4)))
    assert repr(ds.element_spec) == ("(TensorSpec(shape=(2, 3), dtype=tf.float32, name=None), "
                                     "TensorSpec(shape=(), dtype=tf.int64, name=None))")
    assert repr(ds).startswith("<_TensorSliceDataset element_spec=(TensorSpec(shape=(2, 3)")
    first = next(iter(ds))
    assert isinstance(first[0], tf.Tensor) and first[0].shape == (2, 3)
    np.testing.assert_array_equal(first[0].numpy(), x[0])
    assert int(first[1]) == 0 and first[1].dtype == tf.int64
    assert len(ds) == 4 and int(ds.cardinality()) == 4 and ds.cardinality().dtype == tf.int64


def test_python_lists_follow_tf_dtype_rules_and_dicts_keep_keys():
    ds = D.from_tensor_slices({"a": [1, 2], "b": [[1.0, 2.0], [3.0, 4.0]]})
    assert ds.element_spec == {"a": tf.TensorSpec((), tf.int32), "b": tf.TensorSpec((2,), tf.float32)}
    assert values(ds)[1]["a"] == 2
    assert D.from_tensor_slices(np.zeros(3)).element_spec.dtype == tf.float64  # NumPy keeps float64


def test_from_tensors_range_and_numpy_scalars():
    assert D.from_tensors([1, 2, 3]).element_spec == tf.TensorSpec((3,), tf.int32)
    assert len(D.from_tensors([1, 2, 3])) == 1
    assert values(D.range(2, 8, 2)) == [2, 4, 6]
    assert values(D.range(5, 0, -2)) == [5, 3, 1]
    assert D.range(3, dtype=tf.int32).element_spec.dtype == tf.int32
    out = values(D.range(2))
    assert isinstance(out[0], np.int64)


def test_len_of_infinite_and_unknown():
    with pytest.raises(TypeError, match="The dataset is infinite."):
        len(D.range(3).repeat())
    with pytest.raises(TypeError, match="The dataset length is unknown."):
        len(D.range(3).filter(lambda x: x > 0))
    assert tf.data.INFINITE_CARDINALITY == -1 and tf.data.UNKNOWN_CARDINALITY == -2
    assert int(D.range(3).repeat().cardinality()) == tf.data.INFINITE_CARDINALITY
    assert tf.data.AUTOTUNE == -1


def test_from_generator_signature_and_old_types():
    def gen():
        for i in range(3):
            yield i, np.ones(i)

    sig = (tf.TensorSpec((), tf.int32), tf.TensorSpec((None,), tf.float32))
    ds = D.from_generator(gen, output_signature=sig)
    assert ds.element_spec == sig
    out = values(ds)
    assert out[2][1].dtype == np.float32 and out[2][1].shape == (2,)
    assert len(values(ds)) == 3  # the generator is called again for every iteration
    old = D.from_generator(lambda: iter([1, 2]), output_types=tf.int64, output_shapes=())
    assert old.element_spec == tf.TensorSpec((), tf.int64) and values(old) == [1, 2]
    with_args = D.from_generator(lambda n: iter(range(int(n))), output_signature=tf.TensorSpec((), tf.int64),
                                 args=(3,))
    assert values(with_args) == [0, 1, 2]
    assert int(ds.cardinality()) == tf.data.UNKNOWN_CARDINALITY


def test_from_generator_checks_yielded_shapes():
    ds = D.from_generator(lambda: iter([np.ones(2), np.ones(3)]), output_signature=tf.TensorSpec((2,)))
    with pytest.raises(ValueError, match=r"shape \(3,\).*compatible with \(2,\)"):
        values(ds)


def test_zip_concatenate_enumerate():
    a, b = D.range(3), D.range(10, 15)
    z = D.zip(a, b)
    assert values(z) == [(0, 10), (1, 11), (2, 12)] and len(z) == 3
    assert values(D.zip({"x": a, "y": b}))[0] == {"x": 0, "y": 10}
    assert values(a.concatenate(D.range(3, 5))) == [0, 1, 2, 3, 4]
    assert values(a.enumerate(start=5)) == [(5, 0), (6, 1), (7, 2)]
    with pytest.raises(TypeError, match="incompatible element types"):
        a.concatenate(D.from_tensor_slices(np.zeros(2, np.float32)))


def test_sample_and_choose_from_datasets():
    ones, twos = D.from_tensors(np.int64(1)).repeat(), D.from_tensors(np.int64(2)).repeat()
    out = values(D.sample_from_datasets([ones, twos], weights=[0.5, 0.5], seed=3).take(200))
    assert set(out) == {1, 2} and 60 < out.count(1) < 140
    chosen = D.choose_from_datasets([D.range(0, 3), D.range(10, 13)], D.from_tensor_slices(
        np.array([0, 1, 1, 0], np.int64)))
    assert values(chosen) == [0, 10, 11, 1]
    with pytest.raises(TypeError, match="scalar tf.int64"):
        D.choose_from_datasets([D.range(3)], D.range(3, dtype=tf.int32))


def test_save_load_and_file_cache(tmp_path):
    ds = D.from_tensor_slices((np.arange(6, dtype=np.float32).reshape(3, 2), np.arange(3)))
    ds.save(str(tmp_path / "saved"), shard_func=lambda x, y: y % 2)
    back = D.load(str(tmp_path / "saved"))
    assert back.element_spec == ds.element_spec
    assert sorted(int(y) for _, y in back.as_numpy_iterator()) == [0, 1, 2]
    ragged = D.range(1, 4).map(lambda n: tf.fill([n], n))
    ragged.save(str(tmp_path / "ragged"), compression="GZIP")
    assert [v.tolist() for v in values(D.load(str(tmp_path / "ragged")))] == [[1], [2, 2], [3, 3, 3]]
    calls = []
    cached = D.range(3).map(lambda x: (calls.append(1), x)[1]).cache(str(tmp_path / "c"))
    assert values(cached) == values(cached) == [0, 1, 2]
    assert (tmp_path / "c.npz").exists()


def test_options_and_experimental_names():
    options = tf.data.Options()
    options.deterministic = False
    options.threading.private_threadpool_size = 2
    ds = D.range(3).with_options(options).map(lambda x: x)
    assert ds.options().deterministic is False and ds.options().threading.private_threadpool_size == 2
    with pytest.raises(AttributeError, match="no settable option"):
        options.not_an_option = 1
    assert int(tf.data.experimental.cardinality(D.range(4))) == 4
    assert values(D.range(4).apply(tf.data.experimental.assert_cardinality(4))) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="expected to contain 5 elements"):
        values(D.range(4).apply(tf.data.experimental.assert_cardinality(5)))
    assert values(tf.data.experimental.Counter(start=2).take(3)) == [2, 3, 4]
    assert int(D.from_tensors(np.int64(7)).get_single_element()) == 7


def test_bad_input_messages():
    with pytest.raises(ValueError, match=r"same size in their first dimension, received sizes \[3, 4\]"):
        D.from_tensor_slices((np.zeros(3), np.zeros(4)))
    with pytest.raises(ValueError, match="scalar"):
        D.from_tensor_slices(np.float32(1.0))
    with pytest.raises(ValueError, match="batch_size` must be >= 1, received 0"):
        D.range(3).batch(0)
    with pytest.raises(TypeError, match="expected a tensor, array, number or string"):
        D.from_tensor_slices([object(), object()])
    with pytest.raises(TypeError, match="expected a tf.data.Dataset"):
        D.zip(D.range(2), [1, 2])
