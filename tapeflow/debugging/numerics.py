"""Numeric checks (`check_numerics`, `enable_check_numerics`), op placement logging and the
traceback-filtering switches of `tf.debugging`.

`enable_check_numerics` and `set_log_device_placement(True)` install a checking variant of
`Function.__call__` while they are on, so the ordinary op path pays nothing when they are off.
They watch eager op calls (and ops traced into a `tf.function`), not a traced graph's replay.
"""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function
from tapeflow.dtypes import is_inexact_np
from tapeflow.errors import InvalidArgumentError
from tapeflow.ops import elementwise as ew
from tapeflow.tensor import Tensor

get_xp = backend.get_xp


def _nonfinite(kind: str, a: Any, message: str) -> None:
    """Raise InvalidArgumentError naming what is wrong if the float array `a` has NaN/Inf."""
    if not is_inexact_np(a.dtype):
        return
    xp = get_xp(a)
    has_nan = bool(xp.isnan(a).any())
    has_inf = bool(xp.isinf(a).any())
    if has_nan or has_inf:
        what = "Inf and NaN" if has_nan and has_inf else ("NaN" if has_nan else "Inf")
        raise InvalidArgumentError(f"{message} : Tensor had {what} values{kind}")


class CheckNumerics(Function):
    """Identity that fails on NaN/Inf values, checking the incoming gradient the same way."""

    def __init__(self, message: str) -> None:
        self.message = message

    def forward(self, a: Any) -> Any:
        _nonfinite("", a, self.message)
        return a

    def backward(self, dy: Tensor) -> tuple:
        return (CheckNumerics(f"Not a number (NaN) or infinity (Inf) values detected in gradient. "
                              f"{self.message}")(dy),)


def check_numerics(tensor: Any, message: str, name: Any = None) -> Tensor:
    """`tensor` itself after checking it has no NaN or Inf; raises `InvalidArgumentError` naming
    `message` otherwise. Float tensors only (as TF)."""
    t = ew.unary_operand(tensor, "CheckNumerics")
    if t.dtype._np.kind not in "f":
        raise TypeError(f"CheckNumerics: expected a float tensor, received dtype {t.dtype.name}.")
    return CheckNumerics(str(message))(t)


class _Switches:
    check_numerics = False
    log_placement = False
    traceback_filtering = True
    plain_call = Function.__call__


def _watched_call(self: Function, *inputs: Any) -> Any:
    """`Function.__call__` plus the enabled checks on the op's outputs."""
    out = _Switches.plain_call(self, *inputs)
    if _Switches.log_placement:
        device = "GPU:0" if any(isinstance(x, Tensor) and x._value is not None
                                and get_xp(x._value) is not backend.host for x in inputs) else "CPU:0"
        print(f"Executing op {self.name} in device /job:localhost/replica:0/task:0/device:{device}")
    if _Switches.check_numerics and not isinstance(self, CheckNumerics):
        for o in out if isinstance(out, tuple) else (out,):
            if isinstance(o, Tensor) and o._value is not None:
                _nonfinite(f" (op {self.name})", o._value,
                           f"!!! Detected Infinity or NaN in output of eagerly-executing op \"{self.name}\"")
    return out


def _install() -> None:
    Function.__call__ = _watched_call if (_Switches.check_numerics or _Switches.log_placement) \
        else _Switches.plain_call


def enable_check_numerics(stack_height_limit: int = 30, path_length_limit: int = 50) -> None:
    """Make every op that produces a NaN or Inf in a float output raise `InvalidArgumentError`."""
    _Switches.check_numerics = True
    _install()


def disable_check_numerics() -> None:
    """Undo `enable_check_numerics`."""
    _Switches.check_numerics = False
    _install()


def set_log_device_placement(enabled: bool) -> None:
    """Print the device each op runs on (`Executing op MatMul in device .../device:CPU:0`)."""
    _Switches.log_placement = bool(enabled)
    _install()


def get_log_device_placement() -> bool:
    """Whether op placement is being printed."""
    return _Switches.log_placement


def enable_traceback_filtering() -> None:
    """Record that tracebacks should hide framework frames (Tapeflow's are always shown)."""
    _Switches.traceback_filtering = True


def disable_traceback_filtering() -> None:
    """Record that tracebacks should show framework frames."""
    _Switches.traceback_filtering = False


def is_traceback_filtering_enabled() -> bool:
    """The traceback-filtering switch (True by default, as TF)."""
    return _Switches.traceback_filtering
