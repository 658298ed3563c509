"""`tf.linalg.LinearOperator`: a matrix known by its structure (diagonal, triangular, a product,
a Kronecker product...), used through matmul/matvec/solve/determinant without always forming it.

The base class gives every method a dense fallback (through `to_dense`, or through `_matmul` of
the identity for user subclasses); subclasses override what their structure makes cheap. All
methods are compositions of differentiable ops, so gradients reach the operator's parameters.
Here: the base class, `LinearOperatorFullMatrix`, `Adjoint`, `Inversion` and `Composition`;
the structured operators are in `linalg_operators`.
"""

from __future__ import annotations

from typing import Any

from tapeflow import dtypes as _dt
from tapeflow import errors
from tapeflow.tensor import Tensor, TensorShape, convert_to_tensor


def _la() -> Any:
    from tapeflow import linalg

    return linalg


def _tensor(x: Any, dtype: Any = None, name: str = "operator") -> Tensor:
    """`x` as a tensor of `dtype`: Python values are converted, tensors and NumPy arrays of another
    dtype are refused (TF's TypeError)."""
    given = x.dtype if isinstance(x, Tensor) else (_dt.as_dtype(x.dtype) if hasattr(x, "dtype") and hasattr(
        x, "shape") else None)
    if dtype is not None and given is not None and given != _dt.as_dtype(dtype):
        raise TypeError(f"{name}: expected argument to have dtype {_dt.as_dtype(dtype).name}, found {given.name}.")
    return x if isinstance(x, Tensor) else convert_to_tensor(x, dtype=dtype)


def _mt(x: Tensor) -> Tensor:
    """The adjoint (conjugate transpose) of the last two axes."""
    return _la().adjoint(x)


class LinearOperator:
    """Base class of linear operators: a [batch..., M, N] matrix used through its methods.

    Subclasses implement `_shape()` (a tuple) and either `_matmul(x, adjoint, adjoint_arg)` or
    `_to_dense()`; the other methods fall back on them. Hints (`is_non_singular`,
    `is_self_adjoint`, `is_positive_definite`, `is_square`) are promises used to choose
    algorithms and to refuse impossible requests (the inverse of a singular operator).
    """

    def __init__(self, dtype: Any, graph_parents: Any = None, is_non_singular: Any = None,
                 is_self_adjoint: Any = None, is_positive_definite: Any = None, is_square: Any = None,
                 name: Any = None, parameters: Any = None) -> None:
        if is_positive_definite:
            if is_non_singular is False:
                raise ValueError("A positive definite matrix is always non-singular.")
            is_non_singular = True
        if is_non_singular:
            if is_square is False:
                raise ValueError("A non-singular matrix is always square.")
            is_square = True
        if is_self_adjoint:
            if is_square is False:
                raise ValueError("A self-adjoint matrix is always square.")
            is_square = True
        self._dtype = _dt.as_dtype(dtype) if dtype is not None else None
        self._is_non_singular = is_non_singular
        self._is_self_adjoint = is_self_adjoint
        self._is_positive_definite = is_positive_definite
        self._is_square_hint = is_square
        self._name = name or type(self).__name__
        self._parameters = dict(parameters) if parameters is not None else {}

    # -- description ------------------------------------------------------------------------
    @property
    def dtype(self) -> Any:
        return self._dtype

    @property
    def name(self) -> str:
        return self._name

    @property
    def parameters(self) -> dict:
        """The constructor's arguments (as given)."""
        return dict(self._parameters)

    @property
    def graph_parents(self) -> list:
        return []

    @property
    def is_non_singular(self) -> Any:
        return self._is_non_singular

    @property
    def is_self_adjoint(self) -> Any:
        return self._is_self_adjoint

    @property
    def is_positive_definite(self) -> Any:
        return self._is_positive_definite

    @property
    def is_square(self) -> Any:
        auto = self.domain_dimension == self.range_dimension if None not in (self.domain_dimension,
                                                                          self.range_dimension) else None
        if self._is_square_hint is False and auto:
            raise ValueError("User set is_square hint to False, but the operator was square.")
        return auto if self._is_square_hint is None else self._is_square_hint

    def _shape(self) -> tuple:
        raise TypeError(f"{type(self).__name__} must implement _shape() (the [batch..., M, N] shape).")

    @property
    def shape(self) -> TensorShape:
        """TensorShape of batch dimensions + [range_dimension, domain_dimension]."""
        return TensorShape(tuple(self._shape()))

    @property
    def batch_shape(self) -> TensorShape:
        return TensorShape(tuple(self._shape())[:-2])

    @property
    def tensor_rank(self) -> int:
        return len(tuple(self._shape()))

    @property
    def domain_dimension(self) -> Any:
        return tuple(self._shape())[-1]

    @property
    def range_dimension(self) -> Any:
        return tuple(self._shape())[-2]

    def shape_tensor(self, name: str = "shape_tensor") -> Tensor:
        return convert_to_tensor(list(self._shape()), dtype=_dt.int32)

    def batch_shape_tensor(self, name: str = "batch_shape_tensor") -> Tensor:
        return convert_to_tensor(list(self._shape())[:-2], dtype=_dt.int32)

    def tensor_rank_tensor(self, name: str = "tensor_rank_tensor") -> Tensor:
        return convert_to_tensor(self.tensor_rank, dtype=_dt.int32)

    def domain_dimension_tensor(self, name: str = "domain_dimension_tensor") -> Tensor:
        return convert_to_tensor(self.domain_dimension, dtype=_dt.int32)

    def range_dimension_tensor(self, name: str = "range_dimension_tensor") -> Tensor:
        return convert_to_tensor(self.range_dimension, dtype=_dt.int32)

    def __repr__(self) -> str:
        return f"<tf.linalg.{type(self).__name__} '{self.name}' shape={tuple(self._shape())} dtype={self.dtype.name}>"

    # -- products and solves ----------------------------------------------------------------
    def _check_arg(self, x: Any, adjoint: bool, adjoint_arg: bool, op: str, vector: bool = False) -> Tensor:
        x = _tensor(x, self.dtype, f"{self.name}.{op}")
        if len(x.shape) < (1 if vector else 2):
            raise ValueError(f"{self.name}.{op}: expected a {'vector' if vector else 'matrix'} argument, received "
                             f"shape {tuple(x.shape)}.")
        need = self.range_dimension if adjoint else self.domain_dimension
        if op.startswith("solve"):
            need = self.domain_dimension if adjoint else self.range_dimension
        got = x.shape[-1] if vector or adjoint_arg else x.shape[-2]
        if need is not None and got is not None and int(got) != int(need):
            raise ValueError(f"{self.name}.{op}: the argument's {'last' if vector or adjoint_arg else 'row'} "
                             f"dimension must be {need}, received shape {tuple(x.shape)}.")
        return x

    def matmul(self, x: Any, adjoint: bool = False, adjoint_arg: bool = False, name: str = "matmul") -> Any:
        """op(A) @ op(x), op = adjoint when asked; a LinearOperator `x` gives their composition."""
        if isinstance(x, LinearOperator):
            left = self.adjoint() if adjoint else self
            right = x.adjoint() if adjoint_arg else x
            return left._compose(right)
        return self._matmul(self._check_arg(x, adjoint, adjoint_arg, "matmul"), adjoint, adjoint_arg)

    __matmul__ = matmul

    def _compose(self, other: LinearOperator) -> LinearOperator:
        return LinearOperatorComposition([self, other])

    def _matmul(self, x: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        if type(self)._to_dense is LinearOperator._to_dense:
            raise TypeError(f"{type(self).__name__} must implement _matmul or _to_dense.")
        return _la().matmul(self.to_dense(), x, adjoint_a=adjoint, adjoint_b=adjoint_arg)

    def matvec(self, x: Any, adjoint: bool = False, name: str = "matvec") -> Tensor:
        """op(A) @ x for vectors x [..., N]."""
        from tapeflow.ops import movement as mv

        x = self._check_arg(x, adjoint, False, "matvec", vector=True)
        return mv.squeeze(self._matmul(mv.expand_dims(x, -1), adjoint, False), [-1])

    def _check_solvable(self, what: str = "solve") -> None:
        if self.is_non_singular is False:
            raise errors.UnimplementedError(None, None, f"Exact {what} not implemented for an operator that is "
                                            "expected to be singular.")
        if self.is_square is False:
            raise errors.UnimplementedError(None, None, f"Exact {what} not implemented for an operator that is "
                                            "expected to not be square.")

    def solve(self, rhs: Any, adjoint: bool = False, adjoint_arg: bool = False, name: str = "solve") -> Any:
        """X with op(A) X = op(rhs); a LinearOperator `rhs` gives inverse(A) composed with it."""
        self._check_solvable()
        if isinstance(rhs, LinearOperator):
            left = self.adjoint() if adjoint else self
            right = rhs.adjoint() if adjoint_arg else rhs
            return left.inverse()._compose(right)
        return self._solve(self._check_arg(rhs, adjoint, adjoint_arg, "solve"), adjoint, adjoint_arg)

    def _solve(self, rhs: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        return _la().solve(self.to_dense(), _mt(rhs) if adjoint_arg else rhs, adjoint=adjoint)

    def solvevec(self, rhs: Any, adjoint: bool = False, name: str = "solve") -> Tensor:
        """x with op(A) x = rhs for vectors rhs [..., M]."""
        from tapeflow.ops import movement as mv

        self._check_solvable()
        rhs = self._check_arg(rhs, adjoint, False, "solvevec", vector=True)
        return mv.squeeze(self._solve(mv.expand_dims(rhs, -1), adjoint, False), [-1])

    # -- scalars of the matrix --------------------------------------------------------------
    def _check_square(self, what: str) -> None:
        if self.is_square is False:
            raise errors.UnimplementedError(None, None, f"{what} not implemented for an operator that is expected to "
                                            "not be square.")

    def determinant(self, name: str = "det") -> Tensor:
        """det(A) per batch member."""
        self._check_square("Determinant")
        return self._determinant()

    def _determinant(self) -> Tensor:
        return _la().det(self.to_dense())

    def log_abs_determinant(self, name: str = "log_abs_det") -> Tensor:
        """log|det(A)| per batch member."""
        self._check_square("Determinant")
        return self._log_abs_determinant()

    def _log_abs_determinant(self) -> Tensor:
        return _la().slogdet(self.to_dense())[1]

    def trace(self, name: str = "trace") -> Tensor:
        """The sum of the diagonal."""
        from tapeflow.ops import reduce as rd

        return rd.reduce_sum(self.diag_part(), -1)

    def diag_part(self, name: str = "diag_part") -> Tensor:
        """The main diagonal, [batch..., min(M, N)]."""
        return self._diag_part()

    def _diag_part(self) -> Tensor:
        return _la().diag_part(self.to_dense())

    def to_dense(self, name: str = "to_dense") -> Tensor:
        """The matrix as a dense tensor [batch..., M, N]."""
        return self._to_dense()

    def _to_dense(self) -> Tensor:
        from tapeflow.ops import movement as mv
        from tapeflow.ops.creation import eye

        if type(self)._matmul is LinearOperator._matmul:
            raise TypeError(f"{type(self).__name__} must implement _matmul or _to_dense.")
        batch = list(self.batch_shape)
        identity = eye(int(self.domain_dimension), dtype=self.dtype)
        if batch:
            identity = mv.broadcast_to(identity, batch + list(identity.shape))
        return self._matmul(identity)

    def add_to_tensor(self, x: Any, name: str = "add_to_tensor") -> Tensor:
        """A + x."""
        from tapeflow.ops import elementwise as ew

        return ew.add(self.to_dense(), _tensor(x, self.dtype, f"{self.name}.add_to_tensor"))

    def eigvals(self, name: str = "eigvals") -> Tensor:
        """The eigenvalues (self-adjoint operators only)."""
        if not self.is_self_adjoint:
            raise errors.UnimplementedError(None, None, "Only self-adjoint matrices are supported.")
        return self._eigvals()

    def _eigvals(self) -> Tensor:
        return _la().eigvalsh(self.to_dense())

    def cond(self, name: str = "cond") -> Tensor:
        """The condition number: largest over smallest singular value."""
        from tapeflow.ops import elementwise as ew
        from tapeflow.ops import reduce as rd

        s = _la().svd(self.to_dense(), compute_uv=False)
        return ew.divide(rd.reduce_max(s, -1), rd.reduce_min(s, -1))

    # -- derived operators ------------------------------------------------------------------
    def adjoint(self, name: str = "adjoint") -> LinearOperator:
        """The conjugate transpose, as an operator (itself when self-adjoint)."""
        if self.is_self_adjoint is True:
            return self
        return self._linop_adjoint()

    H = property(adjoint)

    def _linop_adjoint(self) -> LinearOperator:
        return LinearOperatorAdjoint(self)

    def inverse(self, name: str = "inverse") -> LinearOperator:
        """The inverse, as an operator (refused for operators known singular or non-square)."""
        if self.is_square is False:
            raise ValueError("Cannot take the Inverse: This operator represents a non square matrix.")
        if self.is_non_singular is False:
            raise ValueError("Cannot take the Inverse: This operator represents a singular matrix.")
        return self._linop_inverse()

    def _linop_inverse(self) -> LinearOperator:
        return LinearOperatorInversion(self)

    def cholesky(self, name: str = "cholesky") -> LinearOperator:
        """The lower Cholesky factor (self-adjoint positive-definite operators only)."""
        if not (self.is_self_adjoint and self.is_positive_definite):
            raise ValueError("Cannot take the Cholesky decomposition: Not a positive definite self adjoint matrix.")
        return self._linop_cholesky()

    def _linop_cholesky(self) -> LinearOperator:
        from tapeflow.linalg_operators import LinearOperatorLowerTriangular

        return LinearOperatorLowerTriangular(_la().cholesky(self.to_dense()), is_non_singular=True,
                                             is_self_adjoint=False, is_square=True)

    # -- runtime checks ---------------------------------------------------------------------
    def assert_non_singular(self, name: str = "assert_non_singular") -> None:
        """Raise InvalidArgumentError if some batch member is singular (|det| == 0)."""
        from tapeflow.ops import reduce as rd

        if bool(rd.reduce_any(self.log_abs_determinant() == float("-inf"))):
            raise errors.InvalidArgumentError(None, None, f"{self.name}: Singular operator: a determinant is 0.")

    def assert_positive_definite(self, name: str = "assert_positive_definite") -> None:
        """Raise InvalidArgumentError unless every batch member is positive definite."""
        try:
            _la().cholesky(self.to_dense())
        except (errors.InvalidArgumentError, ValueError) as e:
            raise errors.InvalidArgumentError(None, None, f"{self.name}: not positive definite.") from e

    def assert_self_adjoint(self, name: str = "assert_self_adjoint") -> None:
        """Raise InvalidArgumentError unless A equals its adjoint."""
        from tapeflow.ops import reduce as rd

        dense = self.to_dense()
        if not bool(rd.reduce_all(dense == _mt(dense))):
            raise errors.InvalidArgumentError(None, None, f"{self.name}: Matrix was not equal to its adjoint.")


class LinearOperatorFullMatrix(LinearOperator):
    """A LinearOperator holding its dense matrix [batch..., M, N] (float or complex)."""

    def __init__(self, matrix: Any, is_non_singular: Any = None, is_self_adjoint: Any = None,
                 is_positive_definite: Any = None, is_square: Any = None,
                 name: str = "LinearOperatorFullMatrix") -> None:
        params = {"matrix": matrix, "is_non_singular": is_non_singular, "is_self_adjoint": is_self_adjoint,
                  "is_positive_definite": is_positive_definite, "is_square": is_square, "name": name}
        m = _tensor(matrix, name=name)
        if not (m.dtype.is_floating or m.dtype.is_complex):
            raise TypeError(f"{name}: matrix must be float or complex, received {m.dtype.name}.")
        if len(m.shape) < 2:
            raise ValueError(f"{name}: matrix must have rank >= 2, received shape {tuple(m.shape)}.")
        self._matrix = m
        super().__init__(m.dtype, None, is_non_singular, is_self_adjoint, is_positive_definite, is_square, name,
                         params)

    def _shape(self) -> tuple:
        return tuple(self._matrix.shape)

    def _to_dense(self) -> Tensor:
        return self._matrix


class LinearOperatorAdjoint(LinearOperator):
    """The adjoint (conjugate transpose) of `operator`, without forming it."""

    def __init__(self, operator: LinearOperator, is_non_singular: Any = None, is_self_adjoint: Any = None,
                 is_positive_definite: Any = None, is_square: Any = None, name: Any = None) -> None:
        params = {"operator": operator, "is_non_singular": is_non_singular, "is_self_adjoint": is_self_adjoint,
                  "is_positive_definite": is_positive_definite, "is_square": is_square, "name": name}
        for hint, value in (("is_non_singular", is_non_singular), ("is_self_adjoint", is_self_adjoint),
                            ("is_positive_definite", is_positive_definite), ("is_square", is_square)):
            theirs = getattr(operator, hint)
            if theirs is not None and value is not None and theirs != value:
                raise ValueError(f"An operator and its adjoint have the same {hint[3:]} property; received "
                                 f"{hint}={value} for an operator with {theirs}.")
        self._operator = operator
        super().__init__(operator.dtype, None,
                         operator.is_non_singular if is_non_singular is None else is_non_singular,
                         operator.is_self_adjoint if is_self_adjoint is None else is_self_adjoint,
                         operator.is_positive_definite if is_positive_definite is None else is_positive_definite,
                         operator._is_square_hint if is_square is None else is_square,
                         name or operator.name + "_adjoint", params)

    @property
    def operator(self) -> LinearOperator:
        return self._operator

    def _shape(self) -> tuple:
        s = tuple(self._operator._shape())
        return s[:-2] + (s[-1], s[-2])

    def _matmul(self, x: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        return self._operator._matmul(x, not adjoint, adjoint_arg)

    def _solve(self, rhs: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        return self._operator._solve(rhs, not adjoint, adjoint_arg)

    def _determinant(self) -> Tensor:
        from tapeflow.ops import complex as cx

        d = self._operator._determinant()
        return cx.conj(d) if d.dtype.is_complex else d

    def _log_abs_determinant(self) -> Tensor:
        return self._operator._log_abs_determinant()

    def _to_dense(self) -> Tensor:
        return _mt(self._operator.to_dense())

    def _linop_adjoint(self) -> LinearOperator:
        return self._operator


class LinearOperatorInversion(LinearOperator):
    """The inverse of a (non-singular) `operator`: matmul solves with it, solve multiplies."""

    def __init__(self, operator: LinearOperator, is_non_singular: Any = None, is_self_adjoint: Any = None,
                 is_positive_definite: Any = None, is_square: Any = None, name: Any = None) -> None:
        params = {"operator": operator, "is_non_singular": is_non_singular, "is_self_adjoint": is_self_adjoint,
                  "is_positive_definite": is_positive_definite, "is_square": is_square, "name": name}
        if operator.is_non_singular is False or is_non_singular is False:
            raise ValueError(f"operator and supplied hints must have is_non_singular equal to True or None, "
                             f"received {operator.is_non_singular} and {is_non_singular}.")
        if operator.is_square is False or is_square is False:
            raise ValueError(f"operator and supplied hints must have is_square equal to True or None, received "
                             f"{operator.is_square} and {is_square}.")
        self._operator = operator
        super().__init__(operator.dtype, None, operator.is_non_singular if is_non_singular is None else is_non_singular,
                         operator.is_self_adjoint if is_self_adjoint is None else is_self_adjoint,
                         operator.is_positive_definite if is_positive_definite is None else is_positive_definite,
                         operator._is_square_hint if is_square is None else is_square, name or operator.name + "_inv",
                         params)

    @property
    def operator(self) -> LinearOperator:
        return self._operator

    def _shape(self) -> tuple:
        return tuple(self._operator._shape())

    def _matmul(self, x: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        return self._operator._solve(x, adjoint, adjoint_arg)

    def _solve(self, rhs: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        return self._operator._matmul(rhs, adjoint, adjoint_arg)

    def _determinant(self) -> Tensor:
        from tapeflow.ops import elementwise as ew

        return ew.reciprocal(self._operator._determinant())

    def _log_abs_determinant(self) -> Tensor:
        from tapeflow.ops import elementwise as ew

        return ew.negative(self._operator._log_abs_determinant())

    def _to_dense(self) -> Tensor:
        return _la().inv(self._operator.to_dense())

    def _linop_inverse(self) -> LinearOperator:
        return self._operator


class LinearOperatorComposition(LinearOperator):
    """The product A1 @ A2 @ ... @ An of `operators` (applied right to left, never formed)."""

    def __init__(self, operators: Any, is_non_singular: Any = None, is_self_adjoint: Any = None,
                 is_positive_definite: Any = None, is_square: Any = None, name: Any = None) -> None:
        ops = list(operators)
        params = {"operators": ops, "is_non_singular": is_non_singular, "is_self_adjoint": is_self_adjoint,
                  "is_positive_definite": is_positive_definite, "is_square": is_square, "name": name}
        if not ops:
            raise ValueError("Expected a non-empty list of operators. Found: []")
        dtypes = {op.dtype for op in ops}
        if len(dtypes) != 1:
            raise TypeError(f"Expected all operators to have the same dtype. Found {sorted(d.name for d in dtypes)}.")
        for a, b in zip(ops, ops[1:], strict=False):
            if None not in (a.domain_dimension, b.range_dimension) and a.domain_dimension != b.range_dimension:
                raise ValueError(f"Operators are incompatible: {a.name} has domain dimension {a.domain_dimension}, "
                                 f"{b.name} has range dimension {b.range_dimension}.")
        if all(op.is_non_singular for op in ops):
            if is_non_singular is False:
                raise ValueError("The composition of non-singular operators is always non-singular.")
            is_non_singular = True
        self._operators = ops
        super().__init__(ops[0].dtype, None, is_non_singular, is_self_adjoint, is_positive_definite, is_square,
                         name or "_o_".join(op.name for op in ops), params)

    @property
    def operators(self) -> list:
        return list(self._operators)

    def _shape(self) -> tuple:
        from tapeflow.array_extra import broadcast_static_shape

        batch = TensorShape(())
        for op in self._operators:
            batch = broadcast_static_shape(batch, op.batch_shape)
        return tuple(batch) + (self._operators[0].range_dimension, self._operators[-1].domain_dimension)

    def _matmul(self, x: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        ops = self._operators if adjoint else self._operators[::-1]
        for i, op in enumerate(ops):
            x = op._matmul(x, adjoint, adjoint_arg and i == 0)
        return x

    def _solve(self, rhs: Tensor, adjoint: bool = False, adjoint_arg: bool = False) -> Tensor:
        ops = self._operators[::-1] if adjoint else self._operators
        for i, op in enumerate(ops):
            rhs = op._solve(rhs, adjoint, adjoint_arg and i == 0)
        return rhs

    def _determinant(self) -> Tensor:
        from tapeflow.ops import elementwise as ew

        if not all(op.is_square is not False for op in self._operators):
            return super()._determinant()
        out = self._operators[0]._determinant()
        for op in self._operators[1:]:
            out = ew.multiply(out, op._determinant())
        return out

    def _log_abs_determinant(self) -> Tensor:
        from tapeflow.ops import elementwise as ew

        if not all(op.is_square is not False for op in self._operators):
            return super()._log_abs_determinant()
        out = self._operators[0]._log_abs_determinant()
        for op in self._operators[1:]:
            out = ew.add(out, op._log_abs_determinant())
        return out

    def _to_dense(self) -> Tensor:
        out = self._operators[-1].to_dense()
        for op in self._operators[-2::-1]:
            out = op._matmul(out)
        return out
