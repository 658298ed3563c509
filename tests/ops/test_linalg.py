"""Linear algebra: matmul (batched, transposed), tensordot, einsum, matvec, inv."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import OpCase, available_devices, run_case


def _well_conditioned(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, n)) * 0.3 + np.eye(n) * 2.0


CASES = [
    OpCase("matmul/2d", tf.matmul, [(3, 4), (4, 2)]),
    OpCase("matmul/operator", lambda a, b: a @ b, [(3, 4), (4, 2)]),
    OpCase("matmul/transpose_a", lambda a, b: tf.matmul(a, b, transpose_a=True), [(4, 3), (4, 2)]),
    OpCase("matmul/transpose_b", lambda a, b: tf.matmul(a, b, transpose_b=True), [(3, 4), (2, 4)]),
    OpCase("matmul/transpose_both", lambda a, b: tf.matmul(a, b, transpose_a=True, transpose_b=True),
           [(4, 3), (2, 4)]),
    OpCase("matmul/batched", tf.matmul, [(2, 3, 4), (2, 4, 5)]),
    OpCase("matmul/batch_broadcast", tf.matmul, [(2, 1, 3, 4), (3, 4, 2)]),
    OpCase("matmul/batch_vs_matrix", tf.matmul, [(2, 3, 4), (4, 2)]),
    OpCase("matmul/batched_transposes",
           lambda a, b: tf.matmul(a, b, transpose_a=True, transpose_b=True), [(2, 4, 3), (1, 5, 4)]),
    OpCase("matmul/adjoint_b", lambda a, b: tf.matmul(a, b, adjoint_b=True), [(3, 4), (2, 4)]),
    OpCase("tensordot/int", lambda a, b: tf.tensordot(a, b, axes=1), [(2, 3), (3, 4)]),
    OpCase("tensordot/2", lambda a, b: tf.tensordot(a, b, axes=2), [(2, 3, 4), (3, 4, 2)]),
    OpCase("tensordot/pairs", lambda a, b: tf.tensordot(a, b, axes=[[0, 2], [2, 0]]), [(2, 3, 4), (4, 5, 2)]),
    OpCase("tensordot/outer", lambda a, b: tf.tensordot(a, b, axes=0), [(2,), (3,)]),
    OpCase("einsum/matmul", lambda a, b: tf.einsum("ij,jk->ik", a, b), [(2, 3), (3, 4)]),
    OpCase("einsum/batched", lambda a, b: tf.einsum("bij,bjk->bik", a, b), [(2, 2, 3), (2, 3, 4)]),
    OpCase("einsum/implicit", lambda a, b: tf.einsum("ij,jk", a, b), [(2, 3), (3, 4)]),
    OpCase("einsum/trace", lambda a: tf.einsum("ii->", a), [(3, 3)]),
    OpCase("einsum/diag", lambda a: tf.einsum("ii->i", a), [(3, 3)]),
    OpCase("einsum/sum_axis", lambda a: tf.einsum("ij->i", a), [(3, 4)]),
    OpCase("einsum/outer", lambda a, b: tf.einsum("i,j->ij", a, b), [(3,), (2,)]),
    OpCase("einsum/three", lambda a, b, c: tf.einsum("ij,jk,kl->il", a, b, c), [(2, 3), (3, 4), (4, 2)]),
    OpCase("einsum/ellipsis", lambda a, b: tf.einsum("...ij,...jk->...ik", a, b), [(2, 3, 4), (1, 4, 2)]),
    OpCase("einsum/transpose", lambda a: tf.einsum("ijk->kji", a), [(2, 3, 4)]),
    OpCase("einsum/same_operand_twice", lambda a: tf.einsum("ij,ij->", a, a), [(2, 3)]),
    OpCase("linalg.matvec", tf.linalg.matvec, [(3, 4), (4,)]),
    OpCase("linalg.matvec/batched", tf.linalg.matvec, [(2, 3, 4), (2, 4)]),
    OpCase("linalg.matvec/transpose_a", lambda a, b: tf.linalg.matvec(a, b, transpose_a=True),
           [(3, 4), (3,)]),
    OpCase("linalg.inv", tf.linalg.inv, [_well_conditioned(3)], rtol=1e-4, atol=1e-5),
    OpCase("linalg.inv/batched", tf.linalg.inv,
           [np.stack([_well_conditioned(3, 1), _well_conditioned(3, 2)])], rtol=1e-4, atol=1e-5),
    OpCase("linalg.inv/adjoint", lambda a: tf.linalg.inv(a, adjoint=True), [_well_conditioned(2, 3)],
           rtol=1e-4, atol=1e-5),
    OpCase("linalg.trace", tf.linalg.trace, [(2, 3, 3)]),
    OpCase("linalg.diag_part", tf.linalg.diag_part, [(3, 3)]),
    OpCase("linalg.matrix_transpose", tf.linalg.matrix_transpose, [(2, 3, 4)]),
]


@pytest.mark.parametrize("device", available_devices())
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_gradients(case: OpCase, device: str) -> None:
    with tf.device(device):
        run_case(case)


def test_matmul_values() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    b = rng.standard_normal((4, 5)).astype(np.float32)
    np.testing.assert_allclose(tf.matmul(a, b).numpy(), a @ b, rtol=1e-5, atol=1e-6)
    at = a.transpose(0, 2, 1)
    np.testing.assert_allclose(tf.matmul(a, a, transpose_b=True).numpy(), a @ at, rtol=1e-5)
    np.testing.assert_allclose(tf.matmul(a, a, transpose_a=True).numpy(), at @ a, rtol=1e-5)
    assert tf.matmul(a, b).dtype == tf.float32


def test_matmul_shape_errors_name_op_and_shapes() -> None:
    with pytest.raises(ValueError, match=r"MatMul: inner dimensions must match, .* \(2, 3\) and \(4, 5\)"):
        tf.matmul(tf.ones((2, 3)), tf.ones((4, 5)))
    with pytest.raises(ValueError, match=r"MatMul: both operands must have rank >= 2.*\(3,\)"):
        tf.matmul(tf.ones((3,)), tf.ones((3, 2)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="float32 and float64"):
        tf.matmul(tf.ones((2, 2)), tf.ones((2, 2), tf.float64))


def test_einsum_tensordot_values() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 4))
    b = rng.standard_normal((4, 3, 5))
    np.testing.assert_allclose(tf.einsum("ijk,kjl->il", a, b).numpy(), np.einsum("ijk,kjl->il", a, b))
    np.testing.assert_allclose(tf.tensordot(a, b, [[1, 2], [1, 0]]).numpy(),
                               np.tensordot(a, b, [[1, 2], [1, 0]]))
    np.testing.assert_allclose(tf.einsum("bij->b", a).numpy(), a.sum((1, 2)))
    with pytest.raises(ValueError, match="Einsum: equation"):
        tf.einsum("ij,jk->ik", a)


def test_inv_and_matvec_values() -> None:
    m = np.array([[2.0, 1.0], [1.0, 3.0]], np.float32)
    np.testing.assert_allclose((tf.linalg.inv(m) @ m).numpy(), np.eye(2), atol=1e-6)
    np.testing.assert_allclose(tf.linalg.matvec(m, np.array([1.0, 2.0], np.float32)).numpy(), [4.0, 7.0])
    with pytest.raises(ValueError, match=r"MatrixInverse: expected square matrices.*\(2, 3\)"):
        tf.linalg.inv(tf.ones((2, 3)))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_matmul_accumulates_in_float32(dtype):
    """2-byte floats multiply in float32 and round once (TF's CPU kernels; NumPy's own float16
    loop is ~90x slower and ml_dtypes' bfloat16 product comes back float32)."""
    rng = np.random.default_rng(0)
    a = tf.constant(rng.random((3, 40, 70)), dtype)
    b = tf.constant(rng.random((3, 70, 20)), dtype)
    want = (a.numpy().astype(np.float32) @ b.numpy().astype(np.float32)).astype(a.numpy().dtype)
    for got in (tf.matmul(a, b), tf.einsum("bij,bjk->bik", a, b), a @ b):
        assert got.dtype == tf.as_dtype(dtype)
        np.testing.assert_array_equal(got.numpy(), want)
    dense = tf.keras.layers.Dense(5, dtype=tf.keras.DTypePolicy("mixed_float16"))
    y = dense(np.ones((4, 70), np.float32))
    assert y.dtype == tf.float16


def test_half_precision_matmul_matches_tensorflow():
    tfm = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(1)
    a = rng.random((64, 300)).astype(np.float16)
    b = rng.random((300, 50)).astype(np.float16)
    got = tf.matmul(a, b).numpy()
    ref = tfm.matmul(a, b).numpy()
    assert got.dtype == np.float16
    # NOTE: both accumulate in float32; only the summation order differs (a float16 ulp at most).
    np.testing.assert_allclose(got.astype(np.float32), ref.astype(np.float32), rtol=2 ** -10, atol=0)
    assert (got != ref).mean() < 0.01
