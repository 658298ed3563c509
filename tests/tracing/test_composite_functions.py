"""RaggedTensor, SparseTensor and extension types as tf.function arguments and results, in
input_signatures, inside traced ops (parsing included), in tf.nest(expand_composites) and as
tf.data elements: values, retrace counts and printed specs against TensorFlow."""

import pytest

import tapeflow

pytestmark = pytest.mark.oracle


@pytest.fixture(scope="module")
def real_tf():
    return pytest.importorskip("tensorflow")


def _py(x):
    """Outputs of either framework as plain Python values."""
    if isinstance(x, dict):
        return {k: _py(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_py(v) for v in x]
    name = type(x).__name__
    if name == "RaggedTensor":
        return ("ragged", x.to_list())
    if name == "SparseTensor":
        return ("sparse", x.indices.numpy().tolist(), x.values.numpy().tolist(), x.dense_shape.numpy().tolist())
    if hasattr(x, "numpy"):
        return x.numpy().tolist()
    return x


def _both(real_tf, scenario):
    ours, theirs = scenario(tapeflow), scenario(real_tf)
    assert _py(ours) == _py(theirs)
    return ours, theirs


def test_arguments_trace_once_per_type_spec(real_tf):
    def scenario(tf):
        traces, printed = [], []

        @tf.function
        def f(s, r):
            traces.append(1)
            printed.append(f"{s} {r}")
            return tf.sparse.reduce_sum(s, axis=1), r * 2, tf.sparse.map_values(tf.math.square, s)

        sp = tf.sparse.from_dense(tf.constant([[1.0, 0], [0, 2]]))
        outs = [f(sp, tf.ragged.constant([[1, 2], [3]])),
                f(tf.sparse.from_dense(tf.constant([[0.0, 5], [3, 0]])), tf.ragged.constant([[4], [5, 6, 7]])),
                f(tf.sparse.from_dense(tf.constant([[1.0, 0, 3], [0, 2, 0]])), tf.ragged.constant([[1], [3], [4, 6]]))]
        return outs, len(traces), printed

    ours, theirs = _both(real_tf, scenario)
    assert ours[1] == theirs[1] == 2  # same TypeSpecs reuse the trace: any number of values
    assert ours[2][0] == theirs[2][0]  # the graph form: components as graph tensors


def test_nested_ragged_retraces_by_nrows_and_ragged_rank(real_tf):
    def scenario(tf):
        traces = []

        @tf.function
        def f(r):
            traces.append(1)
            return tf.reduce_sum(r, axis=-1), r.flat_values + 1, r.nested_row_lengths()

        values = [[[[1.0], [2, 3]], [[4, 5, 6]]], [[[1.0, 2]], [[3], [4], []]], [[[1.0]], [[2.0]], [[3.0]]], [[1.0, 2]]]
        return [f(tf.ragged.constant(v)) for v in values], len(traces)

    ours, theirs = _both(real_tf, scenario)
    assert ours[1] == theirs[1] == 3


def test_input_signature_with_composite_specs(real_tf):
    def scenario(tf):
        @tf.function(input_signature=[tf.RaggedTensorSpec([None, None], tf.float32),
                                      tf.SparseTensorSpec([None, 3], tf.float32)])
        def g(r, s):
            return tf.reduce_sum(r, axis=1), r.row_lengths(), r + 1.0, tf.sparse.to_dense(s), s * 2.0

        dense = tf.constant([[1.0, 0, 2], [0, 0, 3]])
        out = [g(tf.ragged.constant([[1.0, 2.0], [3.0]]), tf.sparse.from_dense(dense)),
               g(tf.ragged.constant([[1.0], [3.0], [4, 5, 6]]), tf.sparse.from_dense(dense[:1]))]
        cf = g.get_concrete_function()
        out.append(cf(tf.ragged.constant([[7.0], []]), tf.sparse.from_dense(dense)))
        with pytest.raises(TypeError):
            g(tf.ragged.constant([[[1.0]]]), tf.sparse.from_dense(dense))
        return out, g.experimental_get_tracing_count(), repr(cf.structured_input_signature)

    ours, theirs = _both(real_tf, scenario)
    assert ours[1] == theirs[1] == 1
    assert ours[2] == theirs[2]


def test_get_concrete_function_with_specs_and_outputs(real_tf):
    def scenario(tf):
        @tf.function
        def f(r):
            return tf.ragged.map_flat_values(tf.math.square, r)

        cf = f.get_concrete_function(tf.RaggedTensorSpec([None, None, None], tf.int32, ragged_rank=2))
        out = cf.structured_outputs
        return (f(tf.ragged.constant([[[1, 2], [3]], [[4]]])), type(out).__name__, out.ragged_rank, repr(out.shape),
                str(cf), str(cf.function_type))

    _both(real_tf, scenario)


def test_composites_built_and_taken_apart_inside(real_tf):
    def scenario(tf):
        @tf.function
        def f(v, splits, x, strings):
            rt = tf.RaggedTensor.from_row_splits(v, splits)
            sp = tf.sparse.from_dense(x)
            words = tf.strings.split(strings)
            return (rt, rt.to_tensor(), rt[0], rt[:, :1], tf.concat([rt, rt], axis=1), sp,
                    tf.sparse.to_dense(sp * 2.0), words, words.row_lengths(), tf.sparse.transpose(sp))

        return f(tf.constant([1, 2, 3]), tf.constant([0, 2, 3], tf.int64), tf.constant([[1.0, 0], [0, 2]]),
                 tf.constant(["a b", "c"]))

    _both(real_tf, scenario)


def test_gradients_reach_through_ragged_and_sparse_ops(real_tf):
    def scenario(tf):
        w = tf.Variable([2.0, 3.0])

        @tf.function
        def f(r, s):
            with tf.GradientTape() as tape:
                y = (tf.reduce_sum(tf.reduce_mean(r * w[0], axis=1))
                     + tf.reduce_sum(tf.sparse.sparse_dense_matmul(s, w[:, None])))
            return tape.gradient(y, w)

        return f(tf.ragged.constant([[1.0, 2.0], [3.0]]), tf.sparse.from_dense(tf.constant([[1.0, 0], [0, 2]])))

    _both(real_tf, scenario)


def test_var_len_and_ragged_parse_results_in_function_and_map(real_tf):
    def scenario(tf):
        def example(vals, toks):
            return tf.train.Example(features=tf.train.Features(feature={
                "v": tf.train.Feature(int64_list=tf.train.Int64List(value=vals)),
                "t": tf.train.Feature(bytes_list=tf.train.BytesList(value=toks))})).SerializeToString()

        records = [example([1, 2], [b"a"]), example([3], [b"b", b"c"]), example([], [])]
        feats = {"v": tf.io.VarLenFeature(tf.int64), "t": tf.io.RaggedFeature(tf.string)}
        traces = []

        @tf.function
        def parse(x):
            traces.append(1)
            out = tf.io.parse_example(x, feats)
            return out["v"], out["t"], tf.sparse.to_dense(out["v"]), out["t"].row_lengths()

        results = [parse(tf.constant(records)), parse(tf.constant(records[:2]))]
        single = tf.data.Dataset.from_tensor_slices(records).map(lambda x: tf.io.parse_single_example(x, feats))
        batched = tf.data.Dataset.from_tensor_slices(records).batch(2).map(lambda x: tf.io.parse_example(x, feats))
        return (results, len(traces), repr(single.element_spec), list(single), repr(batched.element_spec),
                list(batched))

    ours, theirs = _both(real_tf, scenario)
    assert ours[1] == theirs[1] == 2  # one trace per batch size


def test_dataset_elements_of_composites_and_extension_types(real_tf):
    def scenario(tf):
        class Masked(tf.experimental.BatchableExtensionType):
            values: tf.Tensor
            mask: tf.Tensor

        sp = tf.sparse.from_dense(tf.constant([[1.0, 0], [0, 2], [0, 0]]))
        rt = tf.ragged.constant([[1, 2], [3], []])
        m = Masked(tf.constant([[1.0, 2.0], [3.0, 4.0]]), tf.constant([[True, False], [True, True]]))
        sliced = tf.data.Dataset.from_tensor_slices((sp, rt))
        masked = tf.data.Dataset.from_tensor_slices(m)
        doubled = masked.map(lambda x: Masked(x.values * 2.0, x.mask))
        specs = [sliced.element_spec, sliced.batch(2).element_spec,
                 tf.data.Dataset.from_tensors(rt).element_spec, tf.data.Dataset.from_tensors(sp).element_spec,
                 sliced.map(lambda s, r: (tf.sparse.to_dense(s), r * 2)).element_spec,
                 masked.element_spec, masked.batch(2).element_spec, doubled.element_spec]
        elements = [[(e[0], e[1]) for e in sliced], [(x.values, x.mask) for x in doubled.batch(2)]]
        return [repr(s) for s in specs], elements, masked.element_spec == Masked.Spec(
            tf.TensorSpec([2], tf.float32), tf.TensorSpec([2], tf.bool))

    _both(real_tf, scenario)


def test_nest_expand_composites(real_tf):
    def scenario(tf):
        class Pair(tf.experimental.ExtensionType):
            a: tf.Tensor
            b: tf.Tensor

        rt = tf.ragged.constant([[1, 2], [3]])
        sp = tf.sparse.from_dense(tf.constant([[1.0, 0], [0, 2]]))
        structure = {"r": rt, "s": [sp, Pair(tf.constant(1.0), tf.constant([2.0, 3.0]))]}
        flat = tf.nest.flatten(structure, expand_composites=True)
        rebuilt = tf.nest.pack_sequence_as(structure, flat, expand_composites=True)
        doubled = tf.nest.map_structure(lambda x: x * 2, {"r": rt}, expand_composites=True)
        spec_flat = tf.nest.flatten([tf.RaggedTensorSpec([2, None], tf.int32), tf.SparseTensorSpec([None, 3])],
                                    expand_composites=True)
        return (flat, rebuilt["r"], rebuilt["s"][0], rebuilt["s"][1].b, doubled, [repr(s) for s in spec_flat],
                len(tf.nest.flatten(structure)))

    _both(real_tf, scenario)


def test_saved_model_with_ragged_and_sparse_signatures(real_tf, tmp_path):
    def scenario(tf):
        class Module(tf.Module):
            def __init__(self):
                super().__init__()
                self.v = tf.Variable(100.0)

            @tf.function
            def grow(self, x):
                return x * self.v

            @tf.function(input_signature=[tf.SparseTensorSpec([None, 2], tf.float32),
                                          tf.RaggedTensorSpec([None, None], tf.float32)])
            def mix(self, s, r):
                return (tf.sparse.to_dense(s) * self.v, tf.reduce_sum(r, axis=1),
                        tf.sparse.reduce_sum(s, axis=1, output_is_sparse=True))

        module = Module()
        module.grow.get_concrete_function(tf.RaggedTensorSpec(shape=[None, None], dtype=tf.float32))
        path = str(tmp_path / tf.__name__)
        tf.saved_model.save(module, path)
        loaded = tf.saved_model.load(path)
        return (loaded.grow(tf.ragged.constant([[1.0, 4.0, 3.0], [2.0]])),
                loaded.mix(tf.sparse.from_dense(tf.constant([[1.0, 0], [0, 2]])), tf.ragged.constant([[1.0, 4], [2]])))

    _both(real_tf, scenario)
    # A fresh process finds the saved ragged / sparse calls by name (no code is stored).
    import os
    import subprocess
    import sys

    path = str(tmp_path / "tapeflow")
    code = (f"import tapeflow as tf; m = tf.saved_model.load({path!r}); "
            "print(m.grow(tf.ragged.constant([[1.0], [2.0, 3.0]])).to_list())")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(tapeflow.__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.stdout.strip() == "[[100.0], [200.0, 300.0]]", out.stderr[-2000:]


def test_dynamic_ragged_shape_as_a_shape_argument(real_tf):
    def scenario(tf):
        x = tf.constant([["a", "b"], ["c", "d"], ["e", "f"]])
        shape = tf.shape(tf.ragged.constant([[1], [2, 3, 4], [], [5, 6]]))
        inner = tf.shape(tf.ragged.constant([[[1, 2]], [[3, 4], [5, 6]]], ragged_rank=1))
        return (tf.reshape(x, shape), tf.zeros(shape), tf.ones(shape, tf.int32), tf.fill(shape, "x"),
                tf.zeros(inner), tf.reshape(tf.range(6), inner), shape[0])

    _both(real_tf, scenario)


def test_calls_reuse_the_most_specific_covering_trace(real_tf):
    def scenario(tf):
        @tf.function
        def f(x):
            return x * 2

        f.get_concrete_function(tf.TensorSpec([None]))
        out = [f(tf.constant([1.0, 2.0])), f(tf.constant([1.0, 2.0, 3.0]))]
        counts = [f.experimental_get_tracing_count()]

        @tf.function
        def g(x):
            return x * 2

        g(tf.constant([1.0, 2.0]))
        g.get_concrete_function(tf.TensorSpec([None]))
        out += [g(tf.constant([1.0, 2.0])), g(tf.constant([1.0, 2.0, 5.0])), g(tf.constant([[1.0]]))]
        counts.append(g.experimental_get_tracing_count())

        @tf.function
        def h(r):
            return r * 2

        h.get_concrete_function(tf.RaggedTensorSpec([None, None], tf.int32))
        out += [h(tf.ragged.constant([[1], [2, 3]])), h(tf.ragged.constant([[1], [2, 3], [4]]))]
        counts.append(h.experimental_get_tracing_count())
        return out, counts

    ours, _ = _both(real_tf, scenario)
    assert ours[1] == [1, 3, 1]


def test_graph_control_flow_and_map_fn_over_composites(real_tf):
    def scenario(tf):
        @tf.function
        def f(r, sp, flag):
            i = tf.constant(0)
            doubled = r
            while i < 3:
                doubled = doubled * 2
                i += 1
            total = tf.constant(0)
            for row in r:
                total += tf.reduce_sum(row)
            return (tf.cond(flag, lambda: r * 2, lambda: r + 1), doubled, total,
                    tf.map_fn(tf.reduce_sum, r, fn_output_signature=tf.int32),
                    tf.sparse.to_dense(tf.cond(flag, lambda: tf.sparse.map_values(tf.math.square, sp), lambda: sp)))

        return f(tf.ragged.constant([[1, 2], [3]]), tf.sparse.from_dense(tf.constant([[1.0, 0], [0, 2]])),
                 tf.constant(True))

    _both(real_tf, scenario)


def test_extension_type_with_ragged_and_sparse_fields(real_tf):
    def scenario(tf):
        class Doc(tf.experimental.ExtensionType):
            words: tf.RaggedTensor
            weights: tf.SparseTensor
            label: tf.Tensor

        traces = []

        @tf.function
        def f(d):
            traces.append(1)
            return Doc(d.words * 2, d.weights, d.label + 1), tf.reduce_sum(d.words, axis=1)

        d1 = Doc(tf.ragged.constant([[1, 2], [3]]), tf.sparse.from_dense(tf.constant([[1.0, 0]])), tf.constant(1))
        d2 = Doc(tf.ragged.constant([[1], [3, 4, 5]]), tf.sparse.from_dense(tf.constant([[0.0, 2]])), tf.constant(2))
        (o1, s1), (o2, s2) = f(d1), f(d2)
        return ([o1.words, s1, o2.words, o2.weights, o2.label, s2], len(traces),
                len(tf.nest.flatten(d1, expand_composites=True)), repr(tf.data.Dataset.from_tensors(d1).element_spec))

    ours, _ = _both(real_tf, scenario)
    assert ours[1] == 1


def test_reduce_retracing_relaxes_composite_specs(real_tf):
    def scenario(tf):
        traces = []

        @tf.function(reduce_retracing=True)
        def f(r, s):
            traces.append(1)
            return tf.reduce_sum(r, axis=1), tf.sparse.reduce_sum(s)

        out = [f(tf.ragged.constant([[1.0] * k] * k), tf.sparse.from_dense(tf.ones([k, 2]))) for k in range(1, 5)]
        return out, len(traces)

    ours, _ = _both(real_tf, scenario)
    assert ours[1] == 2
