"""`tf.autograph.experimental`: controls over what AutoGraph converts."""

from tapeflow.autograph.api import do_not_convert
from tapeflow.autograph.loop_options import set_loop_options

__all__ = ["do_not_convert", "set_loop_options"]
