"""keras.distribution on one device: meshes, layouts, distributions; several devices are refused."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import distribution as dist


def test_devices_mesh_and_layouts() -> None:
    assert dist.list_devices("cpu") == ["cpu:0"] and dist.get_device_count("cpu") == 1
    mesh = dist.DeviceMesh((1,), ["batch"], devices=["cpu:0"])
    assert mesh.devices.shape == (1,) and repr(mesh) == "<DeviceMesh shape=(1,), axis_names=['batch']>"
    with pytest.raises(ValueError, match="does not match the number of devices"):
        dist.DeviceMesh((2,), ["batch"], devices=["cpu:0"])
    with pytest.raises(ValueError, match="Invalid axis names"):
        dist.TensorLayout(("model",), mesh)
    layout_map = dist.LayoutMap(dist.DeviceMesh((1, 1), ["batch", "model"], devices=["cpu:0"]))
    layout_map[".*dense.*kernel"] = (None, "model")
    assert layout_map["seq/dense_1/kernel"].axes == (None, "model") and layout_map["conv/kernel"] is None
    with pytest.raises(ValueError, match="already exist"):
        layout_map[".*dense.*kernel"] = ("model", None)


def test_distributions_on_one_device_train_as_usual() -> None:
    from tapeflow import keras

    data_parallel = dist.DataParallel(devices=["cpu:0"])
    assert data_parallel.num_model_replicas == 1 and data_parallel.batch_dim_name == "batch"
    assert data_parallel.get_data_layout((8, 3)).axes == ("batch", None)
    layout_map = dist.LayoutMap(dist.DeviceMesh((1, 1), ["batch", "model"], devices=["cpu:0"]))
    layout_map[".*kernel"] = (None, "model")
    model_parallel = dist.ModelParallel(layout_map=layout_map, batch_dim_name="batch")
    with model_parallel.scope():
        assert dist.distribution() is model_parallel
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile("sgd", "mse")
        model.fit(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0)
    assert dist.distribution() is None
    assert model_parallel.get_variable_layout(model.layers[0].kernel).axes == (None, "model")
    placed = dist.distribute_tensor(np.ones((2, 3)), dist.TensorLayout(("batch", None), layout_map.device_mesh))
    assert isinstance(placed, tf.Tensor) and placed.device.endswith("CPU:0")
    with pytest.raises(ValueError, match="rank 2"):
        dist.distribute_tensor(np.ones((2, 3)), dist.TensorLayout(("batch",), layout_map.device_mesh))


def test_several_devices_and_processes_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot shard tensors across devices"):
        dist.DataParallel(devices=["cpu:0", "cpu:1"])
    with pytest.raises(ValueError, match="MultiWorkerMirroredStrategy"):
        dist.initialize(num_processes=2, process_id=0)
    dist.initialize()
    with pytest.raises(ValueError, match="Distribution or None"):
        dist.set_distribution("data_parallel")
