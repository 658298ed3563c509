"""TF1 operations run for their effect: assignments, groups, no-ops (`tf.Operation`).

An `Operation` names the symbolic tensors it needs (`_tensors`); `Session.run` evaluates them
together with the fetched tensors, then calls `_execute(values)`. Control inputs (from
`tf.control_dependencies` or `tf.group`) run first.
"""

from __future__ import annotations

from typing import Any

from tapeflow import graph
from tapeflow.compat.v1.graph import get_default_graph
from tapeflow.tensor import Tensor, Variable


class Operation:
    """A graph operation run for its effect (`tf.Operation`).

    Example:
        >>> step = optimizer.minimize(loss)
        >>> step.run(feed_dict={x: batch})      # in the default session
        >>> sess.run(step, feed_dict={x: batch})
    """

    type = "NoOp"

    def __init__(self, name: str, control_inputs: Any = ()) -> None:
        g = get_default_graph()
        self.graph = g
        self.name = g.unique_name(name)
        self.control_inputs = list(control_inputs) + g._current_control_inputs()

    def _tensors(self) -> list:
        """The symbolic tensors whose values `_execute` needs."""
        return []

    def _execute(self, values: dict) -> Any:
        """Do the operation's work; `values` maps id(tensor) to its value for this run."""
        return None

    def run(self, feed_dict: dict | None = None, session: Any = None) -> None:
        """Run this operation in `session` (default: the default session)."""
        if session is None:
            if not graph.default_sessions:
                raise ValueError(
                    f"Cannot execute operation {self.name!r} using `run()`: no default session is "
                    "registered. Use `with sess.as_default():`, an InteractiveSession, or pass an "
                    "explicit session: `run(session=sess)`."
                )
            session = graph.default_sessions[-1]
        session.run(self, feed_dict)

    def __repr__(self) -> str:
        return f"<tf.Operation '{self.name}' type={self.type}>"


def value_of(t: Any, values: dict) -> Any:
    """The value of `t` in this run: looked up if symbolic, itself otherwise."""
    if isinstance(t, Tensor) and t._value is None:
        return values[id(t)]
    return t


def engine_variable(v: Any, op: str) -> Variable:
    """The engine `Variable` behind a compat.v1 variable (or the variable itself)."""
    inner = getattr(v, "_variable", None)
    if inner is not None:
        return inner
    if isinstance(v, Variable):
        return v
    raise TypeError(f"{op}: expected a variable, received {type(v).__name__} {v!r}.")


class AssignOp(Operation):
    """`ref = value` (or `+=`, `-=`) when run; returns the new value."""

    type = "Assign"

    def __init__(self, ref: Any, value: Any, mode: str, name: str | None = None) -> None:
        super().__init__(name or {"assign": "Assign", "assign_add": "AssignAdd",
                                  "assign_sub": "AssignSub"}[mode])
        self.ref = ref
        self.variable = engine_variable(ref, mode)
        if not isinstance(value, Tensor):
            from tapeflow.tensor import convert_to_tensor

            value = convert_to_tensor(value, dtype=self.variable.dtype)
        self.value = value
        self.mode = mode

    def _tensors(self) -> list:
        return [self.value] if self.value._value is None else []

    def _execute(self, values: dict) -> Any:
        v = value_of(self.value, values)
        getattr(self.variable, self.mode)(v)
        return self.variable.numpy()


class GroupOp(Operation):
    """Runs its inputs (`tf.group`, `tf.no_op`)."""

    type = "NoOp"


def group(*inputs: Any, name: str | None = None) -> Operation:
    """An operation that runs all `inputs` (operations; tensors are ignored)."""
    ops = []
    for x in inputs:
        for item in x if isinstance(x, (list, tuple)) else [x]:
            if isinstance(item, Operation):
                ops.append(item)
    return GroupOp(name or "group_deps", control_inputs=ops)


def no_op(name: str | None = None) -> Operation:
    """An operation that does nothing (a target for control dependencies)."""
    return GroupOp(name or "NoOp")


def assign(ref: Any, value: Any, validate_shape: Any = None, use_locking: Any = None,
           name: str | None = None) -> AssignOp:
    """An operation setting variable `ref` to `value` when run (`tf.assign`)."""
    return AssignOp(ref, value, "assign", name)


def assign_add(ref: Any, value: Any, use_locking: Any = None, name: str | None = None) -> AssignOp:
    """An operation adding `value` to variable `ref` when run (`tf.assign_add`)."""
    return AssignOp(ref, value, "assign_add", name)


def assign_sub(ref: Any, value: Any, use_locking: Any = None, name: str | None = None) -> AssignOp:
    """An operation subtracting `value` from variable `ref` when run (`tf.assign_sub`)."""
    return AssignOp(ref, value, "assign_sub", name)
