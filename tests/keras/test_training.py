"""compile / fit / evaluate / predict: behaviour, loss reduction, data forms, errors, oracles."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras.models.trainer import NotCompiledError


def _mlp(inputs: int = 3, hidden: int = 4, outputs: int = 1, out_act: str | None = "sigmoid",
         hidden_act: str = "relu") -> keras.Sequential:
    return keras.Sequential([
        keras.Input((inputs,)),
        keras.layers.Dense(hidden, activation=hidden_act),
        keras.layers.Dense(outputs, activation=out_act),
    ])


def _data(n: int = 64, d: int = 3, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    x = rng.random((n, d)).astype("float32")
    y = (x.sum(1) > d / 2).astype("float32")[:, None]
    return x, y


# ---------------------------------------------------------------------------------------------
# compile
# ---------------------------------------------------------------------------------------------

def test_compile_accepts_strings_objects_and_functions():
    x, y = _data()
    for optimizer, loss in [("sgd", "mse"), (keras.optimizers.Adam(0.01), keras.losses.MeanSquaredError()),
                            ("rmsprop", keras.losses.mean_squared_error),
                            ("adam", lambda yt, yp: tf.reduce_mean(tf.square(yt - yp), axis=-1))]:
        model = _mlp()
        model.compile(optimizer=optimizer, loss=loss, metrics=["mae", keras.metrics.BinaryAccuracy()])
        assert model.compiled and model.loss is loss
        assert isinstance(model.optimizer, keras.optimizers.Optimizer)
        history = model.fit(x, y, epochs=1, verbose=0)
        assert set(history.history) == {"loss", "mae", "binary_accuracy"}


@pytest.mark.parametrize("y_shape,units,expected", [
    ((32, 1), 1, "BinaryAccuracy"),                 # one output unit: binary
    ((32,), 5, "SparseCategoricalAccuracy"),        # labels of lower rank: sparse
    ((32, 1), 5, "SparseCategoricalAccuracy"),      # labels with a size-1 last axis: sparse
    ((32, 5), 5, "CategoricalAccuracy"),            # one-hot: categorical
])
def test_accuracy_resolved_from_shapes(y_shape, units, expected):
    rng = np.random.default_rng(1)
    x = rng.random((32, 3)).astype("float32")
    if expected == "CategoricalAccuracy":
        y = keras.utils.to_categorical(rng.integers(0, units, 32), units).astype("float32")
    elif expected == "BinaryAccuracy":
        y = rng.integers(0, 2, y_shape).astype("float32")
    else:
        y = rng.integers(0, units, y_shape)
    model = _mlp(outputs=units, out_act="sigmoid" if units == 1 else "softmax")
    loss = {"BinaryAccuracy": "binary_crossentropy", "CategoricalAccuracy": "categorical_crossentropy",
            "SparseCategoricalAccuracy": "sparse_categorical_crossentropy"}[expected]
    model.compile("sgd", loss, metrics=["acc"])
    history = model.fit(x, y, epochs=1, verbose=0)
    metric = model.metrics[1].metrics[0]
    assert type(metric).__name__ == expected
    assert metric.name == "acc" and "acc" in history.history


def test_unknown_identifiers_list_valid_names():
    model = _mlp()
    with pytest.raises(ValueError, match="sgd"):
        model.compile(optimizer="not_an_optimizer", loss="mse")
    x, y = _data()
    model.compile("sgd", loss="not_a_loss")
    with pytest.raises(ValueError, match="mean_squared_error"):
        model.fit(x, y, verbose=0)
    model.compile("sgd", loss="mse", metrics=["not_a_metric"])
    with pytest.raises(ValueError, match="binary_accuracy"):
        model.fit(x, y, verbose=0)


def test_compile_tf_keras2_positional_metrics_and_bad_metrics_type():
    x, y = _data()
    model = _mlp()
    model.compile("sgd", "mse", ["mae"])  # tf.keras 2 order: (optimizer, loss, metrics)
    assert "mae" in model.fit(x, y, epochs=1, verbose=0).history
    with pytest.raises(ValueError, match="list, tuple, or dict"):
        model.compile("sgd", "mse", metrics="accuracy")


@pytest.mark.parametrize("method", ["fit", "evaluate", "train_on_batch", "test_on_batch"])
def test_calling_before_compile_raises(method):
    x, y = _data(8)
    model = _mlp()
    with pytest.raises(RuntimeError, match=r"You must call `compile\(\)` before calling `" + method):
        getattr(model, method)(x, y)
    with pytest.raises(ValueError):  # Keras 3 raises ValueError: both work
        getattr(model, method)(x, y)
    assert issubclass(NotCompiledError, RuntimeError) and issubclass(NotCompiledError, ValueError)
    assert model.predict(x, verbose=0).shape == (8, 1)  # predict needs no compile


# ---------------------------------------------------------------------------------------------
# fit: History, metrics as running means, validation
# ---------------------------------------------------------------------------------------------

def test_fit_returns_history_with_keras_keys():
    x, y = _data(50)
    model = _mlp()
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_data=(x, y))
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history.epoch == [0, 1, 2]
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 4}
    assert history.model is model and model.history is history
    assert all(isinstance(v, float) and len(vals) == 3 for vals in history.history.values() for v in vals)
    assert model.metrics_names == ["loss", "compile_metrics"]


def test_epoch_loss_is_batch_weighted_running_mean():
    # With a zero learning rate the weights never move: the epoch's running mean (weighted by
    # batch size, with a short last batch) equals the loss of the whole data set.
    x, y = _data(50)
    model = _mlp()
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "mse", metrics=["mae"])
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=True)
    loss, mae = model.evaluate(x, y, batch_size=50, verbose=0)
    np.testing.assert_allclose(history.history["loss"], [loss, loss], rtol=1e-5)
    np.testing.assert_allclose(history.history["mae"], [mae, mae], rtol=1e-5)
    expected = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_validation_split_takes_the_last_samples_before_shuffling():
    x, y = _data(40)
    model = _mlp()
    model.compile("sgd", "mse")
    history = model.fit(x, y, epochs=1, batch_size=8, validation_split=0.25, shuffle=True, verbose=0)
    assert history.params["steps"] == 4  # 30 training samples
    val_loss = model.evaluate(x[30:], y[30:], verbose=0)
    np.testing.assert_allclose(history.history["val_loss"][0], val_loss, rtol=1e-6)
    with pytest.raises(ValueError, match="not sufficient to split"):
        model.fit(x[:1], y[:1], validation_split=0.1, verbose=0)


def test_validation_freq_and_initial_epoch():
    x, y = _data(32)
    model = _mlp()
    model.compile("sgd", "mse")
    history = model.fit(x, y, epochs=4, validation_data=(x, y), validation_freq=2, verbose=0)
    assert len(history.history["val_loss"]) == 2 and len(history.history["loss"]) == 4
    history = model.fit(x, y, epochs=5, initial_epoch=3, verbose=0)
    assert history.epoch == [3, 4]
    history = model.fit(x, y, epochs=3, validation_data=(x, y), validation_freq=[1, 3], verbose=0)
    assert len(history.history["val_loss"]) == 2


def test_shuffle_false_uses_data_order_and_steps_per_epoch():
    x, y = _data(32)
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batch)

    model = _mlp()
    model.compile("sgd", "mse")
    history = model.fit(x, y, batch_size=10, epochs=2, steps_per_epoch=2, shuffle=False, verbose=0,
                        callbacks=[Record()])
    assert history.params["steps"] == 2 and seen == [0, 1, 0, 1]


# ---------------------------------------------------------------------------------------------
# loss reduction: sample weights, class weights, regularization
# ---------------------------------------------------------------------------------------------

def test_sample_weight_reduction_is_sum_over_batch_size():
    x, y = _data(8)
    model = _mlp()
    model.compile("sgd", "mse")
    sw = np.array([0.0, 1.0, 2.0, 0.5, 1.0, 3.0, 0.0, 1.0], "float32")
    per_sample = ((model.predict(x, verbose=0) - y) ** 2).mean(axis=1)
    loss = model.test_on_batch(x, y, sample_weight=sw)
    np.testing.assert_allclose(loss, (per_sample * sw).sum() / len(sw), rtol=1e-5)


def test_class_weight_equals_matching_sample_weights():
    x, y = _data(48)
    labels = y[:, 0].astype(int)
    weights = {0: 0.3, 1: 2.0}
    results = []
    for kwargs in ({"class_weight": weights}, {"sample_weight": np.where(labels == 1, 2.0, 0.3)}):
        keras.utils.set_random_seed(3)
        model = _mlp()
        model.compile("sgd", "binary_crossentropy")
        history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, **kwargs)
        results.append((history.history["loss"], model.get_weights()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
    for a, b in zip(results[0][1], results[1][1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    model = _mlp()
    model.compile("sgd", "binary_crossentropy")
    with pytest.raises(ValueError, match="class_weight"):
        model.fit(x, y, class_weight=weights, sample_weight=np.ones(48), verbose=0)


def test_regularization_losses_are_added():
    x, y = _data(16)
    model = keras.Sequential([keras.Input((3,)),
                              keras.layers.Dense(2, kernel_regularizer=keras.regularizers.L2(0.1)),
                              keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    kernel = model.layers[0].kernel.numpy()
    data_loss = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
    np.testing.assert_allclose(model.test_on_batch(x, y), data_loss + 0.1 * (kernel ** 2).sum(), rtol=1e-5)
    model.fit(x, y, epochs=1, verbose=0)  # the taped path trains through the penalty


def test_nan_loss_shows_in_history():
    x, y = _data(16)
    x[3, 0] = np.nan
    model = _mlp()
    model.compile("sgd", "mse")
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0, shuffle=False)
    assert all(np.isnan(v) for v in history.history["loss"])


# ---------------------------------------------------------------------------------------------
# the traced Dense-stack step gives the taped step's results
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["mse_sigmoid", "sparse_softmax", "onehot_softmax", "sparse_logits"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_traced_dense_step_matches_taped_step(case, optimizer):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2, 3)).astype("float32")
    labels = rng.integers(0, 4, 40)
    last, loss, y = {
        "mse_sigmoid": ("sigmoid", "mse", rng.random((40, 4)).astype("float32")),
        "sparse_softmax": ("softmax", "sparse_categorical_crossentropy", labels),
        "onehot_softmax": ("softmax", "categorical_crossentropy", keras.utils.to_categorical(labels, 4)),
        "sparse_logits": (None, keras.losses.SparseCategoricalCrossentropy(from_logits=True), labels),
    }[case]
    runs = []
    for traced in (True, False):
        keras.utils.set_random_seed(7)
        model = keras.Sequential([keras.layers.Flatten(input_shape=(2, 3)),
                                  keras.layers.Dense(5, activation="tanh"),
                                  keras.layers.Dense(6, activation="relu"),
                                  keras.layers.Dense(4, activation=last)])
        model.compile(optimizer, loss, metrics=["accuracy"] if case != "mse_sigmoid" else ["mae"])
        model.run_eagerly = not traced
        history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        runs.append((history.history, model.get_weights()))
    for key in runs[0][0]:
        np.testing.assert_allclose(runs[0][0][key], runs[1][0][key], rtol=1e-5, atol=1e-6)
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_traced_step_for_a_functional_chain_matches_taped_step():
    x, y = _data(24)
    runs = []
    for traced in (True, False):
        keras.utils.set_random_seed(9)
        inputs = keras.Input((3,))
        hidden = keras.layers.Dense(5, activation="relu")(inputs)
        model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(hidden))
        model.compile("rmsprop", "mse", metrics=["mae"])
        model.run_eagerly = not traced
        runs.append((model.fit(x, y, epochs=2, batch_size=8, verbose=0).history, model.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_fit_runs_the_one_train_step_through_tf_function_unless_run_eagerly(monkeypatch):
    from tapeflow.keras.models.trainer import Trainer

    calls = []
    original = Trainer.train_step
    monkeypatch.setattr(Trainer, "train_step", lambda self, data: calls.append(1) or original(self, data))
    x, y = _data(16)
    for model in (_mlp(), keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dropout(0.5),
                                            keras.layers.Dense(1)])):
        model.compile("sgd", "mse")
        model.fit(x, y, epochs=3, batch_size=8, verbose=0)  # 6 batches: one trace (plus TF's variable retrace)
        assert 1 <= len(calls) <= 2
        calls.clear()
        model.compile("sgd", "mse", run_eagerly=True)
        model.fit(x, y, epochs=3, batch_size=8, verbose=0)
        assert len(calls) == 6
        calls.clear()


# ---------------------------------------------------------------------------------------------
# evaluate / predict / single batches
# ---------------------------------------------------------------------------------------------

def test_evaluate_return_forms():
    x, y = _data(20)
    model = _mlp()
    model.compile("sgd", "mse")
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    model.compile("sgd", "mse", metrics=["mae", "mse"])
    values = model.evaluate(x, y, verbose=0)
    as_dict = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(as_dict) == ["loss", "mae", "mse"]
    assert values == [as_dict["loss"], as_dict["mae"], as_dict["mse"]]
    np.testing.assert_allclose(as_dict["loss"], as_dict["mse"], rtol=1e-6)


def test_predict_is_batched_and_concatenated():
    x, _ = _data(23)
    model = _mlp(outputs=2, out_act=None)
    out = model.predict(x, batch_size=5, verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (23, 2)
    np.testing.assert_allclose(out, model(x).numpy(), rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x), out, rtol=1e-6)


def test_on_batch_methods():
    x, y = _data(10)
    model = _mlp()
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
    before = model.get_weights()
    loss, acc = model.test_on_batch(x, y)
    assert [w.tolist() for w in before] == [w.tolist() for w in model.get_weights()]
    logs = model.train_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    np.testing.assert_allclose(logs["loss"], loss, rtol=1e-6)  # the loss before the update
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_integer_inputs_and_targets():
    x = np.array([[1, 1], [1, 0], [0, 1], [0, 0]])
    y = np.array([[0], [1], [1], [0]])
    model = keras.Sequential([keras.layers.Dense(2, activation="sigmoid", input_shape=(2,)),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.SGD(learning_rate=0.1), "mse")
    history = model.fit(x, y, epochs=2, batch_size=1, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.predict(x, verbose=0).dtype == np.float32


# ---------------------------------------------------------------------------------------------
# multi-input / multi-output, generators, custom steps
# ---------------------------------------------------------------------------------------------

def _two_heads() -> keras.Model:
    a = keras.Input((4,), name="a")
    b = keras.Input((3,), name="b")
    h = keras.layers.Dense(5, name="hid")(a)
    c = keras.layers.Concatenate()([h, b])
    out1 = keras.layers.Dense(1, name="out1")(c)
    out2 = keras.layers.Dense(3, activation="softmax", name="out2")(c)
    return keras.Model([a, b], [out1, out2])


def test_multi_input_output_losses_weights_and_names():
    rng = np.random.default_rng(0)
    xa, xb = rng.random((32, 4)).astype("float32"), rng.random((32, 3)).astype("float32")
    y1, y2 = rng.random((32, 1)).astype("float32"), rng.integers(0, 3, 32)
    model = _two_heads()
    model.compile("adam", loss={"out1": "mse", "out2": "sparse_categorical_crossentropy"},
                  loss_weights={"out1": 2.0, "out2": 0.5}, metrics={"out2": ["accuracy"]})
    history = model.fit({"a": xa, "b": xb}, {"out1": y1, "out2": y2}, epochs=1, verbose=0,
                        validation_split=0.25)
    assert list(history.history) == ["loss", "out1_loss", "out2_accuracy", "out2_loss", "val_loss",
                                     "val_out1_loss", "val_out2_accuracy", "val_out2_loss"]
    logs = model.evaluate([xa, xb], [y1, y2], verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], 2.0 * logs["out1_loss"] + 0.5 * logs["out2_loss"], rtol=1e-5)
    preds = model.predict([xa, xb], verbose=0)
    assert isinstance(preds, list) and [p.shape for p in preds] == [(32, 1), (32, 3)]
    model.compile("sgd", loss=["mse", "sparse_categorical_crossentropy"], metrics=[["mae"], ["accuracy"]])
    history = model.fit([xa, xb], [y1, y2], epochs=1, verbose=0)
    assert {"out1_mae", "out2_accuracy", "out1_loss", "out2_loss"} <= set(history.history)


def test_generator_and_iterable_data():
    x, y = _data(48)

    def batches():
        while True:
            for i in range(0, 48, 16):
                yield x[i:i + 16], y[i:i + 16]

    model = _mlp()
    model.compile("sgd", "mse")
    history = model.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0,
                        validation_data=[(x[:16], y[:16]), (x[16:], y[16:])])  # a list of batches
    assert len(history.history["loss"]) == 2 and "val_loss" in history.history
    finite = [(x[i:i + 16], y[i:i + 16], np.ones(16)) for i in range(0, 48, 16)]
    np.testing.assert_allclose(model.evaluate(finite, verbose=0), model.evaluate(x, y, verbose=0), rtol=1e-5)
    assert model.predict(iter([x[:5], x[5:]]), verbose=0).shape == (48, 1)
    with pytest.raises(ValueError, match="do not pass `y`"):
        model.fit(batches(), y, steps_per_epoch=1, verbose=0)


def test_lazily_built_model_and_custom_train_step():
    x, y = _data(32)

    class Custom(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(4, activation="relu")
            self.out = keras.layers.Dense(1)
            self.tracker = keras.metrics.Mean(name="custom_loss")

        def call(self, inputs):
            return self.out(self.hidden(inputs))

        def train_step(self, data):
            inputs, targets = data
            with tf.GradientTape() as tape:
                pred = self(inputs, training=True)
                loss = self.compute_loss(y=targets, y_pred=pred)
            grads = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables, strict=True))
            self.tracker.update_state(loss)
            return {"custom_loss": self.tracker.result()}

    model = Custom()
    model.compile("sgd", "mse")
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert list(history.history) == ["custom_loss"]
    assert model.tracker in model.metrics
    assert history.history["custom_loss"][1] != history.history["custom_loss"][0]


def test_tf_keras2_style_compiled_loss_in_train_step():
    x, y = _data(32)

    class Old(keras.Sequential):
        def train_step(self, data):
            inputs, targets = data
            with tf.GradientTape() as tape:
                pred = self(inputs, training=True)
                loss = self.compiled_loss(targets, pred, regularization_losses=self.losses)
            self.optimizer.apply_gradients(zip(tape.gradient(loss, self.trainable_variables),
                                               self.trainable_variables, strict=True))
            self.compiled_metrics.update_state(targets, pred)
            return {m.name: m.result() for m in self.metrics}

    model = Old([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    history = model.fit(x, y, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "mae"}


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------

def test_x_and_y_of_different_lengths():
    x, y = _data(20)
    model = _mlp()
    model.compile("sgd", "mse")
    pattern = r"Data cardinality is ambiguous[\s\S]*'x' sizes: 20[\s\S]*'y' sizes: 19"
    with pytest.raises(ValueError, match=pattern):
        model.fit(x, y[:19], verbose=0)
    with pytest.raises(ValueError, match="Data cardinality"):
        model.evaluate(x, y[:5], verbose=0)


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_wrong_feature_dimension_names_layer_and_shapes(kind):
    x = np.zeros((8, 5), "float32")
    y = np.zeros((8, 1), "float32")
    if kind == "sequential":
        model = keras.Sequential([keras.layers.Dense(4, input_shape=(3,), name="hidden"),
                                  keras.layers.Dense(1)])
        pattern = r"hidden.*(3|\(None, 3\)).*\(8, 5\)"
    else:
        inputs = keras.Input((3,))
        model = keras.Model(inputs, keras.layers.Dense(1)(inputs), name="net")
        pattern = r"net.*\(None, 3\).*\(8, 5\)"
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=pattern):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match=pattern):
        model.predict(x, verbose=0)


def test_sparse_labels_out_of_range():
    x, _ = _data(16)
    model = _mlp(outputs=3, out_act="softmax")
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    labels = np.array([0, 1, 2, 3] * 4)
    with pytest.raises(Exception, match=r"label value of 3.*\[0, 3\)"):
        model.fit(x, labels, verbose=0)
    with pytest.raises(Exception, match=r"label value of -1"):
        model.evaluate(x, -np.ones(16, int), verbose=0)


# ---------------------------------------------------------------------------------------------
# progress output
# ---------------------------------------------------------------------------------------------

def test_verbose_modes(capsys):
    x, y = _data(20)
    model = _mlp()
    model.compile("sgd", "mse", metrics=["mae"])
    model.fit(x, y, epochs=2, batch_size=10, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(x, y, epochs=2, batch_size=10, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert lines[1].startswith("2/2 - ") and "/step - loss: " in lines[1] and " - mae: " in lines[1]
    model.fit(x, y, epochs=1, batch_size=10)  # "auto": not a terminal under pytest, so 2
    out = capsys.readouterr().out
    assert out.startswith("2/2 - ") and "\r" not in out
    model.fit(x, y, epochs=1, batch_size=10, verbose=1)
    out = capsys.readouterr().out
    assert "\r" in out and "━" * 20 in out and "mae: " in out and out.endswith("\n")
    model.evaluate(x, y, verbose=2)
    assert capsys.readouterr().out.startswith("1/1 - ")


def test_auto_verbose_in_a_notebook_is_the_coloured_live_bar(capsys, monkeypatch):
    """In Jupyter (ipykernel loaded, stdout no terminal) "auto" is Keras 3's live bar with its ANSI
    colours, as the keras.io guides show it: '\x1b[1m2/2\x1b[0m \x1b[32m━━...'."""
    import sys
    import types

    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    x, y = _data(20)
    model = _mlp()
    model.compile("sgd", "mse")
    model.fit(x, y, epochs=1, batch_size=10)
    out = capsys.readouterr().out
    assert "\x1b[1m2/2\x1b[0m \x1b[32m" + "━" * 20 + "\x1b[0m" in out and "loss: " in out


# ---------------------------------------------------------------------------------------------
# reproducibility, utils
# ---------------------------------------------------------------------------------------------

def test_set_random_seed_gives_bit_identical_training():
    x, y = _data(40)
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(1234)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dropout(0.3), keras.layers.Dense(1)])
        model.compile("adam", "mse")
        history = model.fit(x, y, epochs=3, batch_size=8, verbose=0, validation_split=0.2)
        runs.append((history.history, [w.tobytes() for w in model.get_weights()]))
    assert runs[0] == runs[1]
    with pytest.raises(ValueError, match="integer"):
        keras.utils.set_random_seed(1.5)


def test_to_categorical_and_normalize():
    out = keras.utils.to_categorical([0, 2, 1, 2])
    np.testing.assert_array_equal(out, np.eye(3)[[0, 2, 1, 2]])
    assert keras.utils.to_categorical(np.array([[1], [0]]), num_classes=4).shape == (2, 4)
    assert keras.utils.to_categorical(np.zeros((2, 3), int), 2).shape == (2, 3, 2)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        keras.utils.to_categorical([0, 2], num_classes=2)
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(keras.utils.normalize(x), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(keras.utils.normalize(x, axis=0, order=1), [[1.0, 1.0], [0.0, 0.0]])


# ---------------------------------------------------------------------------------------------
# oracle: the same History as tf.keras
# ---------------------------------------------------------------------------------------------

@pytest.mark.oracle
def test_history_matches_tf_keras():
    pytest.importorskip("tensorflow")
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as real_tf

    rng = np.random.default_rng(5)
    x = rng.normal(size=(50, 4)).astype("float32")
    labels = rng.integers(0, 3, 50)
    vx, vlabels = x[:20] * 0.5, labels[:20]

    def build(k):
        return k.Sequential([k.Input((4,)), k.layers.Dense(6, activation="relu"),
                             k.layers.Dense(3, activation="softmax")])

    ours = build(keras)
    theirs = build(real_tf.keras)
    theirs.set_weights(ours.get_weights())
    for model, k in ((ours, keras), (theirs, real_tf.keras)):
        model.compile(k.optimizers.SGD(learning_rate=0.1, momentum=0.5), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    h1 = ours.fit(x, labels, batch_size=16, epochs=2, shuffle=False, verbose=0,
                  validation_data=(vx, vlabels)).history
    h2 = theirs.fit(x, labels, batch_size=16, epochs=2, shuffle=False, verbose=0,
                    validation_data=(vx, vlabels)).history
    assert list(h1) == list(h2)
    for key in h1:
        np.testing.assert_allclose(h1[key], h2[key], rtol=1e-5, atol=1e-6, err_msg=key)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_functional_model_with_a_raw_op_between_layers_fits():
    inp = keras.Input((4,))
    out = keras.layers.Dense(2)(tf.nn.relu(keras.layers.Dense(8)(inp)))
    model = keras.Model(inp, out)
    model.compile("sgd", "mse")
    history = model.fit(np.ones((8, 4), np.float32), np.ones((8, 2), np.float32), verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_recompiling_without_loss_or_metrics_keeps_the_previous_ones():
    """Keras 3.15's compile only replaces the loss (metrics) it is given (checked on TF 2.21):
    the training guide recompiles a multi-output model with losses only and still reports the
    metrics of the compile before."""
    x, y = _data(8)
    model = _mlp()
    model.compile("sgd", "mse", metrics=["mae"])
    model.fit(x, y, verbose=0)
    model.compile("adam")
    assert sorted(model.fit(x, y, verbose=0).history) == ["loss", "mae"]
    assert model.loss == "mse" and model.get_compile_config()["loss"] is None
    model.compile("adam", loss="mae")
    assert sorted(model.fit(x, y, verbose=0).history) == ["loss", "mae"] and model.loss == "mae"
    model.compile("adam", metrics=["mse"])
    assert sorted(model.fit(x, y, verbose=0).history) == ["loss", "mse"]
