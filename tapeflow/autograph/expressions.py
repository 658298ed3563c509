"""Rewriting of expressions whose Python meaning needs a bool or a call into user code:
`and`/`or`/`not`, `a if c else b`, `assert`, function calls and reads of possibly-undefined
variables, each into a call of an AutoGraph operator (`ag__.and_`, `ag__.if_exp`, ...).

The operators keep Python's semantics for Python values and eager tensors, and build graph
ops for symbolic tensors; operands that Python evaluates lazily are passed as lambdas.
"""

from __future__ import annotations

import ast

from tapeflow.autograph.errors import ConversionError, Location

# Calls that must stay direct: they look at the caller's frame or are AutoGraph's own.
_DIRECT_CALLS = {"super", "locals", "globals", "vars", "eval", "exec", "dir", "ag__"}


def _thunk(expr: ast.expr) -> ast.Lambda:
    args = ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None,
                         defaults=[])
    return ast.Lambda(args=args, body=expr)


def ag_call(name: str, args: list) -> ast.Call:
    """`ag__.<name>(*args)`, positions left for `ast.fix_missing_locations`."""
    func = ast.Attribute(value=ast.Name(id="ag__", ctx=ast.Load()), attr=name, ctx=ast.Load())
    return ast.Call(func=func, args=args, keywords=[])


def _has_walrus(node: ast.AST) -> bool:
    return any(isinstance(n, ast.NamedExpr) for n in ast.walk(node))


class ExpressionConverter(ast.NodeTransformer):
    """Converts the expressions of one function scope (nested `def`s are converted apart).

    Args:
        fn: the function being converted (its first parameter completes `super()`).
        undefined: names that may still hold `Undefined` when read (read through `ag__.ld`).
        location: builds the `(function, file, line)` tuple for a node, for error messages.
        recursive: whether calls go through `ag__.converted_call` (which converts callees).
    """

    def __init__(self, fn: ast.FunctionDef, undefined: set[str], location: Location, recursive: bool) -> None:
        self.fn = fn
        self.undefined = undefined
        self.location = location
        self.recursive = recursive

    def convert(self) -> None:
        self.fn.body = [self.visit(s) for s in self.fn.body]

    # -- scopes converted elsewhere ---------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        return node

    # -- expressions ------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, ast.Load) and node.id in self.undefined:
            return ast.copy_location(ag_call("ld", [node]), node)
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        if _has_walrus(node):
            raise ConversionError(self.location(node), "an assignment expression (:=) inside `and`/`or`")
        self.generic_visit(node)
        name = "and_" if isinstance(node.op, ast.And) else "or_"
        result = node.values[-1]
        for value in reversed(node.values[:-1]):
            result = ag_call(name, [_thunk(value), _thunk(result), self.location.node(node)])
        return ast.copy_location(result, node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            return ast.copy_location(ag_call("not_", [node.operand]), node)
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        if _has_walrus(node.body) or _has_walrus(node.orelse):
            raise ConversionError(self.location(node), "an assignment expression (:=) inside a conditional expression")
        self.generic_visit(node)
        call = ag_call("if_exp", [node.test, _thunk(node.body), _thunk(node.orelse), self.location.node(node)])
        return ast.copy_location(call, node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(func, ast.Name) and func.id == "super" and not node.args and not node.keywords:
            return self._explicit_super(node)
        if not self.recursive or (isinstance(root, ast.Name) and root.id in _DIRECT_CALLS):
            return node
        args = ast.Tuple(elts=node.args, ctx=ast.Load())
        if node.keywords:
            kwargs: ast.expr = ast.Dict(keys=[k.arg and ast.Constant(value=k.arg) for k in node.keywords],
                                        values=[k.value for k in node.keywords])
        else:
            kwargs = ast.Constant(value=None)
        return ast.copy_location(ag_call("converted_call", [func, args, kwargs]), node)

    def _explicit_super(self, node: ast.Call) -> ast.AST:
        """`super()` -> `super(__class__, self)`: zero-argument super reads the caller's first
        argument, which a branch function converted from the method's body does not have."""
        params = [*self.fn.args.posonlyargs, *self.fn.args.args]
        if not params:
            return node
        node.args = [ast.Name(id="__class__", ctx=ast.Load()), ast.Name(id=params[0].arg, ctx=ast.Load())]
        return node

    # -- statements -------------------------------------------------------------------------
    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        """`x: T = v` -> `x = v`: a local variable's annotation is never evaluated, and an
        annotated name cannot be declared `nonlocal` by the functions control flow becomes."""
        self.generic_visit(node)
        if not isinstance(node.target, ast.Name):
            return node
        if node.value is None:
            return ast.copy_location(ast.Pass(), node)
        return ast.copy_location(ast.Assign(targets=[node.target], value=node.value), node)

    def visit_Assert(self, node: ast.Assert) -> ast.AST | None:
        if not __debug__:  # python -O drops asserts; so does converted code
            return None
        self.generic_visit(node)
        msg = _thunk(node.msg) if node.msg is not None else ast.Constant(value=None)
        call = ag_call("assert_stmt", [node.test, msg, self.location.node(node)])
        return ast.copy_location(ast.Expr(value=call), node)
