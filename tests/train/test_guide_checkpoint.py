"""The TF guide "Training checkpoints" with only the import changed.

The cells run in order (tensorflow/docs site/en/guide/checkpoint.ipynb), the tf.data iterator
in the checkpoint as the guide has it; `net.save_weights('easy_checkpoint')` is left out (Keras 3
itself requires a `.weights.h5` name there).
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import tapeflow as tf


class Net(tf.keras.Model):
    """A simple linear model."""

    def __init__(self):
        super(Net, self).__init__()  # noqa: UP008 - as the guide writes it
        self.l1 = tf.keras.layers.Dense(5)

    def call(self, x):
        return self.l1(x)


def toy_dataset():
    inputs = tf.range(10.)[:, None]
    labels = inputs * 5. + tf.range(5.)[None, :]
    return tf.data.Dataset.from_tensor_slices(
        dict(x=inputs, y=labels)).repeat().batch(2)


def train_step(net, example, optimizer):
    """Trains `net` on `example` using `optimizer`."""
    with tf.GradientTape() as tape:
        output = net(example['x'])
        loss = tf.reduce_mean(tf.abs(output - example['y']))
    variables = net.trainable_variables
    gradients = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(gradients, variables, strict=True))
    return loss


# The guide's fake object graph uses only the bias and kernel of the checkpoint: the other values are
# reported as unused when it is collected (TF logs the same).
@pytest.mark.filterwarnings("ignore:Value in checkpoint could not be found")
def test_training_checkpoints_guide(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    net = Net()
    opt = tf.keras.optimizers.Adam(0.1)
    dataset = toy_dataset()
    iterator = iter(dataset)
    ckpt = tf.train.Checkpoint(step=tf.Variable(1), optimizer=opt, net=net, iterator=iterator)
    manager = tf.train.CheckpointManager(ckpt, './tf_ckpts', max_to_keep=3)
    losses = []

    def train_and_checkpoint(net, manager):
        ckpt.restore(manager.latest_checkpoint)
        if manager.latest_checkpoint:
            print("Restored from {}".format(manager.latest_checkpoint))  # noqa: UP032 - as the guide writes it
        else:
            print("Initializing from scratch.")

        for _ in range(50):
            example = next(iterator)
            loss = train_step(net, example, opt)
            ckpt.step.assign_add(1)
            if int(ckpt.step) % 10 == 0:
                save_path = manager.save()
                print("Saved checkpoint for step {}: {}".format(int(ckpt.step), save_path))  # noqa: UP032
                print("loss {:1.2f}".format(loss.numpy()))  # noqa: UP032
                losses.append(float(loss.numpy()))

    train_and_checkpoint(net, manager)
    first = capsys.readouterr().out.splitlines()
    assert first[0] == "Initializing from scratch."
    assert first[1::2] == [f"Saved checkpoint for step {10 * i}: ./tf_ckpts/ckpt-{i}" for i in range(1, 6)]

    # Restore and continue training: a new optimizer and model pick up where the last left off.
    opt = tf.keras.optimizers.Adam(0.1)
    net = Net()
    dataset = toy_dataset()
    iterator = iter(dataset)
    ckpt = tf.train.Checkpoint(step=tf.Variable(1), optimizer=opt, net=net, iterator=iterator)
    manager = tf.train.CheckpointManager(ckpt, './tf_ckpts', max_to_keep=3)
    train_and_checkpoint(net, manager)
    second = capsys.readouterr().out.splitlines()
    assert second[0] == "Restored from ./tf_ckpts/ckpt-5"
    assert second[1::2] == [f"Saved checkpoint for step {10 * i}: ./tf_ckpts/ckpt-{i}" for i in range(6, 11)]
    assert losses[5] < losses[0] and losses[-1] < losses[4]  # training resumed, not restarted
    assert manager.checkpoints == ['./tf_ckpts/ckpt-8', './tf_ckpts/ckpt-9', './tf_ckpts/ckpt-10']
    assert sorted(os.listdir('./tf_ckpts')) == [
        'checkpoint', 'ckpt-10.data-00000-of-00001', 'ckpt-10.index', 'ckpt-8.data-00000-of-00001',
        'ckpt-8.index', 'ckpt-9.data-00000-of-00001', 'ckpt-9.index']

    # Delayed restorations through a fake object graph.
    to_restore = tf.Variable(tf.zeros([5]))
    assert to_restore.numpy().tolist() == [0.0] * 5
    fake_layer = tf.train.Checkpoint(bias=to_restore)
    fake_net = tf.train.Checkpoint(l1=fake_layer)
    new_root = tf.train.Checkpoint(net=fake_net)
    status = new_root.restore(tf.train.latest_checkpoint('./tf_ckpts/'))
    np.testing.assert_array_equal(to_restore.numpy(), net.l1.bias.numpy())
    status.assert_existing_objects_matched()

    deferred_restore = tf.Variable(tf.zeros([1, 5]))
    assert deferred_restore.numpy().tolist() == [[0.0] * 5]
    fake_layer.kernel = deferred_restore
    np.testing.assert_array_equal(deferred_restore.numpy(), net.l1.kernel.numpy())

    # Manually inspecting checkpoints.
    reader = tf.train.load_checkpoint('./tf_ckpts/')
    shape_from_key = reader.get_variable_to_shape_map()
    dtype_from_key = reader.get_variable_to_dtype_map()
    assert sorted(shape_from_key.keys()) == [
        '_CHECKPOINTABLE_OBJECT_GRAPH',
        'iterator/.ATTRIBUTES/ITERATOR_STATE',
        'net/l1/bias/.ATTRIBUTES/VARIABLE_VALUE',
        'net/l1/kernel/.ATTRIBUTES/VARIABLE_VALUE',
        'optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE',
        'optimizer/_learning_rate/.ATTRIBUTES/VARIABLE_VALUE',
        'optimizer/_variables/2/.ATTRIBUTES/VARIABLE_VALUE',
        'optimizer/_variables/3/.ATTRIBUTES/VARIABLE_VALUE',
        'optimizer/_variables/4/.ATTRIBUTES/VARIABLE_VALUE',
        'optimizer/_variables/5/.ATTRIBUTES/VARIABLE_VALUE',
        'save_counter/.ATTRIBUTES/VARIABLE_VALUE',
        'step/.ATTRIBUTES/VARIABLE_VALUE',
    ]
    key = 'net/l1/kernel/.ATTRIBUTES/VARIABLE_VALUE'
    assert shape_from_key[key] == [1, 5] and dtype_from_key[key].name == "float32"
    np.testing.assert_array_equal(reader.get_tensor(key), net.l1.kernel.numpy())

    # List and dictionary tracking.
    save = tf.train.Checkpoint()
    save.listed = [tf.Variable(1.)]
    save.listed.append(tf.Variable(2.))
    save.mapped = {'one': save.listed[0]}
    save.mapped['two'] = save.listed[1]
    save_path = save.save('./tf_list_example')

    restore = tf.train.Checkpoint()
    v2 = tf.Variable(0.)
    assert 0. == v2.numpy()  # Not restored yet
    restore.mapped = {'two': v2}
    restore.restore(save_path)
    assert 2. == v2.numpy()

    restore.listed = []
    assert repr(restore.listed) == "ListWrapper([])"
    v1 = tf.Variable(0.)
    restore.listed.append(v1)  # Restores v1, from restore() in the previous cell
    assert 1. == v1.numpy()
