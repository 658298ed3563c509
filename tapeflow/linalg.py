"""`tf.linalg`: matrix products, factorizations, solvers, determinants, diagonals, norms."""

# ruff: noqa: F401, I001 - the engine's ops load first (tensor.py binds them at its end)
from tapeflow.ops.clip import global_norm
from tapeflow.ops.creation import eye
from tapeflow.ops.linalg import einsum, inv, matmul, matvec, tensordot, trace
from tapeflow.ops.movement import transpose as _transpose
from tapeflow.ops.reduce import norm
from tapeflow.nn import l2_normalize
from tapeflow.linalg_extra import (
    adjoint, band_part, banded_triangular_solve, cholesky, cholesky_solve, cross, det, diag, diag_part, eig,
    eigh, eigh_tridiagonal, eigvals, eigvalsh, expm, logdet, logm, lstsq, lu, lu_matrix_inverse,
    lu_reconstruct, lu_solve, matrix_rank, normalize, pinv, qr, set_diag, slogdet, solve, sqrtm, svd,
    tensor_diag, tensor_diag_part, triangular_solve, tridiagonal_matmul, tridiagonal_solve
)


def matrix_transpose(a, name=None):
    """Swap the last two axes."""
    n = len(a.shape)
    return _transpose(a, list(range(n - 2)) + [n - 1, n - 2])


from tapeflow import linalg_experimental as experimental  # noqa: E402
from tapeflow.linalg_operator import (  # noqa: E402
    LinearOperator, LinearOperatorAdjoint, LinearOperatorComposition, LinearOperatorFullMatrix, LinearOperatorInversion
)
from tapeflow.linalg_operators import (  # noqa: E402
    LinearOperatorBlockDiag, LinearOperatorBlockLowerTriangular, LinearOperatorCirculant, LinearOperatorCirculant2D,
    LinearOperatorCirculant3D, LinearOperatorDiag, LinearOperatorHouseholder, LinearOperatorIdentity,
    LinearOperatorKronecker, LinearOperatorLowerTriangular, LinearOperatorLowRankUpdate, LinearOperatorPermutation,
    LinearOperatorScaledIdentity, LinearOperatorToeplitz, LinearOperatorTridiag, LinearOperatorZeros
)
