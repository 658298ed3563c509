"""`tf.linalg.experimental`: iterative solvers on LinearOperators."""

from tapeflow.linalg_operators import conjugate_gradient

__all__ = ["conjugate_gradient"]
