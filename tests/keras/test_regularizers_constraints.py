"""keras.regularizers and keras.constraints: values against Keras 3, gradients, lookup."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import constraints, regularizers
from tapeflow.testing import check_gradients


@pytest.fixture(scope="module")
def K():
    return pytest.importorskip("keras", minversion="3")


W = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.5], [-0.7, 0.4, 2.2], [0.1, -0.3, 0.9]], "float32")

REG_CASES = [("L1", {}), ("L1", {"l1": 0.3}), ("L2", {}), ("L2", {"l2": 0.2}), ("L1L2", {}),
             ("L1L2", {"l1": 0.01, "l2": 0.02}), ("OrthogonalRegularizer", {}),
             ("OrthogonalRegularizer", {"factor": 0.5, "mode": "columns"})]


@pytest.mark.parametrize("name,kwargs", REG_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(REG_CASES)])
def test_regularizers_match_keras(K, name, kwargs):
    got = getattr(regularizers, name)(**kwargs)(tf.constant(W))
    want = getattr(K.regularizers, name)(**kwargs)(K.ops.convert_to_tensor(W))
    assert float(got) == pytest.approx(float(np.asarray(want)), rel=1e-6, abs=1e-7)
    assert got.shape == ()


def test_regularizers_by_hand_and_gradients():
    w = np.array([[1.0, -2.0]], "float32")
    assert float(regularizers.L1(0.1)(w)) == pytest.approx(0.3)
    assert float(regularizers.L2(0.1)(w)) == pytest.approx(0.5)
    assert float(regularizers.L1L2(l1=0.1, l2=0.1)(w)) == pytest.approx(0.8)
    assert float(regularizers.l1_l2()(w)) == 0.0  # Keras 3 defaults are 0
    x = W.astype("float64")
    for reg in (regularizers.L1(0.3), regularizers.L2(0.2), regularizers.L1L2(0.1, 0.2),
                regularizers.OrthogonalRegularizer(0.5), regularizers.OrthogonalRegularizer(0.5, "columns")):
        check_gradients(reg, [x])


CON_CASES = [("MaxNorm", {}), ("MaxNorm", {"max_value": 1.5, "axis": 1}), ("NonNeg", {}), ("UnitNorm", {}),
             ("UnitNorm", {"axis": 1}), ("MinMaxNorm", {}),
             ("MinMaxNorm", {"min_value": 1.0, "max_value": 2.0, "rate": 0.5, "axis": [0, 1]})]


@pytest.mark.parametrize("name,kwargs", CON_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CON_CASES)])
def test_constraints_match_keras(K, name, kwargs):
    got = getattr(constraints, name)(**kwargs)(tf.constant(W)).numpy()
    want = np.asarray(getattr(K.constraints, name)(**kwargs)(W))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_constraints_by_hand():
    w = np.array([[3.0, 0.1], [4.0, 0.1]], "float32")  # column norms 5 and 0.14
    out = constraints.MaxNorm(2.0)(w).numpy()
    np.testing.assert_allclose(np.sqrt((out**2).sum(0)), [2.0, np.sqrt(0.02)], rtol=1e-5)
    out = constraints.UnitNorm()(w).numpy()
    np.testing.assert_allclose(np.sqrt((out**2).sum(0)), [1.0, 1.0], rtol=1e-5)
    np.testing.assert_array_equal(constraints.NonNeg()([[-1.0, 2.0]]).numpy(), [[0.0, 2.0]])


def test_lookup_configs_and_errors():
    for name, cls in [("l1", regularizers.L1), ("l2", regularizers.L2), ("l1_l2", regularizers.L1L2),
                      ("L1L2", regularizers.L1L2),
                      ("orthogonal_regularizer", regularizers.OrthogonalRegularizer)]:
        assert type(regularizers.get(name)) is cls
    for name, cls in [("max_norm", constraints.MaxNorm), ("non_neg", constraints.NonNeg),
                      ("unit_norm", constraints.UnitNorm), ("min_max_norm", constraints.MinMaxNorm),
                      ("MaxNorm", constraints.MaxNorm)]:
        assert type(constraints.get(name)) is cls
    assert regularizers.get(None) is None and constraints.get(None) is None
    with pytest.raises(ValueError, match="Valid names:.*l2"):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="Valid names:.*max_norm"):
        constraints.get("maxnorm")
    with pytest.raises(ValueError, match="non-negative"):
        regularizers.L2(-1.0)
    with pytest.raises(ValueError, match="mode"):
        regularizers.OrthogonalRegularizer(mode="diagonal")
    for obj in (regularizers.L1(0.2), regularizers.L2(0.3), regularizers.L1L2(0.1, 0.2),
                regularizers.OrthogonalRegularizer(0.1, "columns"), constraints.MaxNorm(3, axis=1),
                constraints.NonNeg(), constraints.UnitNorm(axis=1), constraints.MinMaxNorm(0.5, 2.0, 0.7, 1)):
        module = regularizers if isinstance(obj, regularizers.Regularizer) else constraints
        clone = type(obj).from_config(obj.get_config())
        assert clone.get_config() == obj.get_config()
        again = module.deserialize(module.serialize(obj))
        assert type(again) is type(obj) and again.get_config() == obj.get_config()
    assert regularizers.serialize(None) is None and constraints.serialize(None) is None
