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
