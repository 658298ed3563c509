"""Lowering of `return`, `break` and `continue` into boolean flag variables.

Graph control flow has no jumps: a `tf.while_loop` body runs to its end, and a `tf.cond`
branch cannot leave the function. So, before control flow is converted, each jump becomes an
assignment to a flag, and the statements it would have skipped run under `if not flag:`
(or, when an `if` branch always jumps, in the other branch). Loops test the flags before each
iteration. With Python conditions the flags are plain bools and the result is the same
program; with tensor conditions they become tensors carried through `tf.cond`/`tf.while_loop`.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from tapeflow.autograph import analysis

_LOCATION = ("lineno", "col_offset", "end_lineno", "end_col_offset")


def _unlocated(node: ast.AST) -> ast.AST:
    """`node` with no source positions, so `ast.fix_missing_locations` gives it those of the
    user statement it is placed in (tracebacks then point at the user's line)."""
    for n in ast.walk(node):
        for attr in _LOCATION:
            if hasattr(n, attr):
                delattr(n, attr)
    return node


def parse_stmt(code: str) -> ast.stmt:
    """A generated statement from source text, without positions."""
    return _unlocated(ast.parse(code).body[0])


def parse_expr(code: str) -> ast.expr:
    """A generated expression from source text, without positions."""
    return _unlocated(ast.parse(code, mode="eval").body)


def not_flag(flag: str) -> ast.expr:
    return parse_expr(f"ag__.not_({flag})")


class _Jump:
    """One kind of jump being lowered: which statement, its flag, and what replaces it."""

    def __init__(self, kind: type, flag: str, replace: Callable[[ast.stmt], list]) -> None:
        self.kind = kind
        self.flag = flag
        self.replace = replace
        self.through_loops = kind is ast.Return

    def inside(self, node: ast.AST) -> bool:
        return analysis.contains([node], self.kind, self.through_loops)

    def lower_block(self, stmts: list) -> list:
        """`stmts` with each jump replaced and the statements after a possible jump guarded."""
        out: list = []
        for i, s in enumerate(stmts):
            rest = stmts[i + 1:]
            if isinstance(s, self.kind):
                out.extend(ast.copy_location(r, s) for r in self.replace(s))
                return out  # the rest is unreachable
            if not self.inside(s):
                out.append(s)
                continue
            if isinstance(s, ast.If):
                body_jumps = analysis.exits(s.body, (self.kind,))
                else_jumps = analysis.exits(s.orelse, (self.kind,))
                if body_jumps and not else_jumps:
                    s.orelse = s.orelse + rest  # NOTE: the rest only runs when the body did not jump
                    rest = []
                elif else_jumps and not body_jumps:
                    s.body = s.body + rest
                    rest = []
                elif body_jumps and else_jumps:
                    rest = []
                s.body = self.lower_block(s.body)
                s.orelse = self.lower_block(s.orelse)
            elif isinstance(s, (ast.For, ast.While)) and self.through_loops:
                s.body = self.lower_block(s.body)
                add_loop_flag(s, self.flag)
                if s.orelse:  # skipped when the body returned; stays on the loop for `break`'s lowering
                    guard = ast.If(test=not_flag(self.flag), body=self.lower_block(s.orelse), orelse=[])
                    s.orelse = [ast.copy_location(guard, s.orelse[0])]
            elif isinstance(s, (ast.For, ast.While)):  # a jump in a nested loop's else clause
                s.orelse = self.lower_block(s.orelse)
            elif isinstance(s, (ast.With, ast.Try)):
                s.body = self.lower_block(s.body)
                if isinstance(s, ast.Try):
                    for h in s.handlers:
                        h.body = self.lower_block(h.body)
                    s.orelse = self.lower_block(s.orelse)
                    s.finalbody = self.lower_block(s.finalbody)
            out.append(s)
            if rest:
                guard = ast.If(test=not_flag(self.flag), body=self.lower_block(rest), orelse=[])
                out.append(ast.copy_location(guard, rest[0]))
            return out
        return out


def add_loop_flag(loop: ast.For | ast.While, flag: str) -> None:
    """Make `loop` stop before an iteration once `flag` is set: a `while` tests
    `not flag and test`; a `for` records the flag for its `extra_test`."""
    if isinstance(loop, ast.While):
        test = parse_expr(f"ag__.and_(lambda: ag__.not_({flag}), lambda: None)")
        test.args[1].body = loop.test
        loop.test = ast.copy_location(test, loop.test)
    else:
        loop.ag_stop_flags = [*getattr(loop, "ag_stop_flags", []), flag]


def lower_returns(fn: ast.FunctionDef, fresh: Callable[[str], str]) -> None:
    """Rewrite `fn`'s returns into `do_return`/`retval_` flags when one sits inside a block."""
    nested = analysis.contains([s for s in fn.body if not isinstance(s, ast.Return)], ast.Return, True)
    if not nested:
        return
    do_return, retval = fresh("do_return"), fresh("retval_")

    def replace(s: ast.Return) -> list:
        value = s.value if s.value is not None else ast.Constant(value=None)
        store = ast.Name(id=retval, ctx=ast.Store())
        return [parse_stmt(f"{do_return} = True"), ast.Assign(targets=[store], value=value)]

    body = _Jump(ast.Return, do_return, replace).lower_block(fn.body)
    head = [parse_stmt(f"{do_return} = False"), parse_stmt(f"{retval} = ag__.UndefinedReturnValue()")]
    tail = [parse_stmt(f"return ag__.retval({retval})")]
    for stmt in head + tail:
        ast.copy_location(stmt, fn.body[0] if stmt in head else fn.body[-1])
    fn.body = head + body + tail


def lower_loop_jumps(loop: ast.For | ast.While, fresh: Callable[[str], str]) -> list:
    """Lower the `break`s and `continue`s of `loop`; returns the statements replacing it."""
    out: list = [loop]
    if analysis.contains(loop.body, ast.Continue, False):
        flag = fresh("continue_")
        jump = _Jump(ast.Continue, flag, lambda s: [parse_stmt(f"{flag} = True")])
        loop.body = [ast.copy_location(parse_stmt(f"{flag} = False"), loop.body[0])] + jump.lower_block(loop.body)
    if analysis.contains(loop.body, ast.Break, False):
        flag = fresh("break_")
        jump = _Jump(ast.Break, flag, lambda s: [parse_stmt(f"{flag} = True")])
        loop.body = jump.lower_block(loop.body)
        add_loop_flag(loop, flag)
        out = [ast.copy_location(parse_stmt(f"{flag} = False"), loop), loop]
        if loop.orelse:
            guard = ast.If(test=not_flag(flag), body=loop.orelse, orelse=[])
            out.append(ast.copy_location(guard, loop.orelse[0]))
            loop.orelse = []
    return out
