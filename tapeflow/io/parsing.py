"""Parsing `tf.train.Example` / `SequenceExample` bytes into tensors: `tf.io.parse_example`,
`parse_single_example`, `parse_sequence_example`, `parse_single_sequence_example` (the
configurations are in `features.py`, the per-feature work in `parse_features.py`).

The bytes are read straight from the wire (no message objects). Each feature's result is first
a short list of NumPy components (dense: the values; sparse: indices, values, dense shape;
ragged: flat values and row splits) and then assembled into a Tensor, SparseTensor or
RaggedTensor. Inside a `tf.function` (and so in `Dataset.map`) the components are the outputs
of one traced node, so the output specs are known without data, as in TF.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow import string_values as _sv
from tapeflow.errors import InvalidArgumentError
from tapeflow.io.parse_features import (
    RaggedFeature,
    _Feature,
    _np_dtype,
    _ordered,
    _read_example,
    _read_sequence_example,
    _SequenceFeature,
    _specs,
)
from tapeflow.io.wire import ProtoError
from tapeflow.strings.base import string_input
from tapeflow.tensor import Tensor
from tapeflow.tracing import func_graph

# ---------------------------------------------------------------------------------------------
# The ops

def _names(example_names: Any, n: int) -> list[str]:
    if example_names is None:
        return ["<unknown>"] * n
    arr = np.asarray(example_names.numpy() if isinstance(example_names, Tensor) else example_names,
                     dtype=object).reshape(-1)
    out = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in arr.tolist()]
    if len(out) != n:
        raise ValueError(f"`example_names` has {len(out)} names for {n} examples.")
    return out


def _decode_all(flat: list, reader: Callable) -> list:
    out = []
    for data in flat:
        try:
            out.append(reader(data))
        except (ProtoError, UnicodeDecodeError) as e:
            shown = data[:64].decode("latin-1")
            raise InvalidArgumentError(None, None, f"Could not parse example input, value: '{shown}' ({e})") from None
    return out


def _run(op: str, serialized: Any, specs: list, reader: Callable, split: Callable, example_names: Any) -> Any:
    """Run the parse `op` on the string tensor `serialized` (scalar or vector): the features'
    assembled outputs, as `split(outputs list)` arranges them."""
    x = string_input(serialized, op, "serialized")
    rank = x.shape.rank
    if rank not in (0, 1):
        raise ValueError(f"{op}: `serialized` must be a scalar or a vector of strings, received shape "
                         f"{x.shape}.")
    batched = rank == 1

    def components(arr: np.ndarray) -> list:
        flat = arr.reshape(-1).tolist()
        examples = _decode_all(flat, reader)
        names = _names(example_names, len(flat))
        out = []
        for spec in specs:
            out.extend(spec.components([reader.select(e, spec) for e in examples]  # type: ignore[attr-defined]
                                       if hasattr(reader, "select") else examples, names))
        return out

    if func_graph.tracing() and x._value is None:
        parts = _traced(op, x, components, specs)
    else:
        from tapeflow import backend

        parts = [Tensor(a) for a in components(backend.to_numpy(x._value))]
    outputs, i = [], 0
    for spec in specs:
        k = spec.n_components()
        outputs.append(spec.assemble(parts[i:i + k], batched))
        i += k
    return split(outputs, parts)


def _traced(op: str, x: Tensor, components: Callable, specs: list) -> list:
    """The components as outputs of one node of the current trace. On the trace's stand-in
    strings (not Examples) the probe gives zeros whose data-dependent sizes follow the
    stand-ins' length, so those dimensions come out unknown."""

    def run(s: Tensor) -> list:
        return [Tensor(a) for a in components(s._value)]

    def probe(s: Tensor) -> list:
        try:
            return run(s)
        except InvalidArgumentError:
            pass
        flat = s._value.reshape(-1).tolist()
        n = len(flat)
        k = len(flat[0]) if flat else 1
        out = []
        for spec in specs:
            out.extend(Tensor(a) for a in _stand_in_components(spec, n, k))
        return out

    return list(func_graph.lift_call(run, (x,), name=op, stateful=False, probe=probe))


def _stand_in_components(spec: _Feature, n: int, k: int) -> list:
    np_dtype = _np_dtype(spec.dtype)

    def zeros(shape: tuple, dtype: Any = np_dtype) -> np.ndarray:
        return _sv.empty_strings(shape) if dtype is object else np.zeros(shape, dtype)

    split_dtype = getattr(spec.config, "row_splits_dtype", _dt.int64)._np
    sequence_form = isinstance(spec, _SequenceFeature)
    if spec.form == "dense":
        return [zeros((n, *spec.shape))]
    if spec.form == "sequence":
        out = [zeros((n, k, *spec.shape))]
        return out + [np.zeros(n, np.int64)] if sequence_form else out
    if spec.form in ("sparse", "sparse_feature"):
        rank = 1 + (2 if sequence_form else len(getattr(spec, "index_keys", [0])))
        return [np.zeros((k, rank), np.int64), zeros((k,)), np.zeros(rank, np.int64)]
    uniform = math.prod(p.length for p in spec.partitions if isinstance(p, RaggedFeature.UniformRowLength))
    rest = spec.n_components() - 2
    return [zeros((k * uniform,)), np.zeros(n + 1, split_dtype)] + [np.zeros(k + 1, split_dtype)] * rest


class _ExampleReader:
    def __call__(self, data: bytes) -> dict:
        return _read_example(data)


def parse_example(serialized: Any, features: dict, example_names: Any = None, name: Any = None) -> dict:
    """Parse a vector of serialized `tf.train.Example`s into a dict of batched tensors (one per
    key of `features`): dense [batch] + shape, `SparseTensor`s and `RaggedTensor`s.

    Example:
        >>> tf.io.parse_example(records, {"x": tf.io.FixedLenFeature([2], tf.float32)})["x"].shape
        TensorShape([batch, 2])
    """
    what = "parse_example"
    specs = _specs(what, features)
    return _run("ParseExampleV2", serialized, specs, _ExampleReader(),
                lambda outs, parts: dict(zip([s.key for s in specs], outs, strict=True)), example_names)


def parse_single_example(serialized: Any, features: dict, example_names: Any = None, name: Any = None) -> dict:
    """Parse one serialized `tf.train.Example` (a scalar string) into a dict of tensors:
    `FixedLenFeature` -> dense of its shape, `VarLenFeature` -> SparseTensor, ...

    Example:
        >>> tf.io.parse_single_example(record, {"label": tf.io.FixedLenFeature([], tf.int64)})
    """
    x = string_input(serialized, "ParseExampleV2", "serialized")
    if x.shape.rank not in (None, 0):
        raise ValueError("Input serialized must be a scalar")
    return parse_example(x, features, example_names, name)


class _SequenceReader:
    """Reads SequenceExample bytes; `select` gives each spec the part (context or lists) it reads."""

    def __call__(self, data: bytes) -> tuple:
        return _read_sequence_example(data)

    @staticmethod
    def select(example: tuple, spec: _Feature) -> dict:
        return example[1] if isinstance(spec, _SequenceFeature) else example[0]


def _sequence_specs(what: str, context_features: Any, sequence_features: Any) -> tuple[list, list]:
    context = _specs(what, context_features)
    if sequence_features is not None and not isinstance(sequence_features, dict):
        raise TypeError(f"{what}: `sequence_features` must be a dict, received {type(sequence_features).__name__}.")
    sequence = _ordered([_SequenceFeature(k, v, what, sequence=True) for k, v in (sequence_features or {}).items()])
    for s in sequence:
        if s.form not in ("sequence", "sparse", "ragged"):
            raise ValueError(f"Unsupported {type(s.config).__name__} {s.config} for key '{s.key}' in "
                             "sequence_features: use FixedLenSequenceFeature, VarLenFeature or RaggedFeature.")
    if not context and not sequence:
        raise ValueError(f"{what}: give at least one of `context_features` and `sequence_features`.")
    return context, sequence


def parse_sequence_example(serialized: Any, context_features: Any = None, sequence_features: Any = None,
                           example_names: Any = None, name: Any = None) -> tuple[dict, dict, dict]:
    """Parse a vector of serialized `tf.train.SequenceExample`s: (context dict, feature-list dict,
    lengths dict). Feature lists: FixedLenSequenceFeature -> [batch, steps] + shape (padded;
    lengths gives each example's steps), VarLenFeature -> SparseTensor [batch, steps, values],
    RaggedFeature -> RaggedTensor [batch, (steps), (values)]."""
    context, sequence = _sequence_specs("parse_sequence_example", context_features, sequence_features)
    return _run("ParseSequenceExampleV2", serialized, context + sequence, _SequenceReader(),
                _sequence_split(context, sequence, lengths=True), example_names)


def parse_single_sequence_example(serialized: Any, context_features: Any = None, sequence_features: Any = None,
                                  example_name: Any = None, name: Any = None) -> tuple[dict, dict]:
    """Parse one serialized `tf.train.SequenceExample` (a scalar): (context dict, feature-list dict)."""
    x = string_input(serialized, "ParseSequenceExampleV2", "serialized")
    if x.shape.rank not in (None, 0):
        raise ValueError("Input serialized must be a scalar")
    context, sequence = _sequence_specs("parse_single_sequence_example", context_features, sequence_features)
    return _run("ParseSequenceExampleV2", x, context + sequence, _SequenceReader(),
                _sequence_split(context, sequence, lengths=False),
                None if example_name is None else [example_name])


def _sequence_split(context: list, sequence: list, lengths: bool) -> Callable:
    def split(outs: list, parts: list) -> tuple:
        ctx = {s.key: o for s, o in zip(context, outs, strict=False)}
        seq = {s.key: o for s, o in zip(sequence, outs[len(context):], strict=True)}
        if not lengths:
            return ctx, seq
        lens, i = {}, 0
        for s in context + sequence:
            k = s.n_components()
            if isinstance(s, _SequenceFeature) and s.form == "sequence":
                lens[s.key] = parts[i + 1]
            i += k
        return ctx, seq, lens

    return split
