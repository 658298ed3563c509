"""Keras 3 developer guides (keras.io/guides) with only the imports changed, on small data.

Verified whole (outside the tests, MNIST from $TAPEFLOW_DATA_DIR, fewer samples and epochs, synthetic
data where a guide downloads): functional API, Sequential model, subclassing, training with built-in
methods, writing a training loop from scratch (TF), customizing fit (TF), callbacks, masking and
padding, working with RNNs (its nested-input cell section fails in Keras 3.15 too), transfer
learning (Xception with weights=None), preprocessing layers, customizing saving, intro to Keras for
engineers and for researchers, INT8 quantization, distributed training with TensorFlow (one-device
MirroredStrategy), migrating tf.keras code to Keras 3.

Each test runs the code of one guide's sections that exercise something Tapeflow had to add or
fix (symbolic masks on Functional tensors, masks reaching a custom layer's call during shape
inference, keras.Variable / `.value`, custom metrics with `assign`, custom train/test steps, the
tf.function training loop with metrics). The guides were also run whole, with MNIST from
$TAPEFLOW_DATA_DIR and fewer epochs/samples; those runs are not repeated here (too slow).
"""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers, ops


def test_understanding_masking_and_padding():
    raw_inputs = [[711, 632, 71], [73, 8, 3215, 55, 927], [83, 91, 1, 645, 1253, 927]]
    padded_inputs = keras.utils.pad_sequences(raw_inputs, padding="post")
    embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
    masked_output = embedding(padded_inputs)
    np.testing.assert_array_equal(masked_output._keras_mask.numpy(), padded_inputs != 0)
    unmasked = ops.cast(ops.tile(ops.expand_dims(padded_inputs, axis=-1), [1, 1, 10]), dtype="float32")
    masked_embedding = layers.Masking()(unmasked)

    class TemporalSplit(keras.layers.Layer):
        def call(self, inputs):
            return ops.split(inputs, 2, axis=1)

        def compute_mask(self, inputs, mask=None):
            if mask is None:
                return None
            return ops.split(mask, 2, axis=1)

    first_half, second_half = TemporalSplit()(masked_embedding)
    np.testing.assert_array_equal(second_half._keras_mask.numpy(), (padded_inputs != 0)[:, 3:])

    class MyActivation(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs):
            return ops.relu(inputs)

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
    x = MyActivation()(x)
    # Functional (symbolic) tensors carry their mask, as Keras's KerasTensors do.
    assert x._keras_mask.dtype == tf.bool and tuple(x._keras_mask.shape) == (None, None)
    outputs = layers.LSTM(32)(x)
    model = keras.Model(inputs, outputs)
    assert model(np.random.randint(0, 5000, size=(4, 7))).shape == (4, 32)

    class TemporalSoftmax(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            assert mask is not None  # also while the Functional output shape is inferred
            broadcast_float_mask = ops.expand_dims(ops.cast(mask, "float32"), -1)
            inputs_exp = ops.exp(inputs) * broadcast_float_mask
            inputs_sum = ops.sum(inputs_exp * broadcast_float_mask, axis=1, keepdims=True)
            return inputs_exp / inputs_sum

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=10, output_dim=32, mask_zero=True)(inputs)
    x = layers.Dense(1)(x)
    model = keras.Model(inputs, TemporalSoftmax()(x))
    data = np.random.randint(1, 10, size=(4, 6))
    data[:, 4:] = 0
    y = model(data).numpy()
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)
    assert (y[:, 4:] == 0).all()


def test_making_new_layers_and_models_via_subclassing():
    class ComputeSum(keras.layers.Layer):
        def __init__(self, input_dim):
            super().__init__()
            self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

        def call(self, inputs):
            self.total.assign_add(ops.sum(inputs, axis=0))
            return self.total

    my_sum = ComputeSum(2)
    my_sum(ops.ones((2, 2)))
    assert my_sum(ops.ones((2, 2))).numpy().tolist() == [4.0, 4.0]
    assert my_sum.trainable_weights == [] and len(my_sum.non_trainable_weights) == 1

    class CustomDropout(keras.layers.Layer):
        def __init__(self, rate, **kwargs):
            super().__init__(**kwargs)
            self.rate = rate
            self.seed_generator = keras.random.SeedGenerator(1337)

        def call(self, inputs, training=None):
            if training:
                return keras.random.dropout(inputs, rate=self.rate, seed=self.seed_generator)
            return inputs

    out = CustomDropout(0.5)(ops.ones((4, 8)), training=True).numpy()
    assert set(np.unique(out)) <= {0.0, 2.0}

    class Sampling(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(1337)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            batch, dim = ops.shape(z_mean)[0], ops.shape(z_mean)[1]
            epsilon = keras.random.normal(shape=(batch, dim), seed=self.seed_generator)
            return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    class VAE(keras.Model):
        def __init__(self, original_dim, **kwargs):
            super().__init__(**kwargs)
            self.proj = layers.Dense(16, activation="relu")
            self.mean = layers.Dense(4)
            self.log_var = layers.Dense(4)
            self.sampling = Sampling()
            self.out = layers.Dense(original_dim, activation="sigmoid")

        def call(self, inputs):
            x = self.proj(inputs)
            z_mean, z_log_var = self.mean(x), self.log_var(x)
            z = self.sampling((z_mean, z_log_var))
            self.add_loss(-0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1))
            return self.out(z)

    x_train = np.random.default_rng(0).random((64, 20)).astype("float32")
    vae = VAE(20)
    vae.compile(keras.optimizers.Adam(learning_rate=1e-3), loss=keras.losses.MeanSquaredError())
    history = vae.fit(x_train, x_train, epochs=2, batch_size=16, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()


def test_training_with_built_in_methods_custom_metric_and_endpoint():
    class CategoricalTruePositives(keras.metrics.Metric):
        def __init__(self, name="categorical_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
            values = ops.cast(ops.cast(y_true, "int32") == ops.cast(y_pred, "int32"), "float32")
            if sample_weight is not None:
                values = ops.multiply(values, ops.cast(sample_weight, "float32"))
            self.true_positives.assign_add(ops.sum(values))

        def result(self):
            return self.true_positives.value  # Keras 3's property

        def reset_state(self):
            self.true_positives.assign(0.0)

    rng = np.random.default_rng(1)
    x = rng.random((64, 8)).astype("float32")
    y = rng.integers(0, 3, (64, 1)).astype("float32")
    inputs = keras.Input(shape=(8,))
    outputs = layers.Dense(3, activation="softmax")(layers.Dense(8, activation="relu")(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=[CategoricalTruePositives()])
    logs = model.fit(x, y, batch_size=16, epochs=1, verbose=0).history
    pred = model.predict(x, verbose=0).argmax(1)
    ctp = model.evaluate(x, y, verbose=0, return_dict=True)["categorical_true_positives"]
    assert ctp == float((pred[:, None] == y).sum()) and "categorical_true_positives" in logs

    class LogisticEndpoint(keras.layers.Layer):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

        def call(self, targets, logits, sample_weights=None):
            self.add_loss(self.loss_fn(targets, logits, sample_weights))
            return ops.softmax(logits)

    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    logits = keras.layers.Dense(10)(inputs)
    predictions = LogisticEndpoint(name="predictions")(targets, logits)
    model = keras.Model(inputs=[inputs, targets], outputs=predictions)
    model.compile(optimizer="adam")
    model.fit({"inputs": np.random.random((3, 3)), "targets": np.random.random((3, 10))}, verbose=0)


def test_customizing_what_happens_in_fit_and_test_step():
    class CustomModel(keras.Model):
        def train_step(self, data):
            x, y, sample_weight = data if len(data) == 3 else (*data, None)
            with tf.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
            gradients = tape.gradient(loss, self.trainable_variables)
            self.optimizer.apply(gradients, self.trainable_variables)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred, sample_weight=sample_weight)
            return {m.name: m.result() for m in self.metrics}

        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    inputs = keras.Input(shape=(32,))
    model = CustomModel(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    x, y = np.random.random((64, 32)), np.random.random((64, 1))
    history = model.fit(x, y, sample_weight=np.random.random((64, 1)), epochs=2, verbose=0)
    assert set(history.history) == {"loss", "mae"}
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    mae = float(np.abs(model.predict(x, verbose=0) - y).mean())
    assert logs["mae"] == pytest.approx(mae, rel=1e-5)


def test_writing_a_training_loop_from_scratch_in_tensorflow():
    inputs = keras.Input(shape=(16,), name="digits")
    x = keras.layers.Dense(32, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(4, name="predictions")(x))
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    train_acc_metric = keras.metrics.SparseCategoricalAccuracy()
    val_acc_metric = keras.metrics.SparseCategoricalAccuracy()
    rng = np.random.default_rng(2)
    xs, ys = rng.random((96, 16)).astype("float32"), rng.integers(0, 4, 96)
    train_dataset = tf.data.Dataset.from_tensor_slices((xs, ys)).shuffle(buffer_size=1024).batch(32)

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss_value = loss_fn(y, logits)
        grads = tape.gradient(loss_value, model.trainable_weights)
        optimizer.apply(grads, model.trainable_weights)
        train_acc_metric.update_state(y, logits)
        return loss_value

    @tf.function
    def test_step(x, y):
        val_acc_metric.update_state(y, model(x, training=False))

    for _ in range(2):
        for x_batch, y_batch in train_dataset:
            loss_value = train_step(x_batch, y_batch)
        assert 0.0 <= float(train_acc_metric.result()) <= 1.0
        train_acc_metric.reset_state()
    test_step(xs, ys)
    expected = (model.predict(xs, verbose=0).argmax(1) == ys).mean()
    assert float(val_acc_metric.result()) == pytest.approx(expected)
    assert np.isfinite(float(loss_value))


def test_working_with_preprocessing_layers_end_to_end_text_model():
    adapt_data = tf.constant(["The Brain is wider than the Sky", "For put them side by side",
                              "The one the other will contain", "With ease and You beside"])
    text_vectorizer = layers.TextVectorization(output_mode="int")
    text_vectorizer.adapt(adapt_data)
    assert text_vectorizer(["The Brain is deeper than the sea"]).numpy().tolist() == [[2, 19, 14, 1, 9, 2, 1]]
    inputs = keras.Input(shape=(None,), dtype="int64")
    x = layers.Embedding(input_dim=text_vectorizer.vocabulary_size(), output_dim=16)(inputs)
    model = keras.Model(inputs, layers.Dense(1)(layers.GRU(8)(x)))
    train_dataset = tf.data.Dataset.from_tensor_slices(
        (["The Brain is deeper than the sea", "for if they are held Blue to Blue"], [1, 0]))
    train_dataset = train_dataset.batch(2).map(lambda x, y: (text_vectorizer(x), y))
    model.compile(optimizer="rmsprop", loss="mse")
    model.fit(train_dataset, verbose=0)
    inputs = keras.Input(shape=(1,), dtype="string")
    end_to_end_model = keras.Model(inputs, model(text_vectorizer(inputs)))
    # A batch of scalars for an Input of shape (1,): Keras adds the missing last axis.
    test_output = end_to_end_model(tf.constant(["The one the other will absorb"]))
    assert test_output.shape == (1, 1)


def test_functional_input_rank_adjusted_as_keras():
    inp = keras.Input(shape=(1,))
    model = keras.Model(inp, layers.Dense(2)(inp))
    assert model(np.ones((3,), "float32")).shape == (3, 2)
    inp = keras.Input(shape=(4,))
    model = keras.Model(inp, layers.Dense(2)(inp))
    assert model(np.ones((3, 4, 1), "float32")).shape == (3, 2)
    with pytest.raises(ValueError, match=r"Input 0 with name '.*' of layer '.*' is incompatible with the layer: "
                                         r"expected shape=\(None, 4\), found shape=\(3, 5\)"):
        model(np.ones((3, 5), "float32"))


def test_customizing_saving_and_serialization(tmp_path):
    import os

    pytest.importorskip("h5py")

    @keras.saving.register_keras_serializable(package="guide_custom_saving")
    class LayerWithCustomVariables(keras.layers.Dense):
        def __init__(self, units, **kwargs):
            super().__init__(units, **kwargs)
            self.my_variable = keras.Variable(np.random.random((units,)), name="my_variable", dtype="float32")

        def save_own_variables(self, store):
            super().save_own_variables(store)
            store["variables"] = self.my_variable.numpy()

        def load_own_variables(self, store):
            self.my_variable.assign(store["variables"])
            for i, v in enumerate([self.kernel, self.bias]):
                v.assign(store[f"{i}"])

        def call(self, inputs):
            return super().call(inputs) * self.my_variable

    probe = LayerWithCustomVariables(1)
    probe.build((None, 10))
    assert [v.name for v in probe.weights] == ["my_variable", "kernel", "bias"]  # Keras's creation order
    model = keras.Sequential([LayerWithCustomVariables(1)])
    model.compile(optimizer="adam", loss="mean_squared_error")
    before = model.layers[0].my_variable.numpy().copy()
    model.fit(np.random.random((8, 10)), np.random.random((8,)), verbose=0)
    assert not np.array_equal(before, model.layers[0].my_variable.numpy())  # a keras.Variable attribute trains
    model.save(tmp_path / "custom_vars_model.keras")
    restored = keras.models.load_model(tmp_path / "custom_vars_model.keras")
    np.testing.assert_allclose(model.layers[0].my_variable.numpy(), restored.layers[0].my_variable.numpy())
    np.testing.assert_allclose(model.layers[0].kernel.numpy(), restored.layers[0].kernel.numpy())

    @keras.saving.register_keras_serializable(package="guide_custom_saving")
    class LayerWithCustomAssets(keras.layers.Dense):
        def __init__(self, vocab=None, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.vocab = vocab

        def save_assets(self, inner_path):
            with open(os.path.join(inner_path, "vocabulary.txt"), "w") as f:
                f.write(self.vocab)

        def load_assets(self, inner_path):
            with open(os.path.join(inner_path, "vocabulary.txt")) as f:
                self.vocab = f.read().replace("<unk>", "little")

    model = keras.Sequential([LayerWithCustomAssets(vocab="Mary had a <unk> lamb.", units=5)])
    model(np.random.random((10, 10)))
    model.save(tmp_path / "custom_assets_model.keras")
    restored = keras.models.load_model(tmp_path / "custom_assets_model.keras")
    assert restored.layers[0].vocab == "Mary had a little lamb."

    @keras.saving.register_keras_serializable(package="guide_custom_saving")
    class LayerWithCustomBuild(keras.layers.Layer):
        def __init__(self, units=32, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

        def get_config(self):
            return dict(units=self.units, **super().get_config())

        def build(self, input_shape, layer_init):
            super().build(input_shape)
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer=layer_init)
            self.b = self.add_weight(shape=(self.units,), initializer=layer_init)
            self.layer_init = layer_init

        def get_build_config(self):
            build_config = super().get_build_config()  # Keras: {"shapes_dict": {...}} for two arguments
            build_config.update({"layer_init": self.layer_init})
            return build_config

        def build_from_config(self, config):
            self.build(config["shapes_dict"]["input_shape"], config["layer_init"])

    custom_layer = LayerWithCustomBuild(units=16)
    custom_layer.build(input_shape=(8,), layer_init="random_normal")
    assert custom_layer.built
    assert custom_layer.get_build_config() == {"shapes_dict": {"input_shape": (8,), "layer_init": "random_normal"},
                                               "layer_init": "random_normal"}
    model = keras.Sequential([custom_layer, keras.layers.Dense(1, activation="sigmoid")])
    model(np.random.random((16, 8)))
    model.save(tmp_path / "custom_build_model.keras")
    restored = keras.models.load_model(tmp_path / "custom_build_model.keras")
    assert restored.layers[0].layer_init == "random_normal" and restored.built

    @keras.saving.register_keras_serializable(package="guide_custom_saving")
    def small_square_sum_loss(y_true, y_pred):
        return ops.sum(ops.square(y_pred - y_true) / 10.0, axis=1)

    @keras.saving.register_keras_serializable(package="guide_custom_saving")
    def mean_pred(y_true, y_pred):
        return ops.mean(y_pred)

    @keras.saving.register_keras_serializable(package="guide_custom_saving")
    class ModelWithCustomCompile(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense1 = keras.layers.Dense(8, activation="relu")
            self.dense2 = keras.layers.Dense(4, activation="softmax")

        def call(self, inputs):
            return self.dense2(self.dense1(inputs))

        def compile(self, optimizer, loss_fn, metrics):
            super().compile(optimizer=optimizer, loss=loss_fn, metrics=metrics)
            self.model_optimizer = optimizer
            self.loss_fn = loss_fn
            self.loss_metrics = metrics

        def get_compile_config(self):
            return {"model_optimizer": self.model_optimizer, "loss_fn": self.loss_fn, "metric": self.loss_metrics}

        def compile_from_config(self, config):
            optimizer = keras.utils.deserialize_keras_object(config["model_optimizer"])  # "SGD" stays a string
            loss_fn = keras.utils.deserialize_keras_object(config["loss_fn"])
            metrics = keras.utils.deserialize_keras_object(config["metric"])
            self.compile(optimizer=optimizer, loss_fn=loss_fn, metrics=metrics)

    model = ModelWithCustomCompile()
    model.compile(optimizer="SGD", loss_fn=small_square_sum_loss, metrics=["accuracy", mean_pred])
    model.fit(np.random.random((4, 8)), np.random.random((4,)), verbose=0)
    model.save(tmp_path / "custom_compile_model.keras")
    restored = keras.models.load_model(tmp_path / "custom_compile_model.keras")
    assert restored.model_optimizer == "SGD" and restored.loss_fn is small_square_sum_loss
    assert restored.loss_metrics == ["accuracy", mean_pred]


def test_layer_default_own_variables_hooks_and_build_config():
    dense = keras.layers.Dense(3)
    dense(np.ones((2, 4), "float32"))
    assert dense.get_build_config() == {"input_shape": (2, 4)}
    store = {}
    dense.save_own_variables(store)
    assert sorted(store) == ["0", "1"] and store["0"].shape == (4, 3)
    other = keras.layers.Dense(3)
    other.build_from_config(dense.get_build_config())
    assert other.built
    other.load_own_variables(store)
    np.testing.assert_array_equal(other.kernel.numpy(), dense.kernel.numpy())
    with pytest.raises(ValueError, match="expected 2 variables, but received 1"):
        other.load_own_variables({"0": store["0"]})
    # keras.Variable is an engine variable: tapes watch it, optimizers train it.
    v = keras.Variable(initializer="ones", shape=(2,), name="v")
    assert v.name == "v"
    with tf.GradientTape() as tape:
        y = ops.sum(v * 3.0)
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), [3.0, 3.0])


def test_intro_to_keras_for_engineers_subclassed_model_and_torch_dataloader():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x_train = rng.random((48, 12, 12, 1)).astype("float32")
    y_train = rng.integers(0, 10, 48)

    class MyDense(keras.layers.Layer):
        def __init__(self, units, activation=None, name=None):
            super().__init__(name=name)
            self.units = units
            self.activation = keras.activations.get(activation)

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer=keras.initializers.GlorotNormal(),
                                     name="kernel", trainable=True)
            self.b = self.add_weight(shape=(self.units,), initializer=keras.initializers.Zeros(), name="bias",
                                     trainable=True)

        def call(self, inputs):
            return self.activation(keras.ops.matmul(inputs, self.w) + self.b)

    class MyModel(keras.Model):
        def __init__(self, num_classes):
            super().__init__()
            self.conv_base = keras.Sequential([keras.layers.Input(shape=(12, 12, 1)),
                                               keras.layers.Conv2D(4, kernel_size=(3, 3), activation="relu"),
                                               keras.layers.GlobalAveragePooling2D()])
            self.dense = MyDense(num_classes, activation="softmax")

        def call(self, x):
            return self.dense(self.conv_base(x))

    class TorchDataset(torch.utils.data.Dataset):
        def __init__(self, x, y):
            self.x, self.y = x, y

        def __len__(self):
            return len(self.x)

        def __getitem__(self, idx):
            return self.x[idx], self.y[idx]

    model = MyModel(num_classes=10)
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(), optimizer=keras.optimizers.Adam(1e-3),
                  metrics=[keras.metrics.SparseCategoricalAccuracy(name="acc")])
    train = torch.utils.data.DataLoader(TorchDataset(x_train, y_train), batch_size=16, shuffle=True)
    val = torch.utils.data.DataLoader(TorchDataset(x_train[:16], y_train[:16]), batch_size=16)
    history = model.fit(train, epochs=1, validation_data=val, verbose=0)
    assert set(history.history) == {"acc", "loss", "val_acc", "val_loss"}
    dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(16).prefetch(tf.data.AUTOTUNE)
    model.fit(dataset, epochs=1, verbose=0)


def test_migration_guide_tf_keras_to_keras_3(tmp_path):
    inputs = {"foo": keras.Input(shape=(1,), name="foo"), "baz": keras.Input(shape=(1,), name="bar")}
    with pytest.warns(UserWarning, match="all keys in the dict must match the names"):
        model = keras.Model(inputs, inputs["foo"] * 2 + inputs["baz"])
    np.testing.assert_allclose(model({"foo": np.ones((2, 1)), "baz": np.full((2, 1), 5.0)}).numpy(), 7.0)

    class CustomLayer(keras.layers.Layer):
        def call(self, input_1, input_2=None):
            return None

    assert CustomLayer()({"foo": keras.Input(shape=(1,), name="foo"), "bar": {}}, input_2=None) is None
    # A plain string is a value for deserialize_keras_object (as Keras), not a layer.
    assert keras.saving.deserialize_keras_object("SGD") == "SGD"
    with pytest.raises(ValueError, match="not a `keras.layers.Layer`"):
        keras.layers.deserialize("definitely_not_a_layer")

    class MyCustomLayer(keras.layers.Layer):
        @tf.function()
        def call(self, inputs):
            if tf.random.uniform(()) > 0.5:
                return inputs * 2
            else:
                return inputs / 2

    data = np.random.uniform(size=[3, 3])
    model = keras.models.Sequential([MyCustomLayer()])
    model.compile(optimizer="adam", loss="mse")
    model.fit(data, data, verbose=0)
    assert keras.ops.squeeze(keras.layers.Input([2, 2, 1])).shape == (None, 2, 2)
    # Dropout needs floating inputs (it scales them), as TF's.
    with pytest.raises(ValueError, match="must be a floating point tensor"):
        keras.layers.Dropout(rate=0.3, seed=42)(np.array([[1, 2], [3, 4]]), training=True)
    sequential_model = keras.Sequential([keras.layers.Dense(2)])
    x = np.random.rand(3, 5).astype("float32")
    expected = sequential_model(x).numpy()
    tf.saved_model.save(sequential_model, str(tmp_path / "saved_model"))
    layer = keras.layers.TFSMLayer(str(tmp_path / "saved_model"), call_endpoint="serving_default")
    out = layer(x)
    out = next(iter(out.values())) if isinstance(out, dict) else out
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
