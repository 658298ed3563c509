"""guide/tf_numpy.ipynb with only the import changed: NumPy methods and promotion after
`experimental_enable_numpy_behavior`, tnp results are tf.Tensors (tape, tf ops); dtypes as TF 2.21."""

import numpy as np
import pytest

import tapeflow as tf
import tapeflow.experimental.numpy as tnp


@pytest.fixture
def numpy_behavior():
    tnp.experimental_enable_numpy_behavior()
    yield
    tnp.api._disable_numpy_behavior()


def test_methods_need_numpy_behavior():
    tnp.api._disable_numpy_behavior()
    with pytest.raises(AttributeError, match="experimental_enable_numpy_behavior"):
        tf.ones([2]).reshape(2, 1)
    with pytest.raises(Exception, match="same dtype"):  # TF's default: no implicit promotion
        tf.constant(1, tf.int32) + tf.constant(1, tf.int64)


def test_ndarray_methods(numpy_behavior):  # cells 3 and 8
    ones = tnp.ones([5, 3], dtype=tnp.float32)
    assert isinstance(ones, tf.Tensor) and ones.ndim == 2 and ones.size == 15
    assert ones.T.shape == (3, 5) and ones.reshape(-1).shape == (15,)
    x = tnp.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(x.reshape((4, 6), order="F").numpy(),
                                  np.arange(24).reshape(2, 3, 4).reshape((4, 6), order="F"))
    np.testing.assert_array_equal(x.transpose(2, 0, 1).numpy(), np.arange(24).reshape(2, 3, 4).transpose(2, 0, 1))
    assert x.astype(tnp.float32).dtype == tf.float32 and x.tolist()[1][2][3] == 23
    assert int(x.max()) == 23 and int(x.min()) == 0 and float(x.mean()) == 11.5
    np.testing.assert_array_equal(x[1, (0, 0, 1), tnp.asarray([0, 1, 1])].numpy(), [12, 13, 17])


def test_operator_promotion_as_tf(numpy_behavior):  # cell 4; expected dtypes from TF 2.21
    values = [tnp.asarray(1, dtype=d) for d in (tnp.int32, tnp.int64, tnp.float32, tnp.float64)]
    got = [(v1 + v2).dtype.name for i, v1 in enumerate(values) for v2 in values[i + 1:]]
    assert got == ["int64", "float64", "float64", "float64", "float64", "float64"]
    x = tf.constant([1, 2], tf.int32)
    assert [(x + o).dtype.name for o in (1, 2.5, True, np.float32(1.0), tf.constant(1.0))] == [
        "int32", "float64", "int32", "float64", "float64"]
    assert (2.5 + x).dtype == tf.float64 and (x < 1.5).dtype == tf.bool
    assert (tf.constant([1.0, 2.0]) + 2.5).dtype == tf.float32
    assert (x / x).dtype == tf.float64 and (x // 2).dtype == tf.int32


def test_interop_and_gradients(numpy_behavior):  # cells 14-17
    x = tf.constant([1, 2])
    assert tnp.asarray(x) is x
    assert float(tf.reduce_sum(tnp.ones([2, 3], tnp.float32))) == 6.0
    assert float(tnp.sum(tf.ones([2, 3]))) == 6.0
    w = tnp.random.randn(32, 2).astype(tnp.float32)
    inputs = tnp.ones([16, 32], tnp.float32)
    with tf.GradientTape() as tape:
        tape.watch(w)
        loss = tnp.sum(tnp.square(tnp.matmul(inputs, w)))
    g = tape.gradient(loss, w)
    assert isinstance(g, tnp.ndarray)
    np.testing.assert_allclose(g.numpy(), 2 * inputs.numpy().T @ (inputs.numpy() @ w.numpy()), rtol=1e-5)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        pred = tnp.matmul(inputs, w)
    assert tape.batch_jacobian(pred, inputs).shape == (16, 2, 32)
