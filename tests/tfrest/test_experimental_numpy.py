"""tf.experimental.numpy: NumPy's API and dtype rules on tensors, against TF's tnp."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf

tnp = tf.experimental.numpy
RNG = np.random.default_rng(0)
A = RNG.normal(size=(3, 4))
B = RNG.normal(size=(3, 4)).astype(np.float32)
I32 = np.array([[1, 2, 3, 4], [5, 6, 7, 8], [1, 0, 2, 9]], np.int32)

CASES = [
    ("add", (A, 1.0)), ("add", (B, 1.0)), ("add", (I32, B)), ("multiply", (I32, 2)), ("divide", (I32, 2)),
    ("true_divide", (A, B)), ("floor_divide", (A, 0.3)), ("mod", (A, 0.7)), ("remainder", (A, 0.7)),
    ("power", (B, 2.0)), ("maximum", (A, B)), ("minimum", (I32, 3)),
    ("arctan2", (A, B)), ("logaddexp", (A, B)), ("equal", (I32, 2)), ("less", (A, B)),
    ("logical_and", (A > 0, B > 0)), ("isclose", (A, A)), ("matmul", (A, B.T)), ("dot", (A, A.T)),
    ("outer", (A[0], B[0])), ("inner", (A, B)), ("kron", (A[:2, :2], B[:2, :2])), ("vdot", (A, A)),
    ("sqrt", (np.abs(A),)), ("exp", (B,)), ("log1p", (np.abs(A),)), ("sin", (A,)), ("tanh", (B,)),
    ("mean", (I32,)), ("mean", (A, 0)), ("std", (A,)), ("var", (B, 1)), ("sum", (I32,)), ("prod", (A, 1)),
    ("max", (A, 0)), ("amin", (B,)), ("argmax", (A, 1)), ("cumsum", (I32, 1)), ("cumprod", (A, 0)),
    ("abs", (A,)), ("negative", (I32,)), ("sign", (A,)), ("floor", (A,)), ("fix", (A,)),
    ("clip", (A, -0.5, 0.5)), ("reshape", (A, [4, 3])), ("ravel", (A,)), ("flatten", (A,)), ("transpose", (A,)),
    ("swapaxes", (A, 0, 1)), ("moveaxis", (A, 0, 1)), ("expand_dims", (A, 1)), ("squeeze", (A[:1],)),
    ("flip", (A, 1)), ("fliplr", (A,)), ("rot90", (A,)), ("roll", (A, 1, 0)), ("tile", (A, [2, 1])),
    ("repeat", (A, 2, 0)), ("diag", (A,)), ("diagonal", (A,)), ("trace", (A,)), ("tril", (A,)), ("triu", (A, 1)),
    ("sort", (A, 1)), ("argsort", (A, 1)), ("take", (A, [0, 2], 1)), ("where", (A > 0, A, B)),
    ("nonzero", (I32,)), ("count_nonzero", (I32,)), ("diff", (A,)), ("ptp", (A, 1)),
    ("hypot", (A, B.astype(np.float64))),
    ("atleast_3d", (A,)), ("array_equal", (A, A)), ("polyval", ([1.0, 2.0], A)), ("vander", (A[0],)),
    ("compress", ([True, False, True], A, 0)), ("isrealobj", (A,)), ("isscalar", (3.0,)),
    ("concatenate", ([A, B],)), ("stack", ([I32, A],)), ("hstack", ([A, B],)), ("vstack", ([A, B],)),
    ("arange", (5,)), ("arange", (0.0, 1.0, 0.25)), ("linspace", (0, 1, 5)), ("ones", ([2, 3],)),
    ("zeros", ([2],)), ("full", ([2], 3)), ("eye", (3,)), ("tri", (3,)), ("asarray", ([1.0, 2.0],)),
    ("asarray", ([1, 2],)), ("array", (3.0,)), ("ones_like", (I32,)), ("zeros_like", (A,)),
]


def _np(x):
    if isinstance(x, (tuple, list)):
        return [_np(v) for v in x]
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


@pytest.mark.oracle
@pytest.mark.parametrize("name,args", CASES, ids=[f"{n}{i}" for i, (n, _) in enumerate(CASES)])
def test_against_tensorflow_numpy(name, args):
    ttf = pytest.importorskip("tensorflow")
    theirs = getattr(ttf.experimental.numpy, name)(*args)
    ours = getattr(tnp, name)(*args)
    a, b = _np(ours), _np(theirs)
    if isinstance(b, list):
        for x, y in zip(a, b, strict=True):
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)
        return
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_numpy_rules_where_tf_tnp_fails():
    # TF's tnp needs NumPy behaviour enabled for these; NumPy is the reference.
    np.testing.assert_allclose(tnp.around(A, 2).numpy(), np.around(A, 2))
    assert tnp.float_power(I32, 2).dtype == tf.float64
    np.testing.assert_array_equal(tnp.pad(I32, [[1, 1], [0, 2]]).numpy(), np.pad(I32, [[1, 1], [0, 2]]))


def test_dtypes_constants_and_gradients():
    assert tnp.ndarray is tf.Tensor and tnp.newaxis is None and tnp.pi == np.pi
    assert tnp.result_type(1, tf.constant(1.0)) == tf.float32 and tnp.promote_types("int32", "float32") == np.float64
    assert tnp.issubdtype(tf.float32, np.floating)
    x = tf.Variable([1.0, 2.0, 3.0])
    with tf.GradientTape() as tape:
        y = tnp.sum(tnp.square(x) * tnp.asarray(2.0, "float32"))
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [4.0, 8.0, 12.0])
    tnp.experimental_enable_numpy_behavior(prefer_float32=True)
    try:
        assert tnp.asarray([1.0]).dtype == tf.float32 and tnp.ones(2).dtype == tf.float32
    finally:
        tnp.api._disable_numpy_behavior()  # TF has no switch back; keep other tests in TF's default
    assert tnp.asarray([1.0]).dtype == tf.float64
    tnp.random.seed(1)
    r = tnp.random.randn(2, 3)
    assert r.shape == (2, 3) and r.dtype == tf.float64
    assert tnp.random.randint(0, 5, size=[4]).dtype == tf.int64
