"""keras.ops NumPy-style functions against real Keras: values and dtypes, table-driven."""

from __future__ import annotations

import numpy as np
import pytest

from tapeflow.keras import ops
from tests.keras.ops.conftest import assert_same

pytestmark = pytest.mark.oracle

rng = np.random.default_rng(0)
F = rng.normal(size=(3, 4)).astype("float32")
G = rng.normal(size=(3, 4)).astype("float32")
ROW = rng.normal(size=(4,)).astype("float32")
P = (rng.random((3, 4)) + 0.5).astype("float32")
U = rng.uniform(-0.9, 0.9, (3, 4)).astype("float32")
GE1 = (rng.random((3, 4)) + 1.2).astype("float32")
I = rng.integers(-5, 6, (3, 4)).astype("int32")
J = rng.integers(1, 6, (3, 4)).astype("int32")
B = rng.random((3, 4)) > 0.5
F3 = rng.normal(size=(2, 3, 4)).astype("float32")
SQ = rng.normal(size=(3, 3)).astype("float32")
NAN = F.copy()
NAN[0, 1] = np.nan
NAN[2, 3] = np.nan
V = np.array([3.0, 1.0, 2.0, 5.0, 4.0], "float32")

CASES = [
    # elementwise arithmetic and promotion
    ("add", (F, G), {}), ("add", (I, 2), {}), ("add", (I, 2.5), {}), ("add", (F, ROW), {}),
    ("add", (I, F), {}), ("subtract", (F, ROW), {}), ("multiply", (I, J), {}),
    ("multiply", (F, 3), {}), ("divide", (I, J), {}), ("divide", (F, P), {}),
    ("true_divide", (I, 2), {}), ("divide_no_nan", (F, np.where(B, 0.0, P).astype("float32")), {}),
    ("floor_divide", (I, J), {}), ("floor_divide", (F, P), {}), ("mod", (I, J), {}), ("mod", (F, P), {}),
    ("fmod", (F, P), {}), ("power", (P, G), {}), ("power", (I, 2), {}), ("power", (J, 2.0), {}),
    ("negative", (F,), {}), ("reciprocal", (P,), {}), ("square", (F,), {}), ("square", (B,), {}),
    ("sqrt", (P,), {}), ("sqrt", (J,), {}), ("cbrt", (F,), {}), ("abs", (I,), {}), ("abs", (F,), {}),
    ("absolute", (F,), {}), ("fabs", (I,), {}), ("sign", (F,), {}), ("sign", (I,), {}),
    ("signbit", (F,), {}), ("clip", (F, -0.5, 0.5), {}), ("clip", (I, -2, 2), {}),
    ("clip", (B, 0, 1), {}), ("clip", (F, 0.5, -0.5), {}), ("clip", (F, G, 0.2), {}),
    ("max", (np.zeros((0,), "float32"),), {"initial": 1.0}), ("maximum", (F, G), {}), ("minimum", (I, 0), {}),
    ("fmax", (NAN, F), {}), ("fmin", (NAN, G), {}),
    # exponentials, logs, trigonometry
    ("exp", (F,), {}), ("exp", (I,), {}), ("exp2", (F,), {}), ("expm1", (F,), {}), ("log", (P,), {}),
    ("log2", (P,), {}), ("log10", (P,), {}), ("log1p", (P,), {}), ("logaddexp", (F, G), {}),
    ("logaddexp2", (F, G), {}), ("ldexp", (F, I), {}), ("hypot", (F, G), {}), ("sin", (F,), {}),
    ("cos", (F,), {}), ("tan", (U,), {}), ("tanh", (F,), {}), ("sinh", (F,), {}), ("cosh", (F,), {}),
    ("arcsin", (U,), {}), ("arccos", (U,), {}), ("arctan", (F,), {}), ("arcsinh", (F,), {}),
    ("arccosh", (GE1,), {}), ("arctanh", (U,), {}), ("arctan2", (F, G), {}), ("deg2rad", (F,), {}),
    ("rad2deg", (F,), {}), ("sinc", (F,), {}), ("i0", (F,), {}),
    # rounding and predicates
    ("floor", (F,), {}), ("floor", (I,), {}), ("ceil", (F,), {}), ("trunc", (F,), {}),
    ("round", (F * 10,), {}), ("round", (F,), {"decimals": 2}), ("round", (I,), {}),
    ("nan_to_num", (NAN,), {"nan": 1.5}), ("isnan", (NAN,), {}), ("isfinite", (NAN,), {}),
    ("isinf", (np.array([1.0, np.inf, -np.inf], "float32"),), {}),
    ("isposinf", (np.array([1.0, np.inf, -np.inf], "float32"),), {}),
    ("isneginf", (np.array([1.0, np.inf, -np.inf], "float32"),), {}), ("isreal", (F,), {}),
    ("isclose", (F, F + 1e-7), {}), ("allclose", (F, F + 1e-3), {}), ("heaviside", (I, 0.5), {}),
    ("nextafter", (F, G), {}), ("equal", (I, 0), {}), ("not_equal", (F, G), {}),
    ("less", (F, 0.0), {}), ("less_equal", (I, J), {}), ("greater", (F, ROW), {}),
    ("greater_equal", (I, 1), {}), ("logical_and", (B, F > 0), {}), ("logical_or", (B, I), {}),
    ("logical_xor", (B, ~B), {}), ("logical_not", (I,), {}),
    ("bitwise_and", (I, J), {}), ("bitwise_or", (I, J), {}), ("bitwise_xor", (I, J), {}),
    ("bitwise_invert", (I,), {}), ("bitwise_not", (I,), {}), ("left_shift", (J, 2), {}),
    ("right_shift", (J, 1), {}), ("bitwise_left_shift", (J, J), {}), ("gcd", (I, J), {}),
    ("lcm", (I, J), {}), ("real", (F,), {}), ("imag", (F,), {}), ("conj", (F,), {}), ("angle", (F,), {}),
    # reductions and statistics
    ("sum", (F,), {}), ("sum", (F3,), {"axis": (0, 2)}), ("sum", (B,), {}), ("sum", (I,), {"axis": 1}),
    ("sum", (F,), {"axis": -1, "keepdims": True}), ("prod", (P,), {"axis": 0}), ("prod", (J,), {}),
    ("mean", (I,), {"axis": 0}), ("mean", (F3,), {"axis": (1, 2), "keepdims": True}),
    ("max", (F,), {"axis": 1}), ("max", (I,), {}), ("max", (F,), {"axis": 0, "initial": 0.5}),
    ("min", (F3,), {"axis": -1, "keepdims": True}), ("amax", (F,), {}), ("amin", (I,), {"axis": 0}),
    ("ptp", (F,), {"axis": 1}), ("all", (B,), {"axis": 0}), ("any", (I,), {}),
    ("count_nonzero", (I,), {"axis": 0}), ("argmax", (F,), {}), ("argmax", (F,), {"axis": 1}),
    ("argmin", (F3,), {"axis": 1, "keepdims": True}), ("var", (F,), {"axis": 0}), ("std", (I,), {}),
    ("average", (F,), {"axis": 1, "weights": P[0]}), ("average", (F,), {}),
    ("cumsum", (F,), {"axis": 1}), ("cumsum", (I,), {}), ("cumprod", (P,), {"axis": 0}),
    ("median", (F,), {"axis": 1}), ("median", (F3,), {}), ("quantile", (F, 0.3), {"axis": 0}),
    ("quantile", (F, np.array([0.1, 0.9])), {"axis": 1, "method": "nearest"}),
    ("quantile", (F, 0.4), {"method": "midpoint", "keepdims": True}),
    ("percentile", (F, 25.0), {"axis": 1, "method": "lower"}), ("trapezoid", (F,), {}),
    ("trapezoid", (F,), {"x": ROW}), ("nansum", (NAN,), {"axis": 1}), ("nanmean", (NAN,), {}),
    ("nanmax", (NAN,), {"axis": 0}), ("nanmin", (NAN,), {"axis": 1}), ("nanvar", (NAN,), {"axis": 1}),
    ("nanstd", (NAN,), {}), ("nanprod", (NAN,), {"axis": 0}), ("nancumsum", (NAN,), {"axis": 1}),
    ("nanargmax", (NAN,), {"axis": 1}), ("nanargmin", (NAN,), {}), ("nanmedian", (NAN,), {"axis": 1}),
    ("nanquantile", (NAN, 0.25), {"axis": 1}), ("nanpercentile", (NAN, 60.0), {}),
    # shapes
    ("reshape", (F, (2, -1)), {}), ("ravel", (F3,), {}), ("transpose", (F3,), {}),
    ("transpose", (F3, (1, 0, 2)), {}), ("swapaxes", (F3, 0, 2), {}), ("moveaxis", (F3, 0, -1), {}),
    ("moveaxis", (F3, (0, 1), (2, 0)), {}), ("expand_dims", (F, 1), {}), ("expand_dims", (F, (0, 3)), {}),
    ("squeeze", (F[:1],), {}), ("broadcast_to", (ROW, (2, 3, 4)), {}), ("concatenate", ((F, G),), {}),
    ("concatenate", ((F, I),), {"axis": 1}), ("hstack", ((ROW, V),), {}),
    ("append", (F, G), {"axis": 0}), ("stack", ((F, G),), {"axis": 1}), ("hstack", ((F, G),), {}),
    ("vstack", ((ROW[None], F),), {}), ("dstack", ((F, G),), {}), ("split", (F3, 2), {"axis": 2}),
    ("split", (F, [1, 3]), {"axis": 1}), ("array_split", (V, 3), {}), ("hsplit", (F, 2), {}),
    ("vsplit", (np.ones((4, 2), "float32"), 2), {}), ("dsplit", (F3, [1]), {}),
    ("flip", (F3,), {"axis": 1}), ("flip", (F,), {}), ("fliplr", (F,), {}), ("flipud", (F,), {}),
    ("roll", (F, 1), {}), ("roll", (F3, (1, -1)), {"axis": (1, 2)}), ("rot90", (F,), {}),
    ("rot90", (F3,), {"k": 3, "axes": (1, 2)}), ("repeat", (F, 2), {"axis": 1}),
    ("repeat", (V, [1, 0, 2, 1, 3]), {}), ("tile", (F, (2, 1)), {}), ("tile", (ROW, (2, 2)), {}),
    ("pad", (F, ((1, 0), (2, 1))), {}), ("pad", (F, ((1, 1), (1, 1))), {"constant_values": 3.0}),
    ("pad", (F, ((1, 1), (2, 2))), {"mode": "reflect"}),
    ("pad", (F, ((1, 1), (2, 2))), {"mode": "symmetric"}), ("take", (F, [0, 2]), {"axis": 0}),
    ("take", (F, np.array([[1, -1]])), {}), ("take_along_axis", (F, np.argsort(F, 1)), {"axis": 1}),
    ("take_along_axis", (F, np.array([[0], [2], [1]])), {"axis": 1}), ("where", (F > 0, F, G), {}),
    ("where", (B, I, 0.5), {}), ("select", ([F > 0.5, F < -0.5], [F, G], 7.0), {}),
    ("diagonal", (F3,), {"offset": 1, "axis1": 1, "axis2": 2}), ("diagonal", (F,), {"offset": -1}),
    ("trace", (F,), {}), ("trace", (I,), {"offset": 1}), ("diag", (ROW,), {"k": 1}), ("diag", (F,), {}),
    ("diagflat", (F[:2, :2],), {}), ("tril", (F,), {}), ("triu", (F3,), {"k": 1}),
    ("diff", (F,), {}), ("diff", (F,), {"n": 2, "axis": 0}), ("unravel_index", (np.array([1, 7]), (3, 4)), {}),
    ("copy", (F,), {}), ("ndim", (F3,), {}), ("size", (F3,), {}),
    # products
    ("matmul", (F, F.T), {}), ("matmul", (F3, ROW), {}), ("matmul", (ROW, F.T), {}),
    ("matmul", (I, J.T), {}), ("dot", (F, ROW), {}), ("dot", (F3, F.T), {}), ("vdot", (F, G), {}),
    ("inner", (F, G), {}), ("outer", (ROW, V), {}), ("tensordot", (F3, F.T, 1), {}),
    ("tensordot", (F3, F, [[1, 2], [0, 1]]), {}), ("einsum", ("ij,kj->ik", F, G), {}),
    ("einsum", ("bij->bj", F3), {}), ("kron", (F[:2, :2], SQ), {}),
    ("cross", (F[:, :3], G[:, :3]), {}), ("cross", (F[:, :2], G[:, :3]), {}),
    ("correlate", (V, ROW), {}), ("correlate", (V, ROW), {"mode": "full"}),
    ("correlate", (V, ROW), {"mode": "same"}), ("corrcoef", (F,), {}),
    # sorting and searching
    ("sort", (F,), {}), ("sort", (F3,), {"axis": 0}), ("argsort", (F,), {"axis": 0}),
    ("searchsorted", (np.sort(V), ROW), {}), ("searchsorted", (np.sort(V), V), {"side": "right"}),
    ("digitize", (F, np.array([-1.0, 0.0, 1.0], "float32")), {}), ("nonzero", (I,), {}),
    ("isin", (I, [1, 2, 3]), {}), ("unique", (np.array([3, 1, 3, 2], "int32"),), {}),
    ("unique", (np.array([3, 1, 3, 2], "int32"),), {"return_inverse": True, "return_counts": True}),
    ("unique", (np.array([3, 1, 3, 2, 5, 1], "int32"),),
     {"sorted": False, "return_index": True, "return_inverse": True, "return_counts": True}),
    ("unique", (np.array([3, 1, 3, 2], "int32"),), {"size": 6}),
    ("unique", (np.array([3, 1, 3, 2], "int32"),), {"size": 5, "fill_value": 9, "return_counts": True}),
    ("bincount", (np.array([0, 1, 1, 4], "int32"),), {}),
    ("bincount", (np.array([0, 1, 1, 4], "int32"),), {"weights": V[:4], "minlength": 6}),
    ("histogram", (V,), {"bins": 4}),
    # creation
    ("zeros", ((2, 3),), {}), ("ones", ((2,),), {"dtype": "int32"}), ("full", ((2, 2), 3), {}),
    ("full", ((2,), 1.5), {"dtype": "float64"}), ("zeros_like", (I,), {}), ("ones_like", (F,), {"dtype": "int32"}),
    ("full_like", (I, 2.7), {}), ("eye", (3,), {}), ("eye", (3, 4), {"k": 1, "dtype": "int32"}),
    ("identity", (2,), {}), ("tri", (3,), {"k": -1}), ("arange", (5,), {}), ("arange", (1.0, 3.0, 0.5), {}),
    ("arange", (2, 10, 3), {"dtype": "float32"}), ("linspace", (0.0, 1.0, 5), {}),
    ("linspace", (0, 10, 4), {"endpoint": False}), ("linspace", (ROW, ROW + 1, 3), {"axis": 1}),
    ("logspace", (0.0, 2.0, 3), {}), ("geomspace", (1.0, 100.0, 3), {}),
    ("meshgrid", (ROW, V), {}), ("meshgrid", (ROW, V), {"indexing": "ij"}), ("vander", (ROW,), {}),
    ("vander", (ROW, 2), {"increasing": True}), ("bartlett", (5,), {}), ("blackman", (5,), {}),
    ("hamming", (5,), {}), ("hanning", (5,), {}), ("kaiser", (5, 2.0), {}), ("array", ([1, 2],), {}),
    ("array", ([1.0, 2.0],), {"dtype": "float64"}),
]


def _label(case: tuple) -> str:
    return case[0]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_numpy_op_matches_keras(kops, case):
    name, args, kwargs = case
    theirs = getattr(kops, name)(*args, **kwargs)
    ours = getattr(ops, name)(*args, **kwargs)
    if name in ("ndim", "size"):
        assert ours == theirs
        return
    assert_same(ours, theirs, label=name)
