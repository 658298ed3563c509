"""AutoGraph's log: what it converts and why it leaves something alone.

`tf.autograph.set_verbosity(level)` sets how much is logged (0: nothing beyond warnings; 1:
what is converted or left unconverted; 2: each converted call; 3 and above: the converted source
as well), like TF, where the `AUTOGRAPH_VERBOSITY` environment variable gives the default.
Messages go to the `tapeflow.autograph` logger and, with `alsologtostdout=True`, to stdout.
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger("tapeflow.autograph")

_settings = {"verbosity": None, "alsologtostdout": False}


def set_verbosity(level: int, alsologtostdout: bool = False) -> None:
    """Set AutoGraph's verbosity (0 to 10; higher logs more), like `tf.autograph.set_verbosity`.

    Args:
        level: how much to log: 0 nothing, 1 conversions, 2 converted calls, 3+ converted code.
        alsologtostdout: also print the messages to stdout.

    Example:
        >>> tf.autograph.set_verbosity(3, alsologtostdout=True)
    """
    if isinstance(level, bool) or not isinstance(level, int) or level < 0:
        raise ValueError(f"set_verbosity expected a non-negative int level, received {level!r}")
    _settings["verbosity"] = level
    _settings["alsologtostdout"] = bool(alsologtostdout)


def get_verbosity() -> int:
    """The verbosity set with `set_verbosity`, else `AUTOGRAPH_VERBOSITY` from the environment, else 0."""
    if _settings["verbosity"] is not None:
        return _settings["verbosity"]
    return int(os.environ.get("AUTOGRAPH_VERBOSITY", "0"))


def log(level: int, message: str) -> None:
    """Log `message` when the verbosity is at least `level`."""
    if get_verbosity() < level:
        return
    logger.info(message)
    if _settings["alsologtostdout"]:
        print(message)


def trace(*args: object) -> None:
    """`tf.autograph.trace`: print `args` when it runs, which in a `tf.function` is while
    tracing (so symbolic tensors print as such), like TF's debugging helper.

    Example:
        >>> tf.autograph.trace("x is", 3)
        x is 3
    """
    print(*args)
