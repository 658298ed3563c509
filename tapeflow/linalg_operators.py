"""The structured `tf.linalg.LinearOperator*` classes: Diag, Identity, ScaledIdentity, Zeros,
LowerTriangular, BlockDiag, BlockLowerTriangular, Kronecker, LowRankUpdate, Circulant (1-3-D),
Toeplitz, Householder, Permutation and Tridiag.

Each states its shape and dense form; the methods its structure makes cheap (diagonal products,
triangular solves, determinants of products) are overridden, the rest use the base class's dense
fallbacks. Everything is composed of differentiable ops.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.linalg_operator import LinearOperator, _la, _mt, _tensor
from tapeflow.ops import complex as cx
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor, TensorShape, convert_to_tensor


def _params(**kw: Any) -> dict:
    return kw


def _conj(x: Tensor) -> Tensor:
    return cx.conj(x) if x.dtype.is_complex else x


def _broadcast_batch(*shapes: Any) -> tuple:
    from tapeflow.array_extra import broadcast_static_shape

    out = TensorShape(())
    for s in shapes:
        out = broadcast_static_shape(out, TensorShape(tuple(s)))
    return tuple(out)


def _with_batch(x: Tensor, batch: tuple) -> Tensor:
    if not batch:
        return x
    target = _broadcast_batch(batch, tuple(x.shape)[:-2]) + tuple(x.shape)[-2:]
    return x if tuple(x.shape) == target else mv.broadcast_to(x, list(target))


def _eye(n: int, batch: tuple, dtype: Any) -> Tensor:
    from tapeflow.ops.creation import eye

    return eye(int(n), batch_shape=list(batch) or None, dtype=dtype)


def _host_const(a: np.ndarray, like: Tensor) -> Tensor:
    return Tensor(backend.asarray(a, None, backend.get_xp(like._value)))


class LinearOperatorDiag(LinearOperator):
    """diag(d) for d [batch..., N]: products, solves and determinants are elementwise."""

    def __init__(self, diag: Any, is_non_singular: Any = None, is_self_adjoint: Any = None,
                 is_positive_definite: Any = None, is_square: Any = None, name: str = "LinearOperatorDiag") -> None:
        params = _params(diag=diag, is_non_singular=is_non_singular, is_self_adjoint=is_self_adjoint,
                         is_positive_definite=is_positive_definite, is_square=is_square, name=name)
        d = _tensor(diag, name=name)
        if len(d.shape) < 1:
            raise ValueError(f"{name}: diag must have rank >= 1, received shape {tuple(d.shape)}.")
        if not d.dtype.is_complex:
            if is_self_adjoint is False:
                raise ValueError("A real diagonal operator is always self adjoint.")
            is_self_adjoint = True
        if is_square is False:
            raise ValueError("Only square diagonal operators currently supported.")
        self._diag = d
        super().__init__(d.dtype, None, is_non_singular, is_self_adjoint, is_positive_definite, True, name, params)

    @property
    def diag(self) -> Tensor:
        return self._diag

    def _shape(self) -> tuple:
        return tuple(self._diag.shape) + (self._diag.shape[-1],)

    def _matmul(self, x: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        d = _conj(self._diag) if adjoint else self._diag
        return ew.multiply(mv.expand_dims(d, -1), _mt(x) if adjoint_arg else x)

    def _solve(self, rhs: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        d = _conj(self._diag) if adjoint else self._diag
        return ew.divide(_mt(rhs) if adjoint_arg else rhs, mv.expand_dims(d, -1))

    def _determinant(self) -> Tensor:
        return rd.reduce_prod(self._diag, -1)

    def _log_abs_determinant(self) -> Tensor:
        return ew.cast(rd.reduce_sum(ew.log(ew.abs(self._diag)), -1), self.dtype)

    def _diag_part(self) -> Tensor:
        return self._diag

    def _to_dense(self) -> Tensor:
        return _la().diag(self._diag)

    def _eigvals(self) -> Tensor:
        return self._diag

    def cond(self, name: str = "cond") -> Tensor:
        a = ew.abs(self._diag)
        return ew.divide(rd.reduce_max(a, -1), rd.reduce_min(a, -1))

    def _linop_adjoint(self) -> LinearOperator:
        return LinearOperatorDiag(_conj(self._diag), is_non_singular=self.is_non_singular,
                                  is_self_adjoint=self.is_self_adjoint, is_positive_definite=self.is_positive_definite)

    def _linop_inverse(self) -> LinearOperator:
        return LinearOperatorDiag(ew.reciprocal(self._diag), is_non_singular=self.is_non_singular,
                                  is_self_adjoint=self.is_self_adjoint, is_positive_definite=self.is_positive_definite)

    def _linop_cholesky(self) -> LinearOperator:
        return LinearOperatorDiag(ew.sqrt(self._diag), is_non_singular=True, is_self_adjoint=True,
                                  is_positive_definite=True)

    def _compose(self, other: LinearOperator) -> LinearOperator:
        if isinstance(other, LinearOperatorDiag):
            return LinearOperatorDiag(ew.multiply(self._diag, other._diag))
        return super()._compose(other)


class _BaseIdentity(LinearOperator):
    def __init__(self, num_rows: Any, batch_shape: Any, dtype: Any, hints: tuple, name: str, params: dict) -> None:
        n = int(num_rows.numpy()) if isinstance(num_rows, Tensor) else int(num_rows)
        if n < 0:
            raise ValueError(f"Argument num_rows must be non-negative, received {n}.")
        self._num_rows = n
        self._batch = () if batch_shape is None else tuple(int(b) for b in (
            batch_shape.numpy() if isinstance(batch_shape, Tensor) else batch_shape))
        super().__init__(dtype, None, *hints, name, params)

    def _shape(self) -> tuple:
        return self._batch + (self._num_rows, self._num_rows)


class LinearOperatorIdentity(_BaseIdentity):
    """The identity [batch_shape..., N, N]: matmul and solve return their (broadcast) argument."""

    def __init__(self, num_rows: Any, batch_shape: Any = None, dtype: Any = None, is_non_singular: bool = True,
                 is_self_adjoint: bool = True, is_positive_definite: bool = True, is_square: bool = True,
                 assert_proper_shapes: bool = False, name: str = "LinearOperatorIdentity") -> None:
        params = _params(num_rows=num_rows, batch_shape=batch_shape, dtype=dtype, is_non_singular=is_non_singular,
                         is_self_adjoint=is_self_adjoint, is_positive_definite=is_positive_definite,
                         is_square=is_square, assert_proper_shapes=assert_proper_shapes, name=name)
        for value, what in ((is_non_singular, "non-singular"), (is_self_adjoint, "self-adjoint"),
                            (is_positive_definite, "positive definite"), (is_square, "square")):
            if not value:
                raise ValueError(f"An identity operator is always {what}.")
        super().__init__(num_rows, batch_shape, dtype or _dt.float32, (True, True, True, True), name, params)

    def _matmul(self, x: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        return _with_batch(_mt(x) if adjoint_arg else x, self._batch)

    _solve = _matmul

    def _determinant(self) -> Tensor:
        return mv.broadcast_to(convert_to_tensor(1, dtype=self.dtype), list(self._batch))

    def _log_abs_determinant(self) -> Tensor:
        return mv.broadcast_to(convert_to_tensor(0, dtype=self.dtype), list(self._batch))

    def _diag_part(self) -> Tensor:
        from tapeflow.ops.creation import ones

        return ones(list(self._batch) + [self._num_rows], dtype=self.dtype)

    _eigvals = _diag_part

    def _to_dense(self) -> Tensor:
        return _eye(self._num_rows, self._batch, self.dtype)

    def add_to_tensor(self, x: Any, name: str = "add_to_tensor") -> Tensor:
        return ew.add(_tensor(x, self.dtype), self.to_dense())

    def cond(self, name: str = "cond") -> Tensor:
        return mv.broadcast_to(convert_to_tensor(1, dtype=self.dtype), list(self._batch))

    def _linop_inverse(self) -> LinearOperator:
        return self

    def _linop_cholesky(self) -> LinearOperator:
        return self


class LinearOperatorScaledIdentity(_BaseIdentity):
    """multiplier * I for a multiplier of shape [batch...] (the batch shape)."""

    def __init__(self, num_rows: Any, multiplier: Any, is_non_singular: Any = None, is_self_adjoint: Any = None,
                 is_positive_definite: Any = None, is_square: bool = True, assert_proper_shapes: bool = False,
                 name: str = "LinearOperatorScaledIdentity") -> None:
        params = _params(num_rows=num_rows, multiplier=multiplier, is_non_singular=is_non_singular,
                         is_self_adjoint=is_self_adjoint, is_positive_definite=is_positive_definite,
                         is_square=is_square, assert_proper_shapes=assert_proper_shapes, name=name)
        m = _tensor(multiplier, name=name)
        if not is_square:
            raise ValueError("A ScaledIdentity operator is always square.")
        if not m.dtype.is_complex:
            if is_self_adjoint is False:
                raise ValueError("A real diagonal operator is always self adjoint.")
            is_self_adjoint = True
        self._multiplier = m
        super().__init__(num_rows, tuple(m.shape), m.dtype, (is_non_singular, is_self_adjoint, is_positive_definite,
                                                             True), name, params)

    @property
    def multiplier(self) -> Tensor:
        return self._multiplier

    def _scale(self, adjoint: bool) -> Tensor:
        m = _conj(self._multiplier) if adjoint else self._multiplier
        return mv.expand_dims(mv.expand_dims(m, -1), -1)

    def _matmul(self, x: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        return ew.multiply(self._scale(adjoint), _mt(x) if adjoint_arg else x)

    def _solve(self, rhs: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        return ew.divide(_mt(rhs) if adjoint_arg else rhs, self._scale(adjoint))

    def _determinant(self) -> Tensor:
        return ew.pow(self._multiplier, convert_to_tensor(self._num_rows, dtype=self.dtype))

    def _log_abs_determinant(self) -> Tensor:
        return ew.cast(ew.multiply(ew.log(ew.abs(self._multiplier)), float(self._num_rows)), self.dtype)

    def _diag_part(self) -> Tensor:
        from tapeflow.ops.creation import ones

        return ew.multiply(mv.expand_dims(self._multiplier, -1), ones([self._num_rows], dtype=self.dtype))

    _eigvals = _diag_part

    def _to_dense(self) -> Tensor:
        return ew.multiply(self._scale(False), _eye(self._num_rows, (), self.dtype))

    def cond(self, name: str = "cond") -> Tensor:
        return ew.divide(ew.abs(self._multiplier), ew.abs(self._multiplier))

    def _linop_inverse(self) -> LinearOperator:
        return LinearOperatorScaledIdentity(self._num_rows, ew.reciprocal(self._multiplier),
                                            is_non_singular=self.is_non_singular,
                                            is_self_adjoint=self.is_self_adjoint,
                                            is_positive_definite=self.is_positive_definite)

    def _linop_adjoint(self) -> LinearOperator:
        return LinearOperatorScaledIdentity(self._num_rows, _conj(self._multiplier),
                                            is_non_singular=self.is_non_singular,
                                            is_positive_definite=self.is_positive_definite)

    def _linop_cholesky(self) -> LinearOperator:
        return LinearOperatorScaledIdentity(self._num_rows, ew.sqrt(self._multiplier), is_non_singular=True,
                                            is_self_adjoint=True, is_positive_definite=True)


class LinearOperatorZeros(LinearOperator):
    """The zero matrix [batch_shape..., num_rows, num_columns] (singular; solve is refused)."""

    def __init__(self, num_rows: Any, num_columns: Any = None, batch_shape: Any = None, dtype: Any = None,
                 is_non_singular: bool = False, is_self_adjoint: bool = True, is_positive_definite: bool = False,
                 is_square: bool = True, assert_proper_shapes: bool = False, name: str = "LinearOperatorZeros") -> None:
        params = _params(num_rows=num_rows, num_columns=num_columns, batch_shape=batch_shape, dtype=dtype,
                         is_non_singular=is_non_singular, is_self_adjoint=is_self_adjoint,
                         is_positive_definite=is_positive_definite, is_square=is_square,
                         assert_proper_shapes=assert_proper_shapes, name=name)
        if is_non_singular:
            raise ValueError("A Zeros operator is always singular.")
        if is_positive_definite:
            raise ValueError("A Zeros operator is always not positive-definite.")
        rows = int(num_rows)
        cols = rows if num_columns is None else int(num_columns)
        if is_square and rows != cols:
            raise ValueError(f"LinearOperatorZeros initialized as is_square=True, but got num_rows({rows}) != "
                             f"num_columns({cols})")
        self._rows, self._cols = rows, cols
        self._batch = () if batch_shape is None else tuple(int(b) for b in batch_shape)
        super().__init__(dtype or _dt.float32, None, False, is_self_adjoint, False, is_square, name, params)

    def _shape(self) -> tuple:
        return self._batch + (self._rows, self._cols)

    def _matmul(self, x: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        from tapeflow.ops.creation import zeros

        x = _mt(x) if adjoint_arg else x
        batch = _broadcast_batch(self._batch, tuple(x.shape)[:-2])
        return zeros(list(batch) + [self._cols if adjoint else self._rows, int(x.shape[-1])], dtype=self.dtype)

    def _determinant(self) -> Tensor:
        from tapeflow.ops.creation import zeros

        return zeros(list(self._batch), dtype=self.dtype)

    def _log_abs_determinant(self) -> Tensor:
        from tapeflow.ops.creation import fill

        return fill(list(self._batch), convert_to_tensor(-math.inf, dtype=self.dtype))

    def _diag_part(self) -> Tensor:
        from tapeflow.ops.creation import zeros

        return zeros(list(self._batch) + [min(self._rows, self._cols)], dtype=self.dtype)

    def _to_dense(self) -> Tensor:
        from tapeflow.ops.creation import zeros

        return zeros(list(self._shape()), dtype=self.dtype)

    def add_to_tensor(self, x: Any, name: str = "add_to_tensor") -> Tensor:
        return ew.add(_tensor(x, self.dtype), self.to_dense())


class LinearOperatorLowerTriangular(LinearOperator):
    """The lower triangle of `tril` [batch..., N, N] (the upper part is ignored): triangular solves,
    determinant from the diagonal."""

    def __init__(self, tril: Any, is_non_singular: Any = None, is_self_adjoint: Any = None,
                 is_positive_definite: Any = None, is_square: Any = None,
                 name: str = "LinearOperatorLowerTriangular") -> None:
        params = _params(tril=tril, is_non_singular=is_non_singular, is_self_adjoint=is_self_adjoint,
                         is_positive_definite=is_positive_definite, is_square=is_square, name=name)
        t = _tensor(tril, name=name)
        if len(t.shape) < 2 or t.shape[-1] != t.shape[-2]:
            raise ValueError(f"{name}: tril must be square matrices [..., N, N], received shape {tuple(t.shape)}.")
        if is_square is False:
            raise ValueError("Only square lower triangular operators supported at this time.")
        self._tril = _la().band_part(t, -1, 0)
        super().__init__(t.dtype, None, is_non_singular, is_self_adjoint, is_positive_definite, True, name, params)

    def _shape(self) -> tuple:
        return tuple(self._tril.shape)

    def _to_dense(self) -> Tensor:
        return self._tril

    def _solve(self, rhs: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        rhs = _mt(rhs) if adjoint_arg else rhs
        batch = _broadcast_batch(tuple(self._tril.shape)[:-2], tuple(rhs.shape)[:-2])
        return _la().triangular_solve(_with_batch(self._tril, batch), _with_batch(rhs, batch), lower=True,
                                      adjoint=adjoint)

    def _determinant(self) -> Tensor:
        return rd.reduce_prod(_la().diag_part(self._tril), -1)

    def _log_abs_determinant(self) -> Tensor:
        return ew.cast(rd.reduce_sum(ew.log(ew.abs(_la().diag_part(self._tril))), -1), self.dtype)


def _check_same_dtype(operators: list, what: str) -> Any:
    if not operators:
        raise ValueError(f"{what}: expected a non-empty list of operators. Found: []")
    dtypes = {op.dtype for op in operators}
    if len(dtypes) != 1:
        raise TypeError(f"{what}: expected all operators to have the same dtype, found "
                        f"{sorted(d.name for d in dtypes)}.")
    return operators[0].dtype


def _zeros(rows: int, cols: int, batch: tuple, dtype: Any) -> Tensor:
    from tapeflow.ops.creation import zeros

    return zeros(list(batch) + [rows, cols], dtype=dtype)


class LinearOperatorBlockDiag(LinearOperator):
    """A block-diagonal operator with the given `operators` on its diagonal."""

    def __init__(self, operators: Any, is_non_singular: Any = None, is_self_adjoint: Any = None,
                 is_positive_definite: Any = None, is_square: Any = True, name: Any = None) -> None:
        ops = list(operators)
        params = _params(operators=ops, is_non_singular=is_non_singular, is_self_adjoint=is_self_adjoint,
                         is_positive_definite=is_positive_definite, is_square=is_square, name=name)
        dtype = _check_same_dtype(ops, "LinearOperatorBlockDiag")
        if all(op.is_non_singular for op in ops):
            if is_non_singular is False:
                raise ValueError("The direct sum of non-singular operators is always non-singular.")
            is_non_singular = True
        if all(op.is_self_adjoint for op in ops):
            if is_self_adjoint is False:
                raise ValueError("The direct sum of self-adjoint operators is always self-adjoint.")
            is_self_adjoint = True
        if all(op.is_positive_definite for op in ops):
            if is_positive_definite is False:
                raise ValueError("The direct sum of positive definite operators is always positive definite.")
            is_positive_definite = True
        self._operators = ops
        square = None if is_square is None else bool(is_square and all(op.is_square for op in ops))
        super().__init__(dtype, None, is_non_singular, is_self_adjoint, is_positive_definite, square,
                         name or "_ds_".join(op.name for op in ops), params)

    @property
    def operators(self) -> list:
        return list(self._operators)

    def _batch(self) -> tuple:
        return _broadcast_batch(*[tuple(op.batch_shape) for op in self._operators])

    def _shape(self) -> tuple:
        return self._batch() + (sum(op.range_dimension for op in self._operators),
                                sum(op.domain_dimension for op in self._operators))

    def _blockwise(self, x: Tensor, adjoint: bool, adjoint_arg: bool, solve: bool) -> Tensor:
        x = _mt(x) if adjoint_arg else x
        sizes = [op.range_dimension if adjoint != solve else op.domain_dimension for op in self._operators]
        parts = mv.split(x, sizes, axis=-2)
        outs = [(op._solve if solve else op._matmul)(p, adjoint) for op, p in zip(self._operators, parts, strict=True)]
        batch = _broadcast_batch(*[tuple(o.shape)[:-2] for o in outs])
        return mv.concat([_with_batch(o, batch) for o in outs], -2)

    def _matmul(self, x: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        return self._blockwise(x, adjoint, adjoint_arg, False)

    def _solve(self, rhs: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        return self._blockwise(rhs, adjoint, adjoint_arg, True)

    def _determinant(self) -> Tensor:
        out = self._operators[0]._determinant()
        for op in self._operators[1:]:
            out = ew.multiply(out, op._determinant())
        return out

    def _log_abs_determinant(self) -> Tensor:
        out = self._operators[0]._log_abs_determinant()
        for op in self._operators[1:]:
            out = ew.add(out, op._log_abs_determinant())
        return out

    def _to_dense(self) -> Tensor:
        batch, dtype = self._batch(), self.dtype
        total = self.domain_dimension
        rows, start = [], 0
        for op in self._operators:
            n = op.domain_dimension
            block = _with_batch(op.to_dense(), batch)
            pieces = ([_zeros(op.range_dimension, start, batch, dtype)] if start else []) + [block] + (
                [_zeros(op.range_dimension, total - start - n, batch, dtype)] if total - start - n else [])
            rows.append(mv.concat(pieces, -1))
            start += n
        return mv.concat(rows, -2)


class LinearOperatorBlockLowerTriangular(LinearOperator):
    """A block lower-triangular operator: `operators[i]` is the list of the i + 1 blocks of row i
    (the last one on the diagonal, square)."""

    def __init__(self, operators: Any, is_non_singular: Any = None, is_self_adjoint: Any = None,
                 is_positive_definite: Any = None, is_square: Any = None,
                 name: str = "LinearOperatorBlockLowerTriangular") -> None:
        rows = [list(r) for r in operators]
        params = _params(operators=rows, is_non_singular=is_non_singular, is_self_adjoint=is_self_adjoint,
                         is_positive_definite=is_positive_definite, is_square=is_square, name=name)
        for i, r in enumerate(rows):
            if len(r) != i + 1:
                raise ValueError(f"Argument `operators[{i}]` must contain `{i + 1}` blocks. Received: {len(r)} blocks.")
        dtype = _check_same_dtype([op for r in rows for op in r], name)
        diag = [r[-1] for r in rows]
        if all(op.is_non_singular for op in diag):
            is_non_singular = True if is_non_singular is None else is_non_singular
        self._rows = rows
        super().__init__(dtype, None, is_non_singular, is_self_adjoint, is_positive_definite, True, name, params)

    @property
    def operators(self) -> list:
        return [list(r) for r in self._rows]

    def _batch(self) -> tuple:
        return _broadcast_batch(*[tuple(op.batch_shape) for r in self._rows for op in r])

    def _shape(self) -> tuple:
        n = sum(r[-1].domain_dimension for r in self._rows)
        return self._batch() + (n, n)

    def _determinant(self) -> Tensor:
        out = self._rows[0][-1]._determinant()
        for r in self._rows[1:]:
            out = ew.multiply(out, r[-1]._determinant())
        return out

    def _log_abs_determinant(self) -> Tensor:
        out = self._rows[0][-1]._log_abs_determinant()
        for r in self._rows[1:]:
            out = ew.add(out, r[-1]._log_abs_determinant())
        return out

    def _to_dense(self) -> Tensor:
        batch, dtype = self._batch(), self.dtype
        sizes = [r[-1].domain_dimension for r in self._rows]
        total = sum(sizes)
        out_rows = []
        for i, r in enumerate(self._rows):
            pieces = [_with_batch(op.to_dense(), batch) for op in r]
            filled = sum(sizes[:i + 1])
            if total - filled:
                pieces.append(_zeros(sizes[i], total - filled, batch, dtype))
            out_rows.append(mv.concat(pieces, -1))
        return mv.concat(out_rows, -2)


def _kron(a: Tensor, b: Tensor) -> Tensor:
    m, n = int(a.shape[-2]), int(a.shape[-1])
    p, q = int(b.shape[-2]), int(b.shape[-1])
    prod = ew.multiply(mv.expand_dims(mv.expand_dims(a, -1), -3), mv.expand_dims(mv.expand_dims(b, -3), -2))
    # prod: [..., m, p, n, q]
    batch = list(prod.shape)[:-4]
    return mv.reshape(prod, batch + [m * p, n * q])


class LinearOperatorKronecker(LinearOperator):
    """The Kronecker product A1 (x) A2 (x) ... of `operators`."""

    def __init__(self, operators: Any, is_non_singular: Any = None, is_self_adjoint: Any = None,
                 is_positive_definite: Any = None, is_square: Any = None, name: Any = None) -> None:
        ops = list(operators)
        params = _params(operators=ops, is_non_singular=is_non_singular, is_self_adjoint=is_self_adjoint,
                         is_positive_definite=is_positive_definite, is_square=is_square, name=name)
        dtype = _check_same_dtype(ops, "LinearOperatorKronecker")
        if all(op.is_non_singular for op in ops):
            is_non_singular = True if is_non_singular is None else is_non_singular
        if all(op.is_self_adjoint for op in ops):
            is_self_adjoint = True if is_self_adjoint is None else is_self_adjoint
        if all(op.is_positive_definite for op in ops):
            is_positive_definite = True if is_positive_definite is None else is_positive_definite
        self._operators = ops
        super().__init__(dtype, None, is_non_singular, is_self_adjoint, is_positive_definite, is_square,
                         name or "_x_".join(op.name for op in ops), params)

    @property
    def operators(self) -> list:
        return list(self._operators)

    def _shape(self) -> tuple:
        batch = _broadcast_batch(*[tuple(op.batch_shape) for op in self._operators])
        return batch + (math.prod(op.range_dimension for op in self._operators),
                        math.prod(op.domain_dimension for op in self._operators))

    def _determinant(self) -> Tensor:
        if not all(op.is_square is not False for op in self._operators):
            return super()._determinant()
        n = self.domain_dimension
        out = None
        for op in self._operators:
            term = ew.pow(op._determinant(), convert_to_tensor(n // op.domain_dimension, dtype=self.dtype))
            out = term if out is None else ew.multiply(out, term)
        return out

    def _log_abs_determinant(self) -> Tensor:
        if not all(op.is_square is not False for op in self._operators):
            return super()._log_abs_determinant()
        n = self.domain_dimension
        out = None
        for op in self._operators:
            term = ew.multiply(op._log_abs_determinant(), float(n // op.domain_dimension))
            out = term if out is None else ew.add(out, term)
        return out

    def _to_dense(self) -> Tensor:
        out = self._operators[0].to_dense()
        for op in self._operators[1:]:
            other = op.to_dense()
            batch = _broadcast_batch(tuple(out.shape)[:-2], tuple(other.shape)[:-2])
            out = _kron(_with_batch(out, batch), _with_batch(other, batch))
        return out


class LinearOperatorLowRankUpdate(LinearOperator):
    """base_operator + U diag(diag_update) V^H (V = U when not given; diag_update = 1 when not given)."""

    def __init__(self, base_operator: LinearOperator, u: Any, diag_update: Any = None, v: Any = None,
                 is_diag_update_positive: Any = None, is_non_singular: Any = None, is_self_adjoint: Any = None,
                 is_positive_definite: Any = None, is_square: Any = None,
                 name: str = "LinearOperatorLowRankUpdate") -> None:
        params = _params(base_operator=base_operator, u=u, diag_update=diag_update, v=v,
                         is_diag_update_positive=is_diag_update_positive, is_non_singular=is_non_singular,
                         is_self_adjoint=is_self_adjoint, is_positive_definite=is_positive_definite,
                         is_square=is_square, name=name)
        dtype = base_operator.dtype
        self._base = base_operator
        self._u = _tensor(u, dtype, name)
        self._v = self._u if v is None else _tensor(v, dtype, name)
        self._diag_update = None if diag_update is None else _tensor(diag_update, dtype, name)
        self._is_diag_update_positive = True if diag_update is None else is_diag_update_positive
        if self._u.shape[-2] != base_operator.range_dimension or self._v.shape[-2] != base_operator.domain_dimension:
            raise ValueError(f"{name}: u must be [..., {base_operator.range_dimension}, K] and v "
                             f"[..., {base_operator.domain_dimension}, K], received {tuple(self._u.shape)} and "
                             f"{tuple(self._v.shape)}.")
        if diag_update is None and is_diag_update_positive is False:
            raise ValueError("Default diagonal is the identity, which is positive.  However, user set "
                             "'is_diag_update_positive' to False.")
        if v is None and base_operator.is_self_adjoint and not dtype.is_complex:
            if is_self_adjoint is False:
                raise ValueError("A = L + UDU^H, with L self-adjoint and D real diagonal, is self-adjoint.")
            is_self_adjoint = True
        if base_operator.is_positive_definite and base_operator.is_self_adjoint and self._is_diag_update_positive \
                and v is None:
            if is_positive_definite is False or is_self_adjoint is False or is_non_singular is False:
                raise ValueError("Arguments imply this is self-adjoint positive-definite operator.")
            is_positive_definite = is_self_adjoint = True
        super().__init__(dtype, None, is_non_singular, is_self_adjoint, is_positive_definite, is_square, name, params)

    @property
    def base_operator(self) -> LinearOperator:
        return self._base

    @property
    def u(self) -> Tensor:
        return self._u

    @property
    def v(self) -> Tensor:
        return self._v

    @property
    def diag_update(self) -> Any:
        return self._diag_update

    @property
    def is_diag_update_positive(self) -> Any:
        return self._is_diag_update_positive

    def _shape(self) -> tuple:
        batch = _broadcast_batch(tuple(self._base.batch_shape), tuple(self._u.shape)[:-2], tuple(self._v.shape)[:-2])
        return batch + (self._base.range_dimension, self._base.domain_dimension)

    def _to_dense(self) -> Tensor:
        u = self._u if self._diag_update is None else ew.multiply(self._u, mv.expand_dims(self._diag_update, -2))
        return ew.add(self._base.to_dense(), _la().matmul(u, self._v, adjoint_b=True))


class _CirculantBase(LinearOperator):
    """Block circulant operators from a `spectrum` over the last `rank` axes: A x = IFFT(spectrum * FFT(x))."""

    _rank = 1

    def __init__(self, spectrum: Any, input_output_dtype: Any, is_non_singular: Any, is_self_adjoint: Any,
                 is_positive_definite: Any, is_square: Any, name: str, params: dict) -> None:
        s = _tensor(spectrum, name=name)
        if not (s.dtype.is_floating or s.dtype.is_complex):
            raise TypeError(f"{name}: spectrum must be float or complex, received {s.dtype.name}.")
        if len(s.shape) < self._rank:
            raise ValueError(f"{name}: spectrum must have rank >= {self._rank}, received shape {tuple(s.shape)}.")
        if is_square is False:
            raise ValueError("A circulant operator is always square.")
        if not s.dtype.is_complex:
            if is_self_adjoint is False:
                raise ValueError("A real spectrum always corresponds to a self-adjoint operator.")
            is_self_adjoint = True
        self._spectrum = s
        self._block = tuple(int(d) for d in s.shape[len(s.shape) - self._rank:])
        super().__init__(_dt.as_dtype(input_output_dtype), None, is_non_singular, is_self_adjoint,
                         is_positive_definite, True, name, params)

    @property
    def spectrum(self) -> Tensor:
        return self._spectrum

    @property
    def block_shape(self) -> TensorShape:
        return TensorShape(self._block)

    @property
    def block_depth(self) -> int:
        return self._rank

    def _complex_spectrum(self) -> Tensor:
        s = self._spectrum
        return s if s.dtype.is_complex else ew.cast(s, _dt.complex128 if s.dtype == _dt.float64 else _dt.complex64)

    def convolution_kernel(self, name: str = "convolution_kernel") -> Tensor:
        """IFFT of the spectrum: the kernel the operator convolves with (cyclically)."""
        from tapeflow import signal

        ifft = {1: signal.ifft, 2: signal.ifft2d, 3: signal.ifft3d}[self._rank]
        h = ifft(self._complex_spectrum())
        return h if self.dtype.is_complex else ew.cast(cx.real(h), self.dtype)

    def _shape(self) -> tuple:
        n = math.prod(self._block)
        return tuple(self._spectrum.shape)[:len(self._spectrum.shape) - self._rank] + (n, n)

    def _to_dense(self) -> Tensor:
        h = self.convolution_kernel()
        n = math.prod(self._block)
        rows = np.array(np.unravel_index(np.arange(n), self._block))              # [rank, n]
        diff = (rows[:, :, None] - rows[:, None, :]) % np.asarray(self._block)[:, None, None]
        flat = np.ravel_multi_index(tuple(diff), self._block).astype(np.int64)     # [n, n]
        batch = list(h.shape)[:len(h.shape) - self._rank]
        h_flat = mv.reshape(h, batch + [n])
        return mv.gather(h_flat, _host_const(flat, h_flat), axis=len(batch))

    def _determinant(self) -> Tensor:
        axes = list(range(-self._rank, 0))
        d = rd.reduce_prod(self._complex_spectrum(), axes)
        return d if self.dtype.is_complex else ew.cast(cx.real(d), self.dtype)

    def _log_abs_determinant(self) -> Tensor:
        axes = list(range(-self._rank, 0))
        return ew.cast(rd.reduce_sum(ew.log(ew.abs(self._spectrum)), axes), self.dtype)


def _circulant_init(cls: type, name: str) -> Any:
    def __init__(self: Any, spectrum: Any, input_output_dtype: Any = _dt.complex64, is_non_singular: Any = None,
                 is_self_adjoint: Any = None, is_positive_definite: Any = None, is_square: bool = True,
                 name: str = name) -> None:
        params = _params(spectrum=spectrum, input_output_dtype=input_output_dtype, is_non_singular=is_non_singular,
                         is_self_adjoint=is_self_adjoint, is_positive_definite=is_positive_definite,
                         is_square=is_square, name=name)
        _CirculantBase.__init__(self, spectrum, input_output_dtype, is_non_singular, is_self_adjoint,
                                is_positive_definite, is_square, name, params)

    return __init__


class LinearOperatorCirculant(_CirculantBase):
    """A circulant N x N operator given its `spectrum` [batch..., N] (the DFT of its first column)."""

    _rank = 1
    __init__ = _circulant_init(_CirculantBase, "LinearOperatorCirculant")


class LinearOperatorCirculant2D(_CirculantBase):
    """A block-circulant operator with circulant blocks, from a spectrum [batch..., N0, N1]."""

    _rank = 2
    __init__ = _circulant_init(_CirculantBase, "LinearOperatorCirculant2D")


class LinearOperatorCirculant3D(_CirculantBase):
    """A doubly nested block-circulant operator, from a spectrum [batch..., N0, N1, N2]."""

    _rank = 3
    __init__ = _circulant_init(_CirculantBase, "LinearOperatorCirculant3D")


class LinearOperatorToeplitz(LinearOperator):
    """The Toeplitz matrix with first column `col` and first row `row` ([batch..., N]; row[0] is
    ignored, col[0] is the diagonal)."""

    def __init__(self, col: Any, row: Any, is_non_singular: Any = None, is_self_adjoint: Any = None,
                 is_positive_definite: Any = None, is_square: Any = None, name: str = "LinearOperatorToeplitz") -> None:
        params = _params(col=col, row=row, is_non_singular=is_non_singular, is_self_adjoint=is_self_adjoint,
                         is_positive_definite=is_positive_definite, is_square=is_square, name=name)
        c = _tensor(col, name=name)
        r = _tensor(row, c.dtype, name)
        if c.shape[-1] != r.shape[-1]:
            raise ValueError(f"{name}: col and row must have the same last dimension, received shapes "
                             f"{tuple(c.shape)} and {tuple(r.shape)}.")
        self._col, self._row = c, r
        super().__init__(c.dtype, None, is_non_singular, is_self_adjoint, is_positive_definite, True, name, params)

    @property
    def col(self) -> Tensor:
        return self._col

    @property
    def row(self) -> Tensor:
        return self._row

    def _shape(self) -> tuple:
        n = int(self._col.shape[-1])
        return _broadcast_batch(tuple(self._col.shape)[:-1], tuple(self._row.shape)[:-1]) + (n, n)

    def _to_dense(self) -> Tensor:
        n = int(self._col.shape[-1])
        batch = list(self._shape()[:-2])
        col = mv.broadcast_to(self._col, batch + [n])
        row = mv.broadcast_to(self._row, batch + [n])
        values = mv.concat([mv.reverse(row[..., 1:], [-1]), col], -1)         # [..., 2n - 1]
        idx = (n - 1 + np.arange(n)[:, None] - np.arange(n)[None, :]).astype(np.int64)
        return mv.gather(values, _host_const(idx, values), axis=len(batch))


class LinearOperatorHouseholder(LinearOperator):
    """The reflection I - 2 v v^H / (v^H v) through the hyperplane orthogonal to `reflection_axis` v."""

    def __init__(self, reflection_axis: Any, is_non_singular: Any = None, is_self_adjoint: Any = None,
                 is_positive_definite: Any = None, is_square: Any = None,
                 name: str = "LinearOperatorHouseholder") -> None:
        params = _params(reflection_axis=reflection_axis, is_non_singular=is_non_singular,
                         is_self_adjoint=is_self_adjoint, is_positive_definite=is_positive_definite,
                         is_square=is_square, name=name)
        if is_self_adjoint is False:
            raise ValueError("A Householder operator is always self adjoint.")
        if is_non_singular is False:
            raise ValueError("A Householder operator is always non-singular.")
        if is_square is False:
            raise ValueError("A Householder operator is always square.")
        if is_positive_definite:
            raise ValueError("A Householder operator is never positive definite.")
        is_positive_definite = False
        self._axis = _tensor(reflection_axis, name=name)
        super().__init__(self._axis.dtype, None, is_non_singular, True, is_positive_definite, True, name, params)

    @property
    def reflection_axis(self) -> Tensor:
        return self._axis

    def _shape(self) -> tuple:
        n = int(self._axis.shape[-1])
        return tuple(self._axis.shape)[:-1] + (n, n)

    def _to_dense(self) -> Tensor:
        v = self._axis
        n = int(v.shape[-1])
        norm2 = rd.reduce_sum(ew.multiply(_conj(v), v), -1, keepdims=True)
        outer = ew.multiply(mv.expand_dims(v, -1), mv.expand_dims(_conj(v), -2))
        scaled = ew.divide(ew.multiply(outer, 2.0), mv.expand_dims(norm2, -1))
        return ew.subtract(_eye(n, (), self.dtype), scaled)

    def _determinant(self) -> Tensor:
        return mv.broadcast_to(convert_to_tensor(-1, dtype=self.dtype), list(self.batch_shape))

    def _log_abs_determinant(self) -> Tensor:
        return mv.broadcast_to(convert_to_tensor(0, dtype=self.dtype), list(self.batch_shape))

    def _solve(self, rhs: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        return self._matmul(rhs, adjoint, adjoint_arg)

    def _linop_inverse(self) -> LinearOperator:
        return self


class LinearOperatorPermutation(LinearOperator):
    """The permutation matrix with A[i, perm[i]] = 1, so (A x)[i] = x[perm[i]]."""

    def __init__(self, perm: Any, dtype: Any = _dt.float32, is_non_singular: Any = None, is_self_adjoint: Any = None,
                 is_positive_definite: Any = None, is_square: Any = None,
                 name: str = "LinearOperatorPermutation") -> None:
        params = _params(perm=perm, dtype=dtype, is_non_singular=is_non_singular, is_self_adjoint=is_self_adjoint,
                         is_positive_definite=is_positive_definite, is_square=is_square, name=name)
        p = _tensor(perm, name=name)
        if not p.dtype.is_integer:
            raise TypeError(f"{name}: perm must be integers, received {p.dtype.name}.")
        host = backend.to_numpy(p._value)
        if not (np.sort(host, -1) == np.arange(host.shape[-1])).all():
            raise ValueError(f"{name}: perm must be a permutation of [0, {host.shape[-1]}), received {host.tolist()}.")
        if is_non_singular is False:
            raise ValueError("A Permutation operator is always non-singular.")
        if is_square is False:
            raise ValueError("A Permutation operator is always square.")
        self._perm = p
        super().__init__(dtype, None, is_non_singular, is_self_adjoint, is_positive_definite, True, name, params)

    @property
    def perm(self) -> Tensor:
        return self._perm

    def _shape(self) -> tuple:
        n = int(self._perm.shape[-1])
        return tuple(self._perm.shape)[:-1] + (n, n)

    def _to_dense(self) -> Tensor:
        from tapeflow.ops.creation import one_hot

        return one_hot(self._perm, int(self._perm.shape[-1]), dtype=self.dtype)

    def _determinant(self) -> Tensor:
        host = backend.to_numpy(self._perm._value).reshape(-1, int(self._perm.shape[-1]))
        signs = []
        for p in host:
            seen, sign = np.zeros(p.size, bool), 1
            for i in range(p.size):
                length = 0
                while not seen[i]:
                    seen[i], i, length = True, p[i], length + 1
                sign *= -1 if length and length % 2 == 0 else 1
            signs.append(sign)
        out = np.asarray(signs).reshape(tuple(self._perm.shape)[:-1])
        return convert_to_tensor(out.astype(self.dtype._np))

    def _log_abs_determinant(self) -> Tensor:
        from tapeflow.ops.creation import zeros

        return zeros(list(self.batch_shape), dtype=self.dtype)

    def _solve(self, rhs: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        return self._matmul(rhs, not adjoint, adjoint_arg)


class LinearOperatorTridiag(LinearOperator):
    """A tridiagonal operator from `diagonals`: 'compact' [..., 3, N] rows (superdiagonal, last
    entry ignored; diagonal; subdiagonal, first entry ignored), 'sequence' (those three [..., N]
    tensors) or 'matrix' (a full matrix whose tridiagonal band is used)."""

    def __init__(self, diagonals: Any, diagonals_format: str = "compact", is_non_singular: Any = None,
                 is_self_adjoint: Any = None, is_positive_definite: Any = None, is_square: Any = None,
                 name: str = "LinearOperatorTridiag") -> None:
        params = _params(diagonals=diagonals, diagonals_format=diagonals_format, is_non_singular=is_non_singular,
                         is_self_adjoint=is_self_adjoint, is_positive_definite=is_positive_definite,
                         is_square=is_square, name=name)
        if diagonals_format not in ("compact", "matrix", "sequence"):
            raise ValueError(f"Diagonals Format must be one of compact, matrix, sequence. Received: {diagonals_format}")
        if diagonals_format == "sequence":
            seq = [_tensor(d, name=name) for d in diagonals]
            if len(seq) != 3:
                raise ValueError(f"{name}: 'sequence' diagonals must be 3 tensors, received {len(seq)}.")
            self._diagonals = seq
            dtype = seq[0].dtype
        else:
            self._diagonals = _tensor(diagonals, name=name)
            dtype = self._diagonals.dtype
        if is_square is False:
            raise ValueError("A tridiagonal operator is always square.")
        self._format = diagonals_format
        super().__init__(dtype, None, is_non_singular, is_self_adjoint, is_positive_definite, True, name, params)

    @property
    def diagonals(self) -> Any:
        return self._diagonals

    @property
    def diagonals_format(self) -> str:
        return self._format

    def _shape(self) -> tuple:
        if self._format == "sequence":
            n = int(self._diagonals[1].shape[-1])
            batch = _broadcast_batch(*[tuple(d.shape)[:-1] for d in self._diagonals])
            return batch + (n, n)
        d = self._diagonals
        if self._format == "compact":
            return tuple(d.shape)[:-2] + (int(d.shape[-1]), int(d.shape[-1]))
        return tuple(d.shape)

    def _to_dense(self) -> Tensor:
        if self._format == "matrix":
            return _la().band_part(self._diagonals, 1, 1)
        if self._format == "compact":
            sup, main, sub = (self._diagonals[..., i, :] for i in range(3))
        else:
            sup, main, sub = self._diagonals
        n = int(main.shape[-1])
        up = _host_const(np.eye(n, k=1, dtype=self.dtype._np), main)
        down = _host_const(np.eye(n, k=-1, dtype=self.dtype._np), main)
        la = _la()
        return ew.add_n([la.diag(main), la.matmul(la.diag(sup), up), la.matmul(la.diag(sub), down)])


def conjugate_gradient(operator: LinearOperator, rhs: Any, preconditioner: Any = None, x: Any = None,
                       tol: float = 1e-5, max_iter: int = 20, name: str = "conjugate_gradient") -> Any:
    """Solve A x = rhs for a self-adjoint positive-definite `operator` by conjugate gradients.

    Args:
        rhs: [batch..., N]. preconditioner: an operator approximating A^-1. x: the start (zeros).
        tol: stop when ||r|| <= tol * ||rhs|| for every batch member. max_iter: iteration limit.

    Returns:
        CGState(i, x, r, p, gamma) after the last iteration.
    """
    from collections import namedtuple

    state_type = namedtuple("CGState", ["i", "x", "r", "p", "gamma"])
    if not (operator.is_self_adjoint and operator.is_positive_definite):
        raise ValueError("Expected a self-adjoint, positive definite operator.")
    b = _tensor(rhs, operator.dtype, name)

    def dot(u: Tensor, w: Tensor) -> Tensor:
        return rd.reduce_sum(ew.multiply(_conj(u), w), -1)

    def norm(u: Tensor) -> Tensor:
        return ew.sqrt(ew.abs(dot(u, u)))

    if x is None:
        x = ew.zeros_like_t(b)
        r = b
    else:
        x = _tensor(x, operator.dtype, name)
        r = ew.subtract(b, operator.matvec(x))
    p = r if preconditioner is None else preconditioner.matvec(r)
    gamma = dot(r, p)
    limit = ew.multiply(norm(b), tol)
    i = 0
    while i < int(max_iter) and bool(rd.reduce_any(ew.greater(norm(r), limit))):
        z = operator.matvec(p)
        alpha = ew.divide(gamma, dot(p, z))
        x = ew.add(x, ew.multiply(mv.expand_dims(alpha, -1), p))
        r = ew.subtract(r, ew.multiply(mv.expand_dims(alpha, -1), z))
        q = r if preconditioner is None else preconditioner.matvec(r)
        new_gamma = dot(r, q)
        p = ew.add(q, ew.multiply(mv.expand_dims(ew.divide(new_gamma, gamma), -1), p))
        gamma = new_gamma
        i += 1
    return state_type(convert_to_tensor(i, dtype=_dt.int32), x, r, p, gamma)
