"""The object graph of a live object, as a checkpoint stores it: nodes, named edges, variable keys.

Nodes are numbered breadth-first from the root; each object appears once however many edges
reach it. A variable's key is its first breadth-first path plus TF's suffix
(`net/l1/kernel/.ATTRIBUTES/VARIABLE_VALUE`), so keys read like TF's in `list_variables`.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from tapeflow import backend, tracking
from tapeflow.tensor import Variable

VALUE_SUFFIX = ".ATTRIBUTES/VARIABLE_VALUE"


def escape(name: str) -> str:
    """An edge name made safe to join with "/" (TF's escaping: "." -> "..", "/" -> ".S")."""
    return name.replace(".", "..").replace("/", ".S")


def walk(root: Any) -> tuple[list[Any], list[list[tuple[str, int]]], list[str]]:
    """(objects, children as (edge, node id) lists, paths) of the graph reachable from `root`."""
    objects = [root]
    ids = {id(root): 0}
    edges: list[list[tuple[str, int]]] = [[]]
    paths = [""]
    queue = deque([0])
    while queue:
        i = queue.popleft()
        for name, obj in tracking.children(objects[i]):
            j = ids.get(id(obj))
            if j is None:
                j = len(objects)
                ids[id(obj)] = j
                objects.append(obj)
                edges.append([])
                paths.append(f"{paths[i]}/{escape(name)}" if paths[i] else escape(name))
                queue.append(j)
            edges[i].append((name, j))
    return objects, edges, paths


def serialize(root: Any) -> tuple[list[dict], dict]:
    """The JSON-able node list and {key: array} of every variable reachable from `root`, and
    of every object with a state of its own (`tracking.is_saveable`: a tf.data iterator)."""
    objects, edges, paths = walk(root)
    nodes = []
    arrays = {}
    for obj, children, path in zip(objects, edges, paths, strict=True):
        key = None
        if isinstance(obj, Variable):
            key = f"{path}/{VALUE_SUFFIX}"
            arrays[key] = backend.to_numpy(obj._value)
        elif tracking.is_saveable(obj):
            ((name, value),) = obj._serialize_to_tensors().items()
            key = f"{path}/.ATTRIBUTES/{name}"
            arrays[key] = value
        nodes.append({"children": [[n, j] for n, j in children], "key": key})
    return nodes, arrays
