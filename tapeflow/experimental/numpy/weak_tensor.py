"""`WeakTensor`: a tensor whose dtype came from Python values and gives way in promotions.

Made only in the "safe" and "all" dtype conversion modes. It is a `Tensor` (every op takes it)
whose repr and str say `weak=True`, as TF prints them; ops that keep weakness re-class their
result in place, so the tape still tracks it. NOTE: in TF `isinstance(w, tf.Tensor)` is False
(an extension type there); here it is True.
"""

from __future__ import annotations

from typing import Any

from tapeflow.tensor import Tensor, _numpy_text


class WeakTensor(Tensor):
    """A tensor with a weak dtype (`tf.constant(5)` in "all" mode: int32, weak)."""

    __slots__ = ()

    def to_tensor(self) -> Tensor:
        """The same values as a normal (strong) tensor."""
        return Tensor(self._value)

    def __repr__(self) -> str:
        return (f"<tf.Tensor: shape={self.shape}, dtype={self.dtype.name}, "
                f"numpy={_numpy_text(self._value, True)}, weak=True>")

    def __str__(self) -> str:
        return (f"tf.Tensor({_numpy_text(self._value, False)}, shape={self.shape}, "
                f"dtype={self.dtype.name}, weak=True)")


def mark_weak(t: Any) -> Any:
    """`t` as a WeakTensor (in place for a plain Tensor; variables and others unchanged)."""
    if type(t) is Tensor:
        t.__class__ = WeakTensor
    return t
