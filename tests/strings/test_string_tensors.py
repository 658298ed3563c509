"""String tensors (`tf.string`): conversion, printing, comparisons, movement ops, errors, the
tape, tf.function tracing and tf.data; oracle cases run the same code on TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf


def _same(ours, theirs):
    """Same dtype name, shape, values (bytes), and printed forms."""
    assert ours.dtype.name == theirs.dtype.name
    assert tuple(ours.shape) == tuple(theirs.shape)
    a, b = ours.numpy(), theirs.numpy()
    if isinstance(b, np.ndarray):
        assert isinstance(a, np.ndarray) and a.dtype == b.dtype
        assert a.tolist() == b.tolist()
    else:
        assert type(a) is type(b) and a == b
    assert str(ours) == str(theirs)
    assert repr(ours) == repr(theirs)


CONSTANTS = [
    "hi",
    b"bytes",
    [b"a", "b"],
    [["ab", "c"], ["d", "\u00e9"]],
    np.array(["x", "yy"]),
    np.array([b"x", b"yy\x00z"]),
    np.array([b"x", "yy"], dtype=object),
    [[], []],
]


@pytest.mark.oracle
@pytest.mark.parametrize("value", CONSTANTS, ids=range(len(CONSTANTS)))
def test_constant_matches_tf(value):
    real = pytest.importorskip("tensorflow")
    dtype = "string" if isinstance(value, list) and value == [[], []] else None
    _same(tf.constant(value, dtype=dtype), real.constant(value, dtype=dtype))


MOVEMENT = [
    ("gather", lambda m, a, b: m.gather(a, [1, 1, 0])),
    ("concat", lambda m, a, b: m.concat([a, b], 0)),
    ("stack", lambda m, a, b: m.stack([a, b], axis=1)),
    ("expand_dims", lambda m, a, b: m.expand_dims(a, 0)),
    ("reshape", lambda m, a, b: m.reshape(m.stack([a, b]), [6])),
    ("transpose", lambda m, a, b: m.transpose(m.stack([a, b]))),
    ("boolean_mask", lambda m, a, b: m.boolean_mask(a, [True, False, True])),
    ("where", lambda m, a, b: m.where(a == b, a, b)),
    ("tile", lambda m, a, b: m.tile(a, [2])),
    ("reverse", lambda m, a, b: m.reverse(a, [0])),
    ("pad", lambda m, a, b: m.pad(a, [[1, 2]])),
    ("pad_text", lambda m, a, b: m.pad(a, [[0, 1]], constant_values="-")),
    ("getitem", lambda m, a, b: a[1]),
    ("slice", lambda m, a, b: m.stack([a, b])[:, 1:]),
    ("zeros_like", lambda m, a, b: m.zeros_like(a)),
    ("zeros", lambda m, a, b: m.zeros([2], m.string)),
    ("fill", lambda m, a, b: m.fill([2, 2], "x")),
    ("constant_shape", lambda m, a, b: m.constant("x", shape=[2, 1])),
    ("identity", lambda m, a, b: m.identity(a)),
    ("add", lambda m, a, b: a + b + "!"),
    ("add_scalars", lambda m, a, b: a[0] + b[0]),
    ("equal", lambda m, a, b: a == b),
    ("not_equal", lambda m, a, b: m.not_equal(a, "b")),
    ("shape", lambda m, a, b: m.shape(m.stack([a, b]))),
    ("size_rank", lambda m, a, b: m.size(a) + m.rank(a)),
    ("unstack", lambda m, a, b: m.unstack(a)[2]),
]


@pytest.mark.oracle
@pytest.mark.parametrize("fn", [f for _, f in MOVEMENT], ids=[n for n, _ in MOVEMENT])
def test_movement_ops_match_tf(fn):
    real = pytest.importorskip("tensorflow")
    a, b = ["a", "b", "\u00fc"], [b"a", b"c", b"\xc3\xbc"]
    _same(fn(tf, tf.constant(a), tf.constant(b)), fn(real, real.constant(a), real.constant(b)))


@pytest.mark.oracle
def test_dtype_properties_match_tf():
    real = pytest.importorskip("tensorflow")
    for value in (np.object_, np.dtype("S3"), np.str_, "string"):
        assert tf.as_dtype(value).name == real.as_dtype(value).name == "string"
    assert tf.string.is_numeric == real.string.is_numeric
    assert tf.string.size == real.string.size
    with pytest.raises(TypeError):
        tf.as_dtype(bytes)
    with pytest.raises(TypeError, match="minimum"):
        tf.string.min  # noqa: B018


def test_numpy_gives_bytes():
    assert tf.constant("\u00e9").numpy() == "\u00e9".encode()
    arr = tf.constant([["a"], ["b"]]).numpy()
    assert arr.dtype == object and all(type(v) is bytes for v in arr.ravel())
    assert tf.constant("a").device.endswith("CPU:0")


BAD = [
    (lambda: tf.cast(tf.constant("1"), tf.int32), tf.errors.UnimplementedError,
     "Cast string to int32 is not supported"),
    (lambda: tf.cast(tf.constant(1.5), tf.string), tf.errors.UnimplementedError,
     "Cast float32 to string is not supported"),
    (lambda: tf.constant(["a"]) < tf.constant(["b"]), tf.errors.InvalidArgumentError, "not ordered"),
    (lambda: tf.constant(["a", 1]), ValueError, "mixed types"),
    (lambda: tf.constant([["a"], ["b", "c"]]), ValueError, "non-rectangular"),
    (lambda: tf.constant("a", dtype=tf.int32), TypeError, "dtype int32"),
    (lambda: tf.constant(1, dtype=tf.string), TypeError, "dtype string"),
    (lambda: tf.constant(np.array([1]), dtype=tf.string), ValueError, "dtype string"),
    (lambda: tf.constant(["a"]) + 1, TypeError, "string"),
    (lambda: tf.constant(["a"]) == 1, TypeError, "string"),
    (lambda: tf.constant([1]) == "a", TypeError, "int32"),
    (lambda: tf.reduce_sum(tf.constant(["a"])), tf.errors.InvalidArgumentError, "string"),
    (lambda: tf.ones_like(tf.constant(["a"])), tf.errors.InvalidArgumentError, "string"),
]


@pytest.mark.parametrize("case", range(len(BAD)))
def test_bad_input_errors(case):
    fn, error, text = BAD[case]
    with pytest.raises(error, match=text):
        fn()


@pytest.mark.oracle
def test_cast_error_type_matches_tf():
    real = pytest.importorskip("tensorflow")
    with pytest.raises(real.errors.UnimplementedError, match="Cast string to int32 is not supported"):
        real.cast(real.constant("1"), real.int32)


def test_tape_ignores_strings():
    x = tf.constant(2.0)
    s = tf.constant(["a", "b"])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        tape.watch(s)
        y = x * x
        joined = s + "c"
        picked = tf.where(joined == b"ac", tf.ones([2]) * x, tf.zeros([2]))
    assert tape.gradient(joined, s) is None
    assert float(tape.gradient(y, x)) == 4.0
    assert float(tape.gradient(picked, x)) == 1.0


def test_variable_of_strings():
    v = tf.Variable(["a", "b"], trainable=False)
    v.assign(["c", "d\u00e9"])
    assert v.numpy().tolist() == [b"c", "d\u00e9".encode()]
    assert v.dtype == tf.string


@pytest.mark.oracle
def test_tf_function_traces_strings():
    real = pytest.importorskip("tensorflow")

    def body(m):
        def f(s):
            return m.where(s == b"a", s + "!", m.zeros_like(s)), m.gather(s, [0]), s[0], m.shape(s)
        return f

    ours = tf.function(body(tf), input_signature=[tf.TensorSpec([None], tf.string)])
    theirs = real.function(body(real), input_signature=[real.TensorSpec([None], real.string)])
    for value in (["a", "b"], ["b", "a", "a"]):
        for x, y in zip(ours(tf.constant(value)), theirs(real.constant(value)), strict=True):
            _same(x, y)
    spec = ours.get_concrete_function().structured_outputs[0]
    assert spec.dtype == tf.string and tuple(spec.shape) == (None,)
    assert repr(tf.TensorSpec([None], tf.string)) == repr(real.TensorSpec([None], real.string))


@pytest.mark.oracle
def test_dataset_of_strings_matches_tf():
    real = pytest.importorskip("tensorflow")

    def pipeline(m):
        ds = m.data.Dataset.from_tensor_slices((["a", "bb", "ccc"], [1, 2, 3]))
        return ds.map(lambda s, y: (s + "!", s == b"bb", y)).filter(lambda s, b, y: y < 3).batch(2)

    ours, theirs = pipeline(tf), pipeline(real)
    assert str(ours.element_spec) == str(theirs.element_spec)
    for x, y in zip(ours, theirs, strict=True):
        for a, b in zip(x, y, strict=True):
            _same(a, b)
    padded = [
        list(m.data.Dataset.from_tensor_slices(["a", "b", "c"]).map(lambda s, m=m: m.stack([s, s]))
             .padded_batch(2, padded_shapes=[3]).as_numpy_iterator())
        for m in (tf, real)
    ]
    assert [a.tolist() for a in padded[0]] == [a.tolist() for a in padded[1]]


def test_dataset_cache_of_strings_round_trips(tmp_path):
    values = ["a", "bb", "c\x00", ""]
    ds = tf.data.Dataset.from_tensor_slices((values, [1, 2, 3, 4])).cache(str(tmp_path / "c"))
    first = list(ds.as_numpy_iterator())
    second = list(ds.as_numpy_iterator())
    assert first == second == [(v.encode(), i) for v, i in zip(values, [1, 2, 3, 4], strict=True)]
    ds.save(str(tmp_path / "saved"))
    loaded = tf.data.Dataset.load(str(tmp_path / "saved"))
    assert [s for s, _ in loaded.as_numpy_iterator()] == [v.encode() for v in values]


@pytest.mark.skipif(not tf.config.list_physical_devices("GPU"), reason="needs a GPU (CuPy)")
def test_strings_stay_on_the_host_under_a_gpu_device():
    with tf.device("/GPU:0"):
        s = tf.constant(["a", "bb"])
        moved = tf.identity(s)
        filled = tf.fill([2], "x")
        lengths = tf.strings.length(s)
    assert s.device.endswith("CPU:0") and moved.device.endswith("CPU:0") and filled.device.endswith("CPU:0")
    assert lengths.numpy().tolist() == [1, 2]
