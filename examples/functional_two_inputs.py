"""A Functional model with two inputs (an image and a scalar feature) and two outputs."""

import numpy as np
from _common import mnist, parse_args

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers

args = parse_args(__doc__)
(x_train, y_train), (x_test, y_test) = mnist(args.quick)
# Second input: the image's mean brightness; second output: is the digit even?
b_train, b_test = x_train.mean(axis=(1, 2))[:, None], x_test.mean(axis=(1, 2))[:, None]
even_train, even_test = (y_train % 2 == 0).astype("float32"), (y_test % 2 == 0).astype("float32")

tf.keras.utils.set_random_seed(0)
image = keras.Input(shape=(28, 28), name="image")
brightness = keras.Input(shape=(1,), name="brightness")
features = layers.Dense(64, activation="relu")(layers.Flatten()(image))
merged = layers.concatenate([features, layers.Dense(8, activation="relu")(brightness)])
digit = layers.Dense(10, activation="softmax", name="digit")(merged)
even = layers.Dense(1, activation="sigmoid", name="even")(merged)
model = keras.Model(inputs=[image, brightness], outputs=[digit, even])
model.summary()
model.compile(optimizer="adam",
              loss={"digit": "sparse_categorical_crossentropy", "even": "binary_crossentropy"},
              loss_weights={"digit": 1.0, "even": 0.5},
              metrics={"digit": "accuracy", "even": "accuracy"})
model.fit({"image": x_train, "brightness": b_train}, {"digit": y_train, "even": even_train},
          epochs=1 if args.quick else 3, batch_size=64, verbose=2)
results = model.evaluate([x_test, b_test], [y_test, even_test], verbose=0, return_dict=True)
print({k: round(float(v), 4) for k, v in results.items()})
digit_probs, even_probs = model.predict([x_test[:5], b_test[:5]], verbose=0)
print("digits:", np.argmax(digit_probs, axis=1), "even:", (even_probs[:, 0] > 0.5).astype(int))
