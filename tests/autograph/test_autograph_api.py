"""The public AutoGraph API: convert's caching and binding (globals, closures, methods),
unconvertible callables, to_graph / to_code / do_not_convert / set_verbosity."""

from __future__ import annotations

import functools
import logging
import math

import pytest

import tapeflow as tf
from tapeflow import autograph
from tapeflow.autograph import convert, to_code, to_graph

SCALE = 2


def uses_global(x):
    if x > 0:
        return x * SCALE
    return 0


def test_globals_are_read_at_call_time():
    global SCALE
    g = convert(uses_global)
    assert g(3) == 6
    SCALE = 10
    try:
        assert g(3) == 30
    finally:
        SCALE = 2


def test_closure_cells_are_shared_including_later_assignments():
    def make():
        def f(x):
            if x > 0:
                return x + offset
            return late(x)

        offset = 1
        late = abs
        return f, lambda v: locals_set(v)

    f, _ = make()
    g = convert(f)
    assert g(1) == 2 and g(-4) == 4


def locals_set(v):
    return v


def test_closure_rebinding_after_conversion_is_seen():
    def make():
        k = 1

        def f(x):
            return x * k if x > 0 else -k

        def set_k(v):
            nonlocal k
            k = v

        return f, set_k

    f, set_k = make()
    g = convert(f)
    assert g(2) == 2
    set_k(5)
    assert g(2) == 10 and g(-1) == -5


def test_nested_function_defined_inside_is_converted():
    def f(xs):
        def keep(x):
            if x > 1:
                return True
            return False

        return [x for x in xs if keep(x)]

    assert convert(f)([0, 1, 2, 3]) == [2, 3]
    assert "ag__.if_stmt" in to_code(f).split("def keep")[1]


def test_cache_per_function_and_per_code():
    def make(k):
        def f(x):
            return x + k if x else k

        return f

    f1, f2 = make(1), make(2)
    assert convert(f1) is convert(f1)
    assert convert(f1)(0) == 1 and convert(f2)(0) == 2 and convert(f2)(5) == 7
    assert convert(f1).__code__ is convert(f2).__code__


def test_bound_methods_and_instances():
    class Counter:
        def __init__(self):
            self.n = 0

        def add(self, k):
            for _ in range(k):
                self.n += 1
            return self.n

    a, b = Counter(), Counter()
    assert convert(a.add)(3) == 3 and convert(b.add)(1) == 1 and a.n == 3


def test_converted_keeps_metadata():
    def f(x: int, y=3, *, z=4):
        """Doc."""
        return x + y + z if x else 0

    g = convert(f)
    assert g.__name__ == "f" and g.__doc__ == "Doc." and g.__defaults__ == (3,) and g.__kwdefaults__ == {"z": 4}
    assert g.__annotations__ == f.__annotations__ and g(1) == 8


def test_unconvertible_callables_are_returned_unchanged():
    assert convert(len) is len
    assert convert(math.sqrt) is math.sqrt
    two = [lambda x: x + 1, lambda x: x - 1]  # two lambdas on one line: ambiguous source
    assert convert(two[0]) is two[0]
    namespace: dict = {}
    exec("def made(x):\n    return x if x > 0 else -x\n", namespace)
    assert convert(namespace["made"]) is namespace["made"]


def test_single_lambda_is_converted():
    f = lambda x: x if x > 0 else -x  # noqa: E731
    g = convert(f)
    assert g is not f and g(-3) == 3 and g(2) == 2
    assert "ag__.if_exp" in to_code(f)


def test_partial():
    def f(a, b):
        return a if a > b else b

    p = convert(functools.partial(f, 5))
    assert isinstance(p, functools.partial) and p(3) == 5 and p(7) == 7


def test_to_graph_and_to_code():
    def f(x):
        y = 0
        while x > 0:
            x -= 1
            y += 2
        return y

    g = to_graph(f)
    assert g(3) == 6
    code = to_code(f)
    assert "ag__.while_stmt" in code and code.startswith("def f(x):")
    compile(code, "<to_code>", "exec")
    assert "converted_call" not in to_code(f, recursive=False)
    with pytest.raises(NotImplementedError, match="experimental_optional_features"):
        to_graph(f, experimental_optional_features=["x"])


def test_do_not_convert():
    @autograph.experimental.do_not_convert
    def plain(x):
        if x > 0:
            return 1
        return 0

    assert convert(plain) is plain
    assert plain(3) == 1 and plain.__name__ == "plain"
    assert not hasattr(autograph, "do_not_convert")  # as in TF: only under experimental

    def f(x):
        return plain(x)

    assert convert(f)(-1) == 0


def test_set_verbosity_logs_conversions(caplog, capsys):
    def helper(x):
        return -x

    def f(x):
        return helper(x) if x else 1

    autograph.set_verbosity(3, alsologtostdout=True)
    try:
        with caplog.at_level(logging.INFO, logger="tapeflow.autograph"):
            convert(f)(2)
        assert any("Converted" in r.message for r in caplog.records)
        out = capsys.readouterr().out
        assert "ag__.if_exp" in out and "Calling <function" in out and "helper" in out
        autograph.set_verbosity(0)
        convert(f)(3)
        assert capsys.readouterr().out == ""
    finally:
        autograph.set_verbosity(0)
    with pytest.raises(ValueError, match="non-negative int"):
        autograph.set_verbosity(-1)


def test_tracebacks_point_at_user_lines():
    def f(x):
        if x > 0:
            raise KeyError("boom")
        return x

    with pytest.raises(KeyError) as info:
        convert(f)(1)
    last = info.traceback[-1]
    assert last.path.name == "test_autograph_api.py" and "raise KeyError" in str(last.statement)


def test_tf_namespace(capsys):
    assert tf.autograph.to_code is to_code
    public = {n for n in dir(autograph) if not n.startswith("_")}
    tf_names = {"experimental", "set_verbosity", "to_code", "to_graph", "trace"}
    assert tf_names <= public and public - tf_names <= {"convert", "ConversionError", "ag_logging", "analysis",
                                                        "api", "call", "checks", "conversion", "errors",
                                                        "expressions", "graph_support", "loop_options", "lowering",
                                                        "operators", "transformer", "variables"}
    assert {n for n in dir(autograph.experimental) if not n.startswith("_")} >= {"do_not_convert", "set_loop_options"}
    tf.autograph.trace("x is", 3)
    assert capsys.readouterr().out == "x is 3\n"


def test_class_defined_inside_converted_function():
    def f(x):
        class Box:
            def get(self, v):
                if v > 0:
                    return "pos"
                return "neg"

        return Box().get(x)

    g = convert(f)
    assert g(1) == "pos" and g(-1) == "neg"


def test_annotated_locals_assigned_in_blocks():
    def f(xs):
        out: list = []
        total: int  # noqa: F842 - a bare annotation, dropped by the converter
        for x in xs:
            if x:
                out.append(x)
        return out

    assert convert(f)([0, 1, 2]) == [1, 2]


def test_decorated_wrapper_is_converted_as_itself():
    def twice(fn):
        @functools.wraps(fn)
        def wrapper(x):
            if x > 0:
                return fn(fn(x))
            return fn(x)

        return wrapper

    @twice
    def inc(x):
        return x + 1

    g = convert(inc)
    assert g(1) == 3 and g(-5) == -4
    assert "def wrapper(x):" in to_code(inc)


def test_callable_object():
    class Clip:
        def __init__(self, limit):
            self.limit = limit

        def __call__(self, x):
            return self.limit if x > self.limit else x

    clip = Clip(3)
    g = convert(clip)
    assert g(5) == 3 and g(1) == 1 and g.__self__ is clip
    assert convert(tf.keras.layers.Dense(2)).__class__.__name__ == "Dense"  # library callables stay as they are


def test_bare_annotation_then_assignment_in_branches():
    def f(x):
        y: int
        if x > 0:
            y = 1
        else:
            y = 2
        return y

    assert convert(f)(1) == 1 and convert(f)(-1) == 2
