"""The rest of `tf.linalg` with TF's signatures and conventions: factorizations (svd returns
(s, u, v), lu with TF's permutation), solvers (triangular, banded, tridiagonal, Cholesky, LU,
least squares), determinants, diagonals and bands, matrix functions (expm, logm, sqrtm).

Built on the engine's linear-algebra primitives (`ops.linalg`, `ops.extra_linalg`), so the
results are differentiable wherever TF's are (eig, eigvals, logm, lu and matrix_rank have no
gradient, as in TF).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.errors import InvalidArgumentError
from tapeflow.ops import elementwise as ew
from tapeflow.ops import extra_linalg as xl
from tapeflow.ops import linalg as la
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.ops.extra_array import ArrayFunction
from tapeflow.tensor import Tensor
from tapeflow.tracing.func_graph import lifted_on_graph_tensors, lifted_on_unknown_shapes

mT = xl.mT  # noqa: N816 - the math name


def _adjoint(a: Tensor) -> Tensor:
    """The conjugate transpose of the last two axes (the transpose for real matrices)."""
    if a.dtype.is_complex:
        from tapeflow.ops.complex import conj

        return mT(conj(a))
    return mT(a)


def _mat(x: Any, op: str, square: bool = False) -> Tensor:
    t = ew.unary_operand(x, op)
    s = tuple(t.shape)
    if len(s) < 2 or (square and s[-1] != s[-2]):
        kind = "square matrices (..., n, n)" if square else "matrices (..., m, n)"
        raise ValueError(f"{op}: expected {kind}, received shape {s}.")
    return t


def _const(x: Tensor, array: Any) -> Tensor:
    return Tensor(backend.asarray(array, None, backend.get_xp(x._value)))


def _mask(x: Tensor, lower: int, upper: int) -> Tensor:
    """A bool (m, n) band mask: -lower <= j - i <= upper (negative bounds keep everything)."""
    m, n = x.shape[-2], x.shape[-1]
    i = np.arange(m)[:, None]
    j = np.arange(n)[None, :]
    keep = np.ones((m, n), bool)
    if lower >= 0:
        keep &= i - j <= lower
    if upper >= 0:
        keep &= j - i <= upper
    return _const(x, keep)


def adjoint(matrix: Any, name: Any = None) -> Tensor:
    """The conjugate transpose of the last two axes."""
    x = _mat(matrix, "Adjoint")
    t = mT(x)
    return ew.NonDifferentiable("conj")(t) if x.dtype.is_complex else t


@lifted_on_unknown_shapes
def band_part(input: Any, num_lower: Any, num_upper: Any, name: Any = None) -> Tensor:  # noqa: A002
    """`input` with entries outside the band zeroed (num_lower / num_upper < 0: keep all)."""
    x = _mat(input, "MatrixBandPart")
    return ew.where(_mask(x, int(num_lower), int(num_upper)), x, ew.zeros_like_t(x))


# -- diagonals ---------------------------------------------------------------------------------

def _k(k: Any, op: str) -> int:
    if isinstance(k, (list, tuple)) or (isinstance(k, Tensor) and len(k.shape)):
        vals = [int(v) for v in (k.numpy().tolist() if isinstance(k, Tensor) else k)]
        if len(vals) == 2 and vals[0] == vals[1]:
            return vals[0]
        raise ValueError(f"{op}: only a single diagonal offset k is supported, received k={vals} "
                         "(a band of diagonals needs TF's aligned packed format).")
    return int(k.numpy() if isinstance(k, Tensor) else k)


@lifted_on_unknown_shapes
def diag(diagonal: Any, name: Any = None, k: Any = 0, num_rows: int = -1, num_cols: int = -1,
         padding_value: Any = 0, align: str = "RIGHT_LEFT") -> Tensor:
    """Batched matrices (..., M, N) with `diagonal` (..., n) on diagonal k, `padding_value` elsewhere."""
    d = ew.unary_operand(diagonal, "MatrixDiag")
    k = _k(k, "MatrixDiag")
    n = d.shape[-1]
    rows, cols = int(num_rows), int(num_cols)
    if rows == -1 and cols == -1:
        rows = cols = n + abs(k)
    elif rows == -1:
        rows = n + max(-k, 0)
    elif cols == -1:
        cols = n + max(k, 0)
    i = np.arange(rows)[:, None]
    j = np.arange(cols)[None, :]
    pos = np.minimum(i, j)
    on = (j - i == k) & (pos < n)
    if min(rows + min(k, 0), cols - max(k, 0)) != n:
        raise ValueError(f"MatrixDiag: a diagonal of length {n} does not fill offset {k} of a {rows}x{cols} "
                         "matrix.")
    pos = np.where(on, pos, 0)
    mask = _const(d, on)
    spread = mv.gather(d, _const(d, pos.reshape(-1)), axis=-1)
    spread = mv.reshape(spread, [*d.shape[:-1], rows, cols])
    pad = ew.add(ew.zeros_like_t(spread), padding_value)
    return ew.where(mask, spread, pad)


@lifted_on_unknown_shapes
def diag_part(input: Any, name: Any = None, k: Any = 0, padding_value: Any = 0,  # noqa: A002
              align: str = "RIGHT_LEFT") -> Tensor:
    """Diagonal k of each matrix (..., M, N) -> (..., len)."""
    x = _mat(input, "MatrixDiagPart")
    k = _k(k, "MatrixDiagPart")
    m, n = x.shape[-2], x.shape[-1]
    i = np.arange(max(-k, 0), min(m, n - k))
    flat = mv.reshape(x, [*x.shape[:-2], m * n])
    return mv.gather(flat, _const(x, i * n + i + k), axis=-1)


@lifted_on_unknown_shapes
def set_diag(input: Any, diagonal: Any, name: Any = None, k: Any = 0, align: str = "RIGHT_LEFT") -> Tensor:  # noqa: A002
    """`input` with diagonal k replaced by `diagonal`."""
    x = _mat(input, "MatrixSetDiag")
    k = _k(k, "MatrixSetDiag")
    m, n = x.shape[-2], x.shape[-1]
    d = ew.cast(ew.unary_operand(diagonal, "MatrixSetDiag"), x.dtype)
    on = _const(x, np.arange(n)[None, :] - np.arange(m)[:, None] == k)
    return ew.where(on, diag(d, k=k, num_rows=m, num_cols=n), x)


@lifted_on_unknown_shapes
def tensor_diag(diagonal: Any, name: Any = None) -> Tensor:
    """The tensor of shape d.shape + d.shape with `diagonal` on its diagonal."""
    d = ew.unary_operand(diagonal, "Diag")
    shape = tuple(d.shape)
    size = int(np.prod(shape)) if shape else 1
    return mv.reshape(diag(mv.reshape(d, [size])), list(shape) * 2)


@lifted_on_unknown_shapes
def tensor_diag_part(input: Any, name: Any = None) -> Tensor:  # noqa: A002
    """The diagonal of a tensor of shape s + s, shape s."""
    x = ew.unary_operand(input, "DiagPart")
    r = len(x.shape) // 2
    shape = tuple(x.shape[:r])
    if len(x.shape) % 2 or tuple(x.shape[r:]) != shape:
        raise ValueError(f"DiagPart: expected a shape s + s, received {tuple(x.shape)}.")
    size = int(np.prod(shape)) if shape else 1
    return mv.reshape(diag_part(mv.reshape(x, [size, size])), list(shape))


# -- factorizations ----------------------------------------------------------------------------

def _lower_symmetric(x: Tensor) -> Tensor:
    """The symmetric matrix TF's Cholesky/eigh read: the lower triangle mirrored."""
    lo = xl.tril_mask(x)
    return ew.add(lo, mT(xl.tril_mask(x, -1)))


def cholesky(input: Any, name: Any = None) -> Tensor:  # noqa: A002
    """The lower Cholesky factor of symmetric positive-definite matrices (the lower triangle is read)."""
    return xl.Cholesky()(_lower_symmetric(_mat(input, "Cholesky", True)))


def eigh(tensor: Any, name: Any = None) -> tuple:
    """(eigenvalues ascending, eigenvectors) of self-adjoint matrices (the lower triangle is read)."""
    return tuple(xl.Eigh()(_lower_symmetric(_mat(tensor, "SelfAdjointEigV2", True))))


def eigvalsh(tensor: Any, name: Any = None) -> Tensor:
    """The eigenvalues (ascending) of self-adjoint matrices."""
    return eigh(tensor)[0]


def _complex_of(dtype: Any) -> str:
    return "complex128" if dtype.name in ("float64", "complex128") else "complex64"


@lifted_on_graph_tensors
def eig(tensor: Any, name: Any = None) -> tuple:
    """(eigenvalues, eigenvectors) of general square matrices, complex (no gradient)."""
    x = _mat(tensor, "Eig", True)
    c = _complex_of(x.dtype)

    def f(xp: Any, a: Any) -> Any:
        w, v = np.linalg.eig(backend.to_numpy(a))
        return xp.asarray(w.astype(c)), xp.asarray(v.astype(c))

    return tuple(_ArrayPair("Eig", f)(x))


class _ArrayPair(ArrayFunction):
    n_outputs = 2


def eigvals(tensor: Any, name: Any = None) -> Tensor:
    """The (complex) eigenvalues of general square matrices."""
    return eig(tensor)[0]


def qr(input: Any, full_matrices: bool = False, name: Any = None) -> tuple:  # noqa: A002
    """(q, r) with input = q r; q has orthonormal columns (m x k, or m x m with full_matrices)."""
    x = _mat(input, "Qr")
    return tuple(xl.Qr("complete" if full_matrices else "reduced")(x))


def svd(tensor: Any, full_matrices: bool = False, compute_uv: bool = True, name: Any = None) -> Any:
    """(s, u, v) with tensor = u diag(s) v^H (TF's order and v, not v^H), or s alone."""
    x = _mat(tensor, "Svd")
    if not compute_uv:
        return xl.Svd(bool(full_matrices), False)(x)
    u, s, vh = xl.Svd(bool(full_matrices), True)(x)
    return s, u, mT(vh)


@lifted_on_graph_tensors
def lu(input: Any, output_idx_type: Any = _dt.int32, name: Any = None) -> tuple:  # noqa: A002
    """(lu, p): L (unit lower) and U packed in `lu`, rows permuted so input[..., p, :] = L U."""
    x = _mat(input, "Lu", True)
    a = backend.to_numpy(x._value).astype(np.float64, copy=True)
    batch = a.reshape(-1, a.shape[-2], a.shape[-1])
    n = batch.shape[-1]
    perms = np.zeros((batch.shape[0], n), dtype=np.int64)
    for b in range(batch.shape[0]):  # NOTE: pivoting is sequential; batch rows are small matrices
        m = batch[b]
        perm = np.arange(n)
        for k in range(n):
            p = k + int(np.argmax(np.abs(m[k:, k])))
            if p != k:
                m[[k, p]] = m[[p, k]]
                perm[[k, p]] = perm[[p, k]]
            if m[k, k] != 0:
                m[k + 1:, k] /= m[k, k]
                m[k + 1:, k + 1:] -= np.outer(m[k + 1:, k], m[k, k + 1:])
        perms[b] = perm
    out = batch.reshape(a.shape).astype(x.dtype._np)
    return _const(x, out), _const(x, perms.reshape(a.shape[:-1]).astype(_dt.as_dtype(output_idx_type)._np))


def _unpack_lu(lower_upper: Tensor) -> tuple:
    n = lower_upper.shape[-1]
    lo = ew.add(xl.tril_mask(lower_upper, -1), _const(lower_upper, np.eye(n, dtype=lower_upper.dtype._np)))
    up = mT(xl.tril_mask(mT(lower_upper)))
    return lo, up


def _unpermute(rows: Tensor, perm: Any) -> Tensor:
    """rows[..., inv(perm), :] (undo the row permutation of an LU factorization)."""
    p = ew.unary_operand(perm, "Lu")
    inv = ArrayFunction("InvertPermutation", lambda xp, q: xp.argsort(q, axis=-1))(p)
    return mv.gather(rows, inv, axis=-2, batch_dims=len(p.shape) - 1)


def lu_reconstruct(lower_upper: Any, perm: Any, validate_args: bool = False, name: Any = None) -> Tensor:
    """The matrix whose `lu` factorization is (lower_upper, perm)."""
    lo, up = _unpack_lu(_mat(lower_upper, "LuReconstruct", True))
    return _unpermute(la.matmul(lo, up), perm)


def lu_solve(lower_upper: Any, perm: Any, rhs: Any, validate_args: bool = False, name: Any = None) -> Tensor:
    """x with A x = rhs, for A given by its `lu` factorization."""
    lu_t = _mat(lower_upper, "LuSolve", True)
    lo, up = _unpack_lu(lu_t)
    b = mv.gather(ew.unary_operand(rhs, "LuSolve"), ew.unary_operand(perm, "LuSolve"), axis=-2,
                  batch_dims=len(ew.unary_operand(perm, "LuSolve").shape) - 1)
    return xl.Solve()(up, xl.Solve()(lo, b))


def lu_matrix_inverse(lower_upper: Any, perm: Any, validate_args: bool = False, name: Any = None) -> Tensor:
    """The inverse of A from its `lu` factorization."""
    lu_t = _mat(lower_upper, "LuMatrixInverse", True)
    n = lu_t.shape[-1]
    eye = mv.broadcast_to(_const(lu_t, np.eye(n, dtype=lu_t.dtype._np)), tuple(lu_t.shape))
    return lu_solve(lu_t, perm, eye)


# -- solvers -----------------------------------------------------------------------------------

def _rhs(matrix: Tensor, rhs: Any, op: str) -> Tensor:
    b = ew.unary_operand(rhs, op)
    if b.dtype != matrix.dtype:
        raise InvalidArgumentError(f"{op}: matrix and rhs must have the same dtype, received "
                                   f"{matrix.dtype.name} and {b.dtype.name}.")
    if len(b.shape) < 2 or b.shape[-2] != matrix.shape[-1]:
        raise ValueError(f"{op}: expected rhs of shape (..., {matrix.shape[-1]}, k), received {tuple(b.shape)}.")
    return b


def _broadcast_solve(a: Tensor, b: Tensor) -> Tensor:
    batch = np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    a = mv.broadcast_to(a, (*batch, *a.shape[-2:])) if tuple(a.shape[:-2]) != batch else a
    b = mv.broadcast_to(b, (*batch, *b.shape[-2:])) if tuple(b.shape[:-2]) != batch else b
    return xl.Solve()(a, b)


@lifted_on_unknown_shapes
def solve(matrix: Any, rhs: Any, adjoint: bool = False, name: Any = None) -> Tensor:
    """x with matrix x = rhs (or matrix^H x = rhs), matrix (..., n, n), rhs (..., n, k)."""
    a = _mat(matrix, "MatrixSolve", True)
    b = _rhs(a, rhs, "MatrixSolve")
    return _broadcast_solve(_adjoint(a) if adjoint else a, b)


@lifted_on_unknown_shapes
def triangular_solve(matrix: Any, rhs: Any, lower: bool = True, adjoint: bool = False, name: Any = None) -> Tensor:
    """x with T x = rhs for the lower (or upper) triangle T of `matrix` (the other is ignored)."""
    a = _mat(matrix, "MatrixTriangularSolve", True)
    b = _rhs(a, rhs, "MatrixTriangularSolve")
    t = xl.tril_mask(a) if lower else mT(xl.tril_mask(mT(a)))
    return _broadcast_solve(_adjoint(t) if adjoint else t, b)


@lifted_on_unknown_shapes
def banded_triangular_solve(bands: Any, rhs: Any, lower: bool = True, adjoint: bool = False,
                            name: Any = None) -> Tensor:
    """triangular_solve with the matrix given by its K bands (..., K, M): row 0 is the diagonal
    and row i subdiagonal i when lower (right-aligned); the diagonal is the last row and row i
    superdiagonal K-1-i when upper (left-aligned)."""
    bd = ew.unary_operand(bands, "BandedTriangularSolve")
    k, m = bd.shape[-2], bd.shape[-1]
    parts = []
    for r in range(k):
        off = r if lower else k - 1 - r
        band = bd[..., r, :]
        band = band[..., off:] if lower else band[..., :m - off]
        parts.append(diag(band, k=-off if lower else off, num_rows=m, num_cols=m))
    return triangular_solve(ew.add_n(parts), rhs, lower=lower, adjoint=adjoint)


@lifted_on_unknown_shapes
def cholesky_solve(chol: Any, rhs: Any, name: Any = None) -> Tensor:
    """x with A x = rhs where chol is A's lower Cholesky factor."""
    lo = _mat(chol, "CholeskySolve", True)
    y = triangular_solve(lo, rhs, lower=True)
    return triangular_solve(lo, y, lower=True, adjoint=True)


@lifted_on_unknown_shapes
def lstsq(matrix: Any, rhs: Any, l2_regularizer: Any = 0.0, fast: bool = True, name: Any = None) -> Tensor:
    """The (ridge-regularised) least-squares solution of matrix x = rhs, (..., m, n), (..., m, k).

    fast=True solves the normal equations (A^T A + l2 I) x = A^T b (or the minimum-norm form
    A^T (A A^T + l2 I)^-1 b when m < n), as TF; fast=False uses the pseudo-inverse (l2 must be 0).
    """
    a = _mat(matrix, "MatrixSolveLs")
    b = ew.unary_operand(rhs, "MatrixSolveLs")
    m, n = a.shape[-2], a.shape[-1]
    lam = float(l2_regularizer.numpy() if isinstance(l2_regularizer, Tensor) else l2_regularizer)
    if not fast:
        if lam != 0.0:
            raise ValueError("lstsq: fast=False supports only l2_regularizer=0 (as TF).")
        return la.matmul(xl.Pinv(1e-15)(a), b)
    if m >= n:
        gram = la.matmul(a, a, transpose_a=True)
        if lam:
            gram = ew.add(gram, _const(a, lam * np.eye(n, dtype=a.dtype._np)))
        return _broadcast_solve(gram, la.matmul(a, b, transpose_a=True))
    gram = la.matmul(a, a, transpose_b=True)
    if lam:
        gram = ew.add(gram, _const(a, lam * np.eye(m, dtype=a.dtype._np)))
    return la.matmul(a, _broadcast_solve(gram, b), transpose_a=True)


def _tridiagonal_dense(diagonals: Any, diagonals_format: str, op: str) -> Tensor:
    if diagonals_format == "matrix":
        return _mat(diagonals, op, True)
    if diagonals_format == "sequence":
        sup, main, sub = (ew.unary_operand(t, op) for t in diagonals)
    elif diagonals_format == "compact":
        d = ew.unary_operand(diagonals, op)
        if len(d.shape) < 2 or d.shape[-2] != 3:
            raise ValueError(f"{op}: compact diagonals must have shape (..., 3, M), received {tuple(d.shape)}.")
        sup, main, sub = d[..., 0, :], d[..., 1, :], d[..., 2, :]
    else:
        raise ValueError(f"{op}: diagonals_format must be 'compact', 'sequence' or 'matrix', "
                         f"received {diagonals_format!r}.")
    m = main.shape[-1]
    return ew.add_n([diag(sup[..., :m - 1], k=1), diag(main), diag(sub[..., 1:], k=-1)])


@lifted_on_unknown_shapes
def tridiagonal_matmul(diagonals: Any, rhs: Any, diagonals_format: str = "compact", name: Any = None) -> Tensor:
    """The product of a tridiagonal matrix (given by its diagonals) and rhs (..., M, N)."""
    return la.matmul(_tridiagonal_dense(diagonals, diagonals_format, "TridiagonalMatMul"), rhs)


@lifted_on_unknown_shapes
def tridiagonal_solve(diagonals: Any, rhs: Any, diagonals_format: str = "compact", transpose_rhs: bool = False,
                      conjugate_rhs: bool = False, name: Any = None, partial_pivoting: bool = True,
                      perturb_singular: bool = False) -> Tensor:
    """x with T x = rhs for a tridiagonal T; rhs (..., M, K) or (..., M) in 'compact'/'sequence' format."""
    t = _tridiagonal_dense(diagonals, diagonals_format, "TridiagonalSolve")
    b = ew.unary_operand(rhs, "TridiagonalSolve")
    vec = len(b.shape) == len(t.shape) - 1
    if transpose_rhs:
        b = mT(b)
    out = _broadcast_solve(t, mv.expand_dims(b, -1) if vec else b)
    out = mv.squeeze(out, [-1]) if vec else out
    return mT(out) if transpose_rhs else out


def eigh_tridiagonal(alpha: Any, beta: Any, eigvals_only: bool = True, select: str = "a",
                     select_range: Any = None, tol: Any = None, name: Any = None) -> Any:
    """Eigenvalues (and vectors) of the symmetric tridiagonal matrix with diagonal alpha (n,)
    and off-diagonal beta (n-1,); select 'a' (all), 'v' (values in select_range) or 'i' (indices)."""
    a = ew.unary_operand(alpha, "EighTridiagonal")
    b = ew.unary_operand(beta, "EighTridiagonal")
    t = ew.add_n([diag(a), diag(b, k=1), diag(b, k=-1)])
    w, v = xl.Eigh()(t)
    if select == "i":
        lo, hi = (int(i) for i in select_range)
        w, v = w[lo:hi + 1], v[:, lo:hi + 1]
    elif select == "v":
        lo, hi = (float(x) for x in select_range)
        keep = np.nonzero((w.numpy() > lo) & (w.numpy() <= hi))[0]
        w, v = mv.gather(w, keep), mv.gather(v, keep, axis=1)
    elif select != "a":
        raise ValueError(f"eigh_tridiagonal: select must be 'a', 'v' or 'i', received {select!r}.")
    return w if eigvals_only else (w, v)


# -- determinants, norms, ranks ----------------------------------------------------------------

def det(input: Any, name: Any = None) -> Tensor:  # noqa: A002
    """The determinant of square matrices."""
    return xl.Det()(_mat(input, "MatrixDeterminant", True))


def slogdet(input: Any, name: Any = None) -> tuple:  # noqa: A002
    """(sign, log|det|) of square matrices; the gradient flows through log|det|."""
    x = _mat(input, "LogMatrixDeterminant", True)
    sign = ArrayFunction("SlogdetSign", lambda xp, a: xp.linalg.slogdet(a)[0])(x)
    log_abs = xl.LogAbsDet()(x)
    return sign, ew.cast(log_abs, x.dtype) if x.dtype.is_complex else log_abs  # TF's: complex for complex input


def logdet(matrix: Any, name: Any = None) -> Tensor:
    """log det of Hermitian positive-definite matrices, 2 sum(log diag(cholesky))."""
    lo = cholesky(matrix)
    return ew.multiply(rd.reduce_sum(ew.log(diag_part(lo)), -1), 2.0)


def matrix_rank(a: Any, tol: Any = None, validate_args: bool = False, name: Any = None) -> Tensor:
    """The number of singular values above tol (default max(s) * max(m, n) * eps), int32."""
    x = _mat(a, "MatrixRank")
    eps = np.finfo(x.dtype._np).eps
    big = max(x.shape[-2:])

    def rank(xp: Any, v: Any) -> Any:
        s = xp.linalg.svd(v, compute_uv=False)
        t = s.max(-1, keepdims=True) * big * eps if tol is None else float(tol)
        return (s > t).sum(-1).astype("int32")

    return ArrayFunction("MatrixRank", rank)(x)


def pinv(a: Any, rcond: Any = None, validate_args: bool = False, name: Any = None) -> Tensor:
    """The Moore-Penrose pseudo-inverse (singular values below rcond * max(s) dropped; default
    rcond 10 * max(m, n) * eps, as TF)."""
    x = _mat(a, "Pinv")
    rc = 10.0 * max(x.shape[-2:]) * float(np.finfo(x.dtype._np).eps) if rcond is None else float(rcond)
    return xl.Pinv(rc)(x)


@lifted_on_unknown_shapes
def cross(a: Any, b: Any, name: Any = None) -> Tensor:
    """The cross product of 3-vectors along the last axis (with broadcasting)."""
    a, b = ew.binary_operands(a, b, "Cross")
    if a.shape[-1] != 3 or b.shape[-1] != 3:
        raise ValueError(f"Cross: expected a last dimension of 3, received {tuple(a.shape)} and {tuple(b.shape)}.")
    a0, a1, a2 = (a[..., i] for i in range(3))
    b0, b1, b2 = (b[..., i] for i in range(3))
    return mv.stack([ew.subtract(ew.multiply(a1, b2), ew.multiply(a2, b1)),
                     ew.subtract(ew.multiply(a2, b0), ew.multiply(a0, b2)),
                     ew.subtract(ew.multiply(a0, b1), ew.multiply(a1, b0))], axis=-1)


def normalize(tensor: Any, ord: Any = "euclidean", axis: Any = None, name: Any = None) -> tuple:  # noqa: A002
    """(tensor / norm, norm) with `tf.norm`'s ord and axis (norm kept with its reduced dims)."""
    from tapeflow.ops.reduce import norm

    x = ew.unary_operand(tensor, "Normalize")
    n = norm(x, ord=ord, axis=axis, keepdims=True)
    return ew.divide(x, n), n


# -- matrix functions --------------------------------------------------------------------------

_PADE13 = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
           129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
           40840800.0, 960960.0, 16380.0, 182.0, 1.0)


@lifted_on_graph_tensors
def expm(input: Any, name: Any = None) -> Tensor:  # noqa: A002
    """The matrix exponential by scaling and squaring with a [13/13] Padé approximant
    (Higham 2005, as TF); composed of matmul and solve, so differentiable."""
    x = _mat(input, "MatrixExponential", True)
    n = x.shape[-1]
    l1 = float(np.max(np.abs(backend.to_numpy(x._value)).sum(-2))) if x.shape[-1] else 0.0
    # NOTE: theta_13 = 5.37; scale so that ||A / 2^s||_1 <= theta_13.
    s = max(0, int(math.ceil(math.log2(l1 / 5.371920351148152)))) if l1 > 0 else 0
    a = ew.multiply(x, 1.0 / (2.0 ** s))
    eye = _const(x, np.eye(n, dtype=x.dtype._np))
    a2 = la.matmul(a, a)
    a4 = la.matmul(a2, a2)
    a6 = la.matmul(a4, a2)
    b = _PADE13
    u2 = ew.add_n([ew.multiply(a6, b[13]), ew.multiply(a4, b[11]), ew.multiply(a2, b[9])])
    u = la.matmul(a, ew.add_n([la.matmul(a6, u2), ew.multiply(a6, b[7]), ew.multiply(a4, b[5]),
                               ew.multiply(a2, b[3]), ew.multiply(eye, b[1])]))
    v2 = ew.add_n([ew.multiply(a6, b[12]), ew.multiply(a4, b[10]), ew.multiply(a2, b[8])])
    v = ew.add_n([la.matmul(a6, v2), ew.multiply(a6, b[6]), ew.multiply(a4, b[4]), ew.multiply(a2, b[2]),
                  ew.multiply(eye, b[0])])
    r = _broadcast_solve(ew.subtract(v, u), ew.add(u, v))
    for _ in range(s):
        r = la.matmul(r, r)
    return r


@lifted_on_graph_tensors
def logm(input: Any, name: Any = None) -> Tensor:  # noqa: A002
    """The principal matrix logarithm of complex square matrices (TF accepts only complex64/128;
    no gradient), by eigendecomposition (diagonalizable matrices)."""
    x = _mat(input, "MatrixLogarithm", True)
    if not x.dtype.is_complex:
        raise TypeError(f"MatrixLogarithm: expected a complex64 or complex128 tensor, received {x.dtype.name}.")

    def f(xp: Any, a: Any) -> Any:
        w, v = np.linalg.eig(backend.to_numpy(a))
        out = (v * np.log(w)[..., None, :]) @ np.linalg.inv(v)
        return xp.asarray(out.astype(a.dtype))

    return ArrayFunction("MatrixLogarithm", f)(x)


class Sqrtm(ArrayFunction):
    """The principal square root of real square matrices with a gradient: dA = sylvester(S, dS)."""

    differentiable = True

    def __init__(self) -> None:
        super().__init__("MatrixSquareRoot", _sqrtm_array)

    def backward(self, dy: Tensor) -> tuple:
        # NOTE: S S = A gives S dS + dS S = dA; the adjoint solves S^T G + G S^T = dY, i.e.
        # (I kron S^T + S kron I) vec(G) = vec(dY) (row-major vec), an n^2 system.
        s = self.outputs[0]
        n = s.shape[-1]
        eye = _const(s, np.eye(n, dtype=s.dtype._np))
        st = mT(s)
        k1 = la.einsum("ij,...kl->...ikjl", eye, st)
        k2 = la.einsum("...ij,kl->...ikjl", s, eye)
        big = mv.reshape(ew.add(k1, k2), [*s.shape[:-2], n * n, n * n])
        g = xl.Solve()(big, mv.reshape(dy, [*dy.shape[:-2], n * n, 1]))
        return (mv.reshape(g, list(dy.shape)),)


def _sqrtm_array(xp: Any, a: Any) -> Any:
    host = backend.to_numpy(a)
    w, v = np.linalg.eig(host.astype(np.complex128))
    out = (v * np.sqrt(w)[..., None, :]) @ np.linalg.inv(v)
    return xp.asarray(out.real.astype(a.dtype))


def sqrtm(input: Any, name: Any = None) -> Tensor:  # noqa: A002
    """The principal square root of square matrices (no eigenvalues on the negative real axis),
    differentiable."""
    return Sqrtm()(_mat(input, "MatrixSquareRoot", True))
