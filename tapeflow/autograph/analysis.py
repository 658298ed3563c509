"""Static name analysis of a function's AST: which names a block assigns and reads, which
names are live after a statement, and whether a block always leaves through `return`/`break`.

The converter needs these to decide what a lowered `if`/`while`/`for` carries as state: TF's
AutoGraph carries a variable through graph control flow when the block modifies it and the
variable is read afterwards (live), so a temporary used only inside one branch needs no value
in the other branch.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def scope_nodes(root: ast.AST, enter_root: bool = True) -> Iterable[ast.AST]:
    """Nodes of `root` that run in its scope: nested functions, lambdas and classes are
    yielded (their defaults and decorators belong here) but not entered, nor are
    comprehensions beyond their first iterable. `enter_root=False` treats `root` itself as
    such a nested node."""
    stack = [root]
    while stack:
        n = stack.pop()
        yield n
        if n is not root or not enter_root:
            if isinstance(n, _SCOPES):
                stack.extend(_scope_header(n))
                continue
            if isinstance(n, _COMPREHENSIONS):
                stack.append(n.generators[0].iter)
                continue
        stack.extend(reversed(list(ast.iter_child_nodes(n))))


def _scope_header(n: ast.AST) -> list:
    """Parts of a nested function/class evaluated where it is defined (defaults, decorators)."""
    if isinstance(n, ast.ClassDef):
        return [*n.decorator_list, *n.bases, *[k.value for k in n.keywords]]
    args = n.args
    parts = [*args.defaults, *[d for d in args.kw_defaults if d is not None]]
    if not isinstance(n, ast.Lambda):
        parts += n.decorator_list
    return parts


def target_names(target: ast.AST) -> set[str]:
    """Names bound by an assignment target (`a`, `a, (b, *c)`); not `a.x` or `a[i]`."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        out: set[str] = set()
        for elt in target.elts:
            out |= target_names(elt)
        return out
    if isinstance(target, ast.Starred):
        return target_names(target.value)
    return set()


def assigned_names(nodes: Iterable[ast.AST]) -> set[str]:
    """Names that `nodes` (statements or expressions) bind in the current scope."""
    out: set[str] = set()
    for root in nodes:
        for n in scope_nodes(root, enter_root=not isinstance(root, _SCOPES)):
            if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                out.add(n.id)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.add(n.name)
            elif isinstance(n, (ast.Import, ast.ImportFrom)):
                for alias in n.names:
                    out.add((alias.asname or alias.name).split(".")[0])
            elif isinstance(n, ast.ExceptHandler) and n.name:
                out.add(n.name)
    return out


def _composite_root(node: ast.AST) -> str | None:
    """The root name of `a.b.c` or `a.b['k']` (constant keys only), else None."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Constant):
            return None
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def composite_targets(nodes: list) -> dict[str, ast.expr]:
    """Attributes and constant-key items the statements assign (`self.count`, `d['k']`), by
    their source text; those whose root variable the statements rebind are left out (they
    name a new object)."""
    found: dict[str, ast.expr] = {}
    for root in nodes:
        for n in scope_nodes(root, enter_root=not isinstance(root, _SCOPES)):
            targets: list = []
            if isinstance(n, ast.Assign):
                targets = n.targets
            elif isinstance(n, (ast.AugAssign, ast.AnnAssign)) and getattr(n, "value", None) is not None:
                targets = [n.target]
            for t in targets:
                for elt in (t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]):
                    if isinstance(elt, (ast.Attribute, ast.Subscript)) and _composite_root(elt) is not None:
                        found.setdefault(ast.unparse(elt), elt)
    rebound = assigned_names(nodes)
    return {k: v for k, v in found.items() if _composite_root(v) not in rebound}


def loaded_names(node: ast.AST) -> set[str]:
    """Every name read anywhere in `node`, nested scopes included (a closure reads its free
    variables when it runs, which may be later: counting them keeps liveness conservative)."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _killed(stmt: ast.stmt) -> set[str]:
    """Names a simple statement certainly assigns."""
    if isinstance(stmt, ast.Assign):
        out: set[str] = set()
        for t in stmt.targets:
            out |= target_names(t)
        return out
    if isinstance(stmt, ast.AnnAssign):
        return target_names(stmt.target) if stmt.value is not None else set()
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    return set()


class Liveness:
    """Backward liveness over a function body with structured control flow.

    After `run(body)`, `live_out[id(stmt)]` is the set of names that may be read after
    `stmt` (for `if`), and `live_header[id(loop)]` the names live at the top of each loop
    iteration (what a loop must carry). `always_live` (closure reads, `global`/`nonlocal`
    names) is added to both.
    """

    def __init__(self, always_live: set[str]) -> None:
        self.always_live = set(always_live)
        self.live_out: dict[int, set[str]] = {}
        self.live_header: dict[int, set[str]] = {}

    def run(self, body: list) -> set[str]:
        return self.block(body, set(self.always_live))

    def block(self, stmts: list, live: set[str]) -> set[str]:
        for stmt in reversed(stmts):
            live = self.stmt(stmt, live)
        return live

    def stmt(self, s: ast.stmt, live: set[str]) -> set[str]:
        if isinstance(s, ast.If):
            self.live_out[id(s)] = live | self.always_live
            return loaded_names(s.test) | self.block(s.body, live) | self.block(s.orelse, live)
        if isinstance(s, ast.While):
            self.live_out[id(s)] = live | self.always_live
            after = self.block(s.orelse, live)
            header = after | loaded_names(s.test)
            while True:  # fixpoint over the back edge
                new = after | loaded_names(s.test) | self.block(s.body, header)
                if new <= header:
                    break
                header |= new
            self.live_header[id(s)] = header | self.always_live
            return header
        if isinstance(s, ast.For):
            self.live_out[id(s)] = live | self.always_live
            after = self.block(s.orelse, live) | set(getattr(s, "ag_stop_flags", []))
            header = set(after)
            targets = target_names(s.target)
            while True:
                new = after | (self.block(s.body, header) - targets)
                if new <= header:
                    break
                header |= new
            self.live_header[id(s)] = header | self.always_live
            return header | loaded_names(s.iter)
        if isinstance(s, ast.With):
            inner = self.block(s.body, live)
            for item in reversed(s.items):
                if item.optional_vars is not None:
                    inner = (inner - target_names(item.optional_vars)) | loaded_names(item.optional_vars)
                inner |= loaded_names(item.context_expr)
            return inner
        if isinstance(s, ast.Try):
            final = self.block(s.finalbody, live)
            orelse = self.block(s.orelse, final)
            handlers = set().union(set(), *(self.block(h.body, final) for h in s.handlers))
            handlers |= set().union(set(), *(loaded_names(h.type) for h in s.handlers if h.type))
            return self.block(s.body, orelse | handlers) | handlers | final
        if isinstance(s, (ast.Return, ast.Raise)):
            return loaded_names(s) | self.always_live
        if isinstance(s, (ast.Break, ast.Continue)):
            # only inside loops the converter does not lower; treat as falling through
            return set(live)
        uses = loaded_names(s)
        if isinstance(s, ast.AugAssign):  # `i += 1` reads `i` too
            uses |= target_names(s.target)
        return (live - _killed(s)) | uses


def exits(stmts: list, kinds: tuple) -> bool:
    """Whether running `stmts` always ends in one of the statement types `kinds`."""
    for s in stmts:
        if isinstance(s, kinds):
            return True
        if isinstance(s, ast.If) and exits(s.body, kinds) and exits(s.orelse, kinds):
            return True
    return False


def contains(stmts: list, kind: type, through_loops: bool) -> bool:
    """Whether the statements `stmts` hold a `kind` statement of this function (not of a
    nested function; not of a nested loop unless `through_loops`)."""
    stack = list(stmts)
    while stack:
        n = stack.pop()
        if isinstance(n, kind):
            return True
        if isinstance(n, (*_SCOPES, *_COMPREHENSIONS)):
            continue
        if not through_loops and isinstance(n, (ast.For, ast.While)):
            stack.extend(n.orelse)  # a loop's else clause belongs to the enclosing loop
            continue
        stack.extend(ast.iter_child_nodes(n))
    return False


def scope_declarations(fn: ast.AST) -> tuple[set[str], set[str]]:
    """The names `fn` declares `global` and `nonlocal`."""
    glob: set[str] = set()
    nonloc: set[str] = set()
    for n in scope_nodes(fn):
        if isinstance(n, ast.Global):
            glob.update(n.names)
        elif isinstance(n, ast.Nonlocal):
            nonloc.update(n.names)
    return glob, nonloc


def parameter_names(args: ast.arguments) -> set[str]:
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    if args.vararg:
        names.append(args.vararg.arg)
    if args.kwarg:
        names.append(args.kwarg.arg)
    return set(names)


def nested_scope_reads(fn: ast.AST) -> set[str]:
    """Names read inside functions, lambdas and classes nested in `fn` (their closures)."""
    out: set[str] = set()
    for n in scope_nodes(fn):
        if n is not fn and isinstance(n, _SCOPES):
            body = n.body if isinstance(n.body, list) else [n.body]
            for b in body:
                out |= loaded_names(b)
    return out


def all_names(fn: ast.AST) -> set[str]:
    """Every identifier used in `fn` (to pick fresh names that cannot collide)."""
    out = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
    out |= {n.arg for n in ast.walk(fn) if isinstance(n, ast.arg)}
    return out
