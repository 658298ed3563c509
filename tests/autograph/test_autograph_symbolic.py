"""SYMBOLIC PATH: control flow on traced tensors inside `tf.function` becomes graph control
flow (`tf.cond` / `tf.while_loop`), traced once and correct for every input of the signature."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf


def values(t):
    return t.numpy().tolist() if isinstance(t, tf.Tensor) else t


def test_if_on_tensor_is_one_trace_for_both_branches():
    @tf.function
    def f(x):
        if x > 0:
            y = x * 2
        else:
            y = -x
        return y

    assert values(f(tf.constant(3.0))) == 6.0 and values(f(tf.constant(-2.0))) == 2.0
    assert f.experimental_get_tracing_count() == 1


def test_early_return_in_branches():
    @tf.function
    def f(x):
        if x > 0:
            return x * 2
        return x - 1

    assert values(f(tf.constant(3.0))) == 6.0 and values(f(tf.constant(-3.0))) == -4.0


def test_while_with_python_int_state():
    @tf.function
    def f(n):
        s = 0
        i = 0
        while i < n:
            s += i
            i += 1
        return s

    assert [values(f(tf.constant(n))) for n in (0, 3, 5)] == [0, 3, 10]
    assert f.experimental_get_tracing_count() == 1


def test_for_over_tensor_rows():
    @tf.function
    def f(x):
        s = tf.constant(0.0)
        for row in x:
            s += tf.reduce_sum(row)
        return s

    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    assert values(f(tf.constant(x))) == 15.0


def test_for_range_break_continue():
    @tf.function
    def f(n):
        s = 0
        for i in tf.range(n):
            if i > 5:
                break
            if i % 2 == 0:
                continue
            s += i
        return s

    assert [values(f(tf.constant(n))) for n in (0, 4, 10)] == [0, 4, 9]
    assert f.experimental_get_tracing_count() == 1


def test_nested_loops_and_conditions():
    @tf.function
    def f(n):
        total = 0
        i = 0
        while i < n:
            for j in tf.range(i):
                if (i + j) % 2 == 0 and j > 0:
                    total += i * j
                elif not j > 1:
                    total -= 1
            i += 1
        return total

    def reference(n):
        total = 0
        for i in range(n):
            for j in range(i):
                if (i + j) % 2 == 0 and j > 0:
                    total += i * j
                elif not j > 1:
                    total -= 1
        return total

    assert [values(f(tf.constant(n))) for n in (0, 3, 6)] == [reference(n) for n in (0, 3, 6)]


def test_tensor_array_accumulation():
    @tf.function
    def f(n):
        arr = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=())
        for i in tf.range(n):
            arr = arr.write(i, tf.cast(i, tf.float32) ** 2)
        return arr.stack()

    assert values(f(tf.constant(4))) == [0.0, 1.0, 4.0, 9.0]


def test_logical_operators_and_ternary_on_tensors():
    @tf.function
    def f(x, y):
        return (x > 0 and y > 0), (x > 0 or y > 0), (not x > 0), (x if x > y else y)

    out = [values(v) for v in f(tf.constant(1.0), tf.constant(-1.0))]
    assert out == [False, True, False, 1.0]
    out = [values(v) for v in f(tf.constant(-1.0), tf.constant(2.0))]
    assert out == [False, True, True, 2.0]


def test_python_condition_decided_at_trace_time():
    traces = []

    @tf.function
    def f(x, training):
        traces.append(training)
        if training:
            x = x * 2
        for _ in range(2):  # a Python loop, unrolled while tracing
            x = x + 1
        return x

    assert values(f(tf.constant(1.0), True)) == 4.0 and values(f(tf.constant(1.0), False)) == 3.0
    assert traces == [True, False]


def test_converted_helper_with_tensor_condition():
    def clip(x):
        if x > 1.0:
            return tf.constant(1.0)
        return x

    @tf.function
    def f(x):
        return clip(x) + 1.0

    assert values(f(tf.constant(5.0))) == 2.0 and values(f(tf.constant(0.5))) == 1.5


def test_gradient_through_converted_control_flow():
    @tf.function
    def f(x):
        y = x
        for _ in tf.range(3):
            if tf.reduce_sum(y) > 0:
                y = y * x
        return tf.reduce_sum(y)

    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        loss = f(x)
    assert values(loss) == 1.0 + 16.0
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), [4.0, 32.0])


def test_variable_side_effects_without_state():
    v = tf.Variable(0)

    @tf.function
    def f(x):
        if x > 0:
            v.assign_add(1)
        while v < 5:
            v.assign_add(2)
        return v.read_value()

    assert values(f(tf.constant(1))) == 5 and values(f(tf.constant(-1))) == 5
    v.assign(-2)
    assert values(f(tf.constant(1))) == 5  # the graph re-runs the loop: -1, 1, 3, 5


def test_nested_structure_state_and_builtin_range_len():
    @tf.function
    def f(x, n):
        d = {"a": x, "b": x * 0}
        for _ in range(n):  # range of a tensor is tf.range
            d = {"a": d["a"] + 1.0, "b": d["b"] + d["a"]}
        s = 0.0
        for i in range(len(x)):  # len of a traced tensor with a known first dimension
            s += x[i]
        return d, s

    d, s = f(tf.constant([1.0, 2.0]), tf.constant(3))
    assert values(d["a"]) == [4.0, 5.0] and values(d["b"]) == [6.0, 9.0] and values(s) == 3.0


def test_range_of_constant_in_trace_is_a_graph_loop():
    @tf.function
    def f(x):
        for i in tf.range(tf.constant(3)):
            if x > 100.0:
                break
            x = x + tf.cast(i, tf.float32)
        return x

    assert values(f(tf.constant(1.0))) == 4.0 and values(f(tf.constant(200.0))) == 200.0


def test_nested_function_with_tensor_condition():
    @tf.function
    def f(x):
        def magnitude(v):
            return v if v > 0 else -v

        out = x
        for _ in tf.range(2):
            out = magnitude(out) * 2.0
        return out

    assert values(f(tf.constant(-3.0))) == 12.0


def test_attributes_and_items_carried_through_graph_control_flow():
    class Accumulator:
        def __init__(self):
            self.total = tf.constant(0.0)
            self.counts = {"n": 0}

        def run(self, x, n):
            for _ in tf.range(n):
                self.total = self.total + x
                self.counts["n"] = self.counts["n"] + 1
            if x > 0:
                self.total = self.total * 2
            return self.total, self.counts["n"]

    acc = Accumulator()
    total, count = tf.function(acc.run)(tf.constant(1.5), tf.constant(3))
    assert values(total) == 9.0 and values(count) == 3


def test_unpacking_enumerate_zip_over_traced_tensors():
    @tf.function
    def f(x):
        s = 0.0
        for a, b in x:  # graph loop; each row unpacked
            s += a * b
        for i, row in enumerate(x):  # unrolled while tracing (known first dimension), as in TF
            s += tf.cast(i, tf.float32) * tf.reduce_sum(row)
        for p, q in zip(x, x, strict=True):
            s += tf.reduce_sum(p - q)
        return s

    assert values(f(tf.constant([[1.0, 2.0], [3.0, 4.0]]))) == 14.0 + 7.0


def test_loops_over_constant_tensors_in_a_trace_are_graph_loops():
    @tf.function
    def f(x):
        total = x * 0.0
        for w in tf.constant([1.0, 2.0, 3.0, 4.0]):  # a tensor in a trace: a graph loop, as in TF
            if total > x:
                break
            total += w
        i = tf.constant(0)
        while i < 3:  # becomes a graph loop although `i` starts as a constant
            i += tf.cast(x > 0, tf.int32)
            if x <= 0:
                i = i + 3
        return total, i

    total, i = f(tf.constant(2.5))
    assert values(total) == 3.0 and values(i) == 3
    total, i = f(tf.constant(-1.0))
    assert values(total) == 0.0 and values(i) == 3  # breaks before the first addition


def test_set_loop_options_shape_invariants_and_maximum_iterations():
    @tf.function
    def grow(n):
        v = tf.constant([0])
        for i in tf.range(n):
            tf.autograph.experimental.set_loop_options(shape_invariants=[(v, tf.TensorShape([None]))])
            v = tf.concat([v, [i]], 0)
        return v

    assert values(grow(tf.constant(3))) == [0, 0, 1, 2]

    @tf.function
    def capped(n):
        count = 0
        while count < n:
            tf.autograph.experimental.set_loop_options(maximum_iterations=3)
            count += 1
        return count

    assert values(capped(tf.constant(10))) == 3 and values(capped(tf.constant(2))) == 2

    def python_loop():
        count = 0
        for _ in range(5):  # a Python loop: the options have no effect, as in TF
            tf.autograph.experimental.set_loop_options(maximum_iterations=2)
            count += 1
        return count

    assert tf.autograph.to_graph(python_loop)() == 5


def test_set_loop_options_errors():
    @tf.function
    def wrong_start(n):
        v = tf.constant([0, 1])
        for i in tf.range(n):
            tf.autograph.experimental.set_loop_options(shape_invariants=[(v, tf.TensorShape([None, 2]))])
            v = tf.concat([v, [i]], 0)
        return v

    with pytest.raises(ValueError, match="'v' has shape .* before the loop, which does not conform"):
        wrong_start(tf.constant(2))
    with pytest.raises(ValueError, match="list of \\(tensor, shape\\) pairs"):
        tf.autograph.experimental.set_loop_options(shape_invariants=[1])


def test_builtins_on_traced_tensors():
    @tf.function
    def f(x, k):
        return int(k), float(k), max(x), min(x), any(x > 2.0), all(x > 0.0), max(k, 3), len(x)

    out = [values(v) for v in f(tf.constant([1.0, 3.0, 2.0]), tf.constant(5))]
    assert out == [5, 5.0, 3.0, 1.0, True, True, 5, 3]
    assert f(tf.constant([1.0]), tf.constant(1))[0].dtype == tf.int32


def test_conditions_on_variables_are_read_when_the_graph_runs():
    flag = tf.Variable(True)
    limit = tf.Variable(2)

    @tf.function
    def f(x):
        if flag:
            x = x * 10
        y = x if not flag else -x
        while limit > 0:
            limit.assign_sub(1)
            x = x + 1
        return x, y

    assert [values(v) for v in f(tf.constant(1))] == [12, -10]
    flag.assign(False)
    limit.assign(1)
    assert [values(v) for v in f(tf.constant(1))] == [2, 1]
    assert f.experimental_get_tracing_count() == 1


def test_counter_read_only_after_its_increment_is_loop_state():
    @tf.function
    def f(n):
        s = 0
        i = 0
        for v in tf.range(n):
            i += 1  # `i` is read by `+=` itself: it must be carried
            if i >= 3:
                break
            s += v
        return s

    assert values(f(tf.constant(10))) == 1


def test_with_as_target_is_not_loop_state():
    w = tf.Variable(2.0)

    @tf.function
    def f(n):
        total = tf.constant(0.0)
        for _ in tf.range(n):
            with tf.name_scope("step") as scope:
                total += w
            del scope
        return total

    assert values(f(tf.constant(3))) == 6.0


def test_for_over_dataset_reads_it_when_the_graph_runs():
    dataset = tf.data.Dataset.from_tensor_slices((tf.reshape(tf.range(10.0), [5, 2]), tf.range(5))).batch(2)

    @tf.function
    def total(ds):
        s = tf.constant(0.0)
        batches = 0
        for x, y in ds:
            s += tf.reduce_sum(x) + tf.cast(tf.reduce_sum(y), tf.float32)
            batches += 1
        return s, batches

    assert [values(v) for v in total(dataset)] == [55.0, 3]
    assert [values(v) for v in total(dataset)] == [55.0, 3]  # a dataset starts over on every call
    assert total.experimental_get_tracing_count() == 1


def test_for_over_dataset_iterator_with_break_continues_next_call():
    iterator = iter(tf.data.Dataset.range(6))

    @tf.function
    def take_two(it):
        s = tf.constant(0, tf.int64)
        taken = 0
        for v in it:
            s += v
            taken += 1
            if taken >= 2:
                break
        return s

    assert values(take_two(iterator)) == 0 + 1
    assert values(take_two(iterator)) == 2 + 3  # no element is consumed after the break, as in TF


def test_variable_assigned_in_branches_and_again_after():
    @tf.function
    def f(x):
        if x > 0:
            y = x
        else:
            y = -x
        z = y * 2
        y = 0  # assigned again at the top level, after the block
        return z, y

    assert [values(v) for v in f(tf.constant(-3))] == [6, 0]


def test_variables_first_assigned_in_graph_loops():
    dataset = tf.data.Dataset.from_tensor_slices(tf.reshape(tf.range(10.0), [5, 2])).batch(2)

    @tf.function
    def last_batch(ds):
        for x in ds:
            last = x  # unknown batch size: starts as zeros of size 0 with a relaxed shape
        return last

    @tf.function
    def last_float(n):
        for v in tf.range(n, dtype=tf.float32):
            last = v * 2.0
        return last

    assert values(last_batch(dataset)) == [[8.0, 9.0]]
    assert values(last_float(tf.constant(3.0))) == 4.0
