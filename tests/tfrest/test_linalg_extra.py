"""The rest of tf.linalg: TF's conventions (svd order, lu permutation, bands), values against TF,
float64 gradients."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients

RNG = np.random.default_rng(0)
A = RNG.normal(size=(2, 3, 3))
S = A @ A.transpose(0, 2, 1) + 3 * np.eye(3)
B = RNG.normal(size=(2, 3, 2))
R = RNG.normal(size=(2, 4, 3))

SAME = [("adjoint", (A,)), ("cholesky", (S,)), ("det", (A,)), ("slogdet", (A,)), ("logdet", (S,)),
        ("eigvalsh", (S,)), ("diag_part", (A,)), ("matrix_rank", (A,)), ("pinv", (R,)), ("expm", (A,)),
        ("sqrtm", (S,)), ("tensor_diag", (A[0, 0],)), ("tensor_diag_part", (np.ones((2, 3, 2, 3)),)),
        ("solve", (A, B)), ("triangular_solve", (A + 3 * np.eye(3), B)),
        ("cholesky_solve", (np.linalg.cholesky(S), B)), ("lstsq", (R, RNG.normal(size=(2, 4, 2)))),
        ("cross", (A, A[::-1])), ("lu", (A,))]


def _np(out):
    return [t.numpy() for t in out] if isinstance(out, (tuple, list)) else [out.numpy()]


def _same(ours, theirs, atol=1e-8):
    for a, b in zip(_np(ours), _np(theirs), strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=atol)


@pytest.mark.oracle
@pytest.mark.parametrize("name,args", SAME, ids=[n for n, _ in SAME])
def test_against_tensorflow(name, args):
    ttf = pytest.importorskip("tensorflow")
    _same(getattr(tf.linalg, name)(*args), getattr(ttf.linalg, name)(*args))


@pytest.mark.oracle
def test_diagonals_bands_factorizations_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    _same(tf.linalg.band_part(A, 1, 0), ttf.linalg.band_part(A, 1, 0))
    _same(tf.linalg.diag(B[..., 0], k=1), ttf.linalg.diag(B[..., 0], k=1))
    _same(tf.linalg.diag([1.0, 2.0], k=-1, num_cols=4), ttf.linalg.diag([1.0, 2.0], k=-1, num_cols=4))
    _same(tf.linalg.diag_part(R, k=-1), ttf.linalg.diag_part(R, k=-1))
    _same(tf.linalg.set_diag(A, B[..., :2, 0], k=1), ttf.linalg.set_diag(A, B[..., :2, 0], k=1))
    s, u, v = tf.linalg.svd(R)
    np.testing.assert_allclose(s.numpy(), ttf.linalg.svd(R)[0].numpy())
    np.testing.assert_allclose((u.numpy() * s.numpy()[..., None, :]) @ np.swapaxes(v.numpy(), -1, -2), R, atol=1e-10)
    q, r = tf.linalg.qr(R)
    assert q.shape == ttf.linalg.qr(R)[0].shape
    np.testing.assert_allclose(q.numpy() @ r.numpy(), R, atol=1e-10)
    lu, p = ttf.linalg.lu(A)
    _same(tf.linalg.lu_reconstruct(lu.numpy(), p.numpy()), ttf.linalg.lu_reconstruct(lu, p))
    _same(tf.linalg.lu_solve(lu.numpy(), p.numpy(), B), ttf.linalg.lu_solve(lu, p, B))
    _same(tf.linalg.lu_matrix_inverse(lu.numpy(), p.numpy()), ttf.linalg.lu_matrix_inverse(lu, p))
    w = tf.linalg.eigvals(A).numpy()
    np.testing.assert_allclose(np.sort_complex(w), np.sort_complex(ttf.linalg.eigvals(A).numpy()))
    for bands, lower in ((np.array([[1.0, 2, 3], [0, 4, 5]]), True), (np.array([[0, 4.0, 5], [1.0, 2, 3]]), False)):
        _same(tf.linalg.banded_triangular_solve(bands, np.ones((3, 1)), lower=lower),
              ttf.linalg.banded_triangular_solve(bands, np.ones((3, 1)), lower=lower))
    d = RNG.normal(size=(3, 4)) + np.array([[0], [5], [0]])
    rhs = RNG.normal(size=(4, 2))
    _same(tf.linalg.tridiagonal_matmul(d, rhs), ttf.linalg.tridiagonal_matmul(d, rhs))
    _same(tf.linalg.tridiagonal_solve(d, rhs), ttf.linalg.tridiagonal_solve(ttf.constant(d), ttf.constant(rhs)))
    _same(tf.linalg.eigh_tridiagonal(d[1], d[0, :3]), ttf.linalg.eigh_tridiagonal(d[1], d[0, :3]))
    c = (A + 0.1j * A[::-1]).astype(np.complex128) + 3 * np.eye(3)
    _same(tf.linalg.logm(c), ttf.linalg.logm(c))


def test_errors_are_named():
    with pytest.raises(ValueError, match="MatrixDeterminant: expected square"):
        tf.linalg.det(R)
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.linalg.cholesky(-S)
    with pytest.raises(TypeError, match="complex"):
        tf.linalg.logm(A)


def test_gradients_float64():
    a = A[:1]
    check_gradients(tf.linalg.det, [a])
    check_gradients(lambda x: tf.linalg.slogdet(x)[1], [a])
    check_gradients(tf.linalg.cholesky, [S[:1]])
    check_gradients(tf.linalg.expm, [a * 0.5])
    check_gradients(tf.linalg.sqrtm, [S[:1]])
    check_gradients(tf.linalg.solve, [a + 3 * np.eye(3), B[:1]])
    check_gradients(lambda x, b: tf.linalg.triangular_solve(x, b, lower=False), [a + 3 * np.eye(3), B])  # broadcast
    check_gradients(lambda x, b: tf.linalg.lstsq(x, b, l2_regularizer=0.1), [R[:1], B[:1, :2].repeat(2, 1)])
    check_gradients(lambda x: tf.linalg.svd(x)[0], [R[:1]])
    check_gradients(lambda x: tf.linalg.band_part(x, 0, 1), [a])
    check_gradients(lambda x: tf.linalg.diag(x, k=1), [B[..., 0]])
    check_gradients(lambda x, d: tf.linalg.set_diag(x, d), [a, B[:1, :, 0]])
    check_gradients(tf.linalg.cross, [A, A[:1, ::-1]])
    check_gradients(lambda x: tf.linalg.pinv(x), [R[:1]])
