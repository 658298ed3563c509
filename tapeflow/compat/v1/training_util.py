"""TF 1 `tf.train` utilities on checkpoints, the global step and event files: `global_step`,
`assert_global_step`, `checkpoint_exists`, `get_checkpoint_mtimes`, `remove_checkpoint`,
`summary_iterator`."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from typing import Any

from tapeflow.tensor import Tensor


def global_step(sess: Any, global_step_tensor: Any) -> int:
    """The value of `global_step_tensor` in `sess`, as a Python int."""
    if getattr(global_step_tensor, "_value", None) is not None:
        return int(global_step_tensor.numpy())
    return int(sess.run(global_step_tensor))


def assert_global_step(global_step_tensor: Any) -> None:
    """Raise TypeError unless `global_step_tensor` is a scalar integer Variable or Tensor (TF's messages)."""
    if not isinstance(global_step_tensor, Tensor):
        raise TypeError(f'Existing "global_step" must be a Variable or Tensor: {global_step_tensor}.')
    if not global_step_tensor.dtype.base_dtype.is_integer:
        raise TypeError(f'Existing "global_step" does not have integer type: {global_step_tensor.dtype}')
    shape = global_step_tensor.shape
    if shape.rank is not None and shape.rank != 0 and shape.is_fully_defined():
        raise TypeError(f'Existing "global_step" is not scalar: {shape}')


def _matching(pathname: str) -> list:
    return sorted(glob.glob(pathname))


def checkpoint_exists(checkpoint_prefix: Any) -> bool:
    """Whether a checkpoint with this prefix exists (its `.index` file, or the path itself)."""
    checkpoint_prefix = os.fspath(checkpoint_prefix)
    return bool(_matching(checkpoint_prefix + ".index") or _matching(checkpoint_prefix))


def get_checkpoint_mtimes(checkpoint_prefixes: Any) -> list:
    """The modification times (seconds) of the checkpoints that exist among `checkpoint_prefixes`."""
    mtimes = []
    for prefix in checkpoint_prefixes:
        prefix = os.fspath(prefix)
        for pathname in (prefix + ".index", prefix):
            names = _matching(pathname)
            if names:
                mtimes.append(os.stat(names[0]).st_mtime_ns / 1e9)
                break
    return mtimes


def remove_checkpoint(checkpoint_prefix: Any, checkpoint_format_version: int = 2,
                      meta_graph_suffix: str = "meta") -> None:
    """Delete a checkpoint's files (`.index`, `.data-*`, and `.meta` if present)."""
    checkpoint_prefix = os.fspath(checkpoint_prefix)
    patterns = [f"{checkpoint_prefix}.{meta_graph_suffix}"]
    if checkpoint_format_version == 2:
        patterns += [checkpoint_prefix + ".index", checkpoint_prefix + ".data-?????-of-?????"]
    else:
        patterns.append(checkpoint_prefix)
    for pattern in patterns:
        for name in _matching(pattern):
            os.remove(name)


def summary_iterator(path: Any) -> Iterator[Any]:
    """The `Event` protos of a TensorBoard event file, in order."""
    from tapeflow.io.records import tf_record_iterator
    from tapeflow.summary._tensorboard import tensorboard

    event_cls = tensorboard().event_pb2.Event
    for record in tf_record_iterator(os.fspath(path)):
        yield event_cls.FromString(record)
