"""keras.callbacks.TensorBoard: the events Keras 3 writes, read back with TensorBoard's loader."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from tapeflow import keras

pytest.importorskip("tensorboard")
from test_summary_ops import read_events  # noqa: E402


def _fit(keras_mod, log_dir, **tb_kwargs):
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(64, 4)).astype("float32")
    y = (x.sum(1) > 2).astype("int32")
    model = keras_mod.Sequential([keras_mod.Input((4,)), keras_mod.layers.Dense(3, activation="relu", name="d1"),
                                  keras_mod.layers.Dense(2, activation="softmax", name="d2")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    cb = keras_mod.callbacks.TensorBoard(log_dir=log_dir, **tb_kwargs)
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, callbacks=[cb], verbose=0)
    events = {sub: read_events(os.path.join(log_dir, sub)) for sub in ("train", "validation")}
    return events, history.history


def _shape(events):
    """(step, tag without the model-name prefix of weight paths, plugin) per event, per directory."""
    return {sub: [(s, re.sub(r"^sequential(_\d+)?/", "", t), p) for s, t, p, _ in evs] for sub, evs in events.items()}


def test_epoch_scalars_histograms_and_images(tmp_path):
    events, history = _fit(keras, str(tmp_path), histogram_freq=2, write_images=True)
    train = {(s, t): v for s, t, _, v in events["train"]}
    val = {(s, t): v for s, t, _, v in events["validation"]}
    for epoch in range(3):
        np.testing.assert_allclose(train[(epoch, "epoch_loss")], history["loss"][epoch], rtol=1e-6)
        np.testing.assert_allclose(val[(epoch, "epoch_loss")], history["val_loss"][epoch], rtol=1e-6)
        np.testing.assert_allclose(train[(epoch, "epoch_learning_rate")], 0.001, rtol=1e-6)
    assert (9, "evaluation_accuracy_vs_iterations") in val  # 3 epochs x 3 batches
    histograms = sorted(t for s, t in train if t.endswith("/histogram"))
    assert histograms == sorted(["d1/kernel/histogram", "d1/bias/histogram", "d2/kernel/histogram",
                                 "d2/bias/histogram"] * 2)
    assert {s for s, t in train if t == "d1/kernel/image"} == {0, 2}
    assert train[(0, "keras")].dtype == object  # the architecture as JSON for the graph plugin


@pytest.mark.oracle
@pytest.mark.parametrize("kwargs", [dict(histogram_freq=1, write_images=True),
                                    dict(update_freq=2, write_graph=False)])
def test_same_events_as_keras(tmp_path, kwargs):
    real_keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    ours, _ = _fit(keras, str(tmp_path / "tapeflow"), **kwargs)
    theirs, _ = _fit(real_keras, str(tmp_path / "keras"), **kwargs)
    assert _shape(ours) == _shape(theirs)


def test_unsupported_options_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="projector"):
        keras.callbacks.TensorBoard(str(tmp_path), embeddings_freq=1)
    with pytest.raises(ValueError, match="update_freq"):
        keras.callbacks.TensorBoard(str(tmp_path), update_freq="sometimes")
