"""`tf.strings.unicode_script`: the Unicode script of code points as ICU's UScriptCode numbers.

The table `unicode_scripts.npz` holds the first code point of each run of equal script (1,587
runs over U+0000..U+10FFFF) and its UScriptCode; it was generated from TF 2.21's op (ICU's data
for the Unicode Script property) and is read with `allow_pickle=False`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.tensor import Tensor, convert_to_tensor


@functools.lru_cache(maxsize=1)
def _table() -> tuple[np.ndarray, np.ndarray]:
    with np.load(Path(__file__).with_name("unicode_scripts.npz"), allow_pickle=False) as data:
        return data["starts"].astype(np.int64), data["codes"].astype(np.int32)


def unicode_script(input: Any, name: Any = None) -> Any:  # noqa: A002
    """The UScriptCode (int32, e.g. 25 for Latin, 17 for Han; 0 common, 1 inherited) of each
    int32 code point; -1 for values outside [0, 0x10FFFF]. A RaggedTensor maps its values."""
    from tapeflow.dispatch import CompositeTensor

    if isinstance(input, CompositeTensor) and hasattr(input, "flat_values"):
        return input.with_flat_values(unicode_script(input.flat_values))
    if isinstance(input, Tensor):
        t = input
    else:  # NumPy arrays keep their dtype (and are checked); Python ints are int32
        t = convert_to_tensor(input) if hasattr(input, "dtype") else convert_to_tensor(input, dtype=_dt.int32)
    if t.dtype != _dt.int32:
        raise TypeError(f"UnicodeScript: input must be int32 code points, received {t.dtype.name}.")
    cps = backend.to_numpy(t._value).astype(np.int64)
    starts, codes = _table()
    out = codes[np.clip(np.searchsorted(starts, cps, side="right") - 1, 0, None)]
    out = np.where((cps < 0) | (cps > 0x10FFFF), -1, out).astype(np.int32)
    return Tensor(backend.asarray(out, None, backend.get_xp(t._value)))
