"""`keras.mixed_precision`: float16 computations with float32 variables (Keras's legacy names).

`set_global_policy("mixed_float16")` makes new layers compute in float16 while their weights
stay float32; `LossScaleOptimizer` scales the loss so small float16 gradients do not underflow.
"""

from __future__ import annotations

from typing import Any

from tapeflow.keras.dtype_policies.dtype_policy import DTypePolicy
from tapeflow.keras.dtype_policies.dtype_policy import DTypePolicy as Policy
from tapeflow.keras.dtype_policies.dtype_policy import dtype_policy
from tapeflow.keras.dtype_policies.dtype_policy import dtype_policy as global_policy
from tapeflow.keras.dtype_policies.dtype_policy import set_dtype_policy
from tapeflow.keras.dtype_policies.dtype_policy import set_dtype_policy as set_global_policy


def __getattr__(name: str) -> Any:
    if name == "LossScaleOptimizer":
        from tapeflow.keras import optimizers

        return optimizers.LossScaleOptimizer
    raise AttributeError(f"module 'tapeflow.keras.mixed_precision' has no attribute {name!r}")
