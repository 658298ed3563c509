"""The source-to-source conversion of one function's AST, in TF AutoGraph's functional form.

Each `if`/`while`/`for` becomes nested functions plus a call of a runtime operator:

    if x > 0:                          def get_state(): return (y,)
        y = f(x)                       def set_state(vars_): nonlocal y; (y,) = vars_
    else:                   ->         def if_body(): nonlocal y; y = f(x)
        y = -x                         def else_body(): nonlocal y; y = -x
                                       ag__.if_stmt(x > 0, if_body, else_body, get_state, set_state, ('y',), loc)

The state (`y`) is every variable the block assigns that is read afterwards (liveness), so the
operator can run the block as Python control flow or carry the state through `tf.cond` /
`tf.while_loop`. The pipeline per function: reject what cannot be converted, lower jumps
(`lowering`), convert expressions (`expressions`), then control flow (here), innermost first.
"""

from __future__ import annotations

import ast

from tapeflow.autograph import analysis, lowering
from tapeflow.autograph.errors import ConversionError, Location
from tapeflow.autograph.expressions import ExpressionConverter, ag_call
from tapeflow.autograph.lowering import parse_expr, parse_stmt


def convert_function(fn: ast.FunctionDef, location: Location, recursive: bool) -> None:
    """Convert `fn` in place (and every function nested in it)."""
    _reject_unsupported(fn, location)
    for nested in _nested_functions(fn):
        if not _is_generator(nested):  # a nested generator is left as it is (it cannot be converted)
            convert_function(nested, Location(f"{location.function}.<locals>.{nested.name}", location.filename),
                             recursive)
    names = _FreshNames(analysis.all_names(fn))
    lowering.lower_returns(fn, names)
    fn.body = _lower_loops(fn.body, names, location)

    params = analysis.parameter_names(fn.args)
    declared_global, declared_nonlocal = analysis.scope_declarations(fn)
    maybe_undefined = _assigned_in_control_flow(fn) - params - declared_global - declared_nonlocal
    # closures of the user's own nested functions (before expressions add thunks) read at any time
    always_live = analysis.nested_scope_reads(fn) | declared_global | declared_nonlocal
    unbound = _needs_binding(fn.body, maybe_undefined)  # before blocks become nested functions
    ExpressionConverter(fn, unbound - names.generated, location, recursive).convert()

    liveness = analysis.Liveness(always_live)
    liveness.run(fn.body)
    converter = _ControlFlowConverter(liveness, names, declared_global, location)
    fn.body = converter.block(fn.body)

    inits = [parse_stmt(f"{n} = ag__.Undefined({n!r})") for n in sorted(unbound)]
    docstring = fn.body[:1] if ast.get_docstring(fn, clean=False) is not None else []
    fn.body = docstring + inits + fn.body[len(docstring):]


class _FreshNames:
    """Generates names unused in the function (`if_body`, `if_body_1`, ...)."""

    def __init__(self, taken: set[str]) -> None:
        self.taken = set(taken)
        self.generated: set[str] = set()

    def __call__(self, base: str) -> str:
        name, i = base, 0
        while name in self.taken:
            i += 1
            name = f"{base}_{i}"
        self.taken.add(name)
        self.generated.add(name)
        return name


def _reject_unsupported(fn: ast.FunctionDef, location: Location) -> None:
    """Raise `ConversionError` at the first construct of `fn`'s own scope that cannot be converted."""
    for node in analysis.scope_nodes(fn):
        what = None
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            what = "a generator function (yield)"
        elif isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith)):
            what = "asynchronous code (async/await)"
        elif isinstance(node, ast.Match):
            what = "a match statement"
        if what:
            raise ConversionError(location(node), what)


def _is_generator(fn: ast.FunctionDef) -> bool:
    return any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in analysis.scope_nodes(fn))


def _nested_functions(fn: ast.FunctionDef) -> list:
    return [n for n in analysis.scope_nodes(fn) if n is not fn and isinstance(n, ast.FunctionDef)]


def _lower_loops(stmts: list, names: _FreshNames, location: Location) -> list:
    """Lower `break`/`continue` of every loop in `stmts`, innermost first, and move each loop's
    `set_loop_options(...)` directive into a dict computed just before the loop."""
    out: list = []
    for s in stmts:
        for field in ("body", "orelse", "finalbody"):
            if isinstance(s, (ast.If, ast.For, ast.While, ast.With, ast.Try)) and hasattr(s, field):
                setattr(s, field, _lower_loops(getattr(s, field), names, location))
        if isinstance(s, ast.Try):
            for h in s.handlers:
                h.body = _lower_loops(h.body, names, location)
        if isinstance(s, (ast.For, ast.While)):
            out.extend(_take_loop_options(s, names, location))
            out.extend(lowering.lower_loop_jumps(s, names))
        else:
            out.append(s)
    return out


def _is_loop_options(stmt: ast.stmt) -> bool:
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return False
    func = stmt.value.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name == "set_loop_options"


def _take_loop_options(loop: ast.For | ast.While, names: _FreshNames, location: Location) -> list:
    """`opts = {...}` from the `set_loop_options(...)` statement of `loop`'s body (removed from
    it), as TF's directive: its arguments are read before the loop starts."""
    directives = [s for s in loop.body if _is_loop_options(s)]
    if not directives:
        return []
    if len(directives) > 1 or directives[0].value.args:
        raise ConversionError(location(directives[-1]),
                              "set_loop_options called twice in one loop, or with positional arguments")
    call = directives[0].value
    loop.body = [s for s in loop.body if s is not directives[0]] or [ast.Pass()]
    options = names("loop_options")
    loop.ag_options = options
    value = ast.Dict(keys=[ast.Constant(value=k.arg) for k in call.keywords], values=[k.value for k in call.keywords])
    return [ast.copy_location(ast.Assign(targets=[ast.Name(id=options, ctx=ast.Store())], value=value), directives[0])]


def _assigned_in_control_flow(fn: ast.FunctionDef) -> set[str]:
    """Names assigned inside any `if`/`while`/`for` of `fn`'s own scope."""
    out: set[str] = set()
    for node in analysis.scope_nodes(fn):
        if isinstance(node, (ast.If, ast.While, ast.For)):
            out |= analysis.assigned_names([*node.body, *node.orelse])
            if isinstance(node, ast.For):
                out |= analysis.target_names(node.target)
            if isinstance(node, ast.While):  # `while (n := f()) > 0`: the test runs in a nested function
                out |= analysis.assigned_names([node.test])
    return out


def _needs_binding(body: list, names: set[str]) -> set[str]:
    """The `names` not certainly assigned by a top-level simple statement before the first
    block that assigns them: those start as `Undefined`, so that the nested functions' `nonlocal`
    has a binding and `get_state` can read them before their first assignment."""
    bound: set[str] = set()
    needed: set[str] = set()
    for s in body:
        if isinstance(s, ast.AnnAssign) and s.value is None:
            continue  # `x: int` binds nothing (and is dropped by the expression pass)
        if isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Import, ast.ImportFrom)):
            bound |= analysis.assigned_names([s]) - needed
        else:
            needed |= (analysis.assigned_names([s]) & names) - bound
    return (names - bound) | needed


def _function(name: str, params: list, body: list) -> ast.FunctionDef:
    args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in params], vararg=None, kwonlyargs=[],
                         kw_defaults=[], kwarg=None, defaults=[])
    return ast.FunctionDef(name=name, args=args, body=body or [ast.Pass()], decorator_list=[], returns=None,
                           type_comment=None)


def _name(n: str) -> ast.Name:
    return ast.Name(id=n, ctx=ast.Load())


class _ControlFlowConverter:
    """Replaces each `if`/`while`/`for` of one function scope by its functional form."""

    def __init__(self, liveness: analysis.Liveness, names: _FreshNames, declared_global: set[str],
                 location: Location) -> None:
        self.liveness = liveness
        self.names = names
        self.declared_global = declared_global
        self.location = location

    def block(self, stmts: list) -> list:
        out: list = []
        for s in stmts:
            for field in ("body", "orelse", "finalbody"):
                if isinstance(s, (ast.With, ast.Try)) and hasattr(s, field):
                    setattr(s, field, self.block(getattr(s, field)))
            if isinstance(s, ast.Try):
                for h in s.handlers:
                    h.body = self.block(h.body)
            if isinstance(s, ast.If):
                out.extend(self._if(s))
            elif isinstance(s, ast.While):
                out.extend(self._while(s))
            elif isinstance(s, ast.For):
                out.extend(self._for(s))
            else:
                out.append(s)
        return out

    # -- pieces -----------------------------------------------------------------------------
    def _declare(self, names: set[str]) -> list:
        """`nonlocal`/`global` statements so a nested function assigns the outer variables."""
        glob = sorted(names & self.declared_global)
        nonloc = sorted(names - self.declared_global)
        out = []
        if nonloc:
            out.append(ast.Nonlocal(names=nonloc))
        if glob:
            out.append(ast.Global(names=glob))
        return out

    def _state_functions(self, state: list, composites: dict) -> tuple[str, str, list]:
        """`get_state`/`set_state` over the variables `state` and the attributes/items
        `composites` (read as `Undefined` when missing, written back only when defined)."""
        get_name, set_name = self.names("get_state"), self.names("set_state")
        reads: list = [_name(n) for n in state]
        for key, target in composites.items():
            load = _as_load(target)
            reads.append(ag_call("ld_composite", [ast.Lambda(args=_no_args(), body=load), ast.Constant(value=key)]))
        getter = _function(get_name, [], [ast.Return(value=ast.Tuple(elts=reads, ctx=ast.Load()))])
        body: list = []
        if state:
            target = ast.Tuple(elts=[ast.Name(id=n, ctx=ast.Store()) for n in state], ctx=ast.Store())
            value = _name("vars_") if not composites else parse_expr(f"vars_[:{len(state)}]")
            body += [*self._declare(set(state)), ast.Assign(targets=[target], value=value)]
        for i, target in enumerate(composites.values(), start=len(state)):
            item = parse_expr(f"vars_[{i}]")
            store = ast.Assign(targets=[_as_store(target)], value=item)
            body.append(ast.If(test=ag_call("is_defined", [parse_expr(f"vars_[{i}]")]), body=[store], orelse=[]))
        setter = _function(set_name, ["vars_"], body)
        return get_name, set_name, [getter, setter]

    def _symbol_names(self, state: list) -> ast.Tuple:
        return ast.Tuple(elts=[ast.Constant(value=n) for n in state], ctx=ast.Load())

    def _placed(self, stmts: list, node: ast.AST) -> list:
        for s in stmts:
            ast.copy_location(s, node)
        return stmts

    # -- statements -------------------------------------------------------------------------
    def _if(self, node: ast.If) -> list:
        modified = analysis.assigned_names([*node.body, *node.orelse])
        composites = analysis.composite_targets([*node.body, *node.orelse])
        body, orelse = self.block(node.body), self.block(node.orelse)
        state = sorted(modified & self.liveness.live_out[id(node)])
        get_name, set_name, state_fns = self._state_functions(state, composites)
        body_name, else_name = self.names("if_body"), self.names("else_body")
        fns = [_function(body_name, [], self._declare(modified) + body),
               _function(else_name, [], self._declare(modified) + orelse)]
        symbols = self._symbol_names(state + list(composites))
        call = ag_call("if_stmt", [node.test, _name(body_name), _name(else_name), _name(get_name),
                                   _name(set_name), symbols, self.location.node(node)])
        return self._placed([*state_fns, *fns, ast.Expr(value=call)], node)

    def _while(self, node: ast.While) -> list:
        modified = analysis.assigned_names(node.body)
        composites = analysis.composite_targets(node.body)
        body = self.block(node.body)
        state = sorted(modified & self.liveness.live_header[id(node)])
        get_name, set_name, state_fns = self._state_functions(state, composites)
        test_name, body_name = self.names("loop_test"), self.names("loop_body")
        walrus = analysis.assigned_names([node.test])
        test = _function(test_name, [], self._declare(walrus) + [ast.Return(value=node.test)])
        loop_body = _function(body_name, [], self._declare(modified) + body)
        call = ag_call("while_stmt", [_name(test_name), _name(body_name), _name(get_name), _name(set_name),
                                      self._symbol_names(state + list(composites)), self.location.node(node),
                                      _options(node)])
        return self._placed([*state_fns, test, loop_body, ast.Expr(value=call)], node) + self.block(node.orelse)

    def _for(self, node: ast.For) -> list:
        targets = analysis.target_names(node.target)
        modified = analysis.assigned_names(node.body)
        composites = analysis.composite_targets(node.body)
        body = self.block(node.body)
        state = sorted((modified & self.liveness.live_header[id(node)]) - targets)
        get_name, set_name, state_fns = self._state_functions(state, composites)
        body_name, itr = self.names("loop_body"), self.names("itr")
        item: ast.expr = _name(itr)
        if isinstance(node.target, (ast.Tuple, ast.List)) and not any(
                isinstance(e, ast.Starred) for e in node.target.elts):
            item = ag_call("unpack", [item, ast.Constant(value=len(node.target.elts))])
        bind = ast.Assign(targets=[node.target], value=item)
        loop_body = _function(body_name, [itr], self._declare(modified | targets) + [bind] + body)
        fns = [*state_fns, loop_body]
        flags = getattr(node, "ag_stop_flags", [])
        extra_test: ast.expr = ast.Constant(value=None)
        if flags:
            test: ast.expr = ag_call("not_", [_name(flags[-1])])
            for flag in reversed(flags[:-1]):
                test = ag_call("and_", [ast.Lambda(args=_no_args(), body=ag_call("not_", [_name(flag)])),
                                        ast.Lambda(args=_no_args(), body=test), self.location.node(node)])
            extra_name = self.names("extra_test")
            fns.append(_function(extra_name, [], [ast.Return(value=test)]))
            extra_test = _name(extra_name)
        call = ag_call("for_stmt", [node.iter, extra_test, _name(body_name), _name(get_name), _name(set_name),
                                    self._symbol_names(state + list(composites)), self.location.node(node),
                                    _options(node)])
        return self._placed([*fns, ast.Expr(value=call)], node) + self.block(node.orelse)


def _options(loop: ast.AST) -> ast.expr:
    """The loop's options dict (from `set_loop_options`), else None."""
    name = getattr(loop, "ag_options", None)
    return _name(name) if name else ast.Constant(value=None)


def _as_load(node: ast.expr) -> ast.expr:
    """A fresh copy of an attribute/item target, for reading."""
    return parse_expr(ast.unparse(node))


def _as_store(node: ast.expr) -> ast.expr:
    """A fresh copy of an attribute/item target, for assigning."""
    copy = parse_expr(ast.unparse(node))
    copy.ctx = ast.Store()
    return copy


def _no_args() -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                         defaults=[])
