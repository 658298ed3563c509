"""Reverse-mode autodiff: `Function` (primitives), `GradientTape`, and `sum_to`.

As `tf.autodiff` it also gives `ForwardAccumulator` (Jacobian-vector products) and `GradientTape`.
"""

from typing import Any as _Any

from tapeflow.autodiff.forward_accumulator import ForwardAccumulator  # noqa: F401 - no engine imports at load


def __getattr__(name: str) -> _Any:
    if name == "GradientTape":  # loaded on use: the tape module needs the tensor module first
        from tapeflow.autodiff.tape import GradientTape

        return GradientTape
    raise AttributeError(f"module 'tapeflow.autodiff' has no attribute {name!r}")
