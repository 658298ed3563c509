"""Where Keras's messages go: stdout while interactive logging is on, else the `logging` module.

Progress bars and callback messages ("Epoch 1/5", early stopping, ...) go through `print_msg`.
With interactive logging off (`keras.config.disable_interactive_logging()`) they are logged at
INFO level on the "tapeflow" logger instead, as Keras sends them to absl logging.
"""

from __future__ import annotations

import logging
import sys

_INTERACTIVE = [True]


def enable_interactive_logging() -> None:
    """Print progress bars and messages to stdout (the default)."""
    _INTERACTIVE[0] = True


def disable_interactive_logging() -> None:
    """Send progress bars and messages to `logging.getLogger("tapeflow")` at INFO level."""
    _INTERACTIVE[0] = False


def is_interactive_logging_enabled() -> bool:
    """Whether messages are printed to stdout (True) or logged (False)."""
    return _INTERACTIVE[0]


def print_msg(message: str, line_break: bool = True) -> None:
    """Print `message` to stdout, or log it when interactive logging is off."""
    message = str(message)
    if _INTERACTIVE[0]:
        out = sys.stdout
        text = message + "\n" if line_break else message
        try:
            out.write(text)
        except UnicodeEncodeError:
            encoding = getattr(out, "encoding", None) or "utf-8"
            out.write(text.encode(encoding, errors="replace").decode(encoding))
        out.flush()
    else:
        logging.getLogger("tapeflow").info(message)
