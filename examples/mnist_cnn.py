"""The classic MNIST CNN: two 5x5 conv + max-pool stages, a 1024-unit dense layer with dropout."""

from _common import mnist, parse_args

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers

args = parse_args(__doc__)
(x_train, y_train), (x_test, y_test) = mnist(args.quick)
x_train, x_test = x_train[..., None], x_test[..., None]

tf.keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    layers.Conv2D(32, 5, padding="same", activation="relu"),
    layers.MaxPooling2D(2),
    layers.Conv2D(64, 5, padding="same", activation="relu"),
    layers.MaxPooling2D(2),
    layers.Flatten(),
    layers.Dense(1024, activation="relu"),
    layers.Dropout(0.5),
    layers.Dense(10),
])
model.compile(optimizer=keras.optimizers.Adam(1e-4),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=100, epochs=1 if args.quick else 2, validation_split=0.1)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {accuracy:.2%}")
