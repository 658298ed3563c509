"""Placeholders for variables that converted code has not assigned yet.

Converted control flow moves assignments into nested functions, so the converted function
binds every such variable up front to an `Undefined` marker; `ld` reads a variable and raises
Python's own error if it is still undefined, and graph control flow reports undefined state
by name (TF's "'x' must also be initialized in the else branch").
"""

from __future__ import annotations

from typing import Any


class Undefined:
    """Stands for the variable `symbol_name` before its first assignment."""

    __slots__ = ("symbol_name",)

    def __init__(self, symbol_name: str) -> None:
        self.symbol_name = symbol_name

    def read(self) -> Any:
        raise UnboundLocalError(
            f"cannot access local variable '{self.symbol_name}' where it is not associated with a value"
        )

    def __repr__(self) -> str:
        return f"Undefined({self.symbol_name!r})"


class UndefinedReturnValue:
    """The return value of a converted function before any `return` statement ran."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UndefinedReturnValue()"


def ld(value: Any) -> Any:
    """Read a variable in converted code: its value, or Python's error if undefined."""
    if type(value) is Undefined:
        return value.read()
    return value


def ld_composite(read: Any, symbol_name: str) -> Any:
    """The value of an attribute or item (`self.x`, `d['k']`), `Undefined` when it does not exist."""
    try:
        return read()
    except (AttributeError, KeyError, IndexError):
        return Undefined(symbol_name)


def is_defined(value: Any) -> bool:
    return not is_undefined(value)


def retval(value: Any) -> Any:
    """The converted function's result: None when no `return` statement ran."""
    return None if type(value) is UndefinedReturnValue else value


def is_undefined(value: Any) -> bool:
    return type(value) is Undefined or type(value) is UndefinedReturnValue
