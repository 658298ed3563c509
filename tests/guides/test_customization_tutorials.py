"""tutorials/customization/*.ipynb cells: printed output as Keras 3.15 / TF 2.21 prints it."""

import tapeflow as tf


class ResnetIdentityBlock(tf.keras.Model):  # custom_layers cells 12-14
    def __init__(self):
        super().__init__(name="")
        self.conv2a = tf.keras.layers.Conv2D(1, (1, 1))
        self.bn2a = tf.keras.layers.BatchNormalization()

    def call(self, input_tensor, training=False):
        return tf.nn.relu(self.bn2a(self.conv2a(input_tensor), training=training))


def test_subclassed_model_summary_shapes_and_empty_name(capsys):
    block = ResnetIdentityBlock()
    assert block.name == ""  # Keras keeps an empty name (only None gets an automatic one)
    block(tf.zeros([1, 2, 3, 3]))
    block.summary()
    out = capsys.readouterr().out
    assert 'Model: ""' in out
    assert out.count("(1, 2, 3, 1)") == 2  # from the layers' build shapes, as Keras (was "?")
