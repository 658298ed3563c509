"""`tf.io` tensor ops: serialize_tensor / parse_tensor (TF's TensorProto bytes), read_file /
write_file (whole files as scalar strings; writes are atomic) and decode_raw."""

from __future__ import annotations

import base64
import os
import tempfile
from typing import Any

import numpy as np

from tapeflow import dtypes as _dt
from tapeflow import errors
from tapeflow import string_values as _sv
from tapeflow.errors import InvalidArgumentError
from tapeflow.io import tensor_proto
from tapeflow.io.gfile import tf_error
from tapeflow.strings.base import apply, string_input
from tapeflow.tensor import Tensor, convert_to_tensor
from tapeflow.tracing import func_graph


def serialize_tensor(tensor: Any, name: Any = None) -> Tensor:
    """The tensor as a scalar string holding TF's `TensorProto` bytes (readable by TensorFlow's
    `tf.io.parse_tensor`, and ours)."""
    x = tensor if isinstance(tensor, Tensor) else convert_to_tensor(tensor)
    return apply("SerializeTensor", lambda a: _sv.scalar(tensor_proto.encode(a)), x)


def _tf_name(dtype: _dt.DType) -> str:
    return tensor_proto.TF_NAMES.get(dtype.name, dtype.name)


def _parse(a: np.ndarray, want: _dt.DType) -> np.ndarray:
    if a.ndim != 0:
        raise InvalidArgumentError(f"Expected `serialized` to be a scalar, got shape: {list(a.shape)} "
                                   "[Op:ParseTensor]")
    data = a[()]
    try:
        out = tensor_proto.decode(data)
    except tensor_proto.ProtoError as e:
        raise InvalidArgumentError(
            f"Could not parse `serialized` as TensorProto, base64: "
            f"{base64.b64encode(data[:64]).decode()} ({e}) [Op:ParseTensor]") from None
    got = _dt.from_numpy(out.dtype)
    if got != want:
        raise InvalidArgumentError(f"Type mismatch between parsed tensor ({_tf_name(got)}) and dtype "
                                   f"({_tf_name(want)}) [Op:ParseTensor]")
    return out


def parse_tensor(serialized: Any, out_type: Any, name: Any = None) -> Tensor:
    """The tensor in a scalar string of `TensorProto` bytes; its dtype must be `out_type`."""
    want = _dt.as_dtype(out_type)
    x = string_input(serialized, "ParseTensor", "serialized")
    run = lambda s: apply("ParseTensor", _parse, s, want=want)  # noqa: E731
    if func_graph.tracing() and x._value is None:
        # NOTE: the output's shape is in the bytes; stand-in strings (not protos) probe as a
        # vector of unknown length of `out_type`.
        return func_graph.lift_call(run, (x,), name="ParseTensor", stateful=False,
                                    probe=_probe(run, lambda s: (len(s[()]),), want._np))
    return run(x)


def _probe(run: Any, shape_of: Any, np_dtype: Any) -> Any:
    """A trace probe: the op itself, or for stand-in inputs it cannot read, zeros of `np_dtype`
    whose shape `shape_of(input array)` gives."""

    def probe(x: Tensor) -> Tensor:
        try:
            return run(x)
        except (InvalidArgumentError, TypeError):
            return Tensor(np.zeros(shape_of(x._value), np_dtype))

    return probe


# ---------------------------------------------------------------------------------------------

def _path(a: np.ndarray, op: str) -> str:
    if a.ndim != 0:
        raise InvalidArgumentError(f"{op}: `filename` must be a scalar string, received shape {a.shape}.")
    return os.fsdecode(a[()])


def _read(a: np.ndarray) -> np.ndarray:
    path = _path(a, "ReadFile")
    try:
        with open(path, "rb") as f:
            return _sv.scalar(f.read())
    except FileNotFoundError:
        raise errors.NotFoundError(f"{path}; No such file or directory [Op:ReadFile]") from None
    except IsADirectoryError:
        raise tf_error("FailedPreconditionError", IsADirectoryError,
                       f"{path}; Is a directory [Op:ReadFile]") from None


def read_file(filename: Any, name: Any = None) -> Tensor:
    """The whole contents of the file `filename`, as a scalar string tensor.

    Inside a `tf.function` the file is read on every call (never folded into the trace).
    """
    path = string_input(filename, "ReadFile", "filename")
    if func_graph.tracing():
        return func_graph.lift_call(_read_tensor, (path,), name="ReadFile", stateful=False,
                                    probe=_read_tensor)
    return _read_tensor(path)


def _read_tensor(path: Tensor) -> Tensor:
    return apply("ReadFile", _read, path)


def atomic_write(path: str, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`, so readers
    never see a partial file. Missing parent directories are created (as TF's WriteFile does)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_" + os.path.basename(path), dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # the permissions a plain open() would give
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _write(path: Tensor, contents: Tensor) -> None:
    if len(contents.shape) != 0:
        raise InvalidArgumentError(f"WriteFile: `contents` must be a scalar string, received shape "
                                   f"{tuple(contents.shape)}.")
    atomic_write(_path(path._value, "WriteFile"), contents._value[()])


def write_file(filename: Any, contents: Any, name: Any = None) -> None:
    """Write the scalar string `contents` to `filename` (atomically; parent folders are made).

    Inside a `tf.function` the write happens on every call.
    """
    path = string_input(filename, "WriteFile", "filename")
    data = string_input(contents, "WriteFile", "contents")
    if func_graph.tracing():
        func_graph.lift_call(_write, (path, data), name="WriteFile", stateful=True)
        return None
    _write(path, data)
    return None


# ---------------------------------------------------------------------------------------------

_RAW_TYPES = ("float16", "float32", "float64", "int32", "uint16", "uint8", "int16", "int8", "int64",
              "complex64", "complex128", "bool")


def _decode_raw(a: np.ndarray, np_dtype: np.dtype, little_endian: bool, fixed_length: Any) -> np.ndarray:
    item = np_dtype.itemsize
    flat = a.reshape(-1).tolist()
    if fixed_length is not None:
        if fixed_length % item:
            raise InvalidArgumentError(f"fixed_length ({fixed_length}) must be a multiple of the size of "
                                       f"out_type ({item}) [Op:DecodePaddedRaw]")
        flat = [s[:fixed_length].ljust(fixed_length, b"\0") for s in flat]
        size = fixed_length
    else:
        size = len(flat[0]) if flat else 0
        for i, s in enumerate(flat):
            if len(s) != size:
                raise InvalidArgumentError(f"DecodeRaw requires input strings to all be the same size, "
                                           f"but element {i} has size {size} != {len(s)} [Op:DecodeRaw]")
        if size % item:
            raise InvalidArgumentError(f"Input to DecodeRaw has length {size} that is not a multiple of "
                                       f"{item}, the size of {_tf_name(_dt.from_numpy(np_dtype))} "
                                       "[Op:DecodeRaw]")
    order = np_dtype.newbyteorder("<" if little_endian else ">") if item > 1 else np_dtype
    if np_dtype.kind == "b":
        values = np.frombuffer(b"".join(flat), np.uint8) != 0
    else:
        values = np.frombuffer(b"".join(flat), order).astype(np_dtype)
    return values.reshape(a.shape + (size // item,))


def decode_raw(input_bytes: Any, out_type: Any, little_endian: bool = True, fixed_length: Any = None,
               name: Any = None) -> Tensor:
    """Reinterpret the bytes of each string as a vector of `out_type` (shape: input shape +
    [length / item size]); with `fixed_length`, each string is cut or zero-padded to it first."""
    dtype = _dt.as_dtype(out_type)
    if dtype.name not in _RAW_TYPES:
        raise TypeError(f"DecodeRaw: `out_type` must be one of {', '.join(_RAW_TYPES)}, received {dtype.name}.")
    x = string_input(input_bytes, "DecodeRaw", "input_bytes")
    params = {"np_dtype": dtype._np, "little_endian": bool(little_endian),
              "fixed_length": None if fixed_length is None else int(fixed_length)}
    run = lambda s: apply("DecodeRaw", _decode_raw, s, **params)  # noqa: E731
    if func_graph.tracing() and x._value is None and fixed_length is None:
        # NOTE: the last dimension comes from the strings' length: stand-ins that are not a
        # multiple of the item size probe as an unknown last dimension.
        return func_graph.lift_call(run, (x,), name="DecodeRaw", stateful=False,
                                    probe=_probe(run, lambda a: a.shape + (len(a.reshape(-1)[0]) if a.size else 0,),
                                                 dtype._np))
    return run(x)


# ---------------------------------------------------------------------------------------------

def _matching(a: np.ndarray) -> np.ndarray:
    from tapeflow.data.text_files import match_files

    patterns = [os.fsdecode(p) for p in a.reshape(-1).tolist()]
    found = sorted({m for p in patterns for m in match_files(p)})
    out = _sv.empty_strings((len(found),))
    out[:] = [os.fsencode(m) for m in found]
    return out


def matching_files(pattern: Any, name: Any = None) -> Tensor:
    """The sorted paths matching a glob pattern (or a vector of them), as a string vector (empty
    when nothing matches). Inside a `tf.function` the file system is read on every call."""
    x = string_input(pattern, "MatchingFiles", "pattern")
    if func_graph.tracing():
        run = lambda p: apply("MatchingFiles", _matching, p)  # noqa: E731
        return func_graph.lift_call(run, (x,), name="MatchingFiles", stateful=False, probe=run)
    return apply("MatchingFiles", _matching, x)


def match_filenames_once(pattern: Any, name: Any = None) -> Any:
    """A non-trainable string Variable holding `matching_files(pattern)`, read once now."""
    from tapeflow.tensor import Variable

    return Variable(matching_files(pattern), trainable=False, name=name or "matching_filenames")
