"""SaveOptions / LoadOptions / CheckpointOptions: honoured values work, the rest are named errors."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf


class _Adder(tf.Module):
    def __init__(self):
        super().__init__()
        self.v = tf.Variable(2.0)

    @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
    def __call__(self, x):
        return x + self.v


def test_saved_model_options(tmp_path):
    path = str(tmp_path / "m")
    tf.saved_model.save(_Adder(), path, options=tf.saved_model.SaveOptions(
        experimental_io_device="/job:localhost", namespace_whitelist=["Custom"], experimental_skip_saver=True))
    loaded = tf.saved_model.load(path, options=tf.saved_model.LoadOptions(experimental_io_device="/job:localhost"))
    assert float(loaded(tf.constant(1.0))) == 3.0
    with pytest.raises(ValueError, match="experimental_io_device='/job:worker/task:1'"):
        tf.saved_model.SaveOptions(experimental_io_device="/job:worker/task:1")
    with pytest.raises(ValueError, match="save_debug_info=True is not supported"):
        tf.saved_model.SaveOptions(save_debug_info=True)
    with pytest.raises(ValueError, match="experimental_variable_policy"):
        tf.saved_model.SaveOptions(experimental_variable_policy="save_variable_devices")
    with pytest.raises(ValueError, match="Received invalid VariablePolicy value"):
        tf.saved_model.SaveOptions(experimental_variable_policy="sometimes")
    with pytest.raises(ValueError, match="experimental_skip_checkpoint"):
        tf.saved_model.LoadOptions(experimental_skip_checkpoint=True)
    with pytest.raises(TypeError, match="SaveOptions"):
        tf.saved_model.save(_Adder(), path, options={"save_debug_info": False})


def test_checkpoint_options_write_callbacks_and_async(tmp_path):
    seen = []
    options = tf.train.CheckpointOptions(experimental_io_device="/CPU:0", enable_async=True,
                                         experimental_write_callbacks=[seen.append, lambda: seen.append("done")])
    ckpt = tf.train.Checkpoint(v=tf.Variable([1.0, 2.0]))
    path = ckpt.save(str(tmp_path / "c"), options=options)
    ckpt.sync()
    assert seen == [path, "done"]
    ckpt.v.assign([0.0, 0.0])
    ckpt.restore(path, options=tf.train.CheckpointOptions()).assert_consumed()
    np.testing.assert_array_equal(ckpt.v.numpy(), [1.0, 2.0])
    manager = tf.train.CheckpointManager(ckpt, str(tmp_path / "m"), max_to_keep=2)
    saved = manager.save(options=options)
    assert seen[-2:] == [saved, "done"]
    with pytest.raises(ValueError, match="experimental_skip_slot_variables"):
        tf.train.CheckpointOptions(experimental_skip_slot_variables=True)
    with pytest.raises(ValueError, match="callables"):
        tf.train.CheckpointOptions(experimental_write_callbacks=[3])


@pytest.mark.oracle
def test_option_objects_take_tensorflows_arguments():
    real = pytest.importorskip("tensorflow")
    import inspect

    for ours, theirs in ((tf.saved_model.SaveOptions, real.saved_model.SaveOptions),
                         (tf.saved_model.LoadOptions, real.saved_model.LoadOptions),
                         (tf.train.CheckpointOptions, real.train.CheckpointOptions)):
        mine = inspect.signature(ours.__init__).parameters
        tfs = inspect.signature(theirs.__init__).parameters
        assert list(mine) == list(tfs)
        assert {k: p.default for k, p in mine.items()} == {k: p.default for k, p in tfs.items()}
