"""One input path: every kind of `x` becomes a DataAdapter in `get_data_adapter`, and the data
checks of issue 18 for datasets and generators (empty input, wrong batch structures, labels)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras.models import data_adapters as adapters

D = tf.data.Dataset


def _data(n=12):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 3)).astype(np.float32), rng.integers(0, 4, n)


def _model(loss="sparse_categorical_crossentropy"):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    model.compile(optimizer="sgd", loss=loss)
    return model


class _Batches(keras.utils.PyDataset):
    def __init__(self, n):
        super().__init__()
        self.x, self.y = _data(n)

    def __len__(self):
        return len(self.x) // 4

    def __getitem__(self, i):
        return self.x[4 * i:4 * i + 4], self.y[4 * i:4 * i + 4]


def _gen(n=12):
    x, y = _data(n)
    for i in range(0, n, 4):
        yield x[i:i + 4], y[i:i + 4]


def test_each_kind_of_input_gets_its_adapter_behind_one_interface():
    model = _model()
    x, y = _data()
    cases = [
        ((x, y), adapters.ArrayDataAdapter),
        ((D.from_tensor_slices((x, y)).batch(4), None), adapters.TFDatasetAdapter),
        ((_Batches(12), None), adapters.PyDatasetAdapter),
        ((_gen(), None), adapters.GeneratorDataAdapter),
        (([(x[:4], y[:4]), (x[4:], y[4:])], None), adapters.GeneratorDataAdapter),
    ]
    for (data_x, data_y), kind in cases:
        adapter = adapters.get_data_adapter(model, data_x, data_y, batch_size=4, what="evaluate")
        assert type(adapter) is kind and isinstance(adapter, adapters.DataAdapter)
        batches = list(adapter.epoch())
        assert sum(int(b[0].shape[0]) for b in batches) in (12,)
        assert all(isinstance(t, tf.Tensor) for b in batches for t in b)
    assert adapters.get_validation_adapter(model, None, 4, None) is None
    assert type(adapters.get_validation_adapter(model, (x, y), 4, None)) is adapters.ArrayDataAdapter


def test_fit_evaluate_predict_agree_across_input_kinds():
    x, y = _data()
    losses = []
    for make in (lambda: (x, y), lambda: (D.from_tensor_slices((x, y)).batch(4), None),
                 lambda: (_Batches(12), None), lambda: (_gen(), None)):
        model = _model()
        data_x, data_y = make()
        history = model.fit(data_x, data_y, batch_size=4, epochs=1, shuffle=False, verbose=0)
        losses.append(history.history["loss"][0])
        np.testing.assert_allclose(model.predict(x, batch_size=4, verbose=0),
                                   model.predict(D.from_tensor_slices(x).batch(4), verbose=0), rtol=1e-6)
    np.testing.assert_allclose(losses, losses[0], rtol=1e-5)


@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
def test_empty_dataset_is_an_error_not_a_zero_loss(method):
    x, y = _data(0)
    model = _model()
    known = D.from_tensor_slices((x, y)).batch(4)                       # cardinality 0
    unknown = D.from_tensor_slices((x, y)).filter(lambda a, b: b >= 0).batch(4)
    for ds in (known, unknown):
        with pytest.raises(ValueError, match="the dataset must yield at least one batch"):
            getattr(model, method)(ds, verbose=0)
    with pytest.raises(ValueError, match="PyDataset must yield at least one batch|it must yield at least"):
        getattr(model, method)(_Batches(0), verbose=0)


def test_empty_validation_data_is_named():
    x, y = _data()
    with pytest.raises(ValueError, match="`validation_data` has 0 samples"):
        _model().fit(x, y, validation_data=(x[:0], y[:0]), verbose=0)
    with pytest.raises(ValueError, match="dataset must yield at least one batch"):
        _model().fit(x, y, validation_data=D.from_tensor_slices((x, y)).take(0), verbose=0)


def test_generator_batches_must_be_tuples_of_one_structure():
    x, y = _data()
    model = _model()
    with pytest.raises(ValueError, match="must return a tuple.*Received: ndarray\\(shape=\\(4, 3\\)"):
        model.fit((x[i:i + 4] for i in range(0, 12, 4)), verbose=0)
    assert model.predict((x[i:i + 4] for i in range(0, 12, 4)), verbose=0).shape == (12, 4)
    model.fit(iter([[x, y]]), verbose=0)                                # lists, as tf.keras 2 took

    def changing():
        yield x[:4], y[:4]
        yield x[4:8], y[4:8], np.ones(4, np.float32)

    with pytest.raises(ValueError, match=r"batch 1 does not have the structure of its first batch\. "
                                         r"Expected \(as batch 0\): \(Tensor\(shape=\(4, 3\)"):
        model.fit(changing(), verbose=0)

    def rank_change():
        yield x[:4], y[:4]
        yield x[4:8, :, None], y[4:8]

    with pytest.raises(ValueError, match="same rank for each array"):
        model.fit(rank_change(), verbose=0)
    with pytest.raises(ValueError, match="found: a tuple of 4 entries"):
        model.fit(iter([(x, y, y, y)]), verbose=0)


def test_dataset_elements_of_too_many_parts_are_refused_before_training():
    x, y = _data()
    ds = D.from_tensor_slices((x, y, y, y)).batch(4)
    with pytest.raises(ValueError, match=r"tuples of 4 entries, element_spec=\(TensorSpec"):
        _model().fit(ds, verbose=0)


def test_sparse_labels_from_datasets_and_generators_are_checked():
    x, _ = _data()
    model = _model()
    out_of_range = np.array([0, 1, 7, 2] * 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="label value of 7 which is outside the valid range"):
        model.fit(D.from_tensor_slices((x, out_of_range)).batch(4), verbose=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="label value of 7"):
        model.evaluate(D.from_tensor_slices((x, out_of_range)).batch(4), verbose=0)
    fractional = np.array([0, 1, 1.5, 2] * 3, np.float32)
    for data in (D.from_tensor_slices((x, fractional)).batch(4), iter([(x, fractional)])):
        with pytest.raises(ValueError, match=r"non-integer labels \(e.g. y=1.5\)"):
            model.fit(data, verbose=0)
    whole = np.array([0, 1, 3, 2] * 3, np.float32)                       # float but whole: fine
    model.fit(D.from_tensor_slices((x, whole)).batch(4), verbose=0)


def test_a_generator_that_runs_short_warns_and_stops():
    model = _model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(_gen(8), steps_per_epoch=2, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1 and history.history["loss"][0] > 0   # no epoch of zeros
    assert sum("ran out of data" in str(w.message) for w in caught) == 1


@pytest.mark.oracle
def test_generator_messages_match_keras():
    pytest.importorskip("tensorflow")
    import keras as real_keras

    x, _ = _data()
    theirs = real_keras.Sequential([real_keras.Input((3,)), real_keras.layers.Dense(4)])
    theirs.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    cases = [lambda: (v for v in ()), lambda: (x[i:i + 4] for i in range(0, 12, 4))]
    for make in cases:
        messages = []
        for model in (_model(), theirs):
            with pytest.raises(ValueError) as info:
                model.fit(make(), shuffle=False, verbose=0)
            messages.append(str(info.value).split("Received:")[0])
        assert messages[0] == messages[1]
