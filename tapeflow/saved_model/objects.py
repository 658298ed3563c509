"""The object a SavedModel loads as: the saved object graph's attributes, rebuilt as plain
trackable objects (no class of the saving program is imported)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tapeflow.tensor import Variable
from tapeflow.tracking import AutoTrackable, DictWrapper, ListWrapper

if TYPE_CHECKING:
    from tapeflow.saved_model.load import BuiltFunctions

class _LoadedObject(AutoTrackable):
    """A saved module or other tracked object: its attributes as they were saved. Unless it
    saved attributes of these names, `variables` / `trainable_variables` /
    `non_trainable_variables` list the variables it reaches."""

    _untracked_attributes = ("signatures",)

    def _reachable_variables(self) -> list:
        from tapeflow.train import object_graph

        return [o for o in object_graph.walk(self)[0] if isinstance(o, Variable)]

    def __getattr__(self, name: str) -> Any:
        if name == "variables":
            return self._reachable_variables()
        if name == "trainable_variables":
            return [v for v in self.variables if v.trainable]
        if name == "non_trainable_variables":
            return [v for v in self.variables if not v.trainable]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")


class Loaded(_LoadedObject):
    """The object `load` returns: the saved attributes and functions, `signatures`, and (unless
    saved otherwise) every variable of the SavedModel as `variables`."""

    _untracked_attributes = ("signatures", "_all_variables")

    def __init__(self, variables: list) -> None:
        self._all_variables = variables
        self.signatures: dict = {}

    def _reachable_variables(self) -> list:
        return list(self._all_variables)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        call = self.__dict__.get("__call__")
        if call is None:
            raise TypeError("This loaded SavedModel has no saved __call__ function.")
        return call(*args, **kwargs)

def revive(nodes: list, built: BuiltFunctions) -> Loaded:
    """The loaded root object, with the saved object graph's attributes."""
    root = Loaded(built.variables)
    objects: list = []
    for i, n in enumerate(nodes):
        kind = n["kind"]
        if kind == "variable":
            objects.append(built.variables[int(n["variable"])])
        elif kind in ("list", "dict"):
            # Wrapped now, so the object that an attribute holds is the one filled below.
            objects.append(ListWrapper() if kind == "list" else DictWrapper())
        elif kind == "object":
            objects.append(root if i == 0 else _LoadedObject())
        else:
            raise ValueError(f"SavedModel: unknown object kind {kind!r}.")
    if objects and objects[0] is not root:
        raise ValueError("SavedModel: the root of the object graph is not an object.")
    for obj, n in zip(objects, nodes, strict=True):
        for name, j in n["children"]:
            child = objects[int(j)]
            if isinstance(obj, list):
                obj.append(child)
            elif isinstance(obj, dict):
                obj[str(name)] = child
            elif isinstance(obj, _LoadedObject):
                setattr(obj, str(name), child)
    return root
