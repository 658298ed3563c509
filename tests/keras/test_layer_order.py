"""`Functional.layers` in Keras's order: by depth from the outputs, deepest first, then by the
order a depth-first walk from the outputs meets each layer."""

from __future__ import annotations

import pytest

from tapeflow import keras


def _branchy(lib):
    """A small graph with branches of unequal length, a shared layer, a plain op and two inputs."""
    layers = lib.layers
    a = lib.Input((8,), name="a")
    b = lib.Input((8,), name="b")
    shared = layers.Dense(8, name="shared")
    short = layers.Dense(8, name="short")(a)
    long1 = layers.Dense(8, name="long1")(a)
    long2 = layers.Dense(8, name="long2")(long1)
    long3 = shared(long2)
    other = shared(b)
    summed = layers.Add(name="add")([short, long3, other])
    scaled = summed * 2.0
    out1 = layers.Dense(3, name="head1")(scaled)
    out2 = layers.Dense(2, name="head2")(long1)
    return lib.Model([a, b], [out1, out2])


def test_layers_sorted_by_depth_then_first_visit():
    model = _branchy(keras)
    assert [layer.name for layer in model.layers] == [
        "a", "long1", "long2", "b", "short", "shared", "add", "head1", "head2"]


@pytest.mark.oracle
def test_layer_order_matches_keras():
    pytest.importorskip("tensorflow")
    k = pytest.importorskip("keras")
    assert [layer.name for layer in _branchy(keras).layers] == [layer.name for layer in _branchy(k).layers]


def test_legacy_h5_topology_load_follows_the_order(tmp_path):
    pytest.importorskip("h5py")
    model = _branchy(keras)
    h5py = pytest.importorskip("h5py")
    from tapeflow.keras.saving.legacy_h5 import _write_weights, load_weights_legacy

    path = str(tmp_path / "w.h5")
    with h5py.File(path, "w") as f:
        _write_weights(f, model)
    again = _branchy(keras)
    load_weights_legacy(again, path)
    for x, y in zip(model.weights, again.weights, strict=True):
        assert (x.numpy() == y.numpy()).all()
