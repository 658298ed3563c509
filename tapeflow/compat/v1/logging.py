"""`tf.logging` (TF1): verbosity levels and messages, mapped onto Python's `logging`."""

from __future__ import annotations

import logging as _logging
from typing import Any

DEBUG = _logging.DEBUG
INFO = _logging.INFO
WARN = _logging.WARNING
ERROR = _logging.ERROR
FATAL = _logging.FATAL

_logger = _logging.getLogger("tapeflow")


def set_verbosity(v: int) -> None:
    """Set the level below which messages are dropped."""
    _logger.setLevel(v)


def get_verbosity() -> int:
    return _logger.getEffectiveLevel()


def debug(msg: str, *args: Any) -> None:
    _logger.debug(msg, *args)


def info(msg: str, *args: Any) -> None:
    _logger.info(msg, *args)


def warning(msg: str, *args: Any) -> None:
    _logger.warning(msg, *args)


warn = warning


def error(msg: str, *args: Any) -> None:
    _logger.error(msg, *args)
