"""Keras fit / evaluate / predict on tf.data datasets and on keras.utils.PyDataset."""

from __future__ import annotations

import math
import threading
import warnings

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

D = tf.data.Dataset


def _data(n=64):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    y = (x.sum(axis=1, keepdims=True) > 0).astype(np.float32)
    return x, y


def _model():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_fit_on_dataset_matches_fit_on_arrays():
    x, y = _data()
    a, b = _model(), _model()
    ha = a.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    hb = b.fit(D.from_tensor_slices((x, y)).batch(16), epochs=2, verbose=0)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-5)
    for wa, wb in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(wa, wb, rtol=1e-5)


def test_validation_evaluate_predict_on_datasets():
    x, y = _data()
    model = _model()
    ds = D.from_tensor_slices((x, y)).batch(16)
    history = model.fit(ds.shuffle(64).prefetch(tf.data.AUTOTUNE), epochs=2, validation_data=ds, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    loss, acc = model.evaluate(ds, verbose=0)
    assert abs(loss - model.evaluate(x, y, verbose=0)[0]) < 1e-5
    preds = model.predict(ds, verbose=0)
    assert preds.shape == (64, 1)
    np.testing.assert_allclose(preds, model.predict(ds.map(lambda a, b: a), verbose=0), rtol=1e-6)


def test_sample_weights_and_dict_inputs_from_datasets():
    x, y = _data()
    model = _model()
    weighted = D.from_tensor_slices((x, y, np.ones(64, np.float32))).batch(16)
    assert len(model.fit(weighted, epochs=1, verbose=0).history["loss"]) == 1
    inp_a, inp_b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    out = keras.layers.Dense(1)(keras.layers.Concatenate()([inp_a, inp_b]))
    multi = keras.Model({"a": inp_a, "b": inp_b}, out)
    multi.compile("sgd", "mse")
    ds = D.from_tensor_slices(({"a": x, "b": x[:, :2]}, y)).batch(8)
    multi.fit(ds, epochs=1, verbose=0)
    assert multi.predict(ds, verbose=0).shape == (64, 1)


def test_infinite_dataset_needs_steps_and_steps_continue_across_epochs():
    x, y = _data()
    model = _model()
    ds = D.from_tensor_slices((x, y)).batch(16)  # 4 batches
    with pytest.raises(ValueError, match="infinite dataset, you must specify the number of steps"):
        model.fit(ds.repeat(), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="infinite dataset"):
        model.fit(ds, validation_data=ds.repeat(), verbose=0)
    h = model.fit(ds.repeat(), epochs=3, steps_per_epoch=3, validation_data=ds.repeat(),
                  validation_steps=2, verbose=0)
    assert len(h.history["val_loss"]) == 3
    assert isinstance(model.evaluate(ds.repeat(), steps=2, verbose=0), list)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = model.fit(ds, epochs=3, steps_per_epoch=3, verbose=0)  # 4 batches: epoch 2 runs out
    # as Keras 3.15 on TF 2.21: epoch 2 ends after the 4th batch with the warning, epoch 3 starts a
    # fresh pass (a Dataset can be iterated again); training goes on
    assert len(h.history["loss"]) == 3
    assert sum("ran out of data" in str(w.message) for w in caught) == 1
    for short in (ds, ds.filter(lambda a, b: True)):  # known and unknown cardinality
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            h = model.fit(short, epochs=3, steps_per_epoch=10, verbose=0)
        assert len(h.history["loss"]) == 3
        assert sum("ran out of data" in str(w.message) for w in caught) == 3


def test_keras_errors_for_y_sample_weight_and_split_with_a_dataset():
    x, y = _data()
    model = _model()
    ds = D.from_tensor_slices((x, y)).batch(16)
    with pytest.raises(ValueError, match="`y` should not be passed"):
        model.fit(ds, y=y, verbose=0)
    with pytest.raises(ValueError, match="`sample_weights` should not be passed"):
        model.fit(ds, sample_weight=np.ones(64), verbose=0)
    with pytest.raises(ValueError, match="`validation_split` is only supported for tensors"):
        model.fit(ds, validation_split=0.2, verbose=0)


class _Batches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.epochs_ended = 0
        self.threads = set()

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index):
        self.threads.add(threading.current_thread().name)
        s = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[s], self.y[s]

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_pydataset_workers_epochs_and_sequence_alias():
    x, y = _data()
    seq = _Batches(x, y, 16, workers=2, max_queue_size=3)
    assert (seq.workers, seq.use_multiprocessing, seq.max_queue_size, seq.num_batches) == (2, False, 3, 4)
    model = _model()
    ref = _model()
    h = model.fit(seq, epochs=2, verbose=0)
    h_ref = ref.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h.history["loss"], h_ref.history["loss"], rtol=1e-5)
    assert seq.epochs_ended == 2
    assert any(name.startswith("tapeflow-pydataset") for name in seq.threads)
    assert model.predict(_Batches(x, y, 16), verbose=0).shape == (64, 1)
    assert keras.utils.Sequence is keras.utils.PyDataset
    with pytest.raises(ValueError, match="`workers` must be a positive integer"):
        _Batches(x, y, 16, workers=0)


def _softmax_model():
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_dense_stack_on_a_dataset_trains_like_arrays_and_checks_labels():
    x, _ = _data()
    labels = (np.arange(64) % 3).astype(np.int64)
    a, b = _softmax_model(), _softmax_model()
    ha = a.fit(x, labels, batch_size=16, epochs=2, shuffle=False, verbose=0)
    hb = b.fit(D.from_tensor_slices((x, labels)).batch(16), epochs=2, verbose=0)
    np.testing.assert_allclose(ha.history["loss"], hb.history["loss"], rtol=1e-5)
    bad = labels.copy()
    bad[40] = -1  # in the third batch
    with pytest.raises(Exception) as from_dataset:
        _softmax_model().fit(D.from_tensor_slices((x, bad)).batch(16), epochs=1, verbose=0)
    with pytest.raises(Exception) as from_arrays:
        _softmax_model().fit(x, bad, batch_size=16, shuffle=False, epochs=1, verbose=0)
    assert type(from_dataset.value) is type(from_arrays.value)
