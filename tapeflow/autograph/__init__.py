"""`tf.autograph`: converts Python control flow on tensors into graph control flow.

`tf.function` applies `convert` to the function it traces: an `if`, `while` or `for` whose
condition or iterable is a traced tensor becomes `tf.cond` / `tf.while_loop` (a `for` over a
`tf.data.Dataset` reads it as the graph runs); one on Python values runs as Python at trace
time. `to_graph` / `to_code` give the converted function and its source; `experimental` holds
`do_not_convert` and `set_loop_options`.
"""

from tapeflow.autograph import experimental
from tapeflow.autograph.ag_logging import set_verbosity, trace
from tapeflow.autograph.api import convert, to_code, to_graph
from tapeflow.autograph.errors import ConversionError

__all__ = ["convert", "to_graph", "to_code", "set_verbosity", "trace", "experimental", "ConversionError"]
