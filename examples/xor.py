"""XOR with a two-layer Sequential model, SGD and mean squared error."""

import numpy as np
from _common import parse_args

import tapeflow as tf

args = parse_args(__doc__)
x = np.array([[1, 1], [1, 0], [0, 1], [0, 0]])
y = np.array([[0], [1], [1], [0]])

tf.keras.utils.set_random_seed(1)
model = tf.keras.Sequential([
    tf.keras.layers.Dense(units=2, activation="sigmoid", input_shape=(2,)),
    tf.keras.layers.Dense(units=1, activation="sigmoid"),
])
model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.5), loss="mse")
history = model.fit(x, y, epochs=3000, batch_size=1, verbose=0)  # 12,000 steps: about a second
model.summary()
print("final loss:", round(history.history["loss"][-1], 4))
print(model.predict(x, verbose=0).round(3))
