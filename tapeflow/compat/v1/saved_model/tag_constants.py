"""`tf.compat.v1.saved_model.tag_constants`: the standard MetaGraph tags."""

from tapeflow.saved_model.constants import GPU, SERVING, TPU, TRAINING  # noqa: F401
