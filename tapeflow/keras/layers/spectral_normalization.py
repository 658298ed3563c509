"""`SpectralNormalization`: divide a wrapped layer's kernel by its largest singular value.

While training, each call runs `power_iterations` steps of power iteration from the stored
left vector `vector_u` (1, out) on the kernel reshaped to (-1, out), then assigns
`kernel / sigma` to the wrapped layer's kernel (as Keras does), so the layer's Lipschitz
constant stays near 1 (GAN discriminators). In inference the kernel is used as it is.
"""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras import initializers
from tapeflow.keras.layers.wrappers import Wrapper
from tapeflow.tensor import Tensor


class SpectralNormalization(Wrapper):
    """Spectral normalization of `layer`'s `kernel` (or `embeddings`).

    Args:
        layer: a layer with a `kernel` or `embeddings` weight (Dense, Conv*, Embedding, ...).
        power_iterations: power-iteration steps per training call (>= 1).
    """

    def __init__(self, layer: Any, power_iterations: int = 1, **kwargs: Any) -> None:
        super().__init__(layer, **kwargs)
        if power_iterations <= 0:
            raise ValueError("SpectralNormalization: `power_iterations` should be greater than zero. "
                             f"Received: `power_iterations={power_iterations}`")
        self.power_iterations = power_iterations

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        if hasattr(self.layer, "kernel"):
            self.kernel = self.layer.kernel
        elif hasattr(self.layer, "embeddings"):
            self.kernel = self.layer.embeddings
        else:
            raise ValueError(f"{type(self.layer).__name__} object has no attribute 'kernel' nor 'embeddings'")
        self.kernel_shape = tuple(self.kernel.shape)
        self.vector_u = self.add_weight(shape=(1, self.kernel_shape[-1]),
                                        initializer=initializers.TruncatedNormal(stddev=0.02),
                                        trainable=False, name="vector_u", dtype=self.kernel.dtype)

    def call(self, inputs: Any, training: Any = False) -> Tensor:
        if training:
            kernel = tf.convert_to_tensor(self.kernel)
            all_zero = tf.reduce_all(tf.equal(kernel, 0))
            new_u, new_kernel = tf.cond(all_zero, lambda: (tf.identity(self.vector_u), kernel),
                                        self.normalized_weights)
            self.vector_u.assign(new_u)
            self.kernel.assign(new_kernel)
        x = tf.convert_to_tensor(inputs)
        return tf.cast(self.layer(x), x.dtype)

    def normalized_weights(self) -> tuple:
        """(new vector_u, kernel / sigma), sigma estimated by power iteration."""
        from tapeflow.keras import ops

        weights = tf.reshape(self.kernel, (-1, self.kernel_shape[-1]))
        u = tf.convert_to_tensor(self.vector_u)
        for _ in range(self.power_iterations):
            v = ops.normalize(tf.matmul(u, weights, transpose_b=True), axis=None)
            u = ops.normalize(tf.matmul(v, weights), axis=None)
        u, v = tf.stop_gradient(u), tf.stop_gradient(v)
        sigma = tf.matmul(tf.matmul(v, weights), u, transpose_b=True)
        return tf.cast(u, self.vector_u.dtype), tf.cast(tf.reshape(self.kernel / sigma, self.kernel_shape),
                                                       self.kernel.dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        config = super().get_config()
        config["power_iterations"] = self.power_iterations
        return config
