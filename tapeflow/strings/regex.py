"""`tf.strings.regex_replace` / `regex_full_match` on Python's `re`, with RE2's conventions.

TF matches with RE2 on UTF-8 text: `.` is one character, `\\d \\w \\s \\b` are ASCII classes, and
a rewrite names groups as `\\1` ... `\\9` (`\\0` the whole match, `\\\\` a backslash). Strings are
decoded with `surrogateescape`, so invalid UTF-8 bytes pass through unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from tapeflow.errors import InvalidArgumentError
from tapeflow.strings.base import apply, elementwise, ragged_elementwise, string_input
from tapeflow.tensor import Tensor


def _text(value: Any, op: str, arg: str) -> str:
    if isinstance(value, Tensor):
        if value.shape != ():
            raise InvalidArgumentError(f"{op}: `{arg}` must be a scalar string, received shape {value.shape}.")
        value = value.numpy()
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, str):
        return value
    raise TypeError(f"{op}: `{arg}` must be a string, received {type(value).__name__} {value!r}.")


def _compile(pattern: Any, op: str) -> re.Pattern:
    text = _text(pattern, op, "pattern")
    try:
        return re.compile(text, re.ASCII)
    except re.error as e:
        raise InvalidArgumentError(f"Invalid pattern: {text}, error: {e} [Op:{op}]") from None


def _rewrite(rewrite: str, groups: int, op: str) -> list:
    """RE2's rewrite string as a list of literal strings and group numbers."""
    parts: list = []
    literal = ""
    i = 0
    while i < len(rewrite):
        c = rewrite[i]
        if c != "\\":
            literal += c
            i += 1
            continue
        nxt = rewrite[i + 1] if i + 1 < len(rewrite) else ""
        if nxt == "\\":
            literal += "\\"
        elif nxt.isdigit():
            if int(nxt) > groups:
                raise InvalidArgumentError(f"{op}: rewrite {rewrite!r} refers to group \\{nxt}, but the "
                                           f"pattern has {groups} group(s).")
            parts.extend([literal, int(nxt)])
            literal = ""
        else:
            raise InvalidArgumentError(f"{op}: invalid rewrite pattern {rewrite!r}: a backslash must be "
                                       "followed by a digit or another backslash.")
        i += 2
    parts.append(literal)
    return parts


@ragged_elementwise
def regex_replace(input: Any, pattern: Any, rewrite: Any, replace_global: bool = True,  # noqa: A002
                  name: Any = None) -> Tensor:
    """Replace matches of `pattern` in each string by `rewrite` (all matches, or the first one
    with `replace_global=False`); `\\1` in `rewrite` inserts group 1.

    Example: `regex_replace(["ab12"], r"(\\d)", r"<\\1>")` is `[b"ab<1><2>"]`.
    """
    op = "StaticRegexReplace"
    regex = _compile(pattern, op)
    parts = _rewrite(_text(rewrite, op, "rewrite"), regex.groups, op)

    def substitute(m: re.Match) -> str:
        return "".join(p if isinstance(p, str) else (m.group(p) or "") for p in parts)

    count = 0 if replace_global else 1

    def one(s: bytes) -> bytes:
        text = s.decode("utf-8", "surrogateescape")
        return regex.sub(substitute, text, count=count).encode("utf-8", "surrogateescape")

    return apply(op, lambda a: elementwise(one, a), string_input(input, op))


@ragged_elementwise
def regex_full_match(input: Any, pattern: Any, name: Any = None) -> Tensor:  # noqa: A002
    """Whether each whole string matches `pattern` (a bool tensor of the input's shape)."""
    op = "StaticRegexFullMatch"
    regex = _compile(pattern, op)

    def one(s: bytes) -> bool:
        return regex.fullmatch(s.decode("utf-8", "surrogateescape")) is not None

    return apply(op, lambda a: elementwise(one, a, dtype=bool), string_input(input, op))
