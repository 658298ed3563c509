"""Errors name the variable, the function and its source line (TF AutoGraph's messages), and
constructs AutoGraph cannot convert are refused where they are written.

The graph-control-flow cases are SYMBOLIC PATH tests (inside `tf.function`)."""

from __future__ import annotations

import re

import pytest

import tapeflow as tf
from tapeflow.autograph import ConversionError, convert, to_code


def _trace(f, *args):
    return tf.function(f)(*args)


def _names_line(info, function, text):
    message = str(info.value)
    assert re.search(rf'test_autograph_errors.py", line \d+, in \S*\b{function}\n', message), message
    assert text in message


def test_variable_defined_in_one_branch():
    def only_main(x):
        if x > 0:
            y = 1
        return y

    with pytest.raises(ValueError, match="'y' must also be initialized in the else branch") as info:
        _trace(only_main, tf.constant(1))
    _names_line(info, "only_main", "if x > 0:")

    def only_else(x):
        if x > 0:
            pass
        else:
            y = 1
        return y

    with pytest.raises(ValueError, match="'y' must also be initialized in the main branch"):
        _trace(only_else, tf.constant(1))


def test_branch_structure_dtype_none():
    def structure(x):
        if x > 0:
            y = tf.constant(1)
        else:
            y = [1, 2]
        return y

    with pytest.raises(TypeError, match="'y' must have the same nested structure in the main and else branches"):
        _trace(structure, tf.constant(1))

    def dtype(x):
        if x > 0:
            y = tf.constant(1.0)
        else:
            y = tf.constant(1)
        return y

    with pytest.raises(TypeError, match="'y' has dtype float32 in the main branch, but dtype int32 in the else"):
        _trace(dtype, tf.constant(1))

    def none(x):
        if x > 0:
            y = 1
        else:
            y = None
        return y

    with pytest.raises(ValueError, match="'y' is None at the end of the else branch"):
        _trace(none, tf.constant(1))


def test_return_in_one_branch_only():
    def f(x):
        for i in range(3):
            if x > i:
                return i
        return -1

    with pytest.raises((ValueError, NotImplementedError)) as info:
        _trace(f, tf.constant(1))
    assert "return" in str(info.value) and "f" in str(info.value)


def test_loop_variable_changes_dtype_or_shape():
    def dtype(x):
        while x > 0:
            x = tf.cast(x, tf.float32) - 1.0
        return x

    with pytest.raises(TypeError, match="'x' has dtype int32 before the loop, but dtype float32 after one iteration"):
        _trace(dtype, tf.constant(3))

    def shape(x, n):
        i = 0
        while i < n:
            x = tf.concat([x, x], 0)
            i += 1
        return x

    with pytest.raises(ValueError, match="'x' has shape"):
        _trace(shape, tf.constant([1.0]), tf.constant(2))


def test_loop_variable_read_before_assignment():
    def f(n):
        i = 0
        while i < n:
            total = total + i  # noqa: F821 - the error under test
            i += 1
        return total

    with pytest.raises(ValueError, match="'total' must be defined before the loop") as info:
        _trace(f, tf.constant(3))
    _names_line(info, "f", "while i < n:")


def test_break_on_tensor_in_python_loop():
    def f(x):
        for i in range(3):
            if x > i:
                break
        return x

    with pytest.raises(NotImplementedError, match="not supported in Python for loops") as info:
        _trace(f, tf.constant(3))
    _names_line(info, "f", "for i in range(3):")


def test_non_bool_condition():
    def f(x):
        if x:
            x = x + 1
        return x

    with pytest.raises(ValueError, match="condition of if statement expected to be `tf.bool` scalar"):
        _trace(f, tf.constant(1.0))


def test_unconvertible_constructs_name_function_and_line():
    def gen(n):
        total = 0
        for i in range(n):
            total += i
            yield total

    with pytest.raises(ConversionError, match="generator function") as info:
        convert(gen)
    _names_line(info, "gen", "yield total")

    def matcher(x):
        match x:
            case 1:
                return "one"
        return "other"

    with pytest.raises(ConversionError, match="match statement") as info:
        to_code(matcher)
    _names_line(info, "matcher", "match x:")

    def walrus(a, b):
        return a and (c := b) and c

    with pytest.raises(ConversionError, match="assignment expression"):
        convert(walrus)


def test_generator_called_from_converted_code_runs_as_is():
    def gen(n):
        yield from range(n)

    def f(n):
        return [x for x in gen(n)]

    assert convert(f)(3) == [0, 1, 2]


def test_assert_on_tensor_fails_when_graph_runs():
    @tf.function
    def f(x):
        assert x > 0, "x must be positive"
        return x + 1

    assert f(tf.constant(3)).numpy() == 4
    with pytest.raises(tf.errors.InvalidArgumentError, match="x must be positive"):
        f(tf.constant(-3))
    assert f.experimental_get_tracing_count() == 1


def test_loop_that_must_run_once():
    @tf.function
    def f(n):
        for i in tf.range(n):
            last = i * 2
        return last

    assert f(tf.constant(3)).numpy() == 4
    with pytest.raises(tf.errors.InvalidArgumentError, match="loop must iterate at least once to initialize last"):
        f(tf.constant(0))


def test_python_while_whose_condition_becomes_a_tensor():
    def f(x):
        while True:
            x = x - 1
            if x < 0:
                break
        return x

    with pytest.raises(NotImplementedError, match="started as non-Tensor, then changed to Tensor") as info:
        _trace(f, tf.constant(3))
    _names_line(info, "f", "while True:")


def test_non_bool_operand_of_and():
    def f(x, y):
        return x and y

    with pytest.raises(ValueError, match="condition of `and` expected to be `tf.bool` scalar") as info:
        _trace(f, tf.constant(1.0), tf.constant(2.0))
    _names_line(info, "f", "return x and y")


def test_engine_errors_inside_graph_control_flow_name_the_user_line():
    def f(x):
        if tf.reduce_sum(x) > 0:
            x = tf.matmul(x, tf.ones([3, 3]))  # x is 2x2: a shape error while tracing the branch
        return x

    with pytest.raises(Exception) as info:
        _trace(f, tf.ones([2, 2]))
    text = str(info.value) + "".join(getattr(info.value, "__notes__", []))
    assert "raised in AutoGraph-converted code" in text and "if tf.reduce_sum(x) > 0:" in text
