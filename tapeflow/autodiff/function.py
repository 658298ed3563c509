"""`Function`: one differentiable primitive, forward and backward side by side.

A primitive subclasses `Function` and defines

* `forward(*arrays) -> array` (or a tuple for several outputs): NumPy/CuPy code using the
  inputs' array module;
* `backward(dy) -> tuple` of one gradient per input (or `None`), written with Tensor ops so
  that a tape recording the backward pass gives higher-order gradients.

Calling an instance on Tensors runs `forward`, wraps the result and, when a `GradientTape` is
recording and one of the inputs is watched, records `(function, inputs, outputs)` on that tape.
Broadcasting is undone by the tape (`sum_to`), never in `backward`.
"""

from __future__ import annotations

import operator
from typing import Any

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.errors import InvalidArgumentError
from tapeflow.tensor import Tensor, Variable
from tapeflow.tracing import state as _trace_state

_value_of = operator.attrgetter("_value")

# The recording tapes, innermost last. Read once per op: an empty list means no tape.
recording_tapes: list = []


class SymbolicState:
    """Set once the first symbolic tensor exists, so eager ops skip the symbolic check until then."""

    active = False


class Function:
    """Base class of differentiable primitives; see the module docstring."""

    # Class-level defaults, overridden per primitive.
    differentiable = True
    n_outputs = 1

    inputs: tuple = ()
    outputs: Any = None
    needs_input_grad: tuple = ()
    # True for a primitive whose last output is a reserve space (what only its gradient reads,
    # e.g. the RNN sequences' per-step multipliers). An eager call that no tape records is never
    # differentiated, so it runs with `reserve` False (an empty last output); in a trace (its
    # probes included) it is kept, and the graph decides by whether any node reads the output
    # (tracing.passes.drop_unused_reserves).
    reserve: bool | None = None

    # A primitive that can write its output into a dead input's buffer defines
    # `forward_into(out, *arrays)`: the same values as `forward`, written into `out` (an array
    # of the output's shape and dtype that the caller owns). The buffer-reuse pass of the
    # array executor (tracing.passes.plan_buffer_reuse) calls it; None means no such variant.
    forward_into: Any = None
    # True when `forward` returns new arrays only (never an input, a view of one, or an array it
    # keeps): the outputs of such primitives are buffers the reuse pass may hand on.
    fresh_outputs: bool = False

    def forward(self, *xs: Any) -> Any:
        raise NotImplementedError

    def backward(self, *dys: Tensor) -> tuple:
        from tapeflow.errors import UnimplementedError

        raise UnimplementedError(None, None, f"{type(self).__name__} has no gradient.")

    @property
    def name(self) -> str:
        return type(self).__name__

    def __call__(self, *inputs: Tensor) -> Any:
        values = tuple(map(_value_of, inputs))
        if SymbolicState.active:
            for v in values:
                if v is None:
                    from tapeflow.graph import symbolic_apply

                    return symbolic_apply(self, inputs)
            if _trace_state.graphs and _trace_state.graphs[-1] is not None:
                # Inside a tf.function trace a variable read is part of the graph: re-read on
                # every call, never folded into a constant.
                for x in inputs:
                    if isinstance(x, Variable):
                        from tapeflow.graph import symbolic_apply

                        return symbolic_apply(self, inputs)
        if self.reserve and not recording_tapes and not _trace_state.graphs:
            self.reserve = False  # eager, no tape: nothing will differentiate this call
        try:
            out = self.forward(*values)
        except InvalidArgumentError:
            raise  # the kernel's own message (a label out of range, ...)
        except (ValueError, IndexError) as e:
            _check_devices(self, values)
            raise _op_error(self, inputs, e) from None
        except TypeError as e:
            _check_devices(self, values)
            raise TypeError(f"{self.name}: {e}") from None
        if self.n_outputs == 1:
            result = Tensor(out)
            if recording_tapes and self.differentiable:
                _record(self, inputs, (result,))
            return result
        results = tuple(Tensor(o) for o in out)
        if recording_tapes and self.differentiable:
            _record(self, inputs, results)
        return results


def _record(fn: Function, inputs: tuple, outputs: tuple) -> None:
    """Record `fn` on every recording tape that watches one of its inputs.

    A tape traces only floating tensors (`GradientTape._watch_one`, float outputs below), so
    "input i is traced" is exactly "input i needs a gradient".
    """
    needs = None
    for tape in recording_tapes:
        tracked = tape._tracked
        hit = None
        for i, x in enumerate(inputs):
            if id(x) not in tracked:
                if not (x.__class__ is Variable and x._trainable and tape._watch_accessed_variables):
                    continue
                tape._watch_one(x)
                if id(x) not in tracked:  # an integer variable
                    continue
            if hit is None:
                hit = [False] * len(inputs)
            hit[i] = True
        if hit is None:
            continue
        if needs is None:
            needs = hit
        else:
            needs = [a or b for a, b in zip(needs, hit, strict=True)]
        for o in outputs:
            dt = o._value.dtype
            if dt.kind in "fc" or (dt.kind == "V" and dt in _ML_FLOATS):  # differentiable_dtype, inlined
                tracked[id(o)] = o
        tape._records.append(fn)
    if needs is not None:
        fn.inputs = inputs
        fn.outputs = outputs
        fn.needs_input_grad = tuple(needs)


def _check_devices(fn: Function, values: list) -> None:
    devices = {backend.device_name(v) for v in values if v is not None and hasattr(v, "dtype")}
    if len(devices) > 1:
        raise InvalidArgumentError(
            f"{fn.name}: all inputs must be on the same device, received inputs on "
            f"{' and '.join(sorted(devices))}. Move them with tf.identity inside tf.device(...)."
        )


def _op_error(fn: Function, inputs: tuple, e: Exception) -> Exception:
    shapes = [tuple(x._value.shape) for x in inputs if x._value is not None]
    if "could not be broadcast" in str(e):
        return InvalidArgumentError(
            f"{fn.name}: incompatible shapes {' and '.join(str(s) for s in shapes)} (they do not broadcast)."
        )
    return InvalidArgumentError(f"{fn.name}: {e} (input shapes: {', '.join(str(s) for s in shapes)})")


def formula_vjp(fn: Function, formula: Any, output_grads: list) -> tuple:
    """The backward of a gradient primitive `fn`: the vector-Jacobian product of `formula`
    (the same computation as `fn.forward`, written with Tensor ops) at `fn.inputs`, one gradient
    per input (None where not needed). Under a recording tape the product is recorded too."""
    from tapeflow.autodiff.tape import GradientTape

    inputs = list(fn.inputs)
    with GradientTape() as tape:
        for t in inputs:
            if t.dtype.is_floating:
                tape.watch(t)
        outs = formula(*inputs)
    outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
    grads = tape.gradient(outs, inputs, output_gradients=list(output_grads))
    return tuple(g if need else None for g, need in zip(grads, fn.needs_input_grad, strict=True))


def wrap_constant(array: Any) -> Tensor:
    """A Tensor around an array computed inside a backward pass (not differentiated)."""
    return Tensor(array)


# bfloat16 (ml_dtypes, NumPy kind "V"): TF differentiates through it like float16 (not through
# the float8 types).
_ML_FLOATS = frozenset(d._np for d in (_dt.bfloat16,) if d._np.kind == "V")


def differentiable_dtype(dtype: Any) -> bool:
    """Whether arrays of NumPy `dtype` carry gradients: float, complex and bfloat16, as in TF."""
    kind = dtype.kind
    return kind in "fc" or (kind == "V" and dtype in _ML_FLOATS)
