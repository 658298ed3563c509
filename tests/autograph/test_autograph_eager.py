"""Converted functions run with the same Python semantics as the originals (Python values,
lists, dicts, generators, eager tensors): each case compares `convert(f)` with `f`."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.autograph import convert


def same(f, *cases):
    g = convert(f)
    assert g is not f
    for args in cases:
        expected, got = f(*args), g(*args)
        if isinstance(expected, tf.Tensor):
            np.testing.assert_array_equal(got.numpy(), expected.numpy())
        else:
            assert got == expected, (args, got, expected)


def test_if_elif_else():
    def f(x):
        if x > 0:
            y = 1
        elif x < 0:
            y = -1
        else:
            y = 0
        return y

    same(f, (3,), (-2,), (0,))


def test_if_without_else_keeps_previous_value():
    def f(x):
        y = 10
        if x > 0:
            y = x
        return y

    same(f, (3,), (-1,))


def test_temporary_in_one_branch():
    def f(x):
        if x > 0:
            tmp = x * 2
            y = tmp + 1
        else:
            y = -x
        return y

    same(f, (2,), (-5,))


def test_while_loop():
    def f(n):
        i, s = 0, 0
        while i < n:
            s += i
            i += 1
        return s, i

    same(f, (0,), (5,))


def test_while_else_and_break():
    def f(n, stop):
        i = 0
        while i < n:
            if i == stop:
                break
            i += 1
        else:
            i = -1
        return i

    same(f, (5, 2), (5, 9), (0, 0))


def test_for_range_continue_break_else():
    def f(n):
        s = 0
        for i in range(n):
            if i % 2 == 0:
                continue
            if i > 7:
                break
            s += i
        else:
            s = -s
        return s

    same(f, *[(n,) for n in range(12)])


def test_nested_loops_with_break():
    def f(rows):
        found = []
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if v < 0:
                    found.append((r, c))
                    break
                if v == 0:
                    continue
                found.append(v)
        return found

    same(f, ([[1, -1, 2], [0, 3], [-4]],), ([],))


def test_early_return_in_loop_and_branches():
    def f(xs):
        for x in xs:
            if x < 0:
                return x
            elif x == 0:
                return None
        y = 5
        return y

    same(f, ([1, -2, 3],), ([1, 0],), ([],), ([4],))


def test_return_in_while_and_try():
    def f(n):
        i = 0
        while True:
            try:
                if i * i > n:
                    return i
            finally:
                i += 1

    same(f, (0,), (10,), (99,))


def test_for_over_dict_generator_zip_enumerate():
    def f(d):
        keys = []
        for k in d:
            keys.append(k)
        total = 0
        for a, b in zip(range(3), (x * x for x in range(10)), strict=False):
            total += a * b
        for i, (_k, v) in enumerate(sorted(d.items())):
            total += i * v
        return keys, total

    same(f, ({"a": 1, "b": 2},), ({},))


def test_generator_is_not_advanced_past_break():
    def f(gen):
        out = []
        for x in gen:
            out.append(x)
            if x == 2:
                break
        return out, next(gen)

    g = convert(f)
    assert g(iter(range(5))) == f(iter(range(5))) == ([0, 1, 2], 3)


def test_python_side_effects_run_per_iteration():
    log = []

    def f(n):
        for i in range(n):
            log.append(i)
            if i == 1:
                log.append("one")
        return len(log)

    g = convert(f)
    assert g(3) == 4
    assert log == [0, 1, "one", 2]


def test_logical_operators_keep_python_semantics():
    calls = []

    def right(v):
        calls.append(v)
        return v

    def f(a, b):
        return (a and right(b)), (a or right(b)), (not a), (a if b else "no")

    same(f, (0, 5), (3, 0), ([], [1]), ("x", ""))
    calls.clear()
    convert(f)(0, 5)
    assert calls == [5]  # `and` skipped its right operand, `or` evaluated it once


def test_chained_and_or():
    def f(a, b, c):
        return a and b and c, a or b or c, a and (b or c)

    same(f, *[(a, b, c) for a in (0, 1) for b in (0, 2) for c in (0, 3)])


def test_eager_tensors():
    def f(x):
        s = tf.zeros_like(x[0])
        for row in x:
            if tf.reduce_sum(row) > 2:
                s = s + row
            else:
                s = s - row
        while tf.reduce_max(s) > 10:
            s = s / 2
        return s

    same(f, (tf.constant([[1.0, 2.0], [0.5, 0.25], [30.0, 4.0]]),))


def test_for_target_survives_loop():
    def f(n):
        for i in range(n):  # noqa: B007 - the target is read after the loop
            pass
        return i

    same(f, (3,))
    with pytest.raises(UnboundLocalError):
        convert(f)(0)


def test_undefined_variable_read_raises_unbound_local():
    def f(x):
        if x > 0:
            y = 1
        return y

    g = convert(f)
    assert g(1) == 1
    with pytest.raises(UnboundLocalError, match="'y'"):
        g(-1)


def test_assert_on_python_values():
    def f(x):
        assert x > 0, f"x must be positive, got {x}"
        assert x < 100
        return x

    g = convert(f)
    assert g(3) == 3
    with pytest.raises(AssertionError, match="x must be positive, got -1"):
        g(-1)
    with pytest.raises(AssertionError):
        g(200)


def test_assert_on_eager_tensor():
    def f(x):
        assert tf.reduce_all(x > 0), "positive"
        return x

    g = convert(f)
    g(tf.constant([1.0]))
    with pytest.raises(AssertionError, match="positive"):
        g(tf.constant([-1.0]))


def test_with_and_try_bodies_converted():
    def f(xs):
        out = 0
        for x in xs:
            try:
                if x == "bad":
                    raise ValueError(x)
                out += x
            except ValueError:
                out -= 100
                continue
            finally:
                out += 1000
        return out

    same(f, ([1, "bad", 2],), ([],))


def test_walrus_in_if_test():
    def f(xs):
        if (n := len(xs)) > 2:
            return n
        return -n

    same(f, ([1, 2, 3],), ([1],))


def test_global_and_nonlocal_assignments_in_blocks():
    def outer():
        count = 0

        def bump(n):
            nonlocal count
            for _ in range(n):
                if n > 1:
                    count += 1
            return count

        return bump

    g = convert(outer())
    assert g(3) == 3 and g(2) == 5

    def uses_global(n):
        global _COUNTER
        for _ in range(n):
            _COUNTER += 1
        return _COUNTER

    convert(uses_global)(4)
    assert _COUNTER == 4


_COUNTER = 0


def test_recursive_helper_is_converted():
    def helper(x):
        if x > 0:
            return "pos"
        return "neg"

    def f(x):
        return helper(x), [helper(v) for v in (1, -1)]

    same(f, (3,), (-3,))


def test_method_with_super():
    class Base:
        def value(self, x):
            return x + 1

    class Child(Base):
        def value(self, x):
            if x > 0:
                return super().value(x) * 2
            return super().value(x)

    c = Child()
    g = convert(c.value)
    assert g(3) == 8 and g(-3) == -2


def test_attribute_and_item_assignments():
    class Box:
        def __init__(self):
            self.n = 0
            self.seen = {}

        def add(self, xs):
            for x in xs:
                if x > 0:
                    self.n += x
                    self.seen["last"] = x
            return self.n, self.seen

    assert convert(Box().add)([1, -2, 3]) == Box().add([1, -2, 3]) == (4, {"last": 3})


def test_nested_generator_left_as_is():
    def f(n):
        def evens():
            for i in range(n):
                if i % 2 == 0:
                    yield i

        total = 0
        for v in evens():
            if v > 2:
                total += v
        return total

    same(f, (7,), (0,))


def test_decorators_of_nested_functions_are_kept():
    import functools

    def f(n):
        calls = []

        @functools.cache
        def square(k):
            calls.append(k)
            return k * k if k > 0 else 0

        return [square(k % 3) for k in range(n)], len(calls)

    same(f, (6,))


def test_walrus_in_while_test():
    def f(items):
        items = list(items)
        seen = []
        while (n := len(items)) > 1:
            seen.append(n)
            items.pop()
        return seen, n

    same(f, ([1, 2, 3],), ([],))
