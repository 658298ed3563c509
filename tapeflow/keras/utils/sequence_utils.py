"""`pad_sequences`: lists of variable-length sequences to one padded 2-D (or more) array."""

from __future__ import annotations

from typing import Any

import numpy as np


def pad_sequences(sequences: Any, maxlen: int | None = None, dtype: Any = "int32", padding: str = "pre",
                  truncating: str = "pre", value: Any = 0.0) -> np.ndarray:
    """Pad (or truncate) each sequence to `maxlen` (default: the longest) entries.

    Args:
        sequences: a list of sequences (lists or arrays of scalars or of equal-shaped items).
        maxlen: the output length; longer sequences are truncated.
        dtype: the output dtype ("int32"; use "object" or a string dtype for strings).
        padding: "pre" or "post": where the padding goes.
        truncating: "pre" or "post": which end is cut from longer sequences.
        value: the padding value.

    Returns:
        A NumPy array of shape (len(sequences), maxlen) + the items' shape.

    Example:
        >>> keras.utils.pad_sequences([[1], [2, 3]])
        array([[0, 1],
               [2, 3]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    lengths = []
    sample_shape: tuple = ()
    found_shape = False
    for x in sequences:
        try:
            lengths.append(len(x))
            if not found_shape and len(x):
                sample_shape = np.asarray(x).shape[1:]
                found_shape = True
        except TypeError as e:
            raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: {x!r}") from e
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    is_text = np.issubdtype(np.dtype(dtype), np.str_) or np.dtype(dtype) == object
    if isinstance(value, str) and np.dtype(dtype) != object and not is_text:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
                         "You should set `dtype=object` for variable length strings.")
    out = np.full((len(lengths), maxlen) + sample_shape, value, dtype=dtype)
    for i, s in enumerate(sequences):
        if not len(s) or maxlen == 0:
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]
        trunc = np.asarray(trunc, dtype=dtype)
        if trunc.shape[1:] != sample_shape:
            raise ValueError(f"Shape of sample {trunc.shape[1:]} of sequence at position {i} is different from "
                             f"expected shape {sample_shape}")
        if padding == "post":
            out[i, :len(trunc)] = trunc
        else:
            out[i, -len(trunc):] = trunc
    return out
