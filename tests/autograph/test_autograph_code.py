"""What the converter writes for each construct (`to_code`), and that the code compiles."""

from __future__ import annotations

import pytest

from tapeflow.autograph import to_code


def f_if(x):
    if x > 0:
        y = 1
    elif x < 0:
        y = -1
    else:
        y = 0
    return y


def f_while(n):
    i = 0
    while i < n:
        i += 1
    return i


def f_for(xs):
    s = 0
    for x in xs:
        if x < 0:
            break
        if x == 0:
            continue
        s += x
    return s


def f_return(xs):
    for x in xs:
        if x:
            return x
    return None


def f_logic(a, b):
    return (a and b) or not a


def f_ternary(a):
    return a if a > 0 else -a


def f_assert(a):
    assert a > 0, "positive"
    return a


CASES = [
    (f_if, ["ag__.if_stmt(x > 0", "def if_body", "def else_body", "nonlocal y", "('y',)"]),
    (f_while, ["ag__.while_stmt(", "def loop_test", "return i < n", "('i',)"]),
    (f_for, ["ag__.for_stmt(xs, extra_test", "break_ = True", "continue_ = True", "ag__.not_(break_)"]),
    (f_return, ["do_return = True", "retval_ = ag__.ld(x)", "ag__.UndefinedReturnValue()",
                "return ag__.retval(", "def extra_test"]),
    (f_logic, ["ag__.or_(lambda: ag__.and_(lambda: a, lambda: b", "ag__.not_(a)"]),
    (f_ternary, ["ag__.if_exp(a > 0, lambda: a, lambda: -a"]),
    (f_assert, ["ag__.assert_stmt(a > 0, lambda: 'positive'"]),
]


@pytest.mark.parametrize(("fn", "expected"), CASES, ids=[c[0].__name__ for c in CASES])
def test_converted_code(fn, expected):
    code = to_code(fn)
    for text in expected:
        assert text in code, f"{text!r} not in:\n{code}"
    assert code.startswith(f"def {fn.__name__}(")
    compile(code, "<to_code>", "exec")
