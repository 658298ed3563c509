"""Object tracking: which objects a `tf.Module` or `tf.train.Checkpoint` reaches, by attribute path.

An object graph is made of *trackable* objects joined by named edges: a `Variable` is a leaf;
a `Module` (and any `AutoTrackable`) has an edge per attribute holding something trackable; lists,
tuples and dicts have an edge per index or key; a Keras optimizer or metric has an edge per attribute.
Checkpoints save and match variables by these edges (`net/l1/kernel`), so renaming a variable
never breaks a checkpoint, while renaming an attribute does (as in TF).

Lists and dicts assigned to an `AutoTrackable` attribute are wrapped (`ListWrapper`,
`DictWrapper`, still `list` and `dict` subclasses) so that appending a variable later is seen:
`notify(obj)` tells pending checkpoint restorations that `obj` gained children.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from tapeflow.tensor import Variable

# Restorations waiting for objects to appear: called with an object that gained children.
_listeners: list[Callable[[Any], None]] = []


def add_listener(listener: Callable[[Any], None]) -> None:
    """Call `listener(obj)` whenever a tracked object gains children (until removed)."""
    _listeners.append(listener)


def remove_listener(listener: Callable[[Any], None]) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def notify(obj: Any) -> None:
    """Tell pending restorations that `obj` may have new children (cheap when none pends)."""
    if _listeners:
        for listener in list(_listeners):
            listener(obj)


def wrap(value: Any) -> Any:
    """Plain lists and dicts become `ListWrapper` / `DictWrapper`; anything else is unchanged."""
    t = type(value)
    if t is list:
        return ListWrapper(value)
    if t is dict:
        return DictWrapper(value)
    return value


class ListWrapper(list):
    """A list attribute of a Module: a `list` whose changes are seen by checkpoint restoration."""

    def __init__(self, iterable: Any = ()) -> None:
        super().__init__(wrap(v) for v in iterable)

    def append(self, value: Any) -> None:
        super().append(wrap(value))
        notify(self)

    def extend(self, values: Any) -> None:
        super().extend(wrap(v) for v in values)
        notify(self)

    def insert(self, index: Any, value: Any) -> None:
        super().insert(index, wrap(value))
        notify(self)

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            value = [wrap(v) for v in value]
        else:
            value = wrap(value)
        super().__setitem__(index, value)
        notify(self)

    def __iadd__(self, values: Any) -> ListWrapper:
        self.extend(values)
        return self

    def __repr__(self) -> str:
        return f"ListWrapper({list.__repr__(self)})"


class DictWrapper(dict):
    """A dict attribute of a Module: a `dict` whose changes are seen by checkpoint restoration."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__((k, wrap(v)) for k, v in dict(*args, **kwargs).items())

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, wrap(value))
        notify(self)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for k, v in dict(*args, **kwargs).items():
            super().__setitem__(k, wrap(v))
        notify(self)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def __repr__(self) -> str:
        return f"DictWrapper({dict.__repr__(self)})"


class AutoTrackable:
    """Base of objects whose attributes are tracked (Module, Checkpoint): lists and dicts set as
    attributes are wrapped, and pending checkpoint restorations see new attributes at once."""

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, wrap(value))
        if _listeners:
            notify(self)


def _keras_optimizer_type() -> Any:
    module = sys.modules.get("tapeflow.keras.optimizers.optimizer")
    return module.Optimizer if module is not None else None


def _keras_metric_type() -> Any:
    module = sys.modules.get("tapeflow.keras.metrics")
    return getattr(module, "Metric", None) if module is not None else None


def is_trackable_object(value: Any) -> bool:
    """Whether `value` is a node with attribute edges (Module, Checkpoint, Keras optimizer or metric).

    The Keras classes are looked up only once Keras is loaded: the engine never imports it.
    """
    if isinstance(value, AutoTrackable) or is_saveable(value):
        return True
    for kind in (_keras_optimizer_type(), _keras_metric_type()):
        if kind is not None and isinstance(value, kind):
            return True
    return False


def is_saveable(value: Any) -> bool:
    """Whether `value` saves a state of its own that is not a variable (a tf.data iterator):
    `_serialize_to_tensors()` -> {name: array} (one entry) and `_restore_from_tensors(dict)`."""
    return callable(getattr(type(value), "_serialize_to_tensors", None))


def is_notifiable(value: Any) -> bool:
    """Whether `value` announces its new children through `notify` (so restoration can wait on it)."""
    return isinstance(value, (AutoTrackable, ListWrapper, DictWrapper))


def _as_checkpointed(value: Any) -> Any:
    """The object a checkpoint stores for `value`: a TF 1 graph variable (compat.v1) is saved as
    the variable holding its value (`_checkpoint_as`), as TF saves a RefVariable."""
    as_saved = getattr(type(value), "_checkpoint_as", None)
    return as_saved(value) if as_saved is not None else value


def _holds_trackable(value: Any) -> bool:
    value = _as_checkpointed(value)
    if isinstance(value, (Variable, ListWrapper, DictWrapper)) or is_trackable_object(value):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_trackable(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_trackable(v) for v in value.values())
    return False


def children(obj: Any) -> list[tuple[str, Any]]:
    """The named edges out of `obj`, in a fixed order (attributes in assignment order)."""
    if isinstance(obj, Variable):
        return []
    if isinstance(obj, (list, tuple)):
        return [(str(i), _as_checkpointed(v)) for i, v in enumerate(obj) if _holds_trackable(v)]
    if isinstance(obj, dict):
        return [(str(k), _as_checkpointed(v)) for k, v in obj.items() if _holds_trackable(v)]
    if is_trackable_object(obj):
        custom = getattr(type(obj), "_checkpoint_children", None)
        if custom is not None:  # e.g. tf.train.Checkpoint names its save counter "save_counter"
            return custom(obj)
        return attribute_children(obj)
    return []


def attribute_children(obj: Any) -> list[tuple[str, Any]]:
    """The default edges of a trackable object: its attributes holding trackables, in assignment order."""
    skip = getattr(type(obj), "_untracked_attributes", ())
    return [
        (k, _as_checkpointed(v)) for k, v in vars(obj).items()
        if k not in skip and not k.startswith("__") and _holds_trackable(v)
    ]


def child(obj: Any, name: str) -> Any:
    """The object at edge `name` of `obj`, or None when there is none (yet)."""
    for k, v in children(obj):
        if k == name:
            return v
    return None
