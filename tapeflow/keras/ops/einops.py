"""`keras.ops.rearrange`: einops-style axis rearrangement ("b h w c -> b (h w) c")."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from tapeflow.keras.ops.arguments import to_tensor
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor


def _groups(side: str, what: str) -> list:
    """Tokens of one side: a list of groups, each a list of axis names."""
    tokens = re.findall(r"\(|\)|[A-Za-z_][A-Za-z0-9_]*|\d+|\S", side)
    groups: list = []
    current = None
    for t in tokens:
        if t == "(":
            if current is not None:
                raise ValueError(f"rearrange: nested parentheses in the {what} of the pattern.")
            current = []
        elif t == ")":
            if current is None:
                raise ValueError(f"rearrange: unbalanced ')' in the {what} of the pattern.")
            groups.append(current)
            current = None
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", t):
            (current if current is not None else groups).append(t if current is not None else [t])
        else:
            raise ValueError(f"rearrange: unsupported token {t!r} in the {what} of the pattern "
                             "(axis names and parentheses only).")
    if current is not None:
        raise ValueError(f"rearrange: unbalanced '(' in the {what} of the pattern.")
    return groups


def rearrange(tensor: Any, pattern: str, **axes_lengths: Any) -> Tensor:
    """Reorder, merge and split axes as `pattern` says, e.g. "b (h w) c -> b h w c" with h=4.

    Args:
        tensor: the input.
        pattern: "left -> right"; each side names axes, parentheses group axes merged into one.
        **axes_lengths: sizes of axes that a split cannot infer.
    """
    x = to_tensor(tensor)
    if "->" not in pattern:
        raise ValueError(f"rearrange: the pattern needs '->', received {pattern!r}.")
    lhs, rhs = pattern.split("->")
    left, right = _groups(lhs, "left side"), _groups(rhs, "right side")
    if len(left) != x.ndim:
        raise ValueError(f"rearrange: the left side names {len(left)} axes, the input has rank {x.ndim}.")
    names_l = [n for g in left for n in g]
    names_r = [n for g in right for n in g]
    if sorted(names_l) != sorted(names_r) or len(set(names_l)) != len(names_l):
        raise ValueError(f"rearrange: both sides must name the same axes once each: {pattern!r}.")
    sizes = {k: int(v) for k, v in axes_lengths.items()}
    for g, d in zip(left, x.shape, strict=True):
        if d is None:  # an unknown dimension (a Keras input's batch) stays whole
            if len(g) != 1:
                raise ValueError(f"rearrange: cannot split the unknown dimension into {g}.")
            sizes[g[0]] = None
            continue
        unknown = [n for n in g if n not in sizes]
        known = int(np.prod([sizes[n] for n in g if n in sizes])) if len(g) > len(unknown) else 1
        if len(unknown) > 1:
            raise ValueError(f"rearrange: cannot infer the sizes of {unknown}; pass them as keywords.")
        if unknown:
            if d % known:
                raise ValueError(f"rearrange: axis of size {d} does not split by {known}.")
            sizes[unknown[0]] = d // known
        elif known != d:
            raise ValueError(f"rearrange: group {g} has size {known}, the input axis has {d}.")
    def size_of(group: list) -> int:
        dims = [sizes[n] for n in group]
        return -1 if None in dims else int(np.prod(dims))

    y = mv.reshape(x, [size_of([n]) for n in names_l])
    y = mv.transpose(y, [names_l.index(n) for n in names_r])
    return mv.reshape(y, [size_of(g) for g in right])
