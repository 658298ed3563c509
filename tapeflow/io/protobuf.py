"""A small protocol-buffer message runtime (no protobuf dependency) for TF's `tf.train.Example`
family: declared fields, the wire format both ways, and text format as TF prints messages.

Supported field kinds: repeated bytes / float (packed) / int64 (packed) scalars, singular and
repeated messages, and map<string, message>. Semantics follow Python protobuf: reading an unset
message field gives an empty message; changing it marks it (and its parents) present; members
of a oneof clear each other; message fields cannot be assigned, only changed or `CopyFrom`-ed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping, MutableMapping, MutableSequence
from typing import Any, ClassVar

import numpy as np

from tapeflow.io.wire import ProtoError, map_entry
from tapeflow.io.wire import fields as _fields
from tapeflow.io.wire import length_delimited as _length_delimited
from tapeflow.io.wire import read_varint as _read_varint
from tapeflow.io.wire import write_varint as _varint

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


class DecodeError(Exception):
    """Bytes that are not a valid message of the type asked for (protobuf's DecodeError)."""


class Field:
    """One declared field: name, number, kind ("bytes", "float", "int64", "message", "map"),
    whether repeated, the message class (a name resolved in the module's registry), and the
    oneof group it belongs to."""

    # protobuf's FieldDescriptor constants, for code that reads descriptors (text_format)
    TYPE_FLOAT, TYPE_INT64, TYPE_STRING, TYPE_MESSAGE, TYPE_BYTES = 2, 3, 9, 11, 12
    CPPTYPE_INT64, CPPTYPE_FLOAT, CPPTYPE_STRING, CPPTYPE_MESSAGE = 2, 6, 9, 10
    LABEL_OPTIONAL, LABEL_REPEATED = 1, 3
    _TYPES = {"bytes": (TYPE_BYTES, CPPTYPE_STRING), "string": (TYPE_STRING, CPPTYPE_STRING),
              "float": (TYPE_FLOAT, CPPTYPE_FLOAT), "int64": (TYPE_INT64, CPPTYPE_INT64),
              "message": (TYPE_MESSAGE, CPPTYPE_MESSAGE), "map": (TYPE_MESSAGE, CPPTYPE_MESSAGE)}
    is_extension = False

    def __init__(self, name: str, number: int, kind: str, repeated: bool = False, message: str | None = None,
                 oneof: str | None = None) -> None:
        self.name, self.number, self.kind, self.repeated = name, number, kind, repeated
        self.message_name = message
        self.containing_oneof = None if oneof is None else _OneofName(oneof)
        self.full_name = name
        self.type, self.cpp_type = self._TYPES[kind]
        self.is_repeated = repeated or kind == "map"
        self.label = self.LABEL_REPEATED if self.is_repeated else self.LABEL_OPTIONAL
        self.has_presence = kind == "message" and not repeated

    @property
    def message_class(self) -> type[Message]:
        return _REGISTRY[self.message_name]

    @property
    def message_type(self) -> Descriptor | None:
        """The descriptor of the field's message type (protobuf's); a map field's is its entry type."""
        if self.kind == "map":
            return _map_entry_descriptor(self)
        return self.message_class.DESCRIPTOR if self.kind == "message" else None

    def __repr__(self) -> str:
        return f"<Field {self.name} = {self.number}>"


class _OneofName(str):
    """A oneof group's name; `.name` as protobuf's OneofDescriptor has."""

    @property
    def name(self) -> str:
        return str(self)


class _Options:
    def __init__(self, map_entry: bool) -> None:
        self.map_entry = map_entry


class Descriptor:
    """What `Message.DESCRIPTOR` tells: the full name and the fields (with the attributes
    protobuf's own `text_format` reads, so `text_format.Merge(text, tf.train.Example())` works)."""

    is_extendable = False
    containing_type = None

    def __init__(self, full_name: str, fields: tuple[Field, ...], map_entry: bool = False) -> None:
        self.full_name = full_name
        self.name = full_name.rsplit(".", 1)[-1]
        self.fields = list(fields)
        self.fields_by_name = {f.name: f for f in fields}
        self.fields_by_number = {f.number: f for f in fields}
        for f in fields:
            f.full_name = f"{full_name}.{f.name}"
        self.has_options = map_entry
        self._options = _Options(map_entry)

    def GetOptions(self) -> _Options:  # noqa: N802 - protobuf's name
        return self._options


def _map_entry_descriptor(field: Field) -> Descriptor:
    entry = field.__dict__.get("_entry")
    if entry is None:
        name = "".join(p[:1].upper() + p[1:] for p in field.name.split("_")) + "Entry"
        entry = Descriptor(f"{field.full_name.rsplit('.', 1)[0]}.{name}",
                           (Field("key", 1, "string"), Field("value", 2, "message", message=field.message_name)),
                           map_entry=True)
        field._entry = entry
    return entry


class MapEntry:
    """One `key: value` pair of a map field being built (protobuf's `GetEntryClass()()`)."""

    def __init__(self, field: Field, key: str = "", value: Message | None = None) -> None:
        self.DESCRIPTOR = _map_entry_descriptor(field)
        self.key = key
        self.value = field.message_class()
        self._given = value is not None
        if value is not None:
            self.value.CopyFrom(value)

    def ListFields(self) -> list:  # noqa: N802
        key_field, value_field = self.DESCRIPTOR.fields
        return [(key_field, self.key), (value_field, self.value)]

    def HasField(self, name: str) -> bool:  # noqa: N802
        return name == "value" and self._given

    def SetInParent(self) -> None:  # noqa: N802
        pass

    def WhichOneof(self, name: str) -> None:  # noqa: N802
        return None


_REGISTRY: dict[str, type[Message]] = {}


# ---------------------------------------------------------------------------------------------
# Value checks (as protobuf's type checkers)

def _check_int64(value: Any, where: str) -> int:
    if hasattr(value, "numpy") and not isinstance(value, np.generic):  # a scalar tensor, as TF's __index__
        arr = np.asarray(value.numpy())
        value = arr[()] if arr.ndim == 0 else value
    if isinstance(value, (float, np.floating, str, bytes)):
        raise TypeError(f"{where}: expected an int, got {type(value).__name__} {value!r}.")
    if isinstance(value, (bool, np.bool_)):  # older protobuf accepted bools (the TF tutorial uses them)
        return int(value)
    try:
        v = value.__index__()
    except (AttributeError, TypeError):
        raise TypeError(f"{where}: expected an int, got {type(value).__name__} {value!r}.") from None
    if not _INT64_MIN <= v <= _INT64_MAX:
        raise ValueError(f"{where}: value out of range for int64: {v}.")
    return v


def _check_float(value: Any, where: str) -> float:
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{where}: must be real number, not {type(value).__name__}.")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: must be real number, not {type(value).__name__}.") from None
    with np.errstate(over="ignore"):
        return float(np.float32(v))


def _check_bytes(value: Any, where: str) -> bytes:
    if isinstance(value, bytes):
        return bytes(value)
    raise TypeError(f"{where}: expected bytes, {type(value).__name__} found.")


_CHECKS = {"int64": _check_int64, "float": _check_float, "bytes": _check_bytes}


# ---------------------------------------------------------------------------------------------
# Containers

class RepeatedScalarContainer(MutableSequence):
    """A repeated scalar field: list-like, each value checked and converted on the way in."""

    def __init__(self, owner: Message, field: Field) -> None:
        self._owner, self._field, self._items = owner, field, []
        self._check = _CHECKS[field.kind]
        self._where = f"Field {owner.DESCRIPTOR.full_name}.{field.name}"

    def _converted(self, values: Any) -> list:
        values = values.tolist() if isinstance(values, np.ndarray) and values.dtype.kind in "fiu" else values
        if self._field.kind == "float" and isinstance(values, list) and all(
                type(v) is float or type(v) is int for v in values):
            with np.errstate(over="ignore"):  # fast path: one float32 rounding for the whole list
                return np.asarray(values, np.float64).astype(np.float32).tolist()
        return [self._check(v, self._where) for v in values]

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: Any) -> Any:
        return self._items[index]

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            self._items[index] = self._converted(value)
        else:
            self._items[index] = self._check(value, self._where)
        self._owner._modified()

    def __delitem__(self, index: Any) -> None:
        del self._items[index]
        self._owner._modified()

    def insert(self, index: int, value: Any) -> None:
        self._items.insert(index, self._check(value, self._where))
        self._owner._modified()

    def append(self, value: Any) -> None:
        self._items.append(self._check(value, self._where))
        self._owner._modified()

    def extend(self, values: Any) -> None:
        self._items.extend(self._converted(values))
        self._owner._modified()

    def sort(self, *args: Any, **kwargs: Any) -> None:
        self._items.sort(*args, **kwargs)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, RepeatedScalarContainer):
            return self._items == other._items
        return isinstance(other, (list, tuple)) and self._items == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._items)


class RepeatedCompositeContainer(MutableSequence):
    """A repeated message field: `add(**fields)` makes and appends a new message."""

    def __init__(self, owner: Message, field: Field) -> None:
        self._owner, self._field, self._items = owner, field, []

    def _new(self) -> Message:
        child = self._field.message_class()
        child._parent = self._owner
        return child

    def add(self, **kwargs: Any) -> Message:
        child = self._new()
        child._init_fields(kwargs)
        self._items.append(child)
        self._owner._modified()
        return child

    def _copy_in(self, value: Any) -> Message:
        child = self._new()
        if isinstance(value, Mapping):
            child._init_fields(value)
        elif isinstance(value, self._field.message_class):
            child.MergeFrom(value)
        else:
            raise TypeError(f"{self._owner.DESCRIPTOR.full_name}.{self._field.name}: expected a "
                            f"{self._field.message_class.__name__}, received {type(value).__name__}.")
        return child

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: Any) -> Any:
        return self._items[index]

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TypeError("does not support assignment; use add(), append() or CopyFrom on an element")

    def __delitem__(self, index: Any) -> None:
        del self._items[index]
        self._owner._modified()

    def insert(self, index: int, value: Any) -> None:
        self._items.insert(index, self._copy_in(value))
        self._owner._modified()

    def append(self, value: Any) -> None:
        self.insert(len(self._items), value)

    def extend(self, values: Any) -> None:
        for v in values:
            self.append(v)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, RepeatedCompositeContainer):
            return self._items == other._items
        return isinstance(other, (list, tuple)) and self._items == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._items)


class MessageMap(MutableMapping):
    """A map<string, message> field; reading a missing key adds an empty message, as protobuf."""

    def __init__(self, owner: Message, field: Field) -> None:
        self._owner, self._field, self._items = owner, field, {}

    @staticmethod
    def _key(key: Any) -> str:
        if isinstance(key, bytes):
            return key.decode("utf-8")
        if not isinstance(key, str):
            raise TypeError(f"map keys must be str, received {type(key).__name__} {key!r}.")
        return key

    def get_or_create(self, key: Any) -> Message:
        return self[key]

    def GetEntryClass(self) -> Any:  # noqa: N802 - protobuf's name
        field = self._field
        return lambda key="", value=None: MapEntry(field, key, value)

    def __getitem__(self, key: Any) -> Message:
        key = self._key(key)
        child = self._items.get(key)
        if child is None:
            child = self._field.message_class()
            child._parent = self._owner
            self._items[key] = child
            self._owner._modified()
        return child

    def get(self, key: Any, default: Any = None) -> Any:
        return self._items.get(self._key(key), default)

    def __contains__(self, key: Any) -> bool:
        return self._key(key) in self._items

    def __setitem__(self, key: Any, value: Any) -> None:
        child = self._field.message_class()
        child._parent = self._owner
        if isinstance(value, Mapping):
            child._init_fields(value)
        elif isinstance(value, self._field.message_class):
            child.MergeFrom(value)
        else:
            raise TypeError(f"{self._owner.DESCRIPTOR.full_name}.{self._field.name}[{key!r}]: expected a "
                            f"{self._field.message_class.__name__}, received {type(value).__name__}.")
        self._items[self._key(key)] = child
        self._owner._modified()

    def __delitem__(self, key: Any) -> None:
        del self._items[self._key(key)]
        self._owner._modified()

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, MessageMap):
            return self._items == other._items
        return isinstance(other, Mapping) and self._items == dict(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._items)


# ---------------------------------------------------------------------------------------------

class Message:
    """Base of the declared messages; subclasses set `FULL_NAME` and `FIELDS`."""

    FULL_NAME: ClassVar[str] = ""
    FIELDS: ClassVar[tuple[Field, ...]] = ()
    DESCRIPTOR: ClassVar[Descriptor]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.DESCRIPTOR = Descriptor(cls.FULL_NAME, cls.FIELDS)
        cls._by_name = {f.name: f for f in cls.FIELDS}
        cls._by_number = {f.number: f for f in cls.FIELDS}
        cls._by_number_order = sorted(cls.FIELDS, key=lambda f: f.number)
        cls._oneofs: dict[str, list[str]] = {}
        for f in cls.FIELDS:
            if f.containing_oneof:
                cls._oneofs.setdefault(f.containing_oneof, []).append(f.name)
        _REGISTRY[cls.__name__] = cls

    def __init__(self, **kwargs: Any) -> None:
        object.__setattr__(self, "_values", {})
        object.__setattr__(self, "_present", set())
        object.__setattr__(self, "_parent", None)
        self._init_fields(kwargs)

    def _init_fields(self, kwargs: Mapping) -> None:
        for name, value in kwargs.items():
            field = self._by_name.get(name)
            if field is None:
                raise ValueError(f'Protocol message {self.DESCRIPTOR.name} has no "{name}" field.')
            if value is None:
                continue
            target = getattr(self, name)
            if field.kind == "map":
                if not isinstance(value, Mapping):
                    raise TypeError(f"{self.DESCRIPTOR.full_name}.{name}: expected a dict, received "
                                    f"{type(value).__name__}.")
                for k, v in value.items():
                    target[k] = v
            elif field.repeated:
                if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                    raise TypeError(f"{self.DESCRIPTOR.full_name}.{name}: expected a list of values, received "
                                    f"{type(value).__name__} {value!r}.")
                target.extend(value)
            elif isinstance(value, Mapping):
                target._init_fields(value)
                target._modified()
            elif isinstance(value, field.message_class):
                target.CopyFrom(value)
                target._modified()
            else:
                raise TypeError(f"{self.DESCRIPTOR.full_name}.{name}: expected a {field.message_class.__name__}, "
                                f"received {type(value).__name__}.")

    # -- field access ---------------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        field = type(self)._by_name.get(name) if not name.startswith("_") else None
        if field is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        value = self._values.get(name)
        if value is None:
            if field.kind == "map":
                value = MessageMap(self, field)
            elif field.repeated:
                value = (RepeatedCompositeContainer(self, field) if field.kind == "message"
                         else RepeatedScalarContainer(self, field))
            else:
                value = field.message_class()
                value._parent = self
                value._field_in_parent = name
            self._values[name] = value
            self.__dict__[name] = value  # later reads skip __getattr__
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        field = type(self)._by_name.get(name)
        if field is None:
            raise AttributeError(f'Protocol message {self.DESCRIPTOR.name} has no "{name}" field.')
        what = "repeated" if field.repeated or field.kind == "map" else "message"
        raise AttributeError(f'Assignment not allowed to {what} field "{name}" in protocol message object.')

    def _modified(self) -> None:
        """A child or container changed: mark the path from the root to it present."""
        parent = self._parent
        name = self.__dict__.get("_field_in_parent")
        if parent is not None and name is not None:
            parent._set_present(name)
        if parent is not None:
            parent._modified()

    def _set_present(self, name: str) -> None:
        field = self._by_name[name]
        if field.containing_oneof:
            for other in self._oneofs[field.containing_oneof]:
                if other != name:
                    self._present.discard(other)
                    self._values.pop(other, None)
                    self.__dict__.pop(other, None)
        self._present.add(name)

    def _has(self, field: Field) -> bool:
        value = self._values.get(field.name)
        if field.repeated or field.kind == "map":
            return bool(value)
        return field.name in self._present

    # -- protobuf's Message API -------------------------------------------------------------------

    def HasField(self, field_name: str) -> bool:  # noqa: N802
        if field_name in self._oneofs:
            return self.WhichOneof(field_name) is not None
        field = self._by_name.get(field_name)
        if field is None or field.repeated or field.kind == "map":
            raise ValueError(f'Protocol message {self.DESCRIPTOR.name} has no singular "{field_name}" field.')
        return field_name in self._present

    def SetInParent(self) -> None:  # noqa: N802 - protobuf's name
        """Mark this (sub)message present in its parent, as protobuf does."""
        self._modified()

    def WhichOneof(self, oneof_group: str) -> str | None:  # noqa: N802
        if oneof_group not in self._oneofs:
            raise ValueError(f'Protocol message has no oneof "{oneof_group}" field.')
        for name in self._oneofs[oneof_group]:
            if name in self._present:
                return name
        return None

    def ClearField(self, field_name: str) -> None:  # noqa: N802
        names = self._oneofs.get(field_name) or [field_name]
        for name in names:
            if name not in self._by_name:
                raise ValueError(f'Protocol message {self.DESCRIPTOR.name} has no "{name}" field.')
            self._values.pop(name, None)
            self.__dict__.pop(name, None)
            self._present.discard(name)

    def Clear(self) -> None:  # noqa: N802
        for name in self._values:
            self.__dict__.pop(name, None)
        self._values.clear()
        self._present.clear()

    def ListFields(self) -> list[tuple[Field, Any]]:  # noqa: N802
        return [(f, getattr(self, f.name)) for f in self._by_number_order if self._has(f)]

    def IsInitialized(self) -> bool:  # noqa: N802
        return True

    def CopyFrom(self, other: Message) -> None:  # noqa: N802
        if other is self:
            return
        self.Clear()
        self.MergeFrom(other)

    def MergeFrom(self, other: Message) -> None:  # noqa: N802
        if not isinstance(other, type(self)):
            raise TypeError(f"Parameter to MergeFrom() must be instance of same class: expected "
                            f"{type(self).__name__} got {type(other).__name__}.")
        for field, value in other.ListFields():
            target = getattr(self, field.name)
            if field.kind == "map":
                for k, v in value.items():
                    target[k].MergeFrom(v)
            elif field.repeated and field.kind == "message":
                target.extend(value)
            elif field.repeated:
                target._items.extend(value._items)  # already checked values
            else:
                target.MergeFrom(value)
                self._set_present(field.name)
        self._modified()

    def SerializeToString(self, deterministic: bool = False) -> bytes:  # noqa: N802
        return bytes(_encode(self))

    SerializePartialToString = SerializeToString

    def ByteSize(self) -> int:  # noqa: N802
        return len(_encode(self))

    def ParseFromString(self, serialized: bytes) -> int:  # noqa: N802
        self.Clear()
        return self.MergeFromString(serialized)

    def MergeFromString(self, serialized: bytes) -> int:  # noqa: N802
        data = bytes(serialized)
        try:
            _decode_into(self, data)
        except (ProtoError, UnicodeDecodeError, struct.error, ValueError) as e:
            raise DecodeError(f"Error parsing message with type '{self.DESCRIPTOR.full_name}': {e}") from None
        return len(data)

    @classmethod
    def FromString(cls, s: bytes) -> Message:  # noqa: N802
        message = cls()
        message.MergeFromString(s)
        return message

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, Message) or type(other) is not type(self):
            return NotImplemented
        return [(f.name, v) for f, v in self.ListFields()] == [(f.name, v) for f, v in other.ListFields()]

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return "".join(line + "\n" for line in _text(self, ""))

    __repr__ = __str__

    def __reduce__(self) -> tuple:
        return (type(self).FromString, (self.SerializeToString(),))

    def __deepcopy__(self, memo: Any) -> Message:
        return type(self).FromString(self.SerializeToString())


# ---------------------------------------------------------------------------------------------
# Wire format

def _encode(message: Message) -> bytearray:
    out = bytearray()
    for field, value in message.ListFields():
        n = field.number
        if field.kind == "bytes":
            for v in value._items:
                out += _length_delimited(n, v)
        elif field.kind == "float":
            out += _length_delimited(n, np.asarray(value._items, "<f4").tobytes())
        elif field.kind == "int64":
            out += _length_delimited(n, b"".join(_varint(v) for v in value._items))
        elif field.kind == "map":
            for k, v in value._items.items():
                entry = _length_delimited(1, k.encode("utf-8")) + _length_delimited(2, bytes(_encode(v)))
                out += _length_delimited(n, entry)
        elif field.repeated:
            for v in value._items:
                out += _length_delimited(n, bytes(_encode(v)))
        else:
            out += _length_delimited(n, bytes(_encode(value)))
    return out


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _decode_into(message: Message, data: bytes) -> None:
    for number, wire, value in _fields(data):
        field = message._by_number.get(number)
        if field is None:
            continue  # unknown fields are skipped
        target = getattr(message, field.name)
        if field.kind == "bytes" and wire == 2:
            target._items.append(bytes(value))
        elif field.kind == "float" and wire == 2:
            if len(value) % 4:
                raise ProtoError("a packed float field has a partial element")
            target._items.extend(np.frombuffer(value, "<f4").tolist())
        elif field.kind == "float" and wire == 5:
            target._items.append(struct.unpack("<f", value)[0])
        elif field.kind == "int64" and wire == 2:
            i = 0
            while i < len(value):
                v, i = _read_varint(value, i)
                target._items.append(_signed(v))
        elif field.kind == "int64" and wire == 0:
            target._items.append(_signed(value))
        elif field.kind == "map" and wire == 2:
            key, entry = map_entry(value)
            _decode_into(target[key], entry)
        elif field.kind == "message" and wire == 2:
            child = target.add() if field.repeated else target
            _decode_into(child, value)
            if not field.repeated:
                message._set_present(field.name)
        else:
            continue  # a known number with another wire type: kept as unknown by protobuf
        if field.kind != "message":
            message._modified()


# ---------------------------------------------------------------------------------------------
# Text format

def format_float(v: float) -> str:
    """A float32 value as protobuf's text format writes it: the shortest of %.6g / %.9g that
    reads back to the same float32."""
    if v != v:
        return "nan"
    if v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    short = f"{v:.6g}"
    return short if np.float32(float(short)) == np.float32(v) else f"{v:.9g}"


def escape_bytes(b: bytes) -> str:
    """C escaping of bytes as protobuf's text format writes them (octal for non-printables)."""
    out = []
    for c in b:
        if c == 10:
            out.append("\\n")
        elif c == 13:
            out.append("\\r")
        elif c == 9:
            out.append("\\t")
        elif c in (34, 39, 92):
            out.append("\\" + chr(c))
        elif c < 32 or c >= 127:
            out.append(f"\\{c:03o}")
        else:
            out.append(chr(c))
    return "".join(out)


def _text(message: Message, indent: str) -> list[str]:
    lines = []
    inner = indent + "  "
    for field, value in message.ListFields():
        name = field.name
        if field.kind == "bytes":
            lines += [f'{indent}{name}: "{escape_bytes(v)}"' for v in value._items]
        elif field.kind == "float":
            lines += [f"{indent}{name}: {format_float(v)}" for v in value._items]
        elif field.kind == "int64":
            lines += [f"{indent}{name}: {v}" for v in value._items]
        elif field.kind == "map":
            for k, v in value._items.items():
                lines += [f"{indent}{name} {{", f'{inner}key: "{escape_bytes(k.encode("utf-8"))}"',
                          f"{inner}value {{", *_text(v, inner + "  "), f"{inner}}}", f"{indent}}}"]
        else:
            for v in (value._items if field.repeated else [value]):
                lines += [f"{indent}{name} {{", *_text(v, inner), f"{indent}}}"]
    return lines
