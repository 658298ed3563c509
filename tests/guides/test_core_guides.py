"""guide/core/*.ipynb cells that run with only the import changed (behaviour as TF 2.21)."""

import numpy as np

import tapeflow as tf


def test_reshape_of_unknown_dims_in_exported_function(tmp_path):  # mlp_core cells 23-28
    class ExportModule(tf.Module):
        def __init__(self):
            self.w = tf.Variable(tf.reshape(tf.range(7840.0) % 7.0, [784, 10]))

        @tf.function(input_signature=[tf.TensorSpec(shape=[None, None, None, None], dtype=tf.uint8)])
        def __call__(self, x):
            x = tf.reshape(x, shape=[-1, 784]) / 255
            return tf.argmax(tf.nn.softmax(tf.matmul(x, self.w)), axis=1)

    module = ExportModule()
    traced = module.__call__.get_concrete_function()
    assert tuple(traced.structured_outputs.shape) == (None,)  # TF: reshape to [-1, 784] gives (None, 784)
    images = np.arange(2 * 784).reshape(2, 28, 28, 1).astype(np.uint8)
    want = module(images).numpy()
    tf.saved_model.save(module, str(tmp_path / "export"))
    loaded = tf.saved_model.load(str(tmp_path / "export"))
    assert loaded(images).numpy().tolist() == want.tolist()
