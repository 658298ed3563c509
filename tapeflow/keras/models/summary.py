"""`model.summary()`: Keras 3's layer table (as its `rich` table prints without colours).

Layout rules follow Keras 3: 88 columns (108 with "Connected to") capped at the terminal
width minus 4, column edges at `positions` of the line, cells padded by one space, a heavy
header box, a rule between rows, long words cut with "…", and the totals underneath.
"""

from __future__ import annotations

import math
import re
import shutil
import sys
from collections.abc import Callable
from typing import Any

from tapeflow import nest

__all__ = ["print_summary"]

_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


def readable_memory_size(nbytes: float) -> str:
    """`nbytes` as Keras prints it: "36.00 B", "931.68 KB", ..."""
    for unit in _UNITS:
        if nbytes / 1024 < 1:
            return f"{nbytes:.2f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.2f} {_UNITS[-1]}"


def _count(weights: list) -> int:
    return int(sum(math.prod(tuple(w.shape)) for w in weights))


def _nbytes(weights: list) -> float:
    unique = {id(w): w for w in weights}.values()
    total = 0
    for w in unique:
        v = getattr(w, "_value", None)
        itemsize = v.dtype.itemsize if v is not None else 4
        total += math.prod(tuple(w.shape)) * itemsize
    return float(total)


def _format_shape(shape: Any) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _layer_output_shape(layer: Any) -> str:
    nodes = getattr(layer, "_inbound_nodes", None) or []
    outputs = None
    if nodes:
        outputs = [tuple(t.shape) for t in nodes[-1].outputs]
    elif type(layer).__name__ == "InputLayer":
        outputs = [tuple(layer.batch_shape)]
    else:
        try:
            shape = layer.output_shape
            outputs = [tuple(shape)] if shape and not isinstance(shape[0], (tuple, list)) else [
                tuple(s) for s in shape]
        except (AttributeError, NotImplementedError, TypeError, ValueError, IndexError):
            build_shape = getattr(layer, "_build_input_shape", None)
            # as Keras: a layer built by an eager call (in a subclassed model) has its build shapes
            shapes = getattr(layer, "__dict__", {}).get("_build_shapes_dict")
            if build_shape is None and not shapes:
                return "?"
            try:
                shape = layer.compute_output_shape(build_shape) if build_shape is not None else \
                    layer.compute_output_shape(**shapes)
            except Exception:  # noqa: BLE001 - any failure means the shape is unknown
                return "?"
            flat = nest.flatten(shape) if shape and isinstance(shape[0], (tuple, list)) else None
            outputs = [tuple(shape)] if flat is None else [tuple(s) for s in shape]
    if not outputs:
        return "?"
    if len(outputs) == 1:
        return _format_shape(outputs[0])
    return "[" + ", ".join(_format_shape(s) for s in outputs) + "]"


def _connections(layer: Any, relevant: set) -> str:
    parts = []
    for node in getattr(layer, "_inbound_nodes", None) or []:
        if relevant and id(node) not in relevant:
            continue
        for t in node.inputs:
            hist = getattr(t, "_keras_history", None)
            if hist is None:
                continue
            inbound, node_index, tensor_index = hist
            parts.append(f"{inbound.name}[{node_index}][{tensor_index}]")
    return ", ".join(parts) if parts else "-"


def _is_functional(model: Any) -> bool:
    return hasattr(model, "_nodes") and hasattr(model, "_graph_inputs")


def _sequential_like(model: Any) -> bool:
    """A Functional model whose graph is a plain chain prints without "Connected to"."""
    if not _is_functional(model):
        return True
    if len(model._graph_inputs) != 1 or len(model._graph_outputs) != 1:
        return False
    nodes = model._nodes
    node_ids = {id(n) for n in nodes}
    for node in nodes:
        if len(node.inputs) != 1:
            return False
    for layer in model.layers:
        if sum(1 for n in getattr(layer, "_inbound_nodes", []) if id(n) in node_ids) > 1:
            return False
    # A chain: each node's input is the previous node's output.
    prev = model._graph_inputs[0]
    for node in nodes:
        if node.inputs[0] is not prev:
            return False
        prev = node.outputs[0]
    return True


def _column_widths(line_length: int, positions: list, n: int) -> list:
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    widths = []
    current = 0
    for pos in positions:
        width = int(pos) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width)
        current += width
    # Each cell adds one space of padding on both sides; the borders take n + 1 columns.
    widths = [w + 2 for w in widths]
    room = line_length - (n + 1)
    total = sum(widths)
    if total > room:
        widths = _ratio_reduce(total - room, widths)
    elif total < room:
        widths = [w + p for w, p in zip(widths, _ratio_distribute(room - total, widths), strict=False)]
    return widths


def _ratio_reduce(excess: int, widths: list) -> list:
    """Take `excess` columns off, evenly, as rich does (Python rounding included)."""
    remaining = excess
    ratio_left = len(widths)
    out = []
    for w in widths:
        take = min(w, round(remaining / ratio_left))
        out.append(w - take)
        remaining -= take
        ratio_left -= 1
    return out


def _ratio_distribute(total: int, ratios: list) -> list:
    left = total
    ratio_left = sum(ratios)
    out = []
    for r in ratios:
        share = math.ceil(r * left / ratio_left) if ratio_left > 0 else left
        out.append(share)
        ratio_left -= r
        left -= share
    return out


def _wrap(text: str, width: int) -> list:
    """Word-wrap `text` into lines of at most `width`; a word too long is cut with "…"."""
    if width <= 0:
        return [""]
    lines: list = []
    for paragraph in text.split("\n"):
        stripped = paragraph.lstrip(" ")
        current = paragraph[: len(paragraph) - len(stripped)]  # keep an indent (nested layers)
        for word in stripped.split(" "):
            if len(word) > width:
                word = word[: width - 1] + "…"
            if not current.strip():
                current += word
            elif len(current) + 1 + len(word) <= width:
                current += " " + word
            else:
                lines.append(current)
                current = word
        lines.append(current)
    return lines or [""]


def _render_table(header: list, rows: list, widths: list, align: list) -> list:
    def cell_lines(text: str, width: int, how: str) -> list:
        inner = width - 2
        out = []
        for line in _wrap(text, inner):
            if how == "right":
                line = line.rjust(inner)
            elif how == "center":
                pad = inner - len(line)
                line = " " * (pad // 2) + line + " " * (pad - pad // 2)
            else:
                line = line.ljust(inner)
            out.append(" " + line + " ")
        return out

    def row_lines(cells: list, vertical: str) -> list:
        parts = [cell_lines(c, w, a) for c, w, a in zip(cells, widths, align, strict=False)]
        height = max(len(p) for p in parts)
        out = []
        for i in range(height):
            segs = [p[i] if i < len(p) else " " * w for p, w in zip(parts, widths, strict=False)]
            out.append(vertical + vertical.join(segs) + vertical)
        return out

    def rule(left: str, fill: str, mid: str, right: str) -> str:
        return left + mid.join(fill * w for w in widths) + right

    out = [rule("┏", "━", "┳", "┓")]
    out += row_lines(header, "┃")
    out.append(rule("┡", "━", "╇", "┩"))
    for i, row in enumerate(rows):
        if i:
            out.append(rule("├", "─", "┼", "┤"))
        out += row_lines(row, "│")
    out.append(rule("└", "─", "┴", "┘"))
    return out


def _layer_range(layers: list, layer_range: Any) -> tuple:
    if layer_range is None:
        return 0, len(layers)
    if len(layer_range) != 2:
        raise ValueError(
            f"layer_range must be a list or tuple of length 2. Received: layer_range = {layer_range} "
            f"of length {len(layer_range)}"
        )
    if not isinstance(layer_range[0], str) or not isinstance(layer_range[1], str):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    start = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    end = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not start or not end or start[0] > end[-1]:
        raise ValueError(
            f"Passed layer_range does not match any layer names in the model: {layer_range}. "
            f"Layer names: {[layer.name for layer in layers]}"
        )
    return start[0], end[-1] + 1


def print_summary(model: Any, line_length: int | None = None, positions: Any = None,
                  print_fn: Callable | None = None, expand_nested: bool = False, show_trainable: bool = False,
                  layer_range: Any = None) -> None:
    """Print `model`'s summary table (see `Model.summary`)."""
    layers = list(model.layers)
    sequential_like = _sequential_like(model)
    relevant: set = set()
    if sequential_like:
        default_length = 88
        positions = list(positions or [0.45, 0.80, 1.0])
        header = ["Layer (type)", "Output Shape", "Param #"]
        align = ["left", "left", "right"]
    else:
        default_length = 108
        positions = list(positions or [0.3, 0.56, 0.74, 1.0])
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        align = ["left", "left", "right", "left"]
        relevant = {id(n) for n in model._nodes}
    if show_trainable:
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        align.append("center")
    columns = shutil.get_terminal_size().columns
    line_length = line_length or min(default_length, columns - 4)
    widths = _column_widths(int(line_length), positions, len(header))

    def fields(layer: Any, prefix: str) -> list:
        name = f"{prefix}{layer.name} ({type(layer).__name__})"
        if not layer.built:
            params = "0 (unbuilt)"
        else:
            params = f"{layer.count_params():,}"
        row = [name, _layer_output_shape(layer), params]
        if not sequential_like:
            row.append(_connections(layer, relevant))
        if show_trainable:
            if layer.weights:
                row.append("Y" if layer.trainable else "N")
            else:
                row.append("-")
        return row

    def layer_rows(layer: Any, level: int) -> list:
        prefix = "   " * level + "└ " if level else ""
        rows = [fields(layer, prefix)]
        sub = getattr(layer, "layers", None)
        if expand_nested and sub and hasattr(layer, "_sublayers"):
            for inner in sub:
                rows.extend(layer_rows(inner, level + 1))
        return rows

    start, stop = _layer_range(layers, layer_range)
    rows = []
    for layer in layers[start:stop]:
        rows.extend(layer_rows(layer, 0))

    trainable = model.trainable_weights
    non_trainable = model.non_trainable_weights
    total_count = _count(trainable) + _count(non_trainable)
    total_bytes = _nbytes(trainable) + _nbytes(non_trainable)
    optimizer = getattr(model, "optimizer", None) if getattr(model, "compiled", False) else None
    opt_vars = list(getattr(optimizer, "variables", []) or []) if optimizer is not None and getattr(
        optimizer, "built", False) else None
    if opt_vars is not None:
        total_count += _count(opt_vars)
        total_bytes += _nbytes(opt_vars)

    lines = [f'Model: "{model.name}"']
    lines += _render_table(header, rows, widths, align)
    lines.append(f" Total params: {total_count:,} ({readable_memory_size(total_bytes)})")
    lines.append(f" Trainable params: {_count(trainable):,} ({readable_memory_size(_nbytes(trainable))})")
    lines.append(f" Non-trainable params: {_count(non_trainable):,} "
                 f"({readable_memory_size(_nbytes(non_trainable))})")
    if opt_vars is not None:
        lines.append(f" Optimizer params: {_count(opt_vars):,} ({readable_memory_size(_nbytes(opt_vars))})")
    text = "\n".join(lines) + "\n"
    if print_fn is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        print_fn(text)
