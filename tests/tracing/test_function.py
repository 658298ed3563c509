"""tf.function semantics as the TF guides state them: tracing, retracing, side effects,
variables, signatures, concrete functions, gradients, control flow and Keras in a trace."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients


def test_traces_once_per_signature_and_python_side_effects_only_while_tracing():
    traced = []

    @tf.function
    def f(x, n):
        traced.append(x.shape)
        return x * n

    assert f(tf.constant([1.0, 2.0]), 2).numpy().tolist() == [2.0, 4.0]
    assert f(tf.constant([3.0, 4.0]), 2).numpy().tolist() == [6.0, 8.0]  # same signature
    f(tf.constant([1.0, 2.0, 3.0]), 2)  # new shape
    f(tf.constant([1, 2]), 2)  # new dtype
    f(tf.constant([1.0, 2.0]), 3)  # Python values by value
    f(np.array([5.0, 6.0], np.float32), 2)  # NumPy arrays are tensors: same as the first trace
    assert f.experimental_get_tracing_count() == 4
    assert len(traced) == 4


def test_nested_structures_count_by_structure():
    @tf.function
    def f(d):
        return d["a"] + d["b"][0]

    f({"a": tf.constant(1.0), "b": [tf.constant(2.0)]})
    f({"a": tf.constant(3.0), "b": [tf.constant(4.0)]})
    assert f.experimental_get_tracing_count() == 1
    assert float(f({"a": tf.constant(1.0), "b": (tf.constant(5.0),)})) == 6.0
    assert f.experimental_get_tracing_count() == 2


def test_tf_print_runs_on_every_call_and_print_only_while_tracing(capsys):
    @tf.function
    def f(x):
        print("trace", x)
        tf.print("run", x, output_stream=sys.stdout)
        tf.print("err", x)
        return x + 1

    f(tf.constant([1.0, 2.5]))
    f(tf.constant([3.0, 4.0]))
    out = capsys.readouterr()
    assert out.out.count("trace") == 1
    assert 'Tensor("x:0", shape=(2,), dtype=float32)' in out.out
    assert "run [1 2.5]\n" in out.out and "run [3 4]\n" in out.out
    assert out.err == "err [1 2.5]\nerr [3 4]\n"


def test_tf_print_summarizes_like_tf(capsys):
    tf.print(tf.range(20), tf.constant(1 / 3), tf.constant(2.0, tf.float64) / 3, tf.constant([True, False]),
             output_stream=sys.stdout)
    tf.print(tf.range(10), summarize=2, sep=",", end="!\n", output_stream=sys.stdout)
    assert capsys.readouterr().out == "[0 1 2 ... 17 18 19] 0.333333343 0.66666666666666663 [1 0]\n[0 1 ... 8 9]!\n"


def test_executing_eagerly_is_false_inside_a_trace():
    seen = []

    @tf.function
    def f(x):
        seen.append(tf.executing_eagerly())
        return x

    f(tf.constant(1.0))
    assert seen == [False] and tf.executing_eagerly()


def test_variables_are_captured_and_assigned_on_every_call():
    v = tf.Variable(1.0)

    @tf.function
    def f(x):
        v.assign_add(x)
        return v * 2.0

    assert float(f(tf.constant(1.0))) == 4.0
    assert float(f(tf.constant(1.0))) == 6.0
    v.assign(10.0)
    assert float(f(tf.constant(0.0))) == 20.0


def test_variables_created_on_first_trace_only():
    class Scale(tf.Module):
        def __init__(self):
            super().__init__()
            self.v = None

        @tf.function
        def __call__(self, x):
            if self.v is None:
                self.v = tf.Variable(2.0)
            return x * self.v

    m = Scale()
    assert m(tf.constant([1.0, 2.0])).numpy().tolist() == [2.0, 4.0]

    @tf.function
    def g(x):
        return x * tf.Variable(1.0)

    # As in TF, a first trace that creates variables is traced again at once; this one creates
    # a variable every time, so the first call already fails.
    with pytest.raises(ValueError, match="only supports singleton tf.Variables created on the first call"):
        g(tf.constant(1.0))

    @tf.function
    def h(x):
        return tf.Variable(x * 2.0)

    with pytest.raises(ValueError, match="initial value depends on the function's inputs"):
        h(tf.constant(1.0))


def test_input_signature_fixes_the_trace_and_rejects_mismatches():
    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
    def f(x):
        return x + 1

    assert f(tf.constant([1, 2])).numpy().tolist() == [2, 3]
    assert f(tf.constant([1, 2, 3, 4])).numpy().tolist() == [2, 3, 4, 5]
    assert f.experimental_get_tracing_count() == 1
    with pytest.raises(TypeError, match=r"argument `x` expects TensorSpec\(shape=\(None,\), dtype=tf.int32"):
        f(tf.constant([1.0]))
    with pytest.raises(TypeError, match="argument `x`"):
        f(tf.constant([[1, 2]]))
    with pytest.raises(TypeError, match="input_signature"):
        tf.function(lambda x: x, input_signature=[3])


def test_reduce_retracing_relaxes_shapes():
    @tf.function(reduce_retracing=True)
    def f(x):
        return tf.reduce_sum(x)

    for n in (2, 3, 4, 5):
        assert float(f(tf.ones(n))) == n
    assert f.experimental_get_tracing_count() == 2
    concrete = f.get_concrete_function(tf.ones(7))
    assert concrete.structured_input_signature[0][0].shape == (None,)


def test_concrete_functions():
    @tf.function
    def f(x, scale=2.0):
        return {"y": x * scale}

    cf = f.get_concrete_function(tf.TensorSpec([None, 3], tf.float32))
    assert cf.structured_input_signature == ((tf.TensorSpec([None, 3], tf.float32, "x"), 2.0), {})
    assert repr(cf.structured_outputs["y"]).startswith("<tf.Tensor 'mul:0' shape=(None, 3) dtype=float32>")
    assert cf(tf.ones((2, 3)))["y"].numpy().tolist() == [[2.0] * 3] * 2
    with pytest.raises(tf.errors.InvalidArgumentError):
        cf(tf.ones((2, 3), tf.int32))
    assert str(cf) == (
        "ConcreteFunction Input Parameters:\n"
        "  x (POSITIONAL_OR_KEYWORD): TensorSpec(shape=(None, 3), dtype=tf.float32, name=None)\n"
        "  scale (POSITIONAL_OR_KEYWORD): Literal[2.0]\n"
        "Output Type:\n"
        "  Dict[['y', TensorSpec(shape=(None, 3), dtype=tf.float32, name=None)]]\n"
        "Captures:\n"
        "  None")
    assert repr(cf.function_type) == ("(x: TensorSpec(shape=(None, 3), dtype=tf.float32, name=None), scale: "
                                      "Literal[2.0]) -> Dict[['y', TensorSpec(shape=(None, 3), dtype=tf.float32, "
                                      "name=None)]]")
    assert f.python_function(tf.constant(1.0))["y"].numpy() == 2.0
    assert f.get_concrete_function(tf.TensorSpec([None, 3], tf.float32)) is cf


def test_methods_have_one_cache_per_instance():
    class M:
        def __init__(self, k):
            self.k = k

        @tf.function
        def f(self, x):
            return x * self.k

    a, b = M(2.0), M(3.0)
    assert float(a.f(tf.constant(1.0))) == 2.0
    assert float(b.f(tf.constant(1.0))) == 3.0
    assert a.f.experimental_get_tracing_count() == 1 and a.f is a.f


def test_run_functions_eagerly():
    calls = []

    @tf.function
    def f(x):
        calls.append(tf.executing_eagerly())
        return x

    tf.config.run_functions_eagerly(True)
    try:
        assert tf.config.functions_run_eagerly()
        f(tf.constant(1.0))
        f(tf.constant(1.0))
    finally:
        tf.config.run_functions_eagerly(False)
    f(tf.constant(1.0))
    f(tf.constant(1.0))
    assert calls == [True, True, False]


def test_nested_functions_and_init_scope():
    @tf.function
    def inner(x):
        return x * 2

    @tf.function
    def outer(x):
        with tf.init_scope():
            eager_inside = tf.executing_eagerly()
        return inner(x) + 1, eager_inside

    y, eager_inside = outer(tf.constant(1.0))
    assert float(y) == 3.0 and eager_inside is True


def test_random_ops_draw_anew_on_every_call():
    @tf.function
    def f():
        return tf.random.normal([4]), tf.nn.dropout(tf.ones([50]), 0.5)

    (a, da), (b, db) = f(), f()
    assert not np.array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(da.numpy(), db.numpy())


def test_gradient_of_a_call_float64():
    w = tf.Variable(np.array([[0.3, -0.2], [0.5, 0.1]]))

    @tf.function
    def f(x, y):
        return tf.tanh(tf.matmul(x, w)) * y + tf.reduce_sum(x * x, axis=1, keepdims=True)

    check_gradients(f, [np.random.default_rng(0).normal(size=(3, 2)), np.random.default_rng(1).normal(size=(3, 1))])
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(f(tf.ones((3, 2), tf.float64), tf.ones((3, 1), tf.float64)))
    assert tape.gradient(out, w) is not None


def test_tapes_inside_a_trace_first_and_second_order():
    @tf.function
    def f(x):
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = x * x * x
            dy = inner.gradient(y, x)
        return dy, outer.gradient(dy, x)

    dy, d2y = f(tf.constant(2.0))
    assert float(dy) == 12.0 and float(d2y) == 12.0

    v, unused = tf.Variable(1.0), tf.Variable(2.0)

    @tf.function
    def g():
        with tf.GradientTape() as tape:
            loss = v * v
        return tape.gradient(loss, [v, unused])

    gv, gu = g()
    assert float(gv) == 2.0 and gu is None


def test_training_step_in_a_trace_equals_eager_bit_for_bit():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3)).astype(np.float32)
    y = rng.normal(size=(8, 1)).astype(np.float32)

    def make():
        return [tf.Variable(rng2.normal(size=s).astype(np.float32)) for s in ((3, 4), (4,), (4, 1))]

    rng2 = np.random.default_rng(1)
    wa = make()
    rng2 = np.random.default_rng(1)
    wb = make()

    def step(x, y, ws):
        with tf.GradientTape() as tape:
            h = tf.nn.relu(tf.matmul(x, ws[0]) + ws[1])
            loss = tf.reduce_mean(tf.square(tf.matmul(h, ws[2]) - y))
        for w, g in zip(ws, tape.gradient(loss, ws), strict=True):
            w.assign_sub(0.1 * g)
        return loss

    traced = tf.function(lambda x, y: step(x, y, wb))
    for _ in range(3):
        la, lb = step(x, y, wa), traced(x, y)
        assert la.numpy() == lb.numpy()
    for a, b in zip(wa, wb, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # The gradient was built at trace time: no tape is enacted, the step replays on arrays.
    concrete = traced.get_concrete_function(tf.constant(x), tf.constant(y))
    assert concrete._arrays is not None
    assert not any(n.name.startswith("tape_") for n in concrete._program.nodes)


def test_sparse_cross_entropy_step_replays_on_arrays():
    w = tf.Variable(np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32))
    x = tf.constant(np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32))
    labels = tf.constant([0, 2, 1, 1, 0])

    def step():
        with tf.GradientTape() as tape:
            logits = tf.matmul(tf.nn.relu(x), w)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
        return tape.gradient(loss, w)

    traced = tf.function(step)
    np.testing.assert_array_equal(step().numpy(), traced().numpy())
    assert traced.get_concrete_function()._arrays is not None


@pytest.mark.parametrize("case", ["softmax_cross_entropy", "batch_norm"])
def test_steps_whose_backward_is_a_gradient_primitive_replay_on_arrays(case):
    # Softmax cross-entropy and batch norm differentiate through their gradient primitives
    # (SoftmaxCrossEntropyGrad, FusedBatchNormGrad): nothing of the forward is saved, so the
    # gradient is built at trace time and the whole step replays on arrays, equal to eager.
    rng = np.random.default_rng(3)
    x = tf.constant(rng.normal(size=(6, 4)).astype(np.float32))
    labels = tf.constant(np.eye(3, dtype=np.float32)[[0, 2, 1, 1, 0, 2]])

    def make():
        shapes = ((4, 3), (4,), (4,)) if case == "batch_norm" else ((4, 3),)
        return [tf.Variable(np.random.default_rng(0).normal(size=s).astype(np.float32)) for s in shapes]

    def step(ws):
        with tf.GradientTape() as tape:
            h = x
            if case == "batch_norm":
                h, _, _ = tf.nn.fused_batch_norm(tf.reshape(x, (6, 1, 1, 4)), ws[1], ws[2])
                h = tf.reshape(h, (6, 4))
            logits = tf.matmul(tf.nn.relu(h), ws[0])
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels, logits))
        grads = tape.gradient(loss, ws)
        for w, g in zip(ws, grads, strict=True):
            w.assign_sub(0.1 * g)
        return loss

    wa, wb = make(), make()
    traced = tf.function(lambda: step(wb))
    for _ in range(3):
        np.testing.assert_array_equal(step(wa).numpy(), traced().numpy())
    for a, b in zip(wa, wb, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    concrete = traced.get_concrete_function()
    assert concrete._arrays is not None
    assert not any(n.name.startswith("tape_") for n in concrete._program.nodes)


def test_keras_custom_training_loop_in_a_trace_equals_eager():
    from tapeflow import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 5)).astype(np.float32)
    y = rng.integers(0, 3, size=32)

    def setup():
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.BatchNormalization(), keras.layers.Dense(3)])
        return (model, keras.optimizers.Adam(0.01),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                keras.metrics.SparseCategoricalAccuracy())

    def step(parts, xb, yb):
        model, opt, loss_fn, metric = parts
        with tf.GradientTape() as tape:
            logits = model(xb, training=True)
            loss = loss_fn(yb, logits)
        grads = tape.gradient(loss, model.trainable_weights)
        opt.apply_gradients(zip(grads, model.trainable_weights, strict=True))
        metric.update_state(yb, logits)
        return loss

    eager, traced = setup(), setup()
    traced_step = tf.function(lambda xb, yb: step(traced, xb, yb))
    for i in range(0, 32, 8):
        assert step(eager, x[i:i + 8], y[i:i + 8]).numpy() == traced_step(x[i:i + 8], y[i:i + 8]).numpy()
    # The first trace built Adam's slots (variables), so it was traced once more, as TF does.
    assert traced_step.experimental_get_tracing_count() == 2
    for a, b in zip(eager[0].weights, traced[0].weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert float(eager[3].result()) == float(traced[3].result())
    assert int(traced[1].iterations) == 4


# -- control flow ------------------------------------------------------------------------------
def test_cond_eager_and_traced():
    assert float(tf.cond(tf.constant(True), lambda: tf.constant(1.0), lambda: tf.constant(2.0))) == 1.0
    branches = []

    @tf.function
    def f(x):
        def yes():
            branches.append("yes")
            return x * 2

        def no():
            branches.append("no")
            return -x

        return tf.cond(x > 0, yes, no)

    assert float(f(tf.constant(3.0))) == 6.0 and float(f(tf.constant(-4.0))) == 4.0
    assert branches == ["yes", "no"]  # both branches traced once
    with pytest.raises(TypeError, match="dtype"):
        tf.function(lambda x: tf.cond(x > 0, lambda: tf.constant(1), lambda: tf.constant(1.0)))(tf.constant(1.0))


def test_while_loop_eager_traced_and_shape_invariants():
    assert int(tf.while_loop(lambda i: i < 10, lambda i: i + 1, tf.constant(0))) == 10

    @tf.function
    def collatz(n):
        def body(n, steps):
            return tf.cond(n % 2 == 0, lambda: n // 2, lambda: 3 * n + 1), steps + 1

        return tf.while_loop(lambda n, s: n > 1, body, [n, tf.constant(0)])[1]

    assert int(collatz(tf.constant(27))) == 111 and int(collatz(tf.constant(6))) == 8

    @tf.function
    def grow(x):
        return tf.while_loop(lambda x: tf.shape(x)[0] < 10, lambda x: tf.concat([x, x], 0), [x])

    with pytest.raises(ValueError, match="shape_invariants"):
        grow(tf.constant([1.0]))

    @tf.function
    def grow_ok(x):
        return tf.while_loop(lambda x: tf.shape(x)[0] < 10, lambda x: tf.concat([x, x], 0), [x],
                             shape_invariants=[tf.TensorShape([None])])

    assert grow_ok(tf.constant([1.0]))[0].shape == (16,)

    @tf.function
    def capped(x):
        return tf.while_loop(lambda i: True, lambda i: i + 1, [x], maximum_iterations=5)

    assert int(capped(tf.constant(0))[0]) == 5


def test_gradient_through_cond_and_while():
    w = tf.Variable(2.0)

    @tf.function
    def f(x):
        y = tf.cond(x > 0, lambda: w * x, lambda: w * w)
        return tf.while_loop(lambda i, a: i < 3, lambda i, a: (i + 1, a * w), (tf.constant(0), y))[1]

    with tf.GradientTape() as tape:
        out = f(tf.constant(1.0))
    assert float(out) == 16.0 and float(tape.gradient(out, w)) == 32.0


def test_case_and_switch_case():
    @tf.function
    def sc(i):
        return tf.switch_case(i, [lambda: tf.constant(10), lambda: tf.constant(20)], default=lambda: tf.constant(-1))

    assert [int(sc(tf.constant(k))) for k in (0, 1, 7)] == [10, 20, -1]

    @tf.function
    def cs(x):
        return tf.case([(x < 0, lambda: tf.constant(-1)), (x > 0, lambda: tf.constant(1))],
                       default=lambda: tf.constant(0))

    assert [int(cs(tf.constant(v))) for v in (-3.0, 3.0, 0.0)] == [-1, 1, 0]
    assert int(tf.switch_case(1, [lambda: 5, lambda: 6])) == 6


def test_tensor_array_eager_and_in_a_loop():
    ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
    for i in range(3):
        ta = ta.write(i, float(i))
    assert ta.stack().numpy().tolist() == [0.0, 1.0, 2.0] and int(ta.size()) == 3
    with pytest.raises(tf.errors.InvalidArgumentError, match="not resizeable"):
        tf.TensorArray(tf.float32, size=1).write(1, 1.0)

    @tf.function
    def doubled_rows(x):
        ta = tf.TensorArray(tf.float32, size=tf.shape(x)[0])

        def body(i, ta):
            return i + 1, ta.write(i, x[i] * 2.0)

        _, ta = tf.while_loop(lambda i, ta: i < tf.shape(x)[0], body, (tf.constant(0), ta))
        return ta.stack()

    x = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    np.testing.assert_array_equal(doubled_rows(x).numpy(), x.numpy() * 2)
    assert doubled_rows.get_concrete_function(tf.TensorSpec([None, 2])).structured_outputs.shape == (None, 2)


@pytest.mark.oracle
def test_tracing_counts_match_tensorflow():
    tf_ref = pytest.importorskip("tensorflow")

    def run(lib):
        @lib.function
        def f(x, n):
            return x * n

        calls = [([1.0, 2.0], 2), ([3.0, 4.0], 2), ([1.0, 2.0, 3.0], 2), ([1, 2], 2), ([1.0, 2.0], 3)]
        counts = []
        for values, n in calls:
            f(lib.constant(values), n)
            counts.append(f.experimental_get_tracing_count())
        return counts

    assert run(tf) == run(tf_ref)


def test_tf_quickstart_custom_loop_replays_on_arrays_and_equals_eager():
    from tapeflow import keras

    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)

    def setup():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)),
                                  keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.2),
                                  keras.layers.Dense(10)])
        return model, keras.optimizers.Adam(), keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def step(parts, xb, yb):
        model, opt, loss_fn = parts
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    eager = setup()
    eager_losses = [step(eager, x[i:i + 16], y[i:i + 16]).numpy() for i in range(0, 64, 16)]
    traced_parts = setup()
    traced = tf.function(lambda xb, yb: step(traced_parts, xb, yb))
    traced_losses = [traced(x[i:i + 16], y[i:i + 16]).numpy() for i in range(0, 64, 16)]
    assert eager_losses == traced_losses  # same dropout draws: the seed is reset by setup()
    for a, b in zip(eager[0].weights, traced_parts[0].weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    concrete = traced.get_concrete_function(x[:16], y[:16])
    assert concrete._arrays is not None
    assert not any(n.name.startswith("tape_") for n in concrete._program.nodes)


def test_pretty_printed_signatures_and_callable_objects():
    from tapeflow import keras

    f = tf.function(lambda x: x + 1)
    f(tf.constant(1.0))
    f(tf.constant([1, 2]))
    assert f.pretty_printed_concrete_signatures().splitlines() == [
        "<lambda>(TensorSpec(shape=(), dtype=tf.float32, name='x'))",
        "<lambda>(TensorSpec(shape=(2,), dtype=tf.int32, name='x'))",
    ]
    layer = keras.layers.Dense(2)
    traced = tf.function(layer)
    x = tf.ones((1, 3))
    np.testing.assert_array_equal(traced(x).numpy(), layer(x).numpy())
    assert not hasattr(traced, "kernel")  # the layer's attributes are not copied onto the function


def test_layer_call_with_tensor_condition_is_converted_by_autograph():
    from tapeflow import keras

    class Flip(keras.layers.Layer):
        def call(self, x):
            if tf.reduce_sum(x) > 0:
                return x * 2.0
            return -x

    layer = Flip()
    f = tf.function(lambda x: layer(x))
    assert f(tf.constant([1.0, 2.0])).numpy().tolist() == [2.0, 4.0]
    assert f(tf.constant([-1.0, -2.0])).numpy().tolist() == [1.0, 2.0]
    assert f.experimental_get_tracing_count() == 1


def test_gradient_tape_inside_a_graph_loop():
    w = tf.Variable(1.0)

    @tf.function
    def train(n):
        for _ in tf.range(n):
            with tf.GradientTape() as tape:
                loss = (w * 3.0 - 6.0) ** 2
            w.assign_sub(0.01 * tape.gradient(loss, w))
        return w.read_value()

    assert abs(float(train(tf.constant(50))) - 2.0) < 1e-3


def test_leaked_graph_tensors_cannot_be_used_elsewhere():
    leaked = []

    @tf.function
    def leaky(a):
        leaked.append(a + 1)
        return a + 2

    assert int(leaky(tf.constant(1))) == 3
    with pytest.raises(AttributeError, match="graph tensor"):
        leaked[0].numpy()

    @tf.function
    def uses_leaked(b):
        return b + leaked[0]

    with pytest.raises(TypeError, match="out of scope"):
        uses_leaked(tf.constant(2))


def test_py_function_runs_python_on_every_call(capsys):
    @tf.py_function(Tout=tf.float32)
    def py_plus(x, y):
        print("Executing eagerly.")
        return x + y

    @tf.function
    def with_py(x):
        return py_plus(x, x) + 1.0

    assert float(with_py(tf.constant(1.0))) == 3.0
    assert float(with_py(tf.constant(2.0))) == 5.0
    assert capsys.readouterr().out.count("Executing eagerly.") == 2
    assert tf.numpy_function(lambda a: a * 2, [tf.constant([1, 2])], tf.int32).numpy().tolist() == [2, 4]


def test_graph_def_inference_fn_and_trace_types():
    @tf.function
    def double(a):
        return a + a

    concrete = double.get_concrete_function(tf.TensorSpec([], tf.float32))
    nodes = [(n.name, n.input) for n in concrete.graph.as_graph_def().node]
    assert nodes == [("a", []), ("add", ["a", "a"])]
    assert [float(t) for t in concrete.inference_fn(tf.constant(2.0))] == [4.0]

    class FruitType(tf.types.experimental.TraceType):
        def __init__(self, fruit):
            self.kind = type(fruit)

        def is_subtype_of(self, other):
            return self == other

        def most_specific_common_supertype(self, others):
            return self if all(self == o for o in others) else None

        def __eq__(self, other):
            return type(other) is FruitType and self.kind is other.kind

        def __hash__(self):
            return hash(self.kind)

    class Apple:
        flavor = tf.constant([1, 2])

        def __tf_tracing_type__(self, context):
            return FruitType(self)

    @tf.function
    def flavor(fruit):
        return fruit.flavor * 2

    flavor(Apple())
    flavor(Apple())
    assert flavor.experimental_get_tracing_count() == 1


def test_switching_optimizers_in_a_traced_step_fails_like_tf():
    from tapeflow import keras

    w = tf.Variable(2.0)

    @tf.function
    def step(x, optimizer):
        with tf.GradientTape() as tape:
            loss = tf.square(w * x)
        optimizer.apply_gradients(zip(tape.gradient(loss, [w]), [w], strict=True))

    step(tf.constant(1.0), keras.optimizers.Adam(1e-2))
    with pytest.raises(ValueError, match="singleton tf.Variables"):
        step(tf.constant(1.0), keras.optimizers.Adam(1e-3))


def test_only_needed_ops_run():
    @tf.function
    def unused_return_graph(x):
        tf.gather(x, [1])  # fails on a one-element x, but nothing needs it
        return x

    assert unused_return_graph(tf.constant([0.0])).numpy().tolist() == [0.0]

    @tf.function
    def used(x):
        return tf.gather(x, [1]) + 1.0

    with pytest.raises(tf.errors.InvalidArgumentError, match="out of range"):
        used(tf.constant([0.0]))
    text = str(unused_return_graph.get_concrete_function(tf.constant([0.0])).graph.as_graph_def())
    assert text.startswith('node {\n  name: "x"\n  op: "Placeholder"\n}\n')


def test_a_failing_call_leaves_no_tape_recording_and_no_trace_open():
    from tapeflow.autodiff.function import recording_tapes
    from tapeflow.tracing import state

    layer_calls = []

    @tf.function
    def f(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.py_function(lambda v: layer_calls.append(1) or v * 2.0, [x], tf.float32)
            z = tf.gather(y, tf.cast(x, tf.int32))  # out of range when x is large
        return tape.gradient(z, x)

    f(tf.constant([0.0]))
    with pytest.raises(tf.errors.InvalidArgumentError):
        f(tf.constant([5.0]))
    assert recording_tapes == [] and state.graphs == []


def test_added_losses_after_a_traced_step_and_an_eager_call():
    from tapeflow import keras

    class ActivityRegularization(keras.layers.Layer):
        def call(self, inputs):
            self.add_loss(1e-2 * tf.reduce_sum(inputs))
            return inputs

    class ReadsValues(keras.layers.Layer):  # cannot be traced op by op: lifted
        def call(self, inputs):
            return tf.constant(np.asarray(inputs) * 1.0)

    inputs = keras.Input((4,))
    x = ReadsValues()(keras.layers.Dense(3)(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2)(ActivityRegularization()(x)))
    xb = np.arange(8, dtype=np.uint8).reshape(2, 4)  # integer inputs are cast inside the graph

    @tf.function
    def step(x):
        model(x, training=True)
        return tf.add_n(model.losses)

    traced = float(step(xb))
    model(xb, training=True)
    eager = model.losses
    assert len(eager) == 1 and eager[0]._value is not None
    assert abs(float(eager[0]) - traced) < 1e-6


def test_calls_from_several_threads_give_each_its_own_result():
    from concurrent.futures import ThreadPoolExecutor

    @tf.function
    def f(x):
        return tf.nn.max_pool2d(tf.nn.relu(x), 2, 2, "VALID") * 2.0 + tf.reduce_mean(x)

    xs = [tf.constant(np.random.default_rng(i).standard_normal((2, 8, 8, 3)).astype(np.float32)) for i in range(16)]
    expected = [f(x).numpy() for x in xs]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda x: f(x).numpy(), xs * 4))
    for got, want in zip(results, expected * 4, strict=True):
        np.testing.assert_array_equal(got, want)


def test_specs_of_unknown_rank_trace_once_for_every_rank():
    # As TF: a spec of unknown rank is one trace whose placeholder takes values of any rank.
    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32)])
    def total(x):
        return tf.reduce_sum(x, axis=-1)

    assert float(total(tf.constant([1.0, 2.0]))) == 3.0
    assert total(tf.constant([[1.0, 2.0], [3.0, 4.0]])).numpy().tolist() == [3.0, 7.0]
    assert total.experimental_get_tracing_count() == 1

    @tf.function
    def power(a, b):
        return a ** b

    square = power.get_concrete_function(a=tf.TensorSpec(None, tf.float32), b=2)
    assert float(square(tf.constant(10.0))) == 100.0
    assert square(tf.constant([10.0, 3.0])).numpy().tolist() == [100.0, 9.0]
    with pytest.raises(tf.errors.InvalidArgumentError, match="float32"):
        square(tf.constant([10]))


def test_keras_losses_trace_op_by_op_with_unknown_batch_dims_and_fit_leaves_no_trace_state():
    # A loss traced with an unknown batch size (fit's reduce_retracing) is still primitives, and
    # nothing from one fit changes how a later tf.function traces (the quickstart loop replays on
    # arrays after a fit with validation in the same process).
    from tapeflow import keras

    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    f = tf.function(lambda y, z: loss_fn(y, z),
                    input_signature=[tf.TensorSpec([None], tf.int64), tf.TensorSpec([None, 3], tf.float32)])
    concrete = f.get_concrete_function()
    assert "SparseCategoricalCrossentropy.__call__" not in [n.name for n in concrete.graph.nodes]
    z = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    labels = np.array([0, 2, 1, 1])
    assert float(f(labels, z)) == float(loss_fn(labels, z))
    assert float(f(np.zeros(0, np.int64), np.zeros((0, 3), np.float32))) == 0.0
    x = np.random.default_rng(1).random((32, 4)).astype(np.float32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("adam", loss_fn, metrics=["accuracy"])
    model.fit(x, labels.repeat(8), epochs=2, validation_split=0.25, verbose=0)
    test_tf_quickstart_custom_loop_replays_on_arrays_and_equals_eager()


def test_gradient_tape_inside_a_loop_over_a_dataset_equals_eager():
    # The TF custom-training pattern `for x, y in dataset:` with a tape per batch inside one
    # tf.function: every iteration enters a fresh tape (a non-persistent tape is used once).
    rng = np.random.default_rng(0)
    ds = tf.data.Dataset.from_tensor_slices((rng.random((12, 2)).astype("float32"),
                                             rng.random((12, 1)).astype("float32"))).batch(4)

    def run(w):
        total = tf.constant(0.0)
        for x, y in ds:
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(tf.matmul(x, w) - y))
            w.assign_sub(0.1 * tape.gradient(loss, w))
            total += loss
        return total

    w_eager, w_traced = tf.Variable([[0.5], [-0.5]]), tf.Variable([[0.5], [-0.5]])
    epoch = tf.function(lambda: run(w_traced))
    for _ in range(2):
        np.testing.assert_allclose(epoch().numpy(), run(w_eager).numpy(), rtol=1e-6)
    np.testing.assert_allclose(w_traced.numpy(), w_eager.numpy(), rtol=1e-6)


def test_zeros_and_ones_of_a_traced_dimension_follow_each_call(tmp_path):
    """tf.zeros((tf.shape(x)[0], 4)) with an unknown batch: the shape is read when the function
    runs (and survives a SavedModel)."""

    class M(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 3])])
        def f(self, x):
            b = tf.shape(x)[0]
            z, o = tf.zeros((b, 4), dtype="int32"), tf.ones(tf.stack([b, 2]))
            assert tuple(z.shape) == (None, 4) and z.dtype == tf.int32 and tuple(o.shape) == (None, 2)
            return z, o

    m = M()
    tf.saved_model.save(m, str(tmp_path))
    for f in (m.f, tf.saved_model.load(str(tmp_path)).f):
        z, o = f(np.ones((5, 3), "float32"))
        assert z.numpy().tolist() == [[0] * 4] * 5 and o.numpy().tolist() == [[1.0, 1.0]] * 5


def test_an_unknown_dimension_never_looks_fixed_because_of_the_first_call():
    """Traced with a call's values, the second shape probe differs from them in every unknown
    dimension: a 3x3 first call does not make reshape(x, [-1]) 9 elements long in the graph."""
    f = tf.function(lambda v: tf.reshape(v, (-1,)) * 2.0, input_signature=[tf.TensorSpec([None, None])])
    assert tuple(f(np.ones((3, 3), "float32")).shape) == (9,)
    assert tuple(f.get_concrete_function().structured_outputs.shape) == (None,)
    assert tuple(f(np.ones((2, 5), "float32")).shape) == (10,)
