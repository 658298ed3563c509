"""AutoGraph's errors and the source locations they name.

Every error about converted code names the user's function, file and line, as TF's
"in user code: File ..., line N, in f" does.
"""

from __future__ import annotations

import ast
import linecache


class ConversionError(Exception):
    """A construct AutoGraph cannot convert (raised while converting, naming where it is)."""

    def __init__(self, where: tuple, what: str) -> None:
        self.where = where
        super().__init__(f"AutoGraph cannot convert {what}{describe(where)}")


class Location:
    """Makes `(function, file, line)` tuples for the nodes of one function's source."""

    def __init__(self, function: str, filename: str) -> None:
        self.function = function
        self.filename = filename

    def __call__(self, node: ast.AST) -> tuple:
        return (self.function, self.filename, getattr(node, "lineno", 0))

    def node(self, node: ast.AST) -> ast.Constant:
        """The location of `node` as a constant to pass in generated code."""
        return ast.Constant(value=self(node))


def describe(where: tuple | None) -> str:
    """`where` as TF prints it: the file, line and function, then the source line."""
    if not where:
        return ""
    function, filename, lineno = where
    text = linecache.getline(filename, lineno).strip() if lineno else ""
    out = f'\n\n    File "{filename}", line {lineno}, in {function}'
    return out + (f"\n        {text}" if text else "")


def with_location(exc: BaseException, where: tuple | None) -> BaseException:
    """Attach the user's source line to an error raised by an engine op inside converted control flow."""
    if where and not getattr(exc, "_ag_located", False) and describe(where) not in str(exc):
        note = f"(raised in AutoGraph-converted code{describe(where)})"
        if hasattr(exc, "add_note"):
            exc.add_note(note)
        elif len(exc.args) == 1 and isinstance(exc.args[0], str):  # Python 3.10: no notes
            exc.args = (f"{exc.args[0]}\n{note}",)
        exc._ag_located = True
    return exc
