"""`keras.ops.linalg`: inverses, determinants, factorizations (Cholesky, QR, SVD, eigen, LU),
solvers, norms and `jvp`; batched over leading axes and differentiable where noted."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.autodiff.tape import GradientTape
from tapeflow.keras.ops.arguments import (
    axis_list,
    cast,
    float_dtype,
    promote,
    to_float,
    to_tensor,
    xp_of,
)
from tapeflow.ops import elementwise as ew
from tapeflow.ops import extra_array
from tapeflow.ops import extra_linalg as xl
from tapeflow.ops import linalg as la
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.ops.extra_array import ArrayFunction
from tapeflow.tensor import Tensor
from tapeflow.tracing.func_graph import lifted_on_graph_tensors


def _square(x: Any, op: str) -> Tensor:
    x = to_float(x)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{op}: expected square matrices (..., n, n), received shape {tuple(x.shape)}.")
    return x


def inv(x: Any) -> Tensor:
    """The inverse of square matrices."""
    return la.Inv()(_square(x, "inv"))


def det(x: Any) -> Tensor:
    """The determinant of square matrices."""
    return xl.Det()(_square(x, "det"))


def slogdet(x: Any) -> tuple:
    """(sign, log|det|) of square matrices; the gradient flows through log|det|."""
    x = _square(x, "slogdet")
    sign = ArrayFunction("SlogdetSign", lambda xp, a: xp.linalg.slogdet(a)[0])(x)
    return sign, xl.LogAbsDet()(x)


def logdet(x: Any) -> Tensor:
    """log(det(x)) of symmetric positive-definite matrices, via Cholesky."""
    lo = cholesky(x)
    from tapeflow.keras.ops.numpy_index import diagonal

    return ew.multiply(rd.reduce_sum(ew.log(diagonal(lo, 0, -2, -1)), -1), 2.0)


def cholesky(x: Any, upper: bool = False) -> Tensor:
    """The Cholesky factor of symmetric positive-definite matrices (lower, or upper: L^T)."""
    x = _square(x, "cholesky")
    lo = xl.Cholesky()(ew.multiply(ew.add(x, xl.mT(x)), 0.5))
    return xl.mT(lo) if upper else lo


def cholesky_inverse(x: Any, upper: bool = False) -> Tensor:
    """The inverse of A from its Cholesky factor (A = L L^T, or U^T U with `upper`)."""
    f = _square(x, "cholesky_inverse")
    lo = xl.mT(f) if upper else f
    linv = la.Inv()(lo)
    return la.MatMul(True, False)(linv, linv)


def eigh(x: Any) -> tuple:
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices."""
    x = _square(x, "eigh")
    return xl.Eigh()(ew.multiply(ew.add(x, xl.mT(x)), 0.5))


@lifted_on_graph_tensors
def eig(x: Any) -> tuple:
    """Eigenvalues and right eigenvectors of general square matrices (complex; CPU only; no
    gradient)."""
    x = _square(x, "eig")
    if xp_of(x) is not np:
        raise ValueError("eig: general eigendecomposition is CPU-only (CuPy has no eig); use eigh "
                         "for symmetric matrices or compute eig under tf.device('/CPU:0').")
    w, v = np.linalg.eig(x._value)
    ctype = "complex128" if x.dtype.name == "float64" else "complex64"
    return Tensor(w.astype(ctype)), Tensor(v.astype(ctype))


def qr(x: Any, mode: str = "reduced") -> tuple:
    """QR factorization: mode 'reduced' (k = min(m, n)) or 'complete'."""
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode must be 'reduced' or 'complete', received {mode!r}.")
    x = to_float(x)
    if x.ndim < 2:
        raise ValueError(f"qr: expected matrices (..., m, n), received shape {tuple(x.shape)}.")
    return xl.Qr(mode)(x)


def svd(x: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """Singular value decomposition (u, s, vh), or the singular values s alone.

    Gradients flow through s, and through u and vh for distinct singular values when the
    factors are thin (`full_matrices=False`, or a square matrix); other cases raise.
    """
    x = to_float(x)
    out = xl.Svd(bool(full_matrices), bool(compute_uv))(x)
    return tuple(out) if compute_uv else out


def solve(a: Any, b: Any) -> Tensor:
    """x with a x = b, for square `a` and `b` (..., n, k) or (..., n)."""
    a, b = promote(a, b, dtype=float_dtype(a, b))
    _square(a, "solve")
    vec = b.ndim == a.ndim - 1
    if vec:
        b = mv.expand_dims(b, -1)
    out = xl.Solve()(a, b)
    return mv.squeeze(out, [-1]) if vec else out


def solve_triangular(a: Any, b: Any, lower: bool = False) -> Tensor:
    """x with a x = b for triangular `a` (only its lower or upper triangle is read)."""
    a, b = promote(a, b, dtype=float_dtype(a, b))
    _square(a, "solve_triangular")
    tri = xl.tril_mask(a) if lower else xl.mT(xl.tril_mask(xl.mT(a)))
    return solve(tri, b)


def pinv(x: Any, rcond: Any = None) -> Tensor:
    """The Moore-Penrose pseudo-inverse (singular values below rcond * max are dropped)."""
    x = to_float(x)
    rc = 1e-15 if rcond is None else float(rcond)
    return xl.Pinv(rc)(x)


def lstsq(a: Any, b: Any, rcond: Any = None) -> Tensor:
    """The least-squares solution x minimizing |a x - b| (a: (m, n), b: (m,) or (m, k))."""
    a, b = promote(a, b, dtype=float_dtype(a, b))
    if a.ndim != 2 or b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise ValueError(f"lstsq: expected a (m, n) and b (m,) or (m, k), received "
                         f"{tuple(a.shape)} and {tuple(b.shape)}.")
    rc = float(np.finfo(a.dtype.as_numpy_dtype).eps * max(a.shape)) if rcond is None else float(rcond)
    p = xl.Pinv(rc)(a)
    vec = b.ndim == 1
    out = la.MatMul()(p, mv.expand_dims(b, -1) if vec else b)
    return mv.squeeze(out, [-1]) if vec else out


def matrix_rank(x: Any, tol: Any = None) -> Tensor:
    """The number of singular values above `tol` (default: max(s) * max(m, n) * eps), int32."""
    x = to_float(x)
    eps = np.finfo(x.dtype.as_numpy_dtype).eps
    big = max(x.shape[-2:])

    def rank(xp: Any, a: Any) -> Any:
        s = xp.linalg.svd(a, compute_uv=False)
        t = s.max(-1, keepdims=True) * big * eps if tol is None else float(tol)
        return (s > t).sum(-1).astype("int32")

    return ArrayFunction("MatrixRank", rank)(x)


@lifted_on_graph_tensors
def lu_factor(x: Any) -> tuple:
    """LU factorization with partial pivoting: (lu, pivots), L unit-lower and U packed in `lu`;
    `pivots` is the row permutation p with a = P^T L U, Keras's convention (no gradient)."""
    x = _square(x, "lu_factor")
    a = backend.to_numpy(x._value).astype(np.float64, copy=True)
    batch = a.reshape(-1, a.shape[-2], a.shape[-1])
    n = batch.shape[-1]
    perms = np.zeros((batch.shape[0], n), dtype=np.int64)
    for m in range(batch.shape[0]):
        lu = batch[m]
        perm = np.arange(n)
        for k in range(n):
            p = k + int(np.argmax(np.abs(lu[k:, k])))
            if p != k:
                lu[[k, p]] = lu[[p, k]]
                perm[[k, p]] = perm[[p, k]]
            if lu[k, k] != 0:
                lu[k + 1:, k] /= lu[k, k]
                lu[k + 1:, k + 1:] -= np.outer(lu[k + 1:, k], lu[k, k + 1:])
        perms[m] = np.argsort(perm)
    xp = xp_of(x)
    lu = batch.reshape(a.shape).astype(x.dtype.as_numpy_dtype)
    piv = perms.reshape(a.shape[:-1]).astype(np.int32)
    return Tensor(backend.asarray(lu, None, xp)), Tensor(backend.asarray(piv, None, xp))


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A002
    """Vector or matrix norm (`np.linalg.norm`): vectors over one axis, matrices over two."""
    x = to_float(x)
    axes = list(range(x.ndim)) if axis is None else axis_list(axis, x.ndim, "norm")
    if axis is None and ord is not None and x.ndim not in (1, 2):
        raise ValueError(f"norm: ord={ord!r} needs a 1-D or 2-D input or an axis, received shape "
                         f"{tuple(x.shape)}.")
    if len(axes) == 2 and (axis is not None or x.ndim == 2):
        return _matrix_norm(x, ord, axes, keepdims)
    if ord is None and axis is None:
        return ew.sqrt(rd.reduce_sum(ew.square(x), axes, keepdims))
    if len(axes) != 1:
        raise ValueError(f"norm: axis must be an int or a pair, received {axis!r}.")
    ax = axes[0]
    absx = ew.abs(x)
    if ord is None or ord == 2:
        return ew.sqrt(rd.reduce_sum(ew.square(x), ax, keepdims))
    if ord == float("inf"):
        return rd.reduce_max(absx, ax, keepdims)
    if ord == float("-inf"):
        return rd.reduce_min(absx, ax, keepdims)
    if ord == 0:
        return rd.reduce_sum(cast(ew.not_equal(x, 0.0), x.dtype.name), ax, keepdims)
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm; vector norms take numbers.")
    p = float(ord)
    return ew.pow(rd.reduce_sum(ew.pow(absx, p), ax, keepdims), 1.0 / p)


def _matrix_norm(x: Tensor, ord: Any, axes: list, keepdims: bool) -> Tensor:  # noqa: A002
    r, c = axes
    if ord in (None, "fro"):
        return ew.sqrt(rd.reduce_sum(ew.square(x), axes, keepdims))
    if ord in (1, -1):
        col = rd.reduce_sum(ew.abs(x), r, True)
        out = (rd.reduce_max if ord == 1 else rd.reduce_min)(col, c, True)
    elif ord in (float("inf"), float("-inf")):
        row = rd.reduce_sum(ew.abs(x), c, True)
        out = (rd.reduce_max if ord > 0 else rd.reduce_min)(row, r, True)
    elif ord in ("nuc", 2, -2):
        rest = [i for i in range(x.ndim) if i not in axes]
        s = xl.Svd(False, False)(mv.transpose(x, rest + axes))
        red = rd.reduce_sum if ord == "nuc" else rd.reduce_max if ord == 2 else rd.reduce_min
        out = red(s, -1)
        if keepdims:
            for a in sorted(axes):
                out = mv.expand_dims(out, a)
        return out
    else:
        raise ValueError(f"norm: invalid ord {ord!r} for a matrix norm; expected None, 'fro', "
                         "'nuc', 1, -1, 2, -2, inf or -inf.")
    return out if keepdims else mv.squeeze(out, sorted(axes))


def jvp(fun: Any, primals: Any, tangents: Any, has_aux: bool = False) -> tuple:
    """Forward-mode product: (fun(*primals), J(primals) @ tangents) [+ aux with `has_aux`].

    Computed as the transpose of a vector-Jacobian product: the VJP is linear in its cotangent,
    so differentiating it with respect to the cotangent along `tangents` gives the JVP.
    """
    from tapeflow import nest

    prim = [to_tensor(p) for p in nest.flatten(primals)]
    tans = [to_tensor(t) for t in nest.flatten(tangents)]
    if len(prim) != len(tans):
        raise ValueError(f"jvp: primals and tangents differ in structure ({len(prim)} vs {len(tans)} leaves).")
    structured = nest.pack_sequence_as(primals, prim)
    with GradientTape(persistent=True) as outer:
        with GradientTape(persistent=True) as inner:
            for p in prim:
                inner.watch(p)
            res = fun(*structured)
        out, aux = (res[0], res[1]) if has_aux else (res, None)
        outs = nest.flatten(out)
        cot = [extra_array.fill_like(o, 0) for o in outs]
        for c in cot:
            outer.watch(c)
        vjps = inner.gradient(outs, prim, output_gradients=cot)
    pairs = [(v, t) for v, t in zip(vjps, tans, strict=True) if v is not None]
    if pairs:
        jv = outer.gradient([v for v, _ in pairs], cot, output_gradients=[t for _, t in pairs])
    else:
        jv = [None] * len(cot)
    jv = [extra_array.fill_like(o, 0) if g is None else g for g, o in zip(jv, outs, strict=True)]
    tangent_out = nest.pack_sequence_as(out, jv)
    return (out, tangent_out, aux) if has_aux else (out, tangent_out)
