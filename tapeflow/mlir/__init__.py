"""`tf.mlir`: TF's MLIR converters, which Tapeflow cannot provide (see `tf.mlir.experimental`)."""

from tapeflow.mlir import experimental
