"""`tf.linalg`: matrix products, inverse, einsum, norms."""

from tapeflow.ops.clip import global_norm  # noqa: F401
from tapeflow.ops.creation import eye  # noqa: F401
from tapeflow.ops.linalg import diag_part, einsum, inv, matmul, matvec, tensordot, trace  # noqa: F401
from tapeflow.ops.movement import transpose as _transpose
from tapeflow.ops.reduce import norm  # noqa: F401


def matrix_transpose(a, name=None):
    """Swap the last two axes."""
    n = len(a.shape)
    return _transpose(a, list(range(n - 2)) + [n - 1, n - 2])
