"""`tf.autograph.experimental`: controls over what AutoGraph converts."""

from tapeflow.autograph.api import do_not_convert

__all__ = ["do_not_convert"]
