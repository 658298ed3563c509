"""Shapes of unknown rank (`TensorShape(None)`): the shape API, `TensorSpec(None)`, tf.function
traced once for values of any rank, reduce_retracing relaxing ranks, TF1 placeholders of
unknown rank and `ensure_shape`. Each scenario runs with `m = tapeflow` and, where TensorFlow
is installed, `m = tensorflow`, and the two records must be equal."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow

pytestmark = pytest.mark.oracle


def _tf():
    return pytest.importorskip("tensorflow")


def _try(f):
    try:
        return repr(f())
    except Exception as e:  # noqa: BLE001 - the error type and message are the record
        return f"{type(e).__name__}: {e}"


def shape_api(m) -> list:
    s, T = m.TensorShape(None), m.TensorShape
    out = [repr(s), str(s), s.rank, s.ndims, s.dims, s.is_fully_defined(), s.num_elements(), bool(s)]
    out += [_try(f) for f in (s.as_list, lambda: len(s), lambda: list(s), lambda: None in s,
                              lambda: s[0], lambda: s[-1], lambda: s[1:], lambda: s[:2], lambda: s[1:3],
                              lambda: s[-2:], lambda: s[::2], s.assert_is_fully_defined)]
    out += [s.is_compatible_with([1, 2]), s.is_compatible_with(None), T([1]).is_compatible_with(s),
            T([]).is_compatible_with(s)]
    out += [repr(x) for x in (s.merge_with([1, None]), T([1, None]).merge_with(s), s.merge_with(None),
                              s.concatenate([1]), T([1]).concatenate(s), T([1]).concatenate(None),
                              T([1, 2]) + s, s + [1], T([1, 2]) + [3], (1,) + s, [1] + s,
                              s.most_specific_compatible_shape([1, 2]),
                              T([1, 2]).most_specific_compatible_shape([1, 2, 3]),
                              T([1, 2]).most_specific_compatible_shape([1, 3]),
                              s.with_rank(2), s.with_rank_at_least(2), s.with_rank_at_most(2),
                              T([1, 2]).with_rank(2), T(s),
                              s.most_specific_common_supertype([T([1])]),
                              T([1]).most_specific_common_supertype([T([1, 2])]),
                              T([1, 2]).most_specific_common_supertype([T([1, 3]), T([1, 4])]))]
    out += [_try(f) for f in (lambda: T([1, 2]).with_rank(3), lambda: T([1, 2]).with_rank_at_least(3),
                              lambda: T([1, 2]).with_rank_at_most(1), lambda: T([1, 2]).assert_has_rank(3),
                              lambda: T([1, 2]).assert_same_rank([1]), lambda: T([1, 2]).merge_with([2, 2]),
                              lambda: s.assert_has_rank(2), lambda: s.assert_same_rank([1, 2]))]
    out += [s == T([]), T([]) == s, s == T(None), s != T(None), s == None, s == [], s == [1],  # noqa: E711
            T([1, 2]) == (1, 2), hash(s) == hash(T(None))]
    out += [s.is_subtype_of(T([1])), T([1]).is_subtype_of(s), T([1, 2]).is_subtype_of(T([None, 2])),
            T([None, 2]).is_subtype_of(T([1, 2]))]
    out += [repr(m.nest.flatten([s, T([3])])[0]), len(m.nest.flatten([s, T([3])])),
            repr(m.nest.map_structure(lambda x: x, (s,)))]
    return out


def test_tensor_shape_of_unknown_rank_matches_tf():
    got = shape_api(tapeflow)
    assert got[:3] == ["TensorShape(None)", "<unknown>", None]
    assert got == shape_api(_tf())


def test_unknown_shape_pickles_and_copies_as_itself():
    import copy
    import pickle

    s = tapeflow.TensorShape(None)
    assert pickle.loads(pickle.dumps(s)) is s and copy.deepcopy(s) is s
    assert tapeflow.TensorShape(None) == tapeflow.TensorShape(None)
    assert tapeflow.TensorShape([]) != s and tapeflow.TensorShape([]).rank == 0


def spec_api(m) -> list:
    S = m.TensorSpec
    sp = S(None)
    out = [repr(sp), repr(sp.shape), str(sp), repr(S(shape=None, dtype=m.int32)), repr(S.from_spec(sp))]
    out += [S([1, 2]).is_compatible_with(sp), sp.is_compatible_with(m.constant([[1.0]])),
            sp.is_compatible_with(S([1, 2])), sp.is_compatible_with(S([1], m.int32))]
    out += [repr(S([1, 2]).most_specific_common_supertype([S([1, 2, 3])])),
            repr(S([1, 2]).most_specific_common_supertype([sp])),
            repr(S([1, 2]).most_specific_common_supertype([S([1, 3])]))]
    out += [sp == S(None), sp == S([]), hash(sp) == hash(S(None)), sp.is_subtype_of(S([1])),
            S([1]).is_subtype_of(sp), S([1, 2]).is_subtype_of(S([None, 2]))]
    out += [repr(m.RaggedTensorSpec(None, m.float32, ragged_rank=1).shape), repr(m.SparseTensorSpec(None, m.float32)),
            repr(m.SparseTensorSpec(None, m.float32).shape)]
    return out


def test_tensor_spec_of_unknown_rank_matches_tf():
    got = spec_api(tapeflow)
    assert got[1] == "TensorShape(None)"
    assert got == spec_api(_tf())


def traced_any_rank(m) -> list:
    log = []

    @m.function(input_signature=[m.TensorSpec(None, m.float32)])
    def f(x):
        log.append(("trace", str(x.shape), repr(x.shape), x.shape.rank, str(x)))
        y = x * 2.0 + 1.0
        log.append([str(t.shape) for t in (
            y, m.reduce_sum(x), m.shape(x), m.rank(x), m.size(x), m.reduce_mean(x), m.reshape(x, [-1]),
            m.square(x), m.expand_dims(x, 0), x + m.ones([3]), m.reduce_sum(x, axis=0),
            m.reduce_sum(x, axis=-1, keepdims=True), m.transpose(x), m.cast(x, m.int32),
            m.reshape(x, [-1, 2]), m.ensure_shape(x, [None, 3]))])
        return m.reduce_sum(y), m.shape(x), m.rank(x), m.reduce_max(x)

    for v in (m.constant(1.0), m.ones([2, 3]), m.ones([2, 3, 4]), m.range(5.0)):
        log.append([t.numpy().tolist() for t in f(v)])
    log.append(f.experimental_get_tracing_count())
    cf = f.get_concrete_function()
    log.append(repr(cf.structured_input_signature))
    log.append(repr(cf.inputs))
    log.append([str(t.shape) for t in cf.structured_outputs])
    log.append([t.numpy().tolist() for t in cf(m.ones([5]))])
    log.append(_try(lambda: f(m.ones([2], m.int32))).split(":")[0])
    return log


def test_function_with_a_spec_of_unknown_rank_traces_once_for_every_rank():
    got = traced_any_rank(tapeflow)
    assert got[0] == ("trace", "<unknown>", "TensorShape(None)", None, 'Tensor("x:0", dtype=float32)')
    assert got == traced_any_rank(_tf())


def relaxed_ranks(m) -> list:
    log = []

    @m.function(reduce_retracing=True)
    def g(x):
        log.append(str(x.shape))
        return m.reduce_sum(x)

    for shape in ([2], [3], [2, 3], [2, 3, 4], [5], [], [1, 1, 1, 1]):
        log.append(float(g(m.ones(shape))))
    log.append(g.experimental_get_tracing_count())

    @m.function
    def h(x):
        log.append(("h", str(x.shape)))
        return x * 2.0

    concrete = h.get_concrete_function(m.TensorSpec(None))
    log.append(concrete(m.ones([2, 2])).numpy().tolist())
    log.append(h(m.ones([2])).numpy().tolist())
    log.append(h(m.ones([2, 1])).numpy().tolist())
    log.append(h.experimental_get_tracing_count())
    return log


def test_reduce_retracing_relaxes_rank_and_a_trace_of_unknown_rank_serves_every_rank():
    got = relaxed_ranks(tapeflow)
    assert got[:3] == ["(2,)", 2.0, "(None,)"]
    assert got == relaxed_ranks(_tf())


def gradient_any_rank(m) -> list:
    @m.function(input_signature=[m.TensorSpec(None, m.float64)])
    def grad(x):
        with m.GradientTape() as tape:
            tape.watch(x)
            y = m.reduce_sum(x * x * x) + m.reduce_sum(m.transpose(x) ** 3) + m.reduce_sum(m.expand_dims(x, 1) ** 2)
        return tape.gradient(y, x)

    x1 = np.array([1.0, -2.0])
    x2 = np.arange(6.0).reshape(2, 3)
    return [grad(m.constant(x1)).numpy().tolist(), grad(m.constant(x2)).numpy().tolist(),
            grad.experimental_get_tracing_count()]


def test_gradients_inside_a_trace_of_unknown_rank():
    got = gradient_any_rank(tapeflow)
    assert got[0] == [8.0, 20.0]
    assert got == gradient_any_rank(_tf())


def v1_unknown_rank(m) -> list:
    v1 = m.compat.v1
    with m.Graph().as_default():
        x = v1.placeholder(m.float32, shape=None, name="x")
        out = [str(x.shape), repr(x.shape), x.shape.rank, str(x.get_shape())]
        y, s, sh, r, e = x * 2.0, m.reduce_sum(x), m.shape(x), m.rank(x), m.expand_dims(x, 0)
        out.append([str(t.shape) for t in (y, s, sh, r, e)])
        z = v1.placeholder(m.float32)
        out.append(str(z.shape))
        with v1.Session() as sess:
            values = sess.run([y, s, sh, r, e], feed_dict={x: np.ones((2, 3))})
            out.append([np.asarray(v).tolist() for v in values])
            out.append(float(sess.run(m.reduce_sum(z, axis=[0, 2]) * 1.0, feed_dict={z: np.ones((2, 3, 4))})[1]))
        x.set_shape([None, 3])
        out.append(str(x.shape))
    return out


def test_compat_v1_placeholder_of_unknown_rank():
    got = v1_unknown_rank(tapeflow)
    assert got[:3] == ["<unknown>", "TensorShape(None)", None]
    assert got == v1_unknown_rank(_tf())


def ensure_shape_checks(m) -> list:
    out = []

    @m.function(input_signature=[m.TensorSpec(None)])
    def f(x):
        y = m.ensure_shape(x, [None, 3])
        out.append(str(y.shape))
        return y

    out.append(f(m.ones([4, 3])).shape.as_list())
    for bad in ([4, 4], [4]):
        out.append(_try(lambda bad=bad: f(m.ones(bad))).split(":")[0])
    out.append(str(m.ensure_shape(m.ones([2, 3]), None).shape))
    out.append(_try(lambda: m.ensure_shape(m.ones([2, 3]), [None, 4])).split(":")[0])
    return out


def test_ensure_shape_in_a_trace_of_unknown_rank_checks_at_run_time():
    got = ensure_shape_checks(tapeflow)
    assert got[:2] == ["(None, 3)", [4, 3]]
    assert got == ensure_shape_checks(_tf())


def dataset_of_unknown_rank(m) -> list:
    def gen():
        yield np.ones(2, np.float32)
        yield np.ones((2, 3), np.float32)

    ds = m.data.Dataset.from_generator(gen, output_signature=m.TensorSpec(None, m.float32))
    mapped = ds.map(lambda x: (m.reduce_sum(x), m.shape(x), x * 2))
    out = [repr(ds.element_spec), repr(mapped.element_spec)]
    out += [[t.numpy().tolist() for t in element] for element in mapped]
    needs_rank = ds.map(lambda x: (m.expand_dims(x, -1), m.reduce_mean(x, axis=-1), m.transpose(x)))
    out.append(repr(needs_rank.element_spec))
    out += [[t.shape.as_list() for t in element] for element in needs_rank]
    out += [repr(m.queue.FIFOQueue(3, m.float32).shapes), str(m.TensorArray(m.float32, size=2).element_shape)]
    return out


def test_dataset_elements_of_unknown_rank():
    got = dataset_of_unknown_rank(tapeflow)
    assert got[0] == "TensorSpec(shape=<unknown>, dtype=tf.float32, name=None)"
    assert got == dataset_of_unknown_rank(_tf())


def control_flow_of_unknown_rank(m) -> list:
    out = []

    @m.function
    def grow(n):
        x = m.constant([1.0])
        for _ in m.range(n):
            m.autograph.experimental.set_loop_options(shape_invariants=[(x, m.TensorShape(None))])
            x = m.concat([x, x], 0)
        out.append(str(x.shape))
        return x

    @m.function
    def branches(p):
        y = m.cond(p, lambda: m.ones([2]), lambda: m.ones([2, 3]))
        out.append(str(y.shape))
        return m.shape(y)

    @m.function
    def nest_dims(x):
        i = m.constant(0)
        _, y = m.while_loop(lambda i, y: i < 2, lambda i, y: (i + 1, m.expand_dims(y, 0)), [i, x],
                            shape_invariants=[i.shape, m.TensorShape(None)])
        out.append(str(y.shape))
        return m.shape(y)

    out.append(grow(m.constant(3)).shape.as_list())
    out += [branches(m.constant(True)).numpy().tolist(), branches(m.constant(False)).numpy().tolist()]
    out.append(nest_dims(m.ones([3])).numpy().tolist())
    return out


def test_control_flow_with_shapes_of_unknown_rank():
    got = control_flow_of_unknown_rank(tapeflow)
    assert got[:2] == ["<unknown>", [8]]
    assert got == control_flow_of_unknown_rank(_tf())


def set_shape_in_trace(m) -> list:
    out = []

    @m.function(input_signature=[m.TensorSpec(None)])
    def f(x):
        x.set_shape([None, 3])
        y = m.matmul(x, m.ones([3, 4]))
        out.append((str(x.shape), str(y.shape), str(m.reduce_sum(y, axis=-1).shape)))
        return y

    out.append(f(m.ones([2, 3])).shape.as_list())
    out.append(repr(m.nest.flatten({"a": m.TensorSpec(None), "b": (m.TensorShape(None), 3)})))
    return out


def test_set_shape_refines_a_graph_tensor_of_unknown_rank():
    got = set_shape_in_trace(tapeflow)
    assert got[0] == ("(None, 3)", "(None, 4)", "(None,)")
    assert got == set_shape_in_trace(_tf())


def dense_of_unknown_rank(m) -> list:
    out = []

    @m.function(input_signature=[m.TensorSpec(None), m.TensorSpec([3, 4]), m.TensorSpec([4])])
    def dense(x, w, b):
        y = m.matmul(x, w) + b
        out.append((repr(m.TensorSpec.from_tensor(x)), str(y.shape)))
        return y

    w = m.constant(np.arange(12.0, dtype=np.float32).reshape(3, 4))
    b = m.constant([1.0, 2.0, 3.0, 4.0])
    out.append(dense(m.ones([2, 3]), w, b).numpy().tolist())
    out.append(dense(m.ones([2, 2, 3]), w, b).shape.as_list())
    out.append(dense.experimental_get_tracing_count())
    return out


def test_matmul_and_bias_on_a_graph_tensor_of_unknown_rank():
    got = dense_of_unknown_rank(tapeflow)
    assert got[0] == ("TensorSpec(shape=<unknown>, dtype=tf.float32, name='x')", "<unknown>")
    assert got == dense_of_unknown_rank(_tf())
