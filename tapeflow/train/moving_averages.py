"""`tf.train.ExponentialMovingAverage`: shadow copies of variables that track their moving average.

`apply(var_list)` creates, on first sight of each variable, a non-trainable shadow variable holding
the variable's current value, then updates every shadow: shadow -= (1 - decay) * (shadow - var).
With `num_updates` (a step counter) the decay is min(decay, (1 + n) / (10 + n)), so early
averages move fast. As in TF 2, shadows of Variables start at the variable's value, so
`zero_debias` has no effect on them (TF applies it to graph tensors only, which eager code cannot
pass). Shadows are created under `init_scope`, so `apply` works inside `tf.function` too.

Example:
    >>> ema = tf.train.ExponentialMovingAverage(decay=0.9)
    >>> ema.apply([w])          # after each optimizer step
    >>> ema.average(w)          # the shadow variable
"""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.tensor import Variable

_FLOATS = ("bfloat16", "float16", "float32", "float64")


class ExponentialMovingAverage:
    """Maintains moving averages of variables with exponential decay.

    Args:
        decay: float (or scalar tensor) decay, typically close to 1 (0.999).
        num_updates: optional step count (int or variable) lowering the decay early on.
        zero_debias: TF's flag for graph tensors; no effect on variables (see the module doc).
        name: prefix of the shadow variables' names.
    """

    def __init__(self, decay: Any, num_updates: Any = None, zero_debias: bool = False,
                 name: str = "ExponentialMovingAverage") -> None:
        self._decay = decay
        self._num_updates = num_updates
        self._zero_debias = zero_debias
        self._name = name
        self._averages: dict[int, tuple[Variable, Variable]] = {}

    @property
    def name(self) -> str:
        return self._name

    def apply(self, var_list: Any = None) -> None:
        """Create the shadows of new variables in `var_list`, then update every shadow once."""
        if var_list is None:
            raise ValueError("ExponentialMovingAverage.apply: pass var_list (TF 2 has no global collection of "
                             "trainable variables)")
        var_list = list(var_list)
        for var in var_list:
            if not isinstance(var, Variable):
                raise TypeError("tf.train.ExponentialMovingAverage does not support non-Variable tensors when "
                                f"eager execution is enabled; received {type(var).__name__}")
            if var.dtype.name not in _FLOATS:
                raise TypeError(f"The variables must be half, float, or double: {var.name}")
            if id(var) not in self._averages:
                with tf.init_scope():
                    shadow = tf.Variable(var.read_value(), trainable=False, name=self.average_name(var))
                self._averages[id(var)] = (var, shadow)
        decay = tf.convert_to_tensor(self._decay, dtype=tf.float32)
        if self._num_updates is not None:
            n = tf.cast(self._num_updates, tf.float32)
            decay = tf.minimum(decay, (1.0 + n) / (10.0 + n))
        for var in var_list:
            shadow = self._averages[id(var)][1]
            rate = tf.cast(1.0 - decay, var.dtype)
            shadow.assign_sub((shadow - var) * rate)

    def average(self, var: Any) -> Variable | None:
        """The shadow variable of `var`, or None if `apply` has not seen it."""
        entry = self._averages.get(id(var))
        return entry[1] if entry is not None and entry[0] is var else None

    def average_name(self, var: Any) -> str:
        """The shadow's name: `<var name>/<ema name>` (TF's, for name-based restores)."""
        entry = self._averages.get(id(var))
        if entry is not None and entry[0] is var:
            return entry[1].name[:-2] if entry[1].name.endswith(":0") else entry[1].name
        base = var.name[:-2] if var.name.endswith(":0") else var.name
        return f"{base}/{self._name}"

    def variables_to_restore(self, moving_avg_variables: Any = None) -> dict:
        """{shadow name: variable} for the given variables (default: every averaged one), so a
        name-based restore loads the averages into the variables."""
        if moving_avg_variables is None:
            moving_avg_variables = [var for var, _ in self._averages.values()]
        return {self.average_name(v): v for v in moving_avg_variables}
