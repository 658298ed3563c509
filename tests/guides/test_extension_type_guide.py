"""guide/extension_type.ipynb with only the import changed: specs, forward references, user
Spec classes, dispatch, tf.function / tf.data / map_fn with extension types."""

from typing import Mapping, Tuple  # noqa: UP035 - the guide spells them so

import numpy as np
import pytest

import tapeflow as tf


class MaskedTensor(tf.experimental.BatchableExtensionType):
    values: tf.Tensor
    mask: tf.Tensor

    shape = property(lambda self: self.values.shape)
    dtype = property(lambda self: self.values.dtype)

    def with_values(self, new_values):
        return MaskedTensor(new_values, self.mask)

    def with_default(self, default):
        return tf.where(self.mask, self.values, default)

    class Spec:
        def __init__(self, shape, dtype=tf.float32):
            self.values = tf.TensorSpec(shape, dtype)
            self.mask = tf.TensorSpec(shape, tf.bool)

        shape = property(lambda self: self.values.shape)
        dtype = property(lambda self: self.values.dtype)


class Pastry(tf.experimental.ExtensionType):
    sweetness: tf.Tensor
    chewiness: tf.Tensor


def test_type_spec_from_value_and_spec_constructors():  # cells 17, 18, 47
    class Player(tf.experimental.ExtensionType):
        name: tf.Tensor
        attributes: Mapping[str, tf.Tensor]

    anne = Player("Anne", {"height": 8.3, "speed": 28.1})
    spec = tf.type_spec_from_value(anne)
    assert spec.name == tf.TensorSpec([], tf.string)
    assert dict(spec.attributes) == {"height": tf.TensorSpec([], tf.float32), "speed": tf.TensorSpec([], tf.float32)}
    spec1 = Player.Spec(name=tf.TensorSpec([], tf.float32), attributes={})
    assert spec1 != spec and not spec1.is_compatible_with(spec)
    pastry_spec = Pastry.Spec(tf.TensorSpec([2]), tf.TensorSpec(2))
    assert pastry_spec.sweetness.shape == (2,) and pastry_spec.is_compatible_with(Pastry([1.0, 2.0], [3.0, 4.0]))
    user = MaskedTensor.Spec([None, 2], tf.float32)  # a user Spec.__init__ sets the fields
    assert user.shape.as_list() == [None, 2] and user.mask.dtype == tf.bool
    assert user.is_compatible_with(MaskedTensor([[1.0, 2.0]], [[True, False]]))


def test_forward_reference_to_own_class():  # cell 30
    class Node(tf.experimental.ExtensionType):
        value: tf.Tensor
        children: Tuple["Node", ...] = ()  # noqa: UP006

    n = Node(3, [Node(5), Node(2)])
    assert int(n.children[1].value) == 2 and isinstance(n.children, tuple)


def test_reshape_of_range():  # cell 66
    np.testing.assert_array_equal(tf.reshape(range(20), [5, 4]).numpy(), np.arange(20).reshape(5, 4))
    assert tf.constant(range(3)).dtype == tf.int32


@pytest.mark.parametrize("dummy", [0])
def test_unary_dispatch_ones_like(dummy):  # cells 36-38
    class MT(tf.experimental.ExtensionType):
        values: tf.Tensor
        mask: tf.Tensor

    @tf.experimental.dispatch_for_unary_elementwise_apis(MT)
    def handler(api_func, x):
        return MT(api_func(x.values), x.mask)

    try:
        x = MT([1, -2, -3], [True, False, True])
        assert tf.abs(x).values.numpy().tolist() == [1, 2, 3]
        y = tf.ones_like(x, dtype=tf.float32)
        assert y.values.dtype == tf.float32 and y.values.numpy().tolist() == [1.0, 1.0, 1.0]
    finally:
        tf.experimental.unregister_dispatch_for(handler)


def _mt(values, mask):
    return MaskedTensor(tf.constant(values), tf.constant(mask))


def test_tf_function_signatures_with_extension_types():  # cells 46-48
    @tf.function
    def combine(x: Pastry):
        return (x.sweetness + x.chewiness) / 2

    cookie = Pastry(sweetness=[1.2, 0.4], chewiness=[0.8, 0.2])
    np.testing.assert_allclose(combine(cookie).numpy(), [1.0, 0.3], rtol=1e-6)
    np.testing.assert_allclose(combine(Pastry([1.0, 2.0], [3.0, 4.0])).numpy(), [2.0, 3.0])
    assert combine.experimental_get_tracing_count() == 1  # same spec: no retrace
    pastry_spec = Pastry.Spec(tf.TensorSpec([2]), tf.TensorSpec(2))

    @tf.function(input_signature=[pastry_spec])
    def increase_sweetness(x: Pastry, delta=1.0):
        return Pastry(x.sweetness + delta, x.chewiness)

    out = increase_sweetness(cookie)
    assert isinstance(out, Pastry) and increase_sweetness.input_signature == (pastry_spec,)
    np.testing.assert_allclose(out.sweetness.numpy(), [2.2, 1.4], rtol=1e-6)
    cf = combine.get_concrete_function(pastry_spec)
    np.testing.assert_allclose(cf(cookie).numpy(), [1.0, 0.3], rtol=1e-6)
    with pytest.raises(TypeError):
        increase_sweetness(_mt([1.0, 2.0], [True, False]))


def test_cond_and_loops_in_tf_function():  # cells 49-51 (TF 2.21 gives these values)
    @tf.function
    def fn(x, b):
        if b:
            x = MaskedTensor(x, tf.less(x, 0))
        else:
            x = MaskedTensor(x, tf.greater(x, 0))
        for _ in tf.range(5 if b else 7):
            x = x.with_values(x.values + 1 / 2)
        return x

    a = fn(tf.constant([1.0, -2, 3]), tf.constant(True))
    np.testing.assert_allclose(a.values.numpy(), [3.5, 0.5, 5.5])
    assert a.mask.numpy().tolist() == [False, True, False]
    b = fn(tf.constant([1.0, -2, 3]), tf.constant(False))
    np.testing.assert_allclose(b.values.numpy(), [4.5, 1.5, 6.5])
    assert b.mask.numpy().tolist() == [True, False, True]

    @tf.function
    def pick(c):
        return tf.cond(c, lambda: _mt([1.0, 2, 3], [True, False, True]),
                       lambda: _mt([22.0, 33, 108, 55], [True, True, True, False]))

    assert pick(tf.constant(False)).values.shape == (4,) and pick(tf.constant(True)).values.shape == (3,)

    @tf.function
    def loop(mt):
        return tf.while_loop(lambda i, _: i < 10, lambda i, m: (i + 1, m.with_values(m.values + 3 / 7)), [0, mt])[1]

    np.testing.assert_allclose(loop(_mt([1.0, 2.0], [True, False])).values.numpy(), [1 + 30 / 7, 2 + 30 / 7],
                               rtol=1e-6)


def test_map_fn_and_datasets():  # cells 44, 45, 65-69
    mt = MaskedTensor(tf.reshape(range(20), [5, 4]), tf.ones([5, 4]) > 0)
    rows = list(tf.data.Dataset.from_tensor_slices(mt))
    assert len(rows) == 5 and isinstance(rows[2], MaskedTensor) and rows[2].values.numpy().tolist() == [8, 9, 10, 11]
    doubled = tf.map_fn(lambda m: m.with_values(m.values * 2), mt)
    assert isinstance(doubled, MaskedTensor) and doubled.values.numpy()[4].tolist() == [32, 34, 36, 38]
    p = next(iter(tf.data.Dataset.from_tensors(Pastry(5, 5))))
    assert isinstance(p, Pastry) and int(p.sweetness) == 5

    def value_gen():
        for i in range(2, 7):
            yield MaskedTensor(range(10), [j % i != 0 for j in range(10)])

    ds = tf.data.Dataset.from_generator(value_gen, output_signature=MaskedTensor.Spec(shape=[10], dtype=tf.int32))
    assert [int(tf.reduce_sum(tf.cast(v.mask, tf.int32))) for v in ds] == [5, 6, 7, 8, 8]
    batches = list(ds.batch(2))
    assert [b.values.shape for b in batches] == [(2, 10), (2, 10), (1, 10)]
    again = list(ds.batch(2).unbatch())
    assert len(again) == 5 and again[1].mask.numpy().tolist() == [j % 3 != 0 for j in range(10)]
    mapped = next(iter(ds.map(lambda m: m.with_values(m.values + 1))))
    assert isinstance(mapped, MaskedTensor) and mapped.values.numpy().tolist() == list(range(1, 11))


def test_saved_model_unknown_rank_concrete_function(tmp_path):  # cell 64
    class CustomModuleWrapper(tf.Module):
        def __init__(self, variable_value):
            super().__init__()
            self.v = tf.Variable(variable_value)

        @tf.function
        def var_weighted_mean(self, x: MaskedTensor):
            x = MaskedTensor(x.values * self.v, x.mask)
            return tf.reduce_sum(x.with_default(0)) / tf.reduce_sum(tf.cast(x.mask, x.dtype))

        @tf.function()
        def var_weighted_mean_wrapper(self, x_values, x_mask):
            return self.var_weighted_mean(MaskedTensor(x_values, x_mask))

    module = CustomModuleWrapper([3.0, 2.0, 8.0, 5.0])
    module.var_weighted_mean_wrapper.get_concrete_function(tf.TensorSpec(None, tf.float32),
                                                           tf.TensorSpec(None, tf.bool))
    tf.saved_model.save(module, str(tmp_path))
    imported = tf.saved_model.load(str(tmp_path))
    x = _mt([1.0, 2.0, 3.0, 4.0], [False, True, False, True])
    assert float(imported.var_weighted_mean_wrapper(x.values, x.mask)) == 12.0  # TF 2.21: 12.0


class SavedMasked(tf.experimental.BatchableExtensionType):
    __name__ = "tapeflow_tests.SavedMasked"  # the name a SavedModel records, as the guide sets it

    values: tf.Tensor
    mask: tf.Tensor


def test_saved_model_with_extension_type_signature(tmp_path):  # cell 63
    class CustomModule(tf.Module):
        def __init__(self, variable_value):
            super().__init__()
            self.v = tf.Variable(variable_value)

        @tf.function
        def grow(self, x: SavedMasked):
            return SavedMasked(x.values * self.v, x.mask)

    module = CustomModule(100.0)
    module.grow.get_concrete_function(SavedMasked.Spec(values=tf.TensorSpec(None, tf.float32),
                                                       mask=tf.TensorSpec(None, tf.bool)))
    tf.saved_model.save(module, str(tmp_path))
    out = tf.saved_model.load(str(tmp_path)).grow(SavedMasked([1.0, 2, 3], [False, True, False]))
    assert isinstance(out, SavedMasked)
    np.testing.assert_allclose(out.values.numpy(), [100.0, 200.0, 300.0])
    assert out.mask.numpy().tolist() == [False, True, False]
