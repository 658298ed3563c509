"""An LSTM reading each MNIST image row by row (28 time steps of 28 pixels)."""

from _common import mnist, parse_args

import tapeflow as tf
from tapeflow import keras

args = parse_args(__doc__)
(x_train, y_train), (x_test, y_test) = mnist(args.quick)

tf.keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input(shape=(28, 28)),
    keras.layers.LSTM(32 if args.quick else 128),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=64, epochs=1 if args.quick else 2)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {accuracy:.2%}")
