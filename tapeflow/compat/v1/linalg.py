"""`tf.linalg` (TF1): the engine's `tapeflow.linalg`, graph-aware."""

from tapeflow import linalg as _la
from tapeflow.compat.v1.array_ops import norm  # noqa: F401
from tapeflow.compat.v1.lift import graph_function as _g

diag_part = _g(_la.diag_part)
einsum = _g(_la.einsum)
eye = _la.eye
inv = _g(_la.inv)
matmul = _g(_la.matmul)
matrix_transpose = _g(_la.matrix_transpose)
transpose = matrix_transpose
matvec = _g(_la.matvec)
tensordot = _g(_la.tensordot)
trace = _g(_la.trace)


def __getattr__(name: str) -> object:
    # TF 1 names that are TF 2 objects (the generated table compat/v1/v2_names.py), on first use.
    from tapeflow.compat.v1.v2_alias import lookup

    return lookup("linalg", name)
