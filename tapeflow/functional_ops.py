"""Higher-order functions over a tensor's leading axis: `tf.map_fn`, `tf.vectorized_map`,
`tf.scan`, `tf.foldl`, `tf.foldr`.

Each step calls the Python function on one slice (nested structures of tensors are sliced
together), so results are differentiable through ordinary ops; inside `tf.function` the loop
is unrolled over the static leading dimension.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tapeflow import nest
from tapeflow.ops import elementwise as ew
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor
from tapeflow.tracing import composite_calls, composites


def _slices(elems: Any, op: str) -> tuple:
    elems = composites.as_elements(elems)  # extension types are sliced by their components
    flat = [e if _is_ragged(e) else ew.unary_operand(e, op) for e in nest.flatten(elems)]
    if not flat:
        raise ValueError(f"{op}: elems must contain at least one tensor.")
    if any(len(t.shape) == 0 for t in flat):
        raise ValueError(f"{op}: elements must have rank >= 1 to be unstacked along axis 0.")
    n = flat[0].nrows() if _is_ragged(flat[0]) else flat[0].shape[0]
    n = int(n) if isinstance(n, Tensor) else n
    if n is None:
        raise ValueError(f"{op}: the leading dimension of elems must be known.")
    for t in flat:
        if (int(t.nrows()) if _is_ragged(t) else t.shape[0]) != n:
            raise ValueError(f"{op}: all elems must have the same leading dimension, received "
                             f"{[tuple(x.shape) for x in flat]}.")
    return [composites.from_elements(nest.pack_sequence_as(elems, [t[i] for t in flat])) for i in range(n)], n


def _stack(items: list, like: Any, op: str) -> Any:
    items = [composites.as_elements(it) for it in items]
    ragged_in = any(_is_ragged(x) for x in nest.flatten(like))
    flats = [nest.flatten(it) for it in items]
    if not flats:
        return like
    out = []
    for k in range(len(flats[0])):
        parts = [ew.unary_operand(f[k], op) for f in flats]
        if ragged_in and len({tuple(p.shape) for p in parts}) > 1 and all(len(p.shape) >= 1 for p in parts):
            # rows of different lengths (a map over a RaggedTensor's rows): a RaggedTensor, as TF
            from tapeflow.ragged import RaggedTensor

            lengths = [int(p.shape[0]) for p in parts]
            out.append(RaggedTensor.from_row_lengths(mv.concat(parts, 0), lengths))
            continue
        out.append(mv.stack(parts, axis=0))
    return composites.from_elements(nest.pack_sequence_as(items[0], out))


def _is_ragged(x: Any) -> bool:
    return type(x).__name__ == "RaggedTensor"


def _cast_signature(value: Any, signature: Any) -> Any:
    if signature is None:
        return value
    value, signature = composites.as_elements(value), composites.as_elements(signature)
    sig = nest.flatten(signature)
    vals = nest.flatten(value)
    out = []
    for v, s in zip(vals, sig, strict=True):
        d = getattr(s, "dtype", s)
        out.append(ew.cast(v, d) if d is not None and isinstance(v, Tensor) and v.dtype != d else v)
    return composites.from_elements(nest.pack_sequence_as(value, out))


def map_fn(fn: Callable, elems: Any, dtype: Any = None, parallel_iterations: Any = None, back_prop: bool = True,
           swap_memory: bool = False, infer_shape: bool = True, name: Any = None,
           fn_output_signature: Any = None) -> Any:
    """fn applied to each slice of `elems` (a tensor or nested structure) along axis 0, the
    results stacked; `fn_output_signature` (or the legacy `dtype`) gives the output dtypes."""
    if composite_calls.tracing() and composite_calls.has_graph_composites(elems):
        # RaggedTensor / SparseTensor rows of graph tensors: the whole map is one node.
        return composite_calls.lift_composite_call(map_fn, (fn, elems), {
            "dtype": dtype, "fn_output_signature": fn_output_signature}, "map_fn")
    slices, n = _slices(elems, "map_fn")
    sig = fn_output_signature if fn_output_signature is not None else dtype
    outs = [_cast_signature(fn(s), sig) for s in slices]
    if n == 0:
        raise ValueError("map_fn: elems has a leading dimension of 0; TF needs fn_output_signature shapes "
                         "to build an empty result, which Tapeflow does not infer.")
    return _stack(outs, elems, "map_fn")


def vectorized_map(fn: Callable, elems: Any, fallback_to_while_loop: bool = True, warn: bool = True) -> Any:
    """`map_fn` with TF's vectorized_map signature (the same results; each slice runs in turn)."""
    return map_fn(fn, elems)


def scan(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: int = 10, back_prop: bool = True,
         swap_memory: bool = False, infer_shape: bool = True, reverse: bool = False, name: Any = None) -> Any:
    """acc = fn(acc, x) over the slices of `elems` along axis 0 (reversed with `reverse`); returns
    every acc stacked. Without `initializer` the first slice starts the accumulation."""
    if composite_calls.tracing() and composite_calls.has_graph_composites((elems, initializer)):
        return composite_calls.lift_composite_call(scan, (fn, elems, initializer), {"reverse": reverse}, "scan")
    slices, n = _slices(elems, "scan")
    order = list(range(n - 1, -1, -1)) if reverse else list(range(n))
    outs: list = [None] * n
    if initializer is None:
        if n == 0:
            raise ValueError("scan: elems is empty and no initializer was given.")
        acc = slices[order[0]]
        outs[order[0]] = acc
        order = order[1:]
    else:
        acc = initializer
    for i in order:
        acc = fn(acc, slices[i])
        outs[i] = acc
    if n == 0:
        return nest.map_structure(lambda t: mv.expand_dims(ew.unary_operand(t, "scan"), 0)[:0], initializer)
    return _stack(outs, elems, "scan")


def _fold(fn: Callable, elems: Any, initializer: Any, reverse: bool, op: str) -> Any:
    slices, n = _slices(elems, op)
    order = list(range(n - 1, -1, -1)) if reverse else list(range(n))
    if initializer is None:
        if n == 0:
            raise ValueError(f"{op}: elems is empty and no initializer was given.")
        acc, order = slices[order[0]], order[1:]
    else:
        acc = initializer
    for i in order:
        acc = fn(acc, slices[i])
    return acc


def foldl(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: int = 10, back_prop: bool = True,
          swap_memory: bool = False, name: Any = None) -> Any:
    """fn(...fn(fn(initializer, elems[0]), elems[1])..., elems[n-1]): a left fold over axis 0."""
    return _fold(fn, elems, initializer, False, "foldl")


def foldr(fn: Callable, elems: Any, initializer: Any = None, parallel_iterations: int = 10, back_prop: bool = True,
          swap_memory: bool = False, name: Any = None) -> Any:
    """The right fold: fn(acc, x) from the last slice of `elems` to the first."""
    return _fold(fn, elems, initializer, True, "foldr")
