"""`tf.print`: print tensors by value on every call, in TF's format (also inside tf.function).

Floats print as C's `%g` with 6 (float64: 15) digits when that reads back exactly, else with 9
(17) digits, as TF does; booleans as 1/0, strings
quoted; each dimension longer than 2 * `summarize` shows its first and last `summarize` entries
around `...`, as TF's `tf.print` does.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from tapeflow import backend, nest
from tapeflow.tensor import Tensor
from tapeflow.tracing import func_graph


def _scalar_text(x: Any) -> str:
    if isinstance(x, (bytes, np.bytes_)):
        return '"' + x.decode("utf-8", "replace") + '"'
    if isinstance(x, (str, np.str_)):
        return f'"{x}"'
    if isinstance(x, (bool, np.bool_)):
        return "1" if x else "0"
    if isinstance(x, np.floating):
        # NOTE: TF's FloatToBuffer: the short form (FLT_DIG / DBL_DIG digits) when it reads back
        # as the same number, else max_digits10.
        short, full = (15, 17) if x.dtype == np.float64 else (6, 9)
        text = f"{x:.{short}g}"
        if not np.isnan(x) and x.dtype.type(text) != x:
            text = f"{x:.{full}g}"
        return text
    return str(x)


def _array_text(a: np.ndarray, summarize: int, depth: int = 0) -> str:
    if a.ndim == 0:
        return _scalar_text(a[()])
    n = a.shape[0]
    if summarize >= 0 and n > 2 * summarize:
        head, tail = list(range(summarize)), list(range(n - summarize, n))
    else:
        head, tail = list(range(n)), []
    if a.ndim == 1:
        parts = [_scalar_text(a[i]) for i in head]
        if tail:
            parts.append("...")
            parts.extend(_scalar_text(a[i]) for i in tail)
        return "[" + " ".join(parts) + "]"
    sep = "\n" * (a.ndim - 1) + " " * (depth + 1)
    parts = [_array_text(a[i], summarize, depth + 1) for i in head]
    if tail:
        parts.append("...")
        parts.extend(_array_text(a[i], summarize, depth + 1) for i in tail)
    return "[" + sep.join(parts) + "]"


def format_value(x: Any, summarize: int = 3) -> str:
    """One `tf.print` argument as text: tensors by value, structures with tensor leaves."""
    if isinstance(x, Tensor):
        return _array_text(backend.to_numpy(x._value), summarize)
    if isinstance(x, np.ndarray):
        return _array_text(x, summarize)
    if isinstance(x, str):
        return x
    if isinstance(x, (list, tuple, dict)):
        return repr(nest.map_structure(lambda t: _Raw(format_value(t, summarize)), x))
    return str(x)


class _Raw:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _print_now(*inputs: Any, output_stream: Any, summarize: int, sep: str, end: str) -> None:
    text = sep.join(format_value(x, summarize) for x in inputs) + end
    stream = sys.stderr if output_stream is None else output_stream
    if isinstance(stream, str):
        stream = {"stdout": sys.stdout, "stderr": sys.stderr}.get(stream.removeprefix("file://"))
        if stream is None:
            raise ValueError(f"tf.print: output_stream must be sys.stdout, sys.stderr or "
                             f"'stdout'/'stderr', received {output_stream!r}.")
    stream.write(text)
    if hasattr(stream, "flush"):
        stream.flush()


def print_(*inputs: Any, output_stream: Any = None, summarize: int = 3, sep: str = " ",
           end: str = "\n", name: str | None = None) -> None:
    """Print `inputs` (tensors by value, other values as text) to `output_stream`, like `tf.print`.

    Args:
        *inputs: tensors, Python values or nested structures of them.
        output_stream: where to write (default `sys.stderr`, as TF); a file-like object or
            "stdout"/"stderr".
        summarize: how many leading and trailing entries per dimension to show; -1 shows all.
        sep, end: separator between inputs and text after the last one.
        name: accepted for TF compatibility (op names are not used).

    Inside a `tf.function` the printing happens on every call, not only while tracing.
    """
    if summarize is None:
        summarize = 3
    if func_graph.tracing():
        func_graph.lift_call(lambda *xs: _print_now(*xs, output_stream=output_stream, summarize=summarize,
                                                      sep=sep, end=end),
                             inputs, name="print_v2", stateful=True)
        return None
    _print_now(*inputs, output_stream=output_stream, summarize=summarize, sep=sep, end=end)
    return None
