"""`keras.legacy`: Keras 2 formats (`keras.legacy.saving`)."""

from tapeflow.keras.legacy import saving
