"""`tf.summary.experimental`: the default step, summary scopes and raw summary protos."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

from tapeflow.name_scope import current_scope, name_scope
from tapeflow.summary.ops import write_raw_pb
from tapeflow.summary.writer import get_step, set_step

_INVALID = re.compile(r"[^-_/.A-Za-z0-9]")


@contextlib.contextmanager
def summary_scope(name: str, default_name: str | None = None) -> Iterator[tuple[str, str]]:
    """Enter a name scope for a summary op; yields (tag, scope name) as TF's does."""
    name = name or default_name
    scope = current_scope()
    tag = scope + name if scope else name
    with name_scope(_INVALID.sub("", name) or "summary") as scope_name:
        yield tag, scope_name


__all__ = ["get_step", "set_step", "summary_scope", "write_raw_pb"]


def _graph_keras_model_metadata() -> Any:
    """The metadata under which TensorBoard's graph plugin reads a Keras model's JSON."""
    from tapeflow.summary._tensorboard import tensorboard

    metadata = tensorboard().summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = "graph_keras_model"
    metadata.plugin_data.content = b"1"
    return metadata
