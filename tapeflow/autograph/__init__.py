"""`tf.autograph`: converts Python control flow on tensors into graph control flow.

`tf.function` applies `convert` to the function it traces: an `if`, `while` or `for` whose
condition or iterable is a symbolic tensor becomes `tf.cond` / `tf.while_loop`; one on Python
values runs as Python at trace time.
"""

from tapeflow.autograph import experimental
from tapeflow.autograph.ag_logging import get_verbosity, set_verbosity
from tapeflow.autograph.api import convert, do_not_convert, to_code, to_graph
from tapeflow.autograph.errors import ConversionError

__all__ = ["convert", "to_graph", "to_code", "do_not_convert", "set_verbosity", "get_verbosity", "experimental",
           "ConversionError"]
