"""`keras.optimizers.legacy`: the Keras 2 optimizer names, which Keras 3 keeps only so that old
imports resolve; creating one raises ImportError, as in Keras 3. Tapeflow's TF1-style
optimizers live in `tapeflow.compat.v1.train`."""

from __future__ import annotations

from typing import Any

__all__ = ["Adagrad", "Adam", "Ftrl", "Optimizer", "RMSprop", "SGD"]


class LegacyOptimizerWarning:
    """Stands for every `keras.optimizers.legacy` class; constructing it raises ImportError."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise ImportError(
            "`keras.optimizers.legacy` is not supported in Keras 3. When using `tf.keras`, to continue using a "
            "`tf.keras.optimizers.legacy` optimizer, you can install the `tf_keras` package (Keras 2) and set the "
            "environment variable `TF_USE_LEGACY_KERAS=True` to configure TensorFlow to use `tf_keras` when "
            "accessing `tf.keras`. In Tapeflow, use `keras.optimizers` (Keras 3) or the TF1 optimizers of "
            "`tapeflow.compat.v1.train`."
        )


Adagrad = Adam = Ftrl = Optimizer = RMSprop = SGD = LegacyOptimizerWarning
