"""Linear-algebra primitives for `keras.ops.linalg`: solve, det, slogdet, cholesky, eigh, qr,
svd, pinv (batched over leading axes), each with its reverse-mode gradient."""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function
from tapeflow.ops import elementwise as ew
from tapeflow.ops import linalg as la
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor

get_xp = backend.get_xp


def mT(x: Tensor) -> Tensor:  # noqa: N802 - the math name
    """Swap the last two axes."""
    n = x.ndim
    return mv.transpose(x, list(range(n - 2)) + [n - 1, n - 2])


def _mm(a: Tensor, b: Tensor) -> Tensor:
    return la.MatMul()(a, b)


def _eye_like(x: Tensor, n: int) -> Tensor:
    xp = get_xp(x._value)
    return Tensor(xp.eye(n, dtype=x._value.dtype))


def tril_mask(x: Tensor, k: int = 0) -> Tensor:
    """`x` with the entries above diagonal k zeroed (a constant mask, differentiable)."""
    xp = get_xp(x._value)
    n, m = x.shape[-2], x.shape[-1]
    mask = xp.tri(n, m, k, dtype=bool)
    return ew.Where()(Tensor(mask), x, ew.zeros_like_t(x))


class Solve(Function):
    """X = A^-1 B for square A (..., n, n) and B (..., n, k)."""

    def forward(self, a: Any, b: Any) -> Any:
        return get_xp(a).linalg.solve(a, b)

    def backward(self, dy: Tensor) -> tuple:
        a, _ = self.inputs
        db = Solve()(mT(a), dy)
        na, _ = self.needs_input_grad
        # NOTE: dA = -A^-T dX X^T = -dB X^T.
        da = ew.negative(_mm(db, mT(self.outputs[0]))) if na else None
        return da, db


class Det(Function):
    """det(A); dA = dy det(A) A^-T."""

    def forward(self, a: Any) -> Any:
        return get_xp(a).linalg.det(a)

    def backward(self, dy: Tensor) -> tuple:
        a = self.inputs[0]
        scale = mv.expand_dims(mv.expand_dims(ew.multiply(dy, self.outputs[0]), -1), -1)
        return (ew.multiply(scale, mT(la.Inv()(a))),)


class LogAbsDet(Function):
    """log|det(A)|; dA = dy A^-T (the sign has no gradient)."""

    def forward(self, a: Any) -> Any:
        return get_xp(a).linalg.slogdet(a)[1]

    def backward(self, dy: Tensor) -> tuple:
        a = self.inputs[0]
        return (ew.multiply(mv.expand_dims(mv.expand_dims(dy, -1), -1), mT(la.Inv()(a))),)


class Cholesky(Function):
    """The lower Cholesky factor L of a symmetric positive-definite A (A = L L^T)."""

    def forward(self, a: Any) -> Any:
        xp = get_xp(a)
        try:
            return xp.linalg.cholesky(a)
        except ValueError as e:  # LinAlgError (NumPy's, which CuPy reuses) is a ValueError
            raise ValueError(f"cholesky: the input is not positive definite ({e}).") from None

    def backward(self, dy: Tensor) -> tuple:
        lo = self.outputs[0]
        n = lo.shape[-1]
        # NOTE: Murray (2016): P = Phi(L^T dL) (lower triangle, diagonal halved);
        # dA = L^-T P L^-1, symmetrised.
        p = tril_mask(_mm(mT(lo), dy))
        p = ew.subtract(p, ew.multiply(ew.multiply(p, _eye_like(p, n)), 0.5))
        linv = la.Inv()(lo)
        s = _mm(_mm(mT(linv), p), linv)
        return (ew.multiply(ew.add(s, mT(s)), 0.5),)


class Eigh(Function):
    """Eigenvalues (ascending) and eigenvectors of a symmetric matrix (the lower triangle)."""

    n_outputs = 2

    def forward(self, a: Any) -> Any:
        w, v = get_xp(a).linalg.eigh(a)
        return w, v

    def backward(self, dw: Tensor, dv: Tensor) -> tuple:
        w, v = self.outputs
        n = w.shape[-1]
        xp = get_xp(w._value)
        inner = mv.expand_dims(dw, -1) if dw is not None else None
        grad = ew.multiply(inner, _eye_like(w, n)) if inner is not None else None
        if dv is not None:
            # NOTE: F_ij = 1 / (w_j - w_i) off the diagonal, 0 on it (distinct eigenvalues).
            diff = ew.subtract(mv.expand_dims(w, -2), mv.expand_dims(w, -1))
            off = Tensor(~xp.eye(n, dtype=bool))
            safe = ew.where(off, diff, ew.ones_like_t(diff))
            f = ew.where(off, ew.reciprocal(safe), ew.zeros_like_t(diff))
            term = ew.multiply(f, _mm(mT(v), dv))
            grad = term if grad is None else ew.add(grad, term)
        s = _mm(_mm(v, grad), mT(v))
        return (ew.multiply(ew.add(s, mT(s)), 0.5),)


class Qr(Function):
    """Reduced QR (m >= n for the gradient): A = Q R with Q (m, k), R (k, n)."""

    n_outputs = 2

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def forward(self, a: Any) -> Any:
        xp = get_xp(a)
        q, r = xp.linalg.qr(a, mode=self.mode)
        return q, r

    def backward(self, dq: Tensor, dr: Tensor) -> tuple:
        q, r = self.outputs
        m, n = self.inputs[0].shape[-2:]
        if self.mode != "reduced" or m < n:
            raise ValueError(f"qr: the gradient needs mode='reduced' and rows >= columns; "
                             f"received mode={self.mode!r} and a {m}x{n} matrix.")
        dq = dq if dq is not None else ew.zeros_like_t(q)
        dr = dr if dr is not None else ew.zeros_like_t(r)
        # NOTE: M = R dR^T - dQ^T Q; dA = (dQ + Q copyltu(M)) R^-T (Walter & Lehmann; as TF).
        mm = ew.subtract(_mm(r, mT(dr)), _mm(mT(dq), q))
        lower = tril_mask(mm, -1)
        copyltu = ew.add(ew.add(lower, mT(lower)), ew.multiply(mm, _eye_like(mm, n)))
        b = ew.add(dq, _mm(q, copyltu))
        return (mT(Solve()(r, mT(b))),)


class Svd(Function):
    """Singular values (and vectors) of matrices (batched).

    Gradients: through the singular values always; through u and vh for distinct non-zero
    singular values and thin factors (`full_matrices=False`, or square matrices).
    """

    def __init__(self, full_matrices: bool, compute_uv: bool) -> None:
        self.full_matrices = full_matrices
        self.compute_uv = compute_uv
        self.n_outputs = 3 if compute_uv else 1

    def forward(self, a: Any) -> Any:
        xp = get_xp(a)
        if not self.compute_uv:
            return xp.linalg.svd(a, compute_uv=False)
        u, s, vh = xp.linalg.svd(a, full_matrices=self.full_matrices)
        return u, s, vh

    def backward(self, *dys: Tensor) -> tuple:
        a = self.inputs[0]
        m, n = a.shape[-2:]
        k = min(m, n)
        if self.compute_uv:
            du, ds, dvh = dys
        else:
            (ds,) = dys
            du = dvh = None
        if self.compute_uv and self.full_matrices and m != n and (du is not None or dvh is not None):
            raise ValueError("svd: gradients through u and vh need full_matrices=False for "
                             f"non-square matrices (received a {m}x{n} matrix).")
        if self.compute_uv:
            u, s, vh = self.outputs
        else:
            xp = get_xp(a._value)
            uu, _, vvh = xp.linalg.svd(a._value, full_matrices=False)
            u, s, vh = Tensor(uu), self.outputs[0], Tensor(vvh)
        v = mT(vh)
        # NOTE: ds_i dA = u_i v_i^T ds_i.
        inner = ew.multiply(ds, 1.0) if ds is not None else ew.zeros_like_t(s)
        core = ew.multiply(mv.expand_dims(inner, -1), _eye_like(s, k))
        if du is None and dvh is None:
            return (_mm(_mm(u, core), vh),)
        # NOTE: Townsend (2016): with F_ij = 1 / (s_j^2 - s_i^2) off the diagonal,
        # dA = U [ (F o (U^T dU - dU^T U)) S + diag(ds) + S (F o (V^T dV - dV^T V)) ] V^T
        #      + (I - U U^T) dU S^-1 V^T + U S^-1 dV^T (I - V V^T).
        xp = get_xp(s._value)
        s2 = ew.square(s)
        diff = ew.subtract(mv.expand_dims(s2, -2), mv.expand_dims(s2, -1))
        off = Tensor(~xp.eye(k, dtype=bool))
        f = ew.where(off, ew.reciprocal(ew.where(off, diff, ew.ones_like_t(diff))), ew.zeros_like_t(diff))
        s_row = mv.expand_dims(s, -2)  # scales columns: X S
        s_col = mv.expand_dims(s, -1)  # scales rows: S X
        inv_s = ew.reciprocal(s)
        grad_core = core
        extra_terms = None
        if du is not None:
            j = _mm(mT(u), du)
            grad_core = ew.add(grad_core, ew.multiply(ew.multiply(f, ew.subtract(j, mT(j))), s_row))
            if m > k:
                proj = ew.subtract(_eye_like(u, m), _mm(u, mT(u)))
                term = _mm(_mm(proj, ew.multiply(du, mv.expand_dims(inv_s, -2))), vh)
                extra_terms = term
        if dvh is not None:
            dv = mT(dvh)
            j = _mm(vh, dv)
            grad_core = ew.add(grad_core, ew.multiply(s_col, ew.multiply(f, ew.subtract(j, mT(j)))))
            if n > k:
                proj = ew.subtract(_eye_like(v, n), _mm(v, vh))
                term = _mm(ew.multiply(u, mv.expand_dims(inv_s, -2)), _mm(mT(dv), proj))
                extra_terms = term if extra_terms is None else ew.add(extra_terms, term)
        out = _mm(_mm(u, grad_core), vh)
        return (out if extra_terms is None else ew.add(out, extra_terms),)


class Pinv(Function):
    """Moore-Penrose pseudo-inverse X = A^+ (gradient for constant rank, Golub-Pereyra)."""

    def __init__(self, rcond: float) -> None:
        self.rcond = rcond

    def forward(self, a: Any) -> Any:
        return get_xp(a).linalg.pinv(a, rcond=self.rcond)

    def backward(self, g: Tensor) -> tuple:
        a = self.inputs[0]
        x = self.outputs[0]
        m, n = a.shape[-2:]
        pa = ew.subtract(_eye_like(a, m), _mm(a, x))
        px = ew.subtract(_eye_like(a, n), _mm(x, a))
        xt = mT(x)
        ga = ew.negative(_mm(_mm(xt, g), xt))
        ga = ew.add(ga, _mm(_mm(_mm(pa, mT(g)), x), xt))
        ga = ew.add(ga, _mm(_mm(_mm(xt, x), mT(g)), px))
        return (ga,)
