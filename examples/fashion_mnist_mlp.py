"""Fashion-MNIST classifier: a Sequential MLP built with add(), summary, fit with validation data."""

from _common import download, parse_args

import tapeflow as tf
from tapeflow import keras

args = parse_args(__doc__)
(x_full, y_full), (x_test, y_test) = download(keras.datasets.fashion_mnist.load_data, "Fashion-MNIST")
x_valid, x_train = x_full[:5000] / 255.0, x_full[5000:] / 255.0
y_valid, y_train = y_full[:5000], y_full[5000:]
x_test = x_test / 255.0
if args.quick:
    x_train, y_train, x_test, y_test = x_train[:3000], y_train[:3000], x_test[:1000], y_test[:1000]

tf.keras.utils.set_random_seed(42)
model = keras.models.Sequential()
model.add(keras.layers.Flatten(input_shape=[28, 28]))
model.add(keras.layers.Dense(300, activation="relu"))
model.add(keras.layers.Dense(100, activation="relu"))
model.add(keras.layers.Dense(10, activation="softmax"))
model.summary()
hidden1 = model.layers[1]
weights, biases = hidden1.get_weights()
print(hidden1.name, weights.shape, biases.shape, model.get_layer(hidden1.name) is hidden1)

model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=1 if args.quick else 10, validation_data=(x_valid, y_valid))
print({k: round(v[-1], 4) for k, v in history.history.items()})
loss, accuracy = model.evaluate(x_test, y_test)
print(f"test accuracy: {accuracy:.2%}")
print(model.predict(x_test[:3]).round(2))
