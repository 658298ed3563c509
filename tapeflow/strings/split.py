"""`tf.strings.split`: each string cut at a separator (or runs of ASCII whitespace)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.strings.base import as_bytes, refuse_ragged, string_input
from tapeflow.strings.rows import per_string


def split(input: Any, sep: Any = None, maxsplit: int = -1, name: Any = None) -> Any:  # noqa: A002
    """The pieces of each string between occurrences of `sep`; with `sep=None`, between runs of
    ASCII whitespace (no empty pieces). At most `maxsplit` splits when it is >= 0.

    Returns a vector for a scalar input, else a RaggedTensor with one more (ragged) axis.
    Example: `split(["a b", "c"])` is `<tf.RaggedTensor [[b'a', b'b'], [b'c']]>`.
    """
    refuse_ragged(input, "split")
    x = string_input(input, "StringSplitV2")
    delimiter = None if sep is None else as_bytes(sep, "StringSplitV2", "sep")
    limit = int(maxsplit)

    def pieces(s: bytes) -> np.ndarray:
        parts = [s] if delimiter == b"" else s.split(delimiter, limit)
        out = np.empty(len(parts), dtype=object)
        out[:] = parts
        return out

    return per_string(x, pieces, object, "StringSplitV2")
