"""`tf.experimental.ExtensionType`: user-defined immutable tensor-like types with typed fields.

A subclass declares fields with annotations (`values: tf.Tensor`, `name: str = "x"`, tuples,
mappings, unions, nested extension types, dtypes, shapes). The generated constructor takes the
fields positionally or by name, converts values (lists to tensors, lists to tuples, dicts to
read-only mappings), checks types, calls `__validate__`, and then freezes the instance. A user
`__init__` may set the fields itself; the same conversion and checks run after it. Each class
gets a `Spec` (the fields with tensors replaced by `tf.TensorSpec`). Extension types are
composite tensors, so `tf.experimental.dispatch_for_*` can route TF's APIs to user functions.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar

from tapeflow import dtypes as _dt
from tapeflow.dispatch import CompositeTensor
from tapeflow.tensor import Tensor, TensorShape, convert_to_tensor

_MISSING = object()


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or repr(annotation)


def _convert(value: Any, annotation: Any, where: str) -> Any:
    """`value` converted to the field type `annotation`; TypeError naming the field otherwise."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for option in args:
            try:
                return _convert(value, option, where)
            except (TypeError, ValueError):
                continue
        raise TypeError(f"{where}: expected {annotation}, got {type(value).__name__!r}")
    if annotation is None or annotation is type(None):
        if value is not None:
            raise TypeError(f"{where}: expected None, got {type(value).__name__!r}")
        return None
    if origin in (tuple, typing.Tuple):  # noqa: UP006 - the typing spelling users write
        if not isinstance(value, (tuple, list)):
            raise TypeError(f"{where}: expected a tuple, got {type(value).__name__!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if args and len(args) != len(value):
            raise TypeError(f"{where}: expected a tuple of {len(args)} values, got {len(value)}")
        return tuple(_convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=False))) \
            if args else tuple(value)
    if origin in (Mapping, dict, typing.Mapping, typing.Dict) or annotation in (Mapping, dict):  # noqa: UP006
        if not isinstance(value, Mapping):
            raise TypeError(f"{where}: expected a Mapping, got {type(value).__name__!r}")
        key_t, value_t = args if args else (Any, Any)
        return types.MappingProxyType({_convert(k, key_t, f"{where} key"): _convert(v, value_t, f"{where}[{k!r}]")
                                       for k, v in value.items()})
    if annotation is Tensor:
        if isinstance(value, Tensor):
            return value
        if isinstance(value, (CompositeTensor, str)) and not isinstance(value, Tensor):
            if isinstance(value, str):
                return convert_to_tensor(value)
            raise TypeError(f"{where}: expected a tf.Tensor, got {type(value).__name__!r}")
        try:
            return convert_to_tensor(value)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{where}: expected a tf.Tensor, got {type(value).__name__!r} ({e})") from None
    if annotation is _dt.DType:
        return _dt.as_dtype(value)
    if annotation is TensorShape:
        return value if isinstance(value, TensorShape) else TensorShape(value)
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(annotation, type):
        if annotation in (int, float) and isinstance(value, bool):
            raise TypeError(f"{where}: expected {_type_name(annotation)!r}, got 'bool'")
        if not isinstance(value, annotation):
            raise TypeError(f"{where}: expected {_type_name(annotation)!r}, got {type(value).__name__!r}")
        return value
    raise TypeError(f"{where}: unsupported field type {annotation!r} (use tf.Tensor, Python scalars, tuples, "
                    "Mappings, unions, tf.DType, tf.TensorShape or extension types).")


def _fields(cls: type) -> dict:
    """name -> (annotation, default) over the class and its extension-type bases, in order."""
    out: dict = {}
    for klass in reversed(cls.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, ExtensionType)) or klass is ExtensionType:
            continue
        # The class itself resolves forward references to it (`children: Tuple["Node", ...]`).
        hints = typing.get_type_hints(klass, localns={klass.__name__: klass, cls.__name__: cls},
                                      include_extras=False) if "__annotations__" in klass.__dict__ else {}
        for name in klass.__dict__.get("__annotations__", {}):
            annotation = hints.get(name)
            if typing.get_origin(annotation) is ClassVar or name.startswith("_"):
                continue
            default = klass.__dict__.get(name, _MISSING)
            if isinstance(default, (property, types.FunctionType, classmethod, staticmethod)):
                default = _MISSING
            out[name] = (annotation, default)
    return out


# Extension types by the name a SavedModel records (`__name__` set in the class body, as TF
# documents, else module.qualname): loading finds the class defined in this process.
_REGISTRY: dict = {}


def registered_name(cls: type) -> str:
    """The name under which a SavedModel records the extension type `cls`."""
    return cls.__dict__.get("__name__") if isinstance(cls.__dict__.get("__name__"), str) else \
        f"{cls.__module__}.{cls.__qualname__}"


def lookup(name: str) -> type:
    """The extension type saved as `name`; ValueError when this process defines none."""
    cls = _REGISTRY.get(name)
    if cls is None:
        raise ValueError(f"SavedModel: extension type {name!r} is not defined in this process (define or "
                         "import its class before loading; a SavedModel holds no code).")
    return cls


def _bind_fields(owner: str, names: list, args: tuple, kwargs: dict) -> dict:
    """{field: value} from positional and keyword values, with TF's errors for extra, unknown and
    doubly given fields."""
    if len(args) > len(names):
        raise TypeError(f"{owner}: takes {len(names)} fields, got {len(args)} positional values.")
    values = dict(zip(names, args, strict=False))
    for k, v in kwargs.items():
        if k not in names:
            raise TypeError(f"{owner}: unexpected field {k!r}; fields are {names}.")
        if k in values:
            raise TypeError(f"{owner}: got two values for field {k!r}.")
        values[k] = v
    return values


class ExtensionType(CompositeTensor):
    """Base of user-defined extension types (`tf.experimental.ExtensionType`).

    Example:
        >>> class MaskedTensor(tf.experimental.ExtensionType):
        ...     values: tf.Tensor
        ...     mask: tf.Tensor
        ...     def __validate__(self):
        ...         self.values.shape.assert_is_compatible_with(self.mask.shape)
        >>> mt = MaskedTensor([1, 2, 3], [True, False, True])
    """

    _tf_extension_type_fields: ClassVar[dict] = {}
    Spec: ClassVar[type]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        user_init = cls.__dict__.get("__init__")
        cls._tf_extension_type_fields = None  # resolved on first use (annotations may be forward refs)
        if user_init is not None:
            cls.__init__ = _wrap_user_init(user_init)  # type: ignore[method-assign]
        elif not getattr(cls.__init__, "_tf_user_init", False):  # no user constructor to inherit
            cls.__init__ = ExtensionType._generated_init  # type: ignore[method-assign]
        spec_name = f"{cls.__name__}.Spec"
        base_spec = next((b.Spec for b in cls.__mro__[1:] if isinstance(b.__dict__.get("Spec"), type)),
                         ExtensionTypeSpec)
        user_spec = cls.__dict__.get("Spec")
        namespace = dict(user_spec.__dict__) if isinstance(user_spec, type) else {}
        namespace.pop("__dict__", None)
        namespace.pop("__weakref__", None)
        spec = type(spec_name, (base_spec,), {**namespace, "value_type": cls,
                                              "__qualname__": f"{cls.__qualname__}.Spec", "__module__": cls.__module__})
        cls.Spec = spec
        _REGISTRY[registered_name(cls)] = cls

    @classmethod
    def _fields(cls) -> dict:
        if cls.__dict__.get("_tf_extension_type_fields") is None:
            cls._tf_extension_type_fields = _fields(cls)
        return cls._tf_extension_type_fields

    def _generated_init(self, *args: Any, **kwargs: Any) -> None:
        fields = type(self)._fields()
        names = list(fields)
        values = _bind_fields(type(self).__name__, names, args, kwargs)
        for name in names:
            object.__setattr__(self, name, values.get(name, fields[name][1]))
        _finish(self)

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__dict__.get("_tf_extension_type_frozen"):
            raise AttributeError(f"Cannot mutate attribute `{name}` outside the custom constructor of ExtensionType.")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if self.__dict__.get("_tf_extension_type_frozen"):
            raise AttributeError(f"Cannot mutate attribute `{name}` outside the custom constructor of ExtensionType.")
        object.__delattr__(self, name)

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={getattr(self, k)!r}" for k in type(self)._fields())
        return f"{type(self).__qualname__}({parts})"

    def __eq__(self, other: Any) -> Any:
        """A scalar bool tensor: same type, same static shapes and equal values in every field
        (Python False when types or shapes differ, as TF)."""
        from tapeflow.ops import reduce as _reduce

        if type(other) is not type(self):
            return False
        results = []
        for k in type(self)._fields():
            a, b = getattr(self, k), getattr(other, k)
            if isinstance(a, Tensor) and isinstance(b, Tensor):
                if tuple(a.shape) != tuple(b.shape) or a.dtype != b.dtype:
                    return False
                results.append(_reduce.reduce_all(a == b) if a.shape.rank else a == b)
            else:
                eq = a == b
                if isinstance(eq, Tensor):
                    results.append(eq)
                elif not eq:
                    return False
        out = Tensor(True) if not results else functools.reduce(lambda x, y: x & y, results)
        return out

    def __ne__(self, other: Any) -> Any:
        eq = self.__eq__(other)
        return not eq if isinstance(eq, bool) else ~eq

    __hash__ = None  # type: ignore[assignment]  # values hold tensors: unhashable, as TF

    @property
    def _type_spec(self) -> ExtensionTypeSpec:
        return type(self).Spec.from_value(self)

    @classmethod
    def _tf_dispatch(cls, kind: str, api_name: str, fn: Any, args: tuple, kwargs: dict) -> Any:
        from tapeflow.experimental.dispatch_api import dispatch

        return dispatch(fn, api_name, args, kwargs)


def _wrap_user_init(user_init: Any) -> Any:
    @functools.wraps(user_init)
    def init(self: ExtensionType, *args: Any, **kwargs: Any) -> None:
        user_init(self, *args, **kwargs)
        if type(self).__init__ is init:  # the most derived constructor finishes the instance
            _finish(self)

    init._tf_user_init = True  # type: ignore[attr-defined]
    return init


def _finish(self: ExtensionType) -> None:
    """Convert and check every field, run `__validate__`, freeze."""
    if self.__dict__.get("_tf_extension_type_frozen"):
        return
    cls = type(self)
    for name, (annotation, default) in cls._fields().items():
        value = self.__dict__.get(name, default)
        if value is _MISSING:
            raise TypeError(f"{cls.__name__}: missing required field {name!r}.")
        object.__setattr__(self, name, _convert(value, annotation, name))
    validate = getattr(self, "__validate__", None)
    if validate is not None:
        validate()
    object.__setattr__(self, "_tf_extension_type_frozen", True)


class ExtensionTypeSpec:
    """The type of an extension-type value: its fields, tensors replaced by `tf.TensorSpec`.

    The fields are attributes of the spec (`spec.values`), given positionally or by name; a
    user `Spec` class nested in the extension type may define its own `__init__` that sets them
    (`self.values = tf.TensorSpec(shape, dtype)`), as in TF.
    """

    value_type: ClassVar[type] = ExtensionType

    def __init__(self, *args: Any, **fields: Any) -> None:
        names = list(self.value_type._fields())
        values = _bind_fields(type(self).__qualname__, names, args, fields)
        for k in names:
            if k not in values:
                raise TypeError(f"{type(self).__qualname__}: missing field {k!r}.")
            object.__setattr__(self, k, _spec_field(values[k]))

    @property
    def _fields(self) -> dict:
        """name -> field spec (TensorSpec, nested spec, or the static value), in field order."""
        return {k: self.__dict__[k] for k in self.value_type._fields() if k in self.__dict__}

    @classmethod
    def _make(cls, fields: dict) -> ExtensionTypeSpec:
        """A spec with these fields, without running a user `__init__`."""
        spec = object.__new__(cls)
        for k, v in fields.items():
            object.__setattr__(spec, k, v)
        return spec

    @classmethod
    def from_value(cls, value: Any) -> ExtensionTypeSpec:
        """The spec of an extension-type value."""
        from tapeflow.tracing.spec import TensorSpec

        def spec_of(v: Any) -> Any:
            if isinstance(v, Tensor):
                return TensorSpec(v.shape, v.dtype)
            if isinstance(v, ExtensionType):
                return v._type_spec
            if isinstance(v, tuple):
                return tuple(spec_of(x) for x in v)
            if isinstance(v, Mapping):
                return types.MappingProxyType({k: spec_of(x) for k, x in v.items()})
            type_spec = getattr(v, "_type_spec", None)
            return type_spec if type_spec is not None else v

        return cls._make({k: spec_of(getattr(value, k)) for k in type(value)._fields()})

    def is_compatible_with(self, spec_or_value: Any) -> bool:
        other = spec_or_value
        if isinstance(other, ExtensionType):
            other = other._type_spec
        if type(other) is not type(self) or set(other._fields) != set(self._fields):
            return False
        for k, a in self._fields.items():
            b = other._fields[k]
            check = getattr(a, "is_compatible_with", None)
            if check is not None and not check(b) or check is None and a != b:
                return False
        return True

    def _batch(self, batch_size: int | None) -> ExtensionTypeSpec:
        from tapeflow.tracing.spec import TensorSpec

        def batched(s: Any) -> Any:
            if isinstance(s, TensorSpec):
                return TensorSpec([batch_size, *(s.shape.as_list() if s.shape.rank is not None else [])], s.dtype)
            if isinstance(s, ExtensionTypeSpec):
                return s._batch(batch_size)
            return s

        return type(self)._make({k: batched(v) for k, v in self._fields.items()})

    def _unbatch(self) -> ExtensionTypeSpec:
        from tapeflow.tracing.spec import TensorSpec

        def unbatched(s: Any) -> Any:
            if isinstance(s, TensorSpec):
                return TensorSpec(s.shape.as_list()[1:], s.dtype)
            if isinstance(s, ExtensionTypeSpec):
                return s._unbatch()
            return s

        return type(self)._make({k: unbatched(v) for k, v in self._fields.items()})

    def __eq__(self, other: Any) -> bool:
        return type(other) is type(self) and other._fields == self._fields

    def __hash__(self) -> int:
        return hash((type(self), tuple((k, _hashable(v)) for k, v in self._fields.items())))

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={v!r}" for k, v in self._fields.items())
        return f"{type(self).__qualname__}({parts})"


def _spec_field(v: Any) -> Any:
    """A field of a spec as stored: mappings read-only, lists as tuples."""
    if isinstance(v, Mapping) and not isinstance(v, types.MappingProxyType):
        return types.MappingProxyType(dict(v))
    if isinstance(v, list):
        return tuple(v)
    return v


def _hashable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return tuple(sorted((k, _hashable(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(_hashable(x) for x in v)
    return v


class BatchableExtensionType(ExtensionType):
    """An extension type whose values can be batched (`tf.experimental.BatchableExtensionType`):
    its Spec can `_batch` / `_unbatch` by giving every tensor field a leading dimension."""


class ExtensionTypeBatchEncoder:
    """How a `BatchableExtensionType` is batched (`tf.experimental.ExtensionTypeBatchEncoder`):
    the default stacks every tensor field along a new leading dimension."""

    def batch(self, spec: ExtensionTypeSpec, batch_size: int | None) -> ExtensionTypeSpec:
        return spec._batch(batch_size)

    def unbatch(self, spec: ExtensionTypeSpec) -> ExtensionTypeSpec:
        return spec._unbatch()

    def encode(self, spec: ExtensionTypeSpec, value: ExtensionType, minimum_rank: int = 0) -> list:
        """The value's fields, in field order."""
        return [getattr(value, k) for k in type(value)._fields()]

    def decode(self, spec: ExtensionTypeSpec, encoded_value: list) -> ExtensionType:
        """The value rebuilt from `encode`'s list."""
        cls = spec.value_type
        return cls(**dict(zip(cls._fields(), encoded_value, strict=True)))

    def encoding_specs(self, spec: ExtensionTypeSpec) -> list:
        return list(spec._fields.values())


def as_dict(value: ExtensionType) -> dict:
    """The fields of an extension-type value as a dict (`tf.experimental.extension_type.as_dict`)."""
    if not isinstance(value, ExtensionType):
        raise TypeError(f"as_dict: expected an ExtensionType value, got {type(value).__name__}.")
    return {k: getattr(value, k) for k in type(value)._fields()}


# -- crossing tf.function and loop boundaries (tapeflow.tracing.composites) ----------------------

class _Static:
    """The non-tensor part of an extension-type value or spec: its class and a layout of its
    fields, tensors marked by position (hashable; a Python constant of a trace)."""

    __slots__ = ("cls", "layout")

    def __init__(self, cls: type, layout: tuple) -> None:
        self.cls = cls
        self.layout = layout

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Static) and other.cls is self.cls and other.layout == self.layout

    def __hash__(self) -> int:
        return hash((id(self.cls), self.layout))

    def __repr__(self) -> str:
        return f"{self.cls.__qualname__}<{len(self.layout)} fields>"

    def _tf_saved_model_key(self) -> str:
        return registered_name(self.cls)

    def _tf_decode(self, components: list) -> ExtensionType:
        """The value with these component tensors (no constructor or `__validate__` run)."""
        it = iter(components)
        value = object.__new__(self.cls)
        for name, layout in zip(self.cls._fields(), self.layout, strict=True):
            object.__setattr__(value, name, _rebuild(layout, it, False))
        object.__setattr__(value, "_tf_extension_type_frozen", True)
        return value

    def _tf_component_specs(self, components: list) -> list:
        """The specs a trace keys on: tensor fields by shape and dtype; RaggedTensor /
        SparseTensor fields by their TypeSpec (not their number of values)."""
        from tapeflow.tracing.spec import TensorSpec

        it, out = iter(components), []

        def walk(layout: tuple) -> None:
            kind = layout[0]
            if kind == "t":
                c = next(it)
                out.append(TensorSpec(tuple(c.shape), c.dtype))
            elif kind == "x":
                part = [next(it) for _ in range(_count(layout[1]))]
                relax = getattr(layout[1], "_tf_component_specs", None)
                out.extend(relax(part) if relax is not None else [TensorSpec(tuple(c.shape), c.dtype) for c in part])
            elif kind == "tuple":
                for x in layout[1]:
                    walk(x)
            elif kind == "map":
                for _, x in layout[1]:
                    walk(x)

        for layout in self.layout:
            walk(layout)
        return out

    def _tf_decode_spec(self, component_specs: list) -> ExtensionTypeSpec:
        """The spec with these component TensorSpecs."""
        it = iter(component_specs)
        return self.cls.Spec._make({name: _rebuild(layout, it, True)
                                    for name, layout in zip(self.cls._fields(), self.layout, strict=True)})


_TENSOR = ("t",)


def _layout(v: Any, out: list, spec: bool) -> Any:
    """The layout of one field value (or field spec), appending its tensors (specs) to `out`."""
    from tapeflow.tracing.spec import TensorSpec

    if isinstance(v, TensorSpec if spec else Tensor):
        out.append(v)
        return _TENSOR
    if isinstance(v, ExtensionTypeSpec if spec else ExtensionType):
        static, comps = (v._tf_encode_spec() if spec else v._tf_encode())
        out.extend(comps)
        return ("x", static)
    encode = getattr(type(v), "_tf_encode_spec" if spec else "_tf_encode", None)
    if encode is not None and getattr(type(v), "_tf_native_elements", False):
        # a RaggedTensor / SparseTensor field (or its spec): its components
        static, comps = encode(v)
        out.extend(comps)
        return ("x", static)
    if isinstance(v, tuple) and not isinstance(v, TensorShape):
        return ("tuple", tuple(_layout(x, out, spec) for x in v))
    if isinstance(v, Mapping):
        return ("map", tuple((k, _layout(x, out, spec)) for k, x in v.items()))
    return ("v", v)


def _rebuild(layout: tuple, it: Any, spec: bool) -> Any:
    kind = layout[0]
    if kind == "t":
        return next(it)
    if kind == "x":
        static = layout[1]
        parts = [next(it) for _ in range(_count(static))]
        return static._tf_decode_spec(parts) if spec else static._tf_decode(parts)
    if kind == "tuple":
        return tuple(_rebuild(x, it, spec) for x in layout[1])
    if kind == "map":
        return types.MappingProxyType({k: _rebuild(x, it, spec) for k, x in layout[1]})
    return layout[1]


def _count(static: Any) -> int:
    n_components = getattr(static, "_tf_n_components", None)
    if n_components is not None:  # a RaggedTensor / SparseTensor field
        return n_components()

    def n(layout: tuple) -> int:
        if layout[0] == "t":
            return 1
        if layout[0] == "x":
            return _count(layout[1])
        if layout[0] in ("tuple",):
            return sum(n(x) for x in layout[1])
        if layout[0] == "map":
            return sum(n(x) for _, x in layout[1])
        return 0

    return sum(n(x) for x in static.layout)


def _encode_value(self: ExtensionType) -> tuple:
    comps: list = []
    layout = tuple(_layout(getattr(self, k), comps, False) for k in type(self)._fields())
    return _Static(type(self), layout), comps


def _encode_spec(self: ExtensionTypeSpec) -> tuple:
    comps: list = []
    fields = self._fields
    layout = tuple(_layout(fields[k], comps, True) for k in self.value_type._fields())
    return _Static(self.value_type, layout), comps


ExtensionType._tf_encode = _encode_value  # type: ignore[attr-defined]
ExtensionTypeSpec._tf_encode_spec = _encode_spec  # type: ignore[attr-defined]
