"""tf.linalg.LinearOperator* against TF: dense form, shapes, hints, products, solves,
determinants and derived operators for every class; float64 gradients through the methods."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients

RNG = np.random.default_rng(0)


def _spd(n, batch=()):
    a = RNG.normal(size=batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


A3 = _spd(3).astype(np.float32)
B23 = (RNG.normal(size=(2, 3, 3)) + 3 * np.eye(3)).astype(np.float32)
D3 = np.array([1.5, -2.0, 3.0], np.float32)
U32 = RNG.normal(size=(3, 2)).astype(np.float32)
SPEC = np.array([6.0, 1 + 2j, 1 - 2j], np.complex64)


def _cases(m):
    """(name, operator, solvable) built with module `m` (tapeflow or tensorflow)."""
    L = m.linalg
    full = L.LinearOperatorFullMatrix(A3, is_self_adjoint=True, is_positive_definite=True)
    diag = L.LinearOperatorDiag(D3)
    return [
        ("full", full, True),
        ("full_batch", L.LinearOperatorFullMatrix(B23), True),
        ("diag", diag, True),
        ("identity", L.LinearOperatorIdentity(3, batch_shape=[2]), True),
        ("scaled", L.LinearOperatorScaledIdentity(3, np.array([2.0, -0.5], np.float32)), True),
        ("zeros", L.LinearOperatorZeros(3), False),
        ("zeros_rect", L.LinearOperatorZeros(3, 2, is_square=False, is_self_adjoint=False), False),
        ("tril", L.LinearOperatorLowerTriangular(B23), True),
        ("composition", L.LinearOperatorComposition([full, diag]), True),
        ("block_diag", L.LinearOperatorBlockDiag([diag, L.LinearOperatorFullMatrix(A3[:2, :2])]), True),
        ("block_lower", L.LinearOperatorBlockLowerTriangular([[diag], [L.LinearOperatorFullMatrix(A3[:2]),
                                                                       L.LinearOperatorFullMatrix(A3[:2, :2])]]), True),
        ("kronecker", L.LinearOperatorKronecker([diag, L.LinearOperatorFullMatrix(A3[:2, :2])]), True),
        ("low_rank", L.LinearOperatorLowRankUpdate(diag, U32,
                                                   diag_update=np.array([0.5, 2.0], np.float32)), True),
        ("circulant", L.LinearOperatorCirculant(SPEC), True),
        ("circulant_real", L.LinearOperatorCirculant(np.array([6.0, -2.0, -2.0], np.float32),
                                                     input_output_dtype=m.float32), True),
        ("circulant2d", L.LinearOperatorCirculant2D(np.arange(1, 7).reshape(2, 3).astype(np.complex64)), True),
        ("circulant3d", L.LinearOperatorCirculant3D(np.arange(1, 9).reshape(2, 2, 2).astype(np.complex64)), True),
        ("toeplitz", L.LinearOperatorToeplitz(np.array([4.0, 2, 3], np.float32), np.array([9.0, 1, 5], np.float32)),
         True),
        ("householder", L.LinearOperatorHouseholder(np.array([1.0, 2.0, -1.0], np.float32)), True),
        ("permutation", L.LinearOperatorPermutation(np.array([[2, 0, 1], [1, 0, 2]], np.int32)), True),
        ("tridiag", L.LinearOperatorTridiag(np.array([[1.0, 2, 3], [4, 7, 6], [7, 8, 9]], np.float32)), True),
        ("tridiag_seq", L.LinearOperatorTridiag([np.array([1.0, 2, 0], np.float32), np.array([4.0, 7, 6], np.float32),
                                                 np.array([0.0, 8, 9], np.float32)], diagonals_format="sequence"),
         True),
        ("adjoint", L.LinearOperatorAdjoint(L.LinearOperatorFullMatrix(B23)), True),
        ("inversion", L.LinearOperatorInversion(L.LinearOperatorFullMatrix(B23)), True),
    ]


def _cmp(a, b, tol=2e-4):
    a = np.asarray(a.numpy() if hasattr(a, "numpy") else a)
    b = np.asarray(b.numpy() if hasattr(b, "numpy") else b)
    assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.oracle
def test_linear_operators_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    for (name, ours, solvable), (_, theirs, _) in zip(_cases(tf), _cases(ttf), strict=True):
        try:
            assert type(ours).__name__ == type(theirs).__name__
            assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype.name == theirs.dtype.name
            assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
            assert ours.domain_dimension == theirs.domain_dimension and ours.tensor_rank == theirs.tensor_rank
            for hint in ("is_non_singular", "is_self_adjoint", "is_positive_definite", "is_square"):
                assert getattr(ours, hint) == getattr(theirs, hint), hint
            _cmp(ours.to_dense(), theirs.to_dense())
            _cmp(ours.shape_tensor(), theirs.shape_tensor())
            dtype = theirs.dtype.as_numpy_dtype
            x = RNG.normal(size=(theirs.domain_dimension, 2)).astype(dtype)
            xa = RNG.normal(size=(theirs.range_dimension, 2)).astype(dtype)
            _cmp(ours.matmul(x), theirs.matmul(x))
            _cmp(ours.matmul(xa, adjoint=True), theirs.matmul(xa, adjoint=True))
            _cmp(ours.matmul(x.T.copy(), adjoint_arg=True), theirs.matmul(x.T.copy(), adjoint_arg=True))
            _cmp(ours.matvec(x[:, 0]), theirs.matvec(x[:, 0]))
            _cmp(ours.diag_part(), theirs.diag_part())
            _cmp(ours.trace(), theirs.trace())
            _cmp(ours.adjoint().to_dense(), theirs.adjoint().to_dense())
            if ours.is_square:
                _cmp(ours.determinant(), theirs.determinant())
                if solvable:
                    _cmp(ours.log_abs_determinant(), theirs.log_abs_determinant())
            if solvable:
                _cmp(ours.solve(xa), theirs.solve(xa), 1e-3)
                _cmp(ours.solve(x, adjoint=True), theirs.solve(x, adjoint=True), 1e-3)
                _cmp(ours.solvevec(xa[:, 1]), theirs.solvevec(xa[:, 1]), 1e-3)
                _cmp(ours.inverse().to_dense(), theirs.inverse().to_dense(), 1e-3)
                ones = np.ones(theirs.shape, dtype)
                _cmp(ours.add_to_tensor(ones), theirs.add_to_tensor(ones))
        except AssertionError as e:
            raise AssertionError(f"{name}: {e}") from e
    full_o, full_t = _cases(tf)[0][1], _cases(ttf)[0][1]
    _cmp(full_o.eigvals(), full_t.eigvals())
    _cmp(full_o.cond(), full_t.cond(), 1e-3)
    _cmp(full_o.cholesky().to_dense(), full_t.cholesky().to_dense())
    _cmp((full_o @ full_o).to_dense(), (full_t @ full_t).to_dense())
    _cmp(full_o.solve(full_o).to_dense(), full_t.solve(full_t).to_dense(), 1e-3)
    cg_o = tf.linalg.experimental.conjugate_gradient(full_o, D3, max_iter=10)
    cg_t = ttf.linalg.experimental.conjugate_gradient(full_t, ttf.constant(D3), max_iter=10)
    _cmp(cg_o.x, cg_t.x)
    assert int(cg_o.i) == int(cg_t.i)


def test_hints_and_errors():
    L = tf.linalg
    diag = L.LinearOperatorDiag([1.0, 2.0])
    assert diag.adjoint() is diag and type(diag.inverse()).__name__ == "LinearOperatorDiag"
    assert type(diag @ diag).__name__ == "LinearOperatorDiag"
    assert type(L.LinearOperatorFullMatrix([[1.0, 2], [3, 4]]).inverse()).__name__ == "LinearOperatorInversion"
    with pytest.raises(ValueError, match="singular"):
        L.LinearOperatorZeros(2).inverse()
    with pytest.raises(ValueError, match="Cholesky"):
        L.LinearOperatorFullMatrix([[1.0, 2], [3, 4]]).cholesky()
    with pytest.raises(ValueError, match="non-singular"):
        L.LinearOperatorDiag([1.0, 2.0], is_non_singular=False, is_positive_definite=True)
    with pytest.raises(ValueError, match="always square"):
        L.LinearOperatorZeros(2, 3, is_square=False)
    with pytest.raises(NotImplementedError, match="singular"):
        L.LinearOperatorZeros(2).solve(np.ones((2, 1), np.float32))
    with pytest.raises(ValueError, match="dimension must be 2"):
        diag.matmul(np.ones((3, 1), np.float32))
    with pytest.raises(TypeError, match="float32"):
        diag.matmul(np.ones((2, 1), np.float64))
    with pytest.raises(ValueError, match="permutation"):
        L.LinearOperatorPermutation([0, 0, 1])
    assert float(L.LinearOperatorPermutation([1, 2, 0]).determinant()) == 1.0
    assert float(L.LinearOperatorPermutation([1, 0, 2]).determinant()) == -1.0

    class Doubler(L.LinearOperator):  # a user subclass: only _shape and _matmul
        def __init__(self):
            super().__init__(dtype=tf.float32, is_self_adjoint=True)

        def _shape(self):
            return (2, 2)

        def _matmul(self, x, adjoint=False, adjoint_arg=False):
            return 2.0 * x

    np.testing.assert_allclose(Doubler().to_dense().numpy(), 2 * np.eye(2))
    np.testing.assert_allclose(Doubler().solvevec([2.0, 4.0]).numpy(), [1.0, 2.0])
    assert float(Doubler().determinant()) == pytest.approx(4.0)


def test_gradients_float64():
    L = tf.linalg
    a, d, x = _spd(3), RNG.normal(size=3) + 3, RNG.normal(size=(3, 2))
    check_gradients(lambda m, v: L.LinearOperatorFullMatrix(m).solve(v), [a, x])
    check_gradients(lambda m: L.LinearOperatorFullMatrix(m).log_abs_determinant(), [a])
    check_gradients(lambda dd, v: L.LinearOperatorDiag(dd).solve(v, adjoint=True), [d, x])
    check_gradients(lambda m, dd: L.LinearOperatorComposition([L.LinearOperatorLowerTriangular(m),
                                                               L.LinearOperatorDiag(dd)]).log_abs_determinant(), [a, d])
    check_gradients(lambda m, v: L.LinearOperatorLowerTriangular(m).solve(v), [a, x])
    check_gradients(lambda m, dd: L.LinearOperatorKronecker([L.LinearOperatorFullMatrix(m[:2, :2]),
                                                             L.LinearOperatorDiag(dd)]).to_dense(), [a, d])
    check_gradients(lambda c, r: L.LinearOperatorToeplitz(c, r).matvec([1.0, 2.0, 3.0]), [d, d[::-1].copy()])
    check_gradients(lambda s: L.LinearOperatorCirculant(s, input_output_dtype=tf.float64).to_dense(),
                    [np.array([6.0, -2.0, -2.0])])
    check_gradients(lambda u, dd: L.LinearOperatorLowRankUpdate(L.LinearOperatorDiag(dd), u).solve(x), [x, d])
    check_gradients(lambda v: L.LinearOperatorHouseholder(v).matmul(x), [d])
    check_gradients(lambda s, m: L.LinearOperatorScaledIdentity(3, s).matmul(m), [np.array([2.0, 3.0]), x])


def test_complex_adjoints_conjugate():
    a = np.array([[1 + 1j, 2], [3, 4j]], np.complex64)
    b = np.array([[1, 2j], [0.5, 1]], np.complex64)
    ah = a.conj().T
    np.testing.assert_allclose(tf.linalg.matmul(a, b, adjoint_a=True).numpy(), ah @ b, rtol=1e-6)
    np.testing.assert_allclose(tf.linalg.matmul(b, a, adjoint_b=True).numpy(), b @ ah, rtol=1e-6)
    np.testing.assert_allclose(tf.linalg.matvec(a, b[0], adjoint_a=True).numpy(), ah @ b[0], rtol=1e-6)
    np.testing.assert_allclose(tf.linalg.solve(a, b, adjoint=True).numpy(), np.linalg.solve(ah, b), rtol=1e-5)
    np.testing.assert_allclose(tf.linalg.triangular_solve(a, b, adjoint=True).numpy(),
                               np.linalg.solve(np.tril(a).conj().T, b), rtol=1e-5)
    np.testing.assert_allclose(tf.linalg.inv(a, adjoint=True).numpy(), np.linalg.inv(ah), rtol=1e-5)
    assert tf.linalg.slogdet(a)[1].dtype == tf.complex64  # TF's dtype for complex input
