"""guide/data.ipynb cells that run with only the import changed (behaviour as TF 2.21)."""

import numpy as np
import pytest

import tapeflow as tf


def test_set_shape_eager_checks_and_graph_refines():  # cells 83-84: a py_function's result gets its shape back
    x = tf.ones([2, 3])
    x.set_shape([None, 3])
    with pytest.raises(ValueError, match=r"Tensor's shape \(2, 3\) is not compatible with supplied shape \(4, 3\)"):
        x.set_shape([4, 3])
    seen = []

    @tf.function(input_signature=[tf.TensorSpec([None, None])])
    def f(x):
        x.set_shape([None, 3])
        seen.append(tuple(x.shape))
        with pytest.raises(ValueError, match=r"Dimension 1 in both shapes must be equal, but are 3 and 4"):
            x.set_shape([2, 4])
        return x * 2

    assert f(tf.ones([2, 3])).numpy().tolist() == [[2.0] * 3] * 2
    assert seen == [(None, 3)]

    @tf.py_function(Tout=tf.float32)
    def flip(image):
        return np.flip(image.numpy(), 0)

    def mapped(image):
        shape = image.shape
        image = flip(image)
        image.set_shape(shape)
        return image

    ds = tf.data.Dataset.from_tensor_slices(np.arange(12, dtype=np.float32).reshape(2, 3, 2)).map(mapped)
    assert tuple(ds.element_spec.shape) == (3, 2)
    assert next(iter(ds)).numpy().tolist() == [[4.0, 5.0], [2.0, 3.0], [0.0, 1.0]]
