"""`keras.ops.image` (placeholder while the module is written)."""
