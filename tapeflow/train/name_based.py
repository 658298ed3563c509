"""Name-based checkpoints, as `tf.compat.v1.train.Saver` writes them: one tensor per variable,
keyed by the variable's name (`scoped/c`), no object graph.

`tf.train.Checkpoint.restore` of such a checkpoint matches the live variables reachable from the
checkpoint's objects by name (TF's `NameBasedSaverStatus`, with its assertion messages).
"""

from __future__ import annotations

from typing import Any

from tapeflow.tensor import Variable
from tapeflow.train.format import OBJECT_GRAPH_KEY


def is_name_based(reader: Any) -> bool:
    """Whether the checkpoint has no object graph (a root with no edges) but has tensors."""
    nodes = reader.nodes
    keys = [k for k in reader.get_variable_to_shape_map() if k != OBJECT_GRAPH_KEY]
    return len(nodes) <= 1 and not (nodes and nodes[0]["children"]) and bool(keys)


def variable_key(var: Variable) -> str:
    """The key TF's Saver stores `var` under: its name without the output index."""
    name = var.name
    return name[:-2] if name.endswith(":0") else name


class NameBasedSaverStatus:
    """What `Checkpoint.restore` returns for a name-based checkpoint: every variable reachable
    from the checkpoint's objects whose name is a key got its value; assertions name the rest."""

    def __init__(self, reader: Any, root: Any) -> None:
        from tapeflow.train.object_graph import walk
        from tapeflow.train.restore import _assign_array

        objects, _, _ = walk(root)
        self._unrestored = []
        for obj in objects:
            if not isinstance(obj, Variable) or obj is getattr(root, "_save_counter", None):
                continue
            key = variable_key(obj)
            if reader.has_tensor(key):
                _assign_array(obj, reader.get_tensor(key).astype(obj._value.dtype, copy=False), key)
            else:
                self._unrestored.append(obj)

    def _check(self) -> NameBasedSaverStatus:
        if self._unrestored:
            lines = "".join(f"\n    {v!r}: [{variable_key(v)!r}]" for v in self._unrestored)
            raise AssertionError(f"Some objects had attributes which were not restored: {lines}")
        return self

    def assert_consumed(self) -> NameBasedSaverStatus:
        """Raise AssertionError if a variable reachable from the checkpoint's objects got no value."""
        return self._check()

    def assert_existing_objects_matched(self) -> NameBasedSaverStatus:
        return self._check()

    def assert_nontrivial_match(self) -> NameBasedSaverStatus:
        return self._check()

    def expect_partial(self) -> NameBasedSaverStatus:
        """Nothing to silence: a name-based restore warns about nothing."""
        return self

    def run_restore_ops(self, session: Any = None) -> None:
        """The values are assigned at `restore` already (TF runs restore ops here in TF 1 graphs)."""

    def initialize_or_restore(self, session: Any = None) -> None:
        """As `run_restore_ops`: the restore already happened."""
