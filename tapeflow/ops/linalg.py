"""Linear algebra: matmul (batched, transposed), einsum, tensordot, matvec, inv."""

from __future__ import annotations

import string
from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function
from tapeflow.errors import InvalidArgumentError
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor
from tapeflow.tracing.func_graph import lifted_on_unknown_shapes

get_xp = backend.get_xp


def _swap(a: Any) -> Any:
    return a.swapaxes(-1, -2)


class MatMul(Function):
    """a @ b on the last two axes, batch axes broadcast; optional transposes of a and b."""

    fresh_outputs = True

    def __init__(self, transpose_a: bool = False, transpose_b: bool = False) -> None:
        self.transpose_a = transpose_a
        self.transpose_b = transpose_b

    def forward(self, a: Any, b: Any) -> Any:
        if self.transpose_a:
            a = _swap(a)
        if self.transpose_b:
            b = _swap(b)
        return a @ b if a.dtype.itemsize > 2 else backend.matmul(a, b)

    def backward(self, dy: Tensor) -> tuple:
        a, b = self.inputs
        na, nb = self.needs_input_grad
        ta, tb = self.transpose_a, self.transpose_b
        da = db = None
        if not ta and not tb:
            if na:
                da = MatMul(False, True)(dy, b)
            if nb:
                db = MatMul(True, False)(a, dy)
        elif ta and not tb:
            if na:
                da = MatMul(False, True)(b, dy)
            if nb:
                db = MatMul(False, False)(a, dy)
        elif not ta and tb:
            if na:
                da = MatMul(False, False)(dy, b)
            if nb:
                db = MatMul(True, False)(dy, a)
        else:
            if na:
                da = MatMul(True, True)(b, dy)
            if nb:
                db = MatMul(True, True)(dy, a)
        return da, db


def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False,
           adjoint_a: bool = False, adjoint_b: bool = False, name: Any = None, **kwargs: Any) -> Tensor:
    """Matrix product of the last two axes (`tf.matmul`); leading batch axes broadcast.

    Shapes: (..., m, k) @ (..., k, n) -> (..., m, n).
    """
    a, b = ew.binary_operands(a, b, "MatMul")
    if (adjoint_a or adjoint_b) and a.dtype.is_complex:
        from tapeflow.ops.complex import conj

        a = conj(a) if adjoint_a else a
        b = conj(b) if adjoint_b else b
    ta = transpose_a or adjoint_a
    tb = transpose_b or adjoint_b
    av, bv = a._value, b._value
    if av is not None and bv is not None:
        sa, sb = av.shape, bv.shape
        # Fast path: valid ranks and matching inner dimensions.
        if len(sa) >= 2 and len(sb) >= 2 and sa[-2 if ta else -1] == sb[-1 if tb else -2]:
            return MatMul(ta, tb)(a, b)
    elif a.shape.rank is None or b.shape.rank is None:
        return MatMul(ta, tb)(a, b)  # graph tensors of unknown rank: checked when the graph runs
    else:
        sa, sb = tuple(a.shape), tuple(b.shape)
    if len(sa) < 2 or len(sb) < 2:
        raise ValueError(
            f"MatMul: both operands must have rank >= 2, received shapes {sa} and {sb}."
        )
    ka = sa[-2] if ta else sa[-1]
    kb = sb[-1] if tb else sb[-2]
    if ka is not None and kb is not None and ka != kb:
        # Eagerly TF raises InvalidArgumentError (a ValueError here); building a graph, ValueError.
        error = InvalidArgumentError if av is not None and bv is not None else ValueError
        raise error(
            f"MatMul: inner dimensions must match, received shapes {sa} and {sb}"
            f"{' (transpose_a)' if ta else ''}{' (transpose_b)' if tb else ''}: {ka} != {kb}."
        )
    return MatMul(ta, tb)(a, b)


@lifted_on_unknown_shapes
def matvec(a: Any, b: Any, transpose_a: bool = False, adjoint_a: bool = False, name: Any = None) -> Tensor:
    """Matrix-vector product: (..., m, n) x (..., n) -> (..., m)."""
    b = ew.unary_operand(b, "MatVec")
    return mv.squeeze(matmul(a, mv.expand_dims(b, -1), transpose_a=transpose_a, adjoint_a=adjoint_a), [-1])


class Inv(Function):
    def forward(self, a: Any) -> Any:
        return get_xp(a).linalg.inv(a)

    def backward(self, dy: Tensor) -> tuple:
        y = self.outputs[0]
        # NOTE: d(A^-1) = -A^-1 dA A^-1, so dA = -A^-T dY A^-T.
        return (ew.negative(MatMul(True, False)(y, MatMul(False, True)(dy, y))),)


@lifted_on_unknown_shapes
def inv(input: Any, adjoint: bool = False, name: Any = None) -> Tensor:  # noqa: A002
    """Inverse of square matrices (batched over leading axes)."""
    x = ew.unary_operand(input, "MatrixInverse")
    s = tuple(x.shape)
    if len(s) < 2 or s[-1] != s[-2]:
        raise ValueError(f"MatrixInverse: expected square matrices (..., n, n), received shape {s}.")
    y = Inv()(x)
    if not adjoint:
        return y
    if y.dtype.is_complex:
        from tapeflow.ops.complex import conj

        y = conj(y)
    return mv.transpose(y, list(range(len(s) - 2)) + [len(s) - 1, len(s) - 2])


class Einsum(Function):
    """einsum over explicit subscripts "ab,bc->ac" (no ellipsis at this level)."""

    def __init__(self, ins: list, out: str) -> None:
        self.ins = ins
        self.out = out

    def forward(self, *xs: Any) -> Any:
        self.shapes = [x.shape for x in xs]
        eq = ",".join(self.ins) + "->" + self.out
        dt = xs[0].dtype
        if backend.is_half_float(dt) and not backend.is_gpu_array(xs[0]):
            # NOTE: as backend.matmul: 2-byte floats accumulate in float32 and round once.
            wide = [x.astype("float32") for x in xs]
            with get_xp(*xs).errstate(over="ignore"):
                return get_xp(*xs).einsum(eq, *wide, optimize=len(xs) > 2).astype(dt)
        return get_xp(*xs).einsum(eq, *xs, optimize=len(xs) > 2)

    def backward(self, dy: Tensor) -> tuple:
        grads = []
        for i, sub in enumerate(self.ins):
            if not self.needs_input_grad[i]:
                grads.append(None)
                continue
            others = [(s, t) for j, (s, t) in enumerate(zip(self.ins, self.inputs, strict=False)) if j != i]
            available = set(self.out) | {c for s, _ in others for c in s}
            # Letters of this operand that appear nowhere else were summed alone: broadcast back.
            target = "".join(dict.fromkeys(c for c in sub if c in available))
            g = Einsum([self.out] + [s for s, _ in others], target)(dy, *[t for _, t in others])
            g = _expand_to_subscripts(g, target, sub, self.shapes[i])
            grads.append(g)
        return tuple(grads)


def _expand_to_subscripts(g: Tensor, have: str, want: str, shape: tuple) -> Tensor:
    """Turn `g` (unique subscripts `have`) into a tensor of subscripts `want` and `shape`.

    Letters missing from `have` were summed out alone and are broadcast back; repeated letters
    in `want` (a diagonal) get the values on the diagonal and zeros elsewhere.
    """
    first = "".join(dict.fromkeys(want))
    order = [c for c in first if c in have]
    perm = [have.index(c) for c in order]
    if perm != list(range(len(have))):
        g = mv.transpose(g, perm)
    shp = [shape[k] if (c in have and want.index(c) == k) else 1 for k, c in enumerate(want)]
    g = mv.broadcast_to(mv.reshape(g, shp), shape)
    if first == want:
        return g
    xp = get_xp(g._value)
    mask = xp.ones(shape, dtype=bool)
    for c in set(want):
        pos = [k for k, ch in enumerate(want) if ch == c]
        ia = xp.arange(shape[pos[0]]).reshape([-1 if k == pos[0] else 1 for k in range(len(want))])
        for p in pos[1:]:
            ib = xp.arange(shape[p]).reshape([-1 if k == p else 1 for k in range(len(want))])
            mask = mask & (ia == ib)
    return ew.multiply(g, Tensor(mask.astype(g._value.dtype)))


@lifted_on_unknown_shapes
def einsum(equation: str, *inputs: Any, **kwargs: Any) -> Tensor:
    """Einstein summation (`tf.einsum`), e.g. `einsum("bij,bjk->bik", a, b)`; supports `...`."""
    ts = [ew.unary_operand(x, "Einsum") for x in inputs]
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->")
    else:
        lhs = eq
        letters = [c for c in lhs.replace(",", "").replace(".", "")]
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
        if "..." in lhs:
            out = "..." + out
    ins = lhs.split(",")
    if len(ins) != len(ts):
        raise ValueError(f"Einsum: equation {equation!r} names {len(ins)} operands, received {len(ts)}.")
    if any("..." in s for s in ins) or "..." in out:
        used = set(eq)
        free = [c for c in string.ascii_letters if c not in used]
        nell = max(len(t.shape) - (len(s) - 3) for s, t in zip(ins, ts, strict=False) if "..." in s)
        ell = "".join(free[:nell])
        new_ins = []
        for s, t in zip(ins, ts, strict=False):
            if "..." in s:
                k = len(t.shape) - (len(s) - 3)
                s = s.replace("...", ell[nell - k:])
            new_ins.append(s)
        ins = new_ins
        out = out.replace("...", ell)
        # Broadcast size-1 ellipsis dims to the common shape so every letter has one size.
        sizes: dict = {}
        for s, t in zip(ins, ts, strict=False):
            for c, d in zip(s, t.shape, strict=False):
                if c in ell:
                    sizes[c] = max(sizes.get(c, 1), d)
        ts = [mv.broadcast_to(t, [sizes[c] if c in ell else d for c, d in zip(s, t.shape, strict=False)])
              for s, t in zip(ins, ts, strict=False)]
    for s, t in zip(ins, ts, strict=False):
        if len(s) != len(t.shape):
            raise ValueError(
                f"Einsum: operand with subscripts {s!r} needs rank {len(s)}, received shape {tuple(t.shape)}."
            )
    return Einsum(ins, out)(*ts)


def tensordot(a: Any, b: Any, axes: Any, name: Any = None) -> Tensor:
    """Contract `axes` of `a` with `axes` of `b` (an int N = last N of a with first N of b)."""
    a = ew.unary_operand(a, "Tensordot")
    b = ew.unary_operand(b, "Tensordot")
    na, nb = len(a.shape), len(b.shape)
    if isinstance(axes, int):
        ax_a = list(range(na - axes, na))
        ax_b = list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
        ax_a = [x % na for x in ax_a]
        ax_b = [x % nb for x in ax_b]
    letters = iter(string.ascii_letters)
    sa = [next(letters) for _ in range(na)]
    sb = [next(letters) for _ in range(nb)]
    for i, j in zip(ax_a, ax_b, strict=False):
        sb[j] = sa[i]
    out = [c for k, c in enumerate(sa) if k not in ax_a] + [c for k, c in enumerate(sb) if k not in ax_b]
    return einsum("".join(sa) + "," + "".join(sb) + "->" + "".join(out), a, b)


@lifted_on_unknown_shapes
def trace(x: Any, name: Any = None) -> Tensor:
    x = ew.unary_operand(x, "Trace")
    return einsum("...ii->...", x)


@lifted_on_unknown_shapes
def diag_part(input: Any, name: Any = None) -> Tensor:  # noqa: A002
    x = ew.unary_operand(input, "MatrixDiagPart")
    return einsum("...ii->...i", x)
