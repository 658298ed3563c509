"""`DTypePolicy`: the compute and variable dtypes of a layer, and the global default policy.

A policy named after a float dtype ("float32") computes and stores weights in that dtype;
"mixed_float16" ("mixed_bfloat16") computes in float16 (bfloat16, ml_dtypes' type) and keeps float32
variables, which a layer casts to the compute dtype when its `call` reads them (`Layer.__call__`).
"""

from __future__ import annotations

from typing import Any

from tapeflow.keras.ops.promotion import standardize_dtype

_GLOBAL_POLICY: list = [None]
_FLOATX_POLICIES: dict = {}


def _parse_name(name: Any) -> tuple[str, str]:
    """(compute_dtype, variable_dtype) of a policy name."""
    if not isinstance(name, str):
        raise TypeError(f"'name' must be a string, such as 'mixed_float16'. Received: name={name!r} "
                        f"(of type {type(name)})")
    if name == "mixed_float16":
        return "float16", "float32"
    if name == "mixed_bfloat16":
        return "bfloat16", "float32"
    try:
        dtype = standardize_dtype(name)
    except ValueError:
        raise ValueError(f"Cannot convert {name!r} to a mixed precision DTypePolicy. Valid policies "
                         "include 'mixed_float16' and the name of any float dtype such as 'float32'.") from None
    return dtype, dtype


class DTypePolicy:
    """The dtypes a layer computes in and stores its variables in.

    Args:
        name: "mixed_float16" (float16 computations, float32 variables) or a dtype name such as
            "float32"; None gives the global policy's name (`keras.config.dtype_policy()`).

    Example:
        >>> policy = keras.DTypePolicy("mixed_float16")
        >>> policy.compute_dtype, policy.variable_dtype
        ('float16', 'float32')
        >>> layer = keras.layers.Dense(10, dtype=policy)
    """

    def __init__(self, name: str | None = None) -> None:
        if name is None:
            name = dtype_policy().name
        self._name = name
        self._compute_dtype, self._variable_dtype = _parse_name(name)
        self._quantization_mode: str | None = None

    @property
    def name(self) -> str:
        """The policy's name ("float32", "mixed_float16", ...)."""
        return self._name

    @property
    def compute_dtype(self) -> str:
        """The dtype of a layer's computations (its inputs are cast to it)."""
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype of a layer's weights."""
        return self._variable_dtype

    @property
    def quantization_mode(self) -> str | None:
        """The quantization mode ("int8", ...), None for a float policy."""
        return self._quantization_mode

    def convert_input(self, x: Any, autocast: bool, dtype: Any) -> Any:
        """`x` as a tensor, floating values cast to `dtype` when `autocast`; others untouched."""
        import tapeflow as tf
        from tapeflow.tensor import Tensor

        dtype = standardize_dtype(dtype)
        if isinstance(x, Tensor) or hasattr(x, "__array__"):
            t = x if isinstance(x, Tensor) else tf.convert_to_tensor(x)
            if autocast and t.dtype.is_floating and t.dtype.name != dtype:
                t = tf.cast(t, dtype)
            return t
        return x

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> DTypePolicy:
        return cls(**config)

    def __repr__(self) -> str:
        class_name = type(self).__name__
        if class_name == "FloatDTypePolicy":
            class_name = "DTypePolicy"
        return f'<{class_name} "{self._name}">'

    def __eq__(self, other: object) -> bool:
        if type(self) in (DTypePolicy, FloatDTypePolicy):
            if type(other) not in (DTypePolicy, FloatDTypePolicy):
                return False
        elif type(other) is not type(self):
            return False
        return self._name == other._name

    def __hash__(self) -> int:
        return hash(self._name)


class FloatDTypePolicy(DTypePolicy):
    """An alias of `DTypePolicy` (Keras keeps the name for older code)."""


def set_dtype_policy(policy: Any) -> None:
    """Set the global policy: layers created afterwards without a `dtype` use it.

    Args:
        policy: a policy name ("mixed_float16", "float32", ...) or a `DTypePolicy`.
    """
    from tapeflow.keras.dtype_policies.quantized import QUANTIZATION_MODES, quantized_policy_from_name

    if not isinstance(policy, DTypePolicy):
        if not isinstance(policy, str):
            raise ValueError("Invalid `policy` argument. Expected the string name of a policy (such as "
                             f"'mixed_float16') or a `DTypePolicy` instance. Received: policy={policy!r} "
                             f"(of type {type(policy)})")
        policy = (quantized_policy_from_name(policy) if policy.startswith(QUANTIZATION_MODES)
                  else DTypePolicy(policy))
    _GLOBAL_POLICY[0] = policy


def dtype_policy() -> DTypePolicy:
    """The global policy: the one `set_dtype_policy` set, else `DTypePolicy(keras.config.floatx())`.

    Until a policy is set it follows `set_floatx` (Keras fixes it at its first use instead).
    """
    policy = _GLOBAL_POLICY[0]
    if policy is not None:
        return policy
    from tapeflow.keras.backend import floatx

    name = floatx()
    cached = _FLOATX_POLICIES.get(name)
    if cached is None:
        cached = _FLOATX_POLICIES[name] = DTypePolicy(name)
    return cached


def reset_dtype_policy() -> None:
    """Forget the policy `set_dtype_policy` set (`keras.utils.clear_session`)."""
    _GLOBAL_POLICY[0] = None
