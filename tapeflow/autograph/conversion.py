"""From a Python function to its converted twin: read the source, transform the AST, compile,
and bind the result to the original's globals and closure cells.

The converted function shares the original's `__globals__` and its closure *cells* (not
their values), so globals and free variables assigned later are seen, as by the original.
Conversion is cached per code object (closures made by one `def` convert once) and per
function object.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import textwrap
import types
import weakref
from collections.abc import Callable
from typing import Any

from tapeflow.autograph import ag_logging, call, operators, variables
from tapeflow.autograph.errors import ConversionError, Location
from tapeflow.autograph.transformer import convert_function

# What converted code calls as `ag__.<name>`.
AG = types.SimpleNamespace(
    if_stmt=operators.if_stmt, while_stmt=operators.while_stmt, for_stmt=operators.for_stmt,
    and_=operators.and_, or_=operators.or_, not_=operators.not_, if_exp=operators.if_exp,
    assert_stmt=operators.assert_stmt, converted_call=call.converted_call, unpack=call.unpack, ld=variables.ld,
    retval=variables.retval, ld_composite=variables.ld_composite, is_defined=variables.is_defined,
    Undefined=variables.Undefined, UndefinedReturnValue=variables.UndefinedReturnValue,
)


class SourceUnavailable(Exception):
    """The function's source cannot be read or located (builtins, exec'd code, ambiguous lambdas)."""


_code_cache: dict = {}  # (code object, recursive) -> (converted code object, converted source)
_function_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def convert_entity(func: Callable, recursive: bool) -> Callable:
    """The converted version of a function or bound method (raises `SourceUnavailable` or
    `ConversionError`)."""
    if isinstance(func, types.MethodType):
        return types.MethodType(convert_entity(func.__func__, recursive), func.__self__)
    if not isinstance(func, types.FunctionType):
        raise SourceUnavailable(f"{func!r} is not a Python function")
    per_function = _function_cache.setdefault(func, {})
    if recursive not in per_function:
        code, _ = converted_code(func, recursive)
        per_function[recursive] = _bind(func, code)
    return per_function[recursive]


def converted_code(func: types.FunctionType, recursive: bool) -> tuple:
    """`(code object, source text)` of the converted `func`, cached per code object."""
    key = (func.__code__, recursive)
    if key not in _code_cache:
        node, filename = _parse(func)
        qualname = getattr(func, "__qualname__", func.__name__)
        convert_function(node, Location(qualname, filename), recursive)
        ast.fix_missing_locations(node)
        source = ast.unparse(node)
        code = _compile(node, func.__code__.co_freevars, filename)
        _code_cache[key] = (code, source)
        ag_logging.log(1, f"Converted {qualname}")
        ag_logging.log(3, f"Converted code of {qualname}:\n{source}")
    return _code_cache[key]


def _parse(func: types.FunctionType) -> tuple[ast.FunctionDef, str]:
    """The function's definition as an AST with the original file's line numbers."""
    try:
        # NOTE: from the code object: inspect follows a decorated function's __wrapped__ to the
        # wrapped function's source, but the wrapper's own code is what runs
        source = inspect.getsource(func.__code__)
        filename = inspect.getsourcefile(func.__code__) or func.__code__.co_filename
    except (OSError, TypeError) as e:
        raise SourceUnavailable(f"the source of {func.__qualname__} is not available: {e}") from e
    first_line = func.__code__.co_firstlineno
    try:
        tree = ast.parse(textwrap.dedent(source))
        ast.increment_lineno(tree, first_line - 1)
    except SyntaxError:
        # an indented definition whose multi-line strings defeat dedent; or a lambda fragment
        try:
            tree = ast.parse("if 1:\n" + source)
            ast.increment_lineno(tree, first_line - 2)
        except SyntaxError as e:
            raise SourceUnavailable(f"the source of {func.__qualname__} does not parse on its own") from e
    if func.__name__ == "<lambda>":
        return _lambda_definition(func, tree), filename
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == func.__code__.co_name:
            if _parameters(node.args) != _code_parameters(func.__code__):
                raise SourceUnavailable(f"the source of {func.__qualname__} does not match its code (edited since "
                                        "it was loaded?)")
            node.decorator_list = []
            return node, filename
    raise SourceUnavailable(f"no definition of {func.__code__.co_name} found in its source")


def _parameters(args: ast.arguments) -> list:
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    return names + [a.arg for a in (args.vararg, args.kwarg) if a is not None]


def _code_parameters(code: types.CodeType) -> list:
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    return list(code.co_varnames[:count])


def _lambda_definition(func: types.FunctionType, tree: ast.AST) -> ast.FunctionDef:
    """A lambda as `def`: only when it is the one lambda on its source lines."""
    lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
    if len(lambdas) != 1:
        raise SourceUnavailable(f"{len(lambdas)} lambdas on the source lines of this lambda; cannot tell which")
    node = lambdas[0]
    names = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
    if names != list(func.__code__.co_varnames[: func.__code__.co_argcount]):
        raise SourceUnavailable("the lambda in the source does not match the function's arguments")
    fn = ast.FunctionDef(name="lambda_", args=node.args, body=[ast.Return(value=node.body)], decorator_list=[],
                         returns=None, type_comment=None)
    return ast.copy_location(fn, node)


def _compile(node: ast.FunctionDef, freevars: tuple, filename: str) -> types.CodeType:
    """Compile `node` inside a factory that defines `ag__` and the original's free variables,
    so the code refers to them as closure cells (bound by `_bind`)."""
    names = ["ag__", *freevars]
    header = [ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store())], value=ast.Constant(value=None)) for n in names]
    factory = ast.FunctionDef(name="__autograph_factory", args=ast.arguments(
        posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
        body=[*header, node], decorator_list=[], returns=None, type_comment=None)
    ast.copy_location(factory, node)
    for h in header:
        ast.copy_location(h, node)
    module = ast.fix_missing_locations(ast.Module(body=[factory], type_ignores=[]))
    code = compile(module, filename, "exec", dont_inherit=True)
    factory_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    result = next(c for c in factory_code.co_consts if isinstance(c, types.CodeType) and c.co_name == node.name)
    _register(result)
    return result


def _register(code: types.CodeType) -> None:
    """Remember `code` and the functions nested in it as converted (not converted again);
    not the methods of classes defined inside, whose bodies the converter leaves alone."""
    call.CONVERTED_CODE.add(code)
    for const in code.co_consts:
        if isinstance(const, types.CodeType) and const.co_flags & inspect.CO_NEWLOCALS:
            _register(const)


def _bind(func: types.FunctionType, code: types.CodeType) -> types.FunctionType:
    """A function running `code` with `func`'s globals, defaults and closure cells."""
    cells = dict(zip(func.__code__.co_freevars, func.__closure__ or (), strict=True))

    def cell(name: str) -> types.CellType:
        if name == "ag__":
            return types.CellType(AG)
        if name in cells:
            return cells[name]
        # A global of the original that the converted code reaches through a nested function
        # (a recursive call's own name): read when the cell is made.
        return types.CellType(func.__globals__.get(name, getattr(builtins, name, None)))

    closure = tuple(cell(n) for n in code.co_freevars)
    new = types.FunctionType(code, func.__globals__, func.__name__, func.__defaults__, closure)
    new.__kwdefaults__ = func.__kwdefaults__
    new.__qualname__ = func.__qualname__
    new.__doc__ = func.__doc__
    new.__module__ = func.__module__
    new.__annotations__ = dict(getattr(func, "__annotations__", {}))
    new.__dict__.update(func.__dict__)
    setattr(new, call.CONVERTED, True)
    return new


def source_of(func: Any, recursive: bool) -> str:
    """The converted source of `func` (a function or bound method)."""
    if isinstance(func, types.MethodType):
        func = func.__func__
    if not isinstance(func, types.FunctionType):
        raise SourceUnavailable(f"{func!r} is not a Python function")
    return converted_code(func, recursive)[1]


__all__ = ["convert_entity", "converted_code", "source_of", "SourceUnavailable", "ConversionError"]
