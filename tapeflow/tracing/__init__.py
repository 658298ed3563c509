"""Tracing: `tf.function`'s graphs, their replay, graph control flow and `tf.TensorSpec`.

Submodules are imported explicitly (`tapeflow.tracing.state` is a leaf the engine reads);
this package file imports nothing, so the engine can depend on `state` without a circle.
"""
