"""`keras.datasets`: the classic small datasets with Keras's return shapes and dtypes."""
