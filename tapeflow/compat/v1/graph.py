"""The TF1 `Graph`: collections (variables, losses, update ops), unique names and scopes.

Tapeflow's graph nodes live on the symbolic tensors themselves (`tapeflow.graph`); a `Graph`
here holds what TF1 programs look up by name: the variable collections that
`global_variables_initializer` and the optimizers use, `get_variable`'s registry, the layers
`tf.layers` may reuse, and the scope stacks.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any


class GraphKeys:
    """Standard collection names (`tf.GraphKeys`)."""

    GLOBAL_VARIABLES = "variables"
    VARIABLES = "variables"
    LOCAL_VARIABLES = "local_variables"
    MODEL_VARIABLES = "model_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    TRAINABLE_RESOURCE_VARIABLES = "trainable_resource_variables"
    MOVING_AVERAGE_VARIABLES = "moving_average_variables"
    REGULARIZATION_LOSSES = "regularization_losses"
    LOSSES = "losses"
    UPDATE_OPS = "update_ops"
    SUMMARIES = "summaries"
    GLOBAL_STEP = "global_step"
    TRAIN_OP = "train_op"
    SAVEABLE_OBJECTS = "saveable_objects"
    INIT_OP = "init_op"
    LOCAL_INIT_OP = "local_init_op"
    SAVERS = "savers"
    QUEUE_RUNNERS = "queue_runners"
    ACTIVATIONS = "activations"
    WEIGHTS = "weights"
    BIASES = "biases"


class Graph:
    """A TF1 graph: collections, variables by name, layers by name, name and variable scopes.

    Example:
        >>> g = tf.Graph()
        >>> with g.as_default():
        ...     v = tf.Variable(1.0)
        >>> g.get_collection(tf.GraphKeys.GLOBAL_VARIABLES) == [v]
        True
    """

    def __init__(self) -> None:
        self._collections: dict[str, list] = {}
        self._variables_by_name: dict[str, Any] = {}
        self._layers_by_name: dict[str, Any] = {}
        self._name_counts: dict[str, int] = {}
        self._control_dependencies: list[list] = []
        self._name_scope: list[str] = []
        self._variable_scopes: list = []
        self._initial_values: dict[int, Any] = {}
        self._finalized = False

    # -- default graph ------------------------------------------------------------------------
    @contextlib.contextmanager
    def as_default(self) -> Iterator[Graph]:
        """Make this graph the default graph inside the `with` block."""
        _graph_stack.append(self)
        try:
            yield self
        finally:
            _graph_stack.remove(self)

    # -- collections --------------------------------------------------------------------------
    def add_to_collection(self, name: str, value: Any) -> None:
        """Append `value` to the collection `name`."""
        self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names: Any, value: Any) -> None:
        """Append `value` to each collection in `names` (a name or a list of names)."""
        for name in [names] if isinstance(names, str) else names:
            self.add_to_collection(name, value)

    def get_collection(self, name: str, scope: str | None = None) -> list:
        """A copy of collection `name`, filtered to items whose name matches `scope` (a regex)."""
        items = list(self._collections.get(name, ()))
        if scope is None:
            return items
        pattern = re.compile(scope)
        return [x for x in items if isinstance(getattr(x, "name", None), str) and pattern.match(x.name)]

    def get_collection_ref(self, name: str) -> list:
        """The collection `name` itself (a list you may modify)."""
        return self._collections.setdefault(name, [])

    def clear_collection(self, name: str) -> None:
        self._collections.pop(name, None)

    def get_all_collection_keys(self) -> list:
        return sorted(self._collections)

    # -- names --------------------------------------------------------------------------------
    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        """`name` inside the current name scope, with `_1`, `_2`, ... appended when taken."""
        prefix = "/".join(s for s in self._name_scope if s)
        full = f"{prefix}/{name}" if prefix else name
        count = self._name_counts.get(full, 0)
        unique = full if count == 0 else f"{full}_{count}"
        if mark_as_used:
            self._name_counts[full] = count + 1
        return unique

    def get_name_scope(self) -> str:
        return "/".join(s for s in self._name_scope if s)

    @contextlib.contextmanager
    def name_scope(self, name: str | None) -> Iterator[str]:
        """Prefix names created inside with `name/` (made unique at this level)."""
        if not name:
            saved = self._name_scope
            self._name_scope = []
            try:
                yield ""
            finally:
                self._name_scope = saved
            return
        name = name.rstrip("/")
        scope = self.unique_name(name)
        saved = self._name_scope
        self._name_scope = [scope]
        try:
            yield scope + "/"
        finally:
            self._name_scope = saved

    # -- control dependencies ----------------------------------------------------------------
    @contextlib.contextmanager
    def control_dependencies(self, control_inputs: Any) -> Iterator[None]:
        """Operations created inside also run `control_inputs` (operations) first.

        Tensors in `control_inputs` are accepted and ignored: values are computed on demand.
        """
        if control_inputs is None:
            saved = self._control_dependencies
            self._control_dependencies = []
            try:
                yield
            finally:
                self._control_dependencies = saved
            return
        self._control_dependencies.append(list(control_inputs))
        try:
            yield
        finally:
            self._control_dependencies.pop()

    def _current_control_inputs(self) -> list:
        from tapeflow.compat.v1.operations import Operation

        out = []
        for group in self._control_dependencies:
            out.extend(x for x in group if isinstance(x, Operation))
        return out

    # -- misc ---------------------------------------------------------------------------------
    def finalize(self) -> None:
        """Mark the graph read-only (accepted; Tapeflow does not enforce it)."""
        self._finalized = True

    @property
    def finalized(self) -> bool:
        return self._finalized

    @contextlib.contextmanager
    def device(self, device_name: Any) -> Iterator[None]:
        from tapeflow import device as _device

        if device_name is None or callable(device_name):
            yield
            return
        with _device(device_name):
            yield

    def __repr__(self) -> str:
        n = len(self._collections.get(GraphKeys.GLOBAL_VARIABLES, ()))
        return f"<tf.Graph with {n} variables>"


_default_graph = Graph()
_graph_stack: list[Graph] = []


def get_default_graph() -> Graph:
    """The graph new variables, layers and operations are added to."""
    return _graph_stack[-1] if _graph_stack else _default_graph


def reset_default_graph() -> None:
    """Start a fresh default graph (variables, collections and names are forgotten)."""
    global _default_graph
    if _graph_stack:
        raise AssertionError(
            "Do not use tf.reset_default_graph() to clear nested graphs. If you need a cleared graph, "
            "exit the nesting and create a new graph."
        )
    _default_graph = Graph()


def get_collection(key: str, scope: str | None = None) -> list:
    """`get_default_graph().get_collection(key, scope)`."""
    return get_default_graph().get_collection(key, scope)


def get_collection_ref(key: str) -> list:
    """`get_default_graph().get_collection_ref(key)`."""
    return get_default_graph().get_collection_ref(key)


def add_to_collection(name: str, value: Any) -> None:
    """`get_default_graph().add_to_collection(name, value)`."""
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names: Any, value: Any) -> None:
    """`get_default_graph().add_to_collections(names, value)`."""
    get_default_graph().add_to_collections(names, value)


def control_dependencies(control_inputs: Any) -> Any:
    """`get_default_graph().control_dependencies(control_inputs)`."""
    return get_default_graph().control_dependencies(control_inputs)


def name_scope(name: str | None, default_name: str | None = None, values: Any = None) -> Any:
    """Prefix the names of operations created inside (`tf.name_scope`)."""
    return get_default_graph().name_scope(name if name is not None else default_name)
