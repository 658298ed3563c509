"""`tf.raw_ops`: TensorFlow's op-level API for the ops that have a direct equivalent here.

Each raw op takes keyword arguments only, with TF's CamelCase op name and its argument names
and defaults (the table raw_op_signatures.py is generated from TF's op definitions by
tools/gen_raw_op_signatures.py); ops with several outputs return TF's namedtuples. A name TF has
but Tapeflow does not implement raises AttributeError naming it; `tf.raw_ops` lists only the
implemented ones.

Example:
    >>> tf.raw_ops.Add(x=1.0, y=2.0)
    >>> tf.raw_ops.MatMul(a=a, b=b, transpose_b=True)
    >>> tf.raw_ops.TopKV2(input=x, k=2).indices
"""

# NOTE: this module holds no public names of its own (a CamelCase op such as `Any` must not meet
# a module global); the ops live in raw_ops_impl.py and resolve on first use.

from __future__ import annotations

import typing as _typing


def __getattr__(name: str) -> _typing.Callable:
    from tapeflow import raw_ops_impl

    return raw_ops_impl.lookup(name)


def __dir__() -> list[str]:
    from tapeflow import raw_ops_impl

    return raw_ops_impl.names()
