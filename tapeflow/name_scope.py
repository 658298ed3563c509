"""`tf.name_scope`: the prefix ("outer/inner/") put in front of the names of new variables.

TF 2 keeps the current scope per thread; eager scopes are plain string prefixes, never made
unique. A name ending in "/" replaces the current scope, the empty string clears it.
"""

from __future__ import annotations

import threading
from typing import Any


class _ScopeState(threading.local):
    def __init__(self) -> None:
        self.scope = ""


_state = _ScopeState()


def current_scope() -> str:
    """The current scope prefix, e.g. "outer/inner/" ("" at the top level)."""
    return _state.scope


def scoped_name(name: str) -> str:
    """`name` inside the current scope ("outer/name")."""
    return _state.scope + name


class name_scope:  # noqa: N801 - TF's name
    """A context manager that puts `name` + "/" in front of the names of variables created inside.

    Args:
        name: the scope's name; nested inside the current scope unless it ends in "/".

    Example:
        >>> with tf.name_scope("dense") as scope:     # scope == "dense/"
        ...     w = tf.Variable(1.0, name="w")        # w.name == "dense/w:0"
    """

    def __init__(self, name: str) -> None:
        if not isinstance(name, str):
            raise ValueError("name for name_scope must be a string.")
        self._name = name
        self._saved: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    def __enter__(self) -> str:
        old = _state.scope
        self._saved.append(old)
        name = self._name
        if not name:
            new = ""
        elif name.endswith("/"):
            new = name
        else:
            new = old + name + "/"
        _state.scope = new
        return new

    def __exit__(self, *exc: Any) -> None:
        _state.scope = self._saved.pop()
