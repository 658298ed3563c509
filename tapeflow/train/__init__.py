"""`tf.train` (TF 2): object-based checkpoints (`Checkpoint`, `CheckpointManager`) and their readers,
and the `tf.train.Example` messages (Example, Features, Feature, BytesList, FloatList, Int64List,
SequenceExample, FeatureList, FeatureLists).

The TF 1 `tf.compat.v1.train` (Saver, optimizers) is a separate module.
"""

from __future__ import annotations

import os as _os
from typing import Any as _Any

from tapeflow.io.example_proto import (
    BytesList,
    Example,
    Feature,
    FeatureList,
    FeatureLists,
    Features,
    FloatList,
    Int64List,
    SequenceExample,
)
from tapeflow.train.checkpoint import Checkpoint
from tapeflow.train import format as _format
from tapeflow.train.format import CheckpointReader
from tapeflow.train.coordinator import Coordinator
from tapeflow.train.manager import CheckpointManager
from tapeflow.train.moving_averages import ExponentialMovingAverage
from tapeflow.train.options import CheckpointOptions
from tapeflow.train.state import CheckpointState, checkpoints_iterator, get_checkpoint_state, latest_checkpoint
from tapeflow.distribute.multi_worker import ClusterSpec  # (the cluster of tf.distribute)


def load_checkpoint(ckpt_dir_or_file: str) -> CheckpointReader:
    """A reader for a checkpoint prefix, or for the latest checkpoint of a directory.

    Example:
        >>> reader = tf.train.load_checkpoint("./tf_ckpts/")
        >>> reader.get_variable_to_shape_map()["net/l1/kernel/.ATTRIBUTES/VARIABLE_VALUE"]
        [1, 5]
    """
    path = _os.fspath(ckpt_dir_or_file)
    if _os.path.isdir(path):
        latest = latest_checkpoint(path)
        if latest is None:
            raise ValueError(f"Couldn't find 'checkpoint' file or checkpoints in given directory {path}")
        path = latest
    return _format.open_reader(path)


def list_variables(ckpt_dir_or_file: str) -> list[tuple[str, list]]:
    """[(key, shape), ...] of every value in the checkpoint, sorted by key."""
    return sorted(load_checkpoint(ckpt_dir_or_file).get_variable_to_shape_map().items())


def load_variable(ckpt_dir_or_file: str, name: str) -> _Any:
    """The value stored under `name` (a key from `list_variables`) as a NumPy array."""
    if name.endswith(":0"):
        name = name[:-2]
    return load_checkpoint(ckpt_dir_or_file).get_tensor(name)


del annotations
