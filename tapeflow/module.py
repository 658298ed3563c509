"""`tf.Module`: a named container whose variables and sub-modules are found by walking its attributes.

Nothing is registered when an attribute is set: `variables`, `trainable_variables` and
`submodules` walk the attributes (sorted by name; inside lists, tuples and dicts in order, dict
keys sorted), the module's own leaves first, then each sub-module's, each object once — the order
TF gives. Keras layers are Modules too (their `variables` keep Keras's own order).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from tapeflow.name_scope import current_scope, name_scope
from tapeflow.tensor import Variable
from tapeflow.tracking import AutoTrackable


def _camel_to_snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def _leaves(value: Any) -> Iterator[Any]:
    """The leaves of a nested structure of lists, tuples and dicts (dict keys sorted), like tf.nest."""
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _leaves(v)
    elif isinstance(value, dict):
        try:
            keys = sorted(value)
        except TypeError:
            keys = list(value)
        for k in keys:
            yield from _leaves(value[k])
    else:
        yield value


def _walk(module: Module, predicate: Callable[[Any], bool], recursive: bool, seen: set) -> Iterator[Any]:
    """Leaves of `module`'s attributes matching `predicate`, then those of each sub-module."""
    skip = getattr(type(module), "_untracked_attributes", ())
    attrs = vars(module)
    submodules = []
    for key in sorted(attrs):
        if key in skip:
            continue
        for leaf in _leaves(attrs[key]):
            if id(leaf) in seen:
                continue
            seen.add(id(leaf))
            if predicate(leaf):
                yield leaf
            if recursive and isinstance(leaf, Module):
                submodules.append(leaf)
    for sub in submodules:
        yield from _walk(sub, predicate, recursive, seen)


class Module(AutoTrackable):
    """A named container of variables and other modules (`tf.Module`).

    Args:
        name: the module's name, a valid Python identifier (default: the snake-cased class name).

    Example:
        >>> class Dense(tf.Module):
        ...     def __init__(self, in_features, out_features, name=None):
        ...         super().__init__(name=name)
        ...         self.w = tf.Variable(tf.random.normal([in_features, out_features]), name="w")
        ...         self.b = tf.Variable(tf.zeros([out_features]), name="b")
        ...     def __call__(self, x):
        ...         return tf.nn.relu(x @ self.w + self.b)
        >>> len(Dense(3, 2).trainable_variables)
        2
    """

    def __init__(self, name: str | None = None) -> None:
        if name is None:
            name = _camel_to_snake(type(self).__name__)
        elif not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                f"{name!r} is not a valid module name. Module names must be valid Python identifiers "
                "(e.g. a valid class name)."
            )
        object.__setattr__(self, "_module_name", name)
        object.__setattr__(self, "_module_scope", name_scope(current_scope() + name + "/"))

    @property
    def name(self) -> str:
        """The module's name (given or derived from the class name)."""
        try:
            return self.__dict__["_module_name"]
        except KeyError:
            return _camel_to_snake(type(self).__name__)

    @name.setter
    def name(self, value: str) -> None:
        if type(self).__setattr__ is AutoTrackable.__setattr__:
            raise AttributeError(f"property 'name' of '{type(self).__name__}' object has no setter")
        self.__dict__["_module_name"] = value  # Keras layers set their name as an attribute

    @property
    def name_scope(self) -> name_scope:
        """A `tf.name_scope` for this module: `with module.name_scope:` prefixes new variable names."""
        scope = self.__dict__.get("_module_scope")
        if scope is None:
            scope = name_scope(self.name + "/")
            self.__dict__["_module_scope"] = scope
        return scope

    @property
    def variables(self) -> tuple:
        """Every `tf.Variable` held by this module and its sub-modules (each once)."""
        return tuple(_walk(self, lambda v: isinstance(v, Variable), True, {id(self)}))

    @property
    def trainable_variables(self) -> tuple:
        """The trainable `tf.Variable`s held by this module and its sub-modules."""
        return tuple(_walk(self, lambda v: isinstance(v, Variable) and v.trainable, True, {id(self)}))

    @property
    def non_trainable_variables(self) -> tuple:
        """The non-trainable `tf.Variable`s held by this module and its sub-modules."""
        return tuple(_walk(self, lambda v: isinstance(v, Variable) and not v.trainable, True, {id(self)}))

    @property
    def submodules(self) -> tuple:
        """Every Module reachable from this one's attributes (not itself), each once."""
        return tuple(_walk(self, lambda v: isinstance(v, Module), True, {id(self)}))

    @classmethod
    def with_name_scope(cls, method: Callable) -> Callable:
        """Decorate a method so that it runs inside the module's `name_scope`.

        Example:
            >>> class M(tf.Module):
            ...     @tf.Module.with_name_scope
            ...     def __call__(self, x):
            ...         if not hasattr(self, "w"):
            ...             self.w = tf.Variable(tf.ones([x.shape[1], 2]))   # named "m/Variable:0"
            ...         return x @ self.w
        """

        @functools.wraps(method)
        def in_scope(self: Module, *args: Any, **kwargs: Any) -> Any:
            with self.name_scope:
                return method(self, *args, **kwargs)

        return in_scope
