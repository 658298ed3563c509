"""The checkpoint files: a JSON index and one raw data file, written atomically, read defensively.

A checkpoint with prefix `P` is two files (the names TF uses):

* `P.data-00000-of-00001`: the variables' values, one after another, each as raw little-endian
  C-order bytes.
* `P.index`: UTF-8 JSON, written last (its presence marks a complete checkpoint)::

    {"format": "tapeflow-checkpoint", "version": 1,
     "nodes": [{"children": [["net", 1], ...], "key": null}, ...],   # the object graph, root first
     "tensors": {"net/l1/kernel/.ATTRIBUTES/VARIABLE_VALUE":
                 {"dtype": "float32", "shape": [3, 5], "offset": 0, "nbytes": 60}, ...}}

  A node's `key` names the tensor of the variable it stands for (null for containers and
  modules); `children` are its named edges (attribute names, list indices, dict keys).

No code is ever stored or run: reading checks every field's type, that each dtype is a plain
numeric or bool type, that shape and byte count agree, and that every tensor lies inside the
data file, so a corrupt or hostile file raises `DataLossError` instead of allocating more memory
than the file holds. Each file is written under a temporary name, flushed to disk and renamed,
so a process killed mid-save leaves earlier checkpoints intact.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from tapeflow import atomic_file as _atomic
from tapeflow import errors

FORMAT = "tapeflow-checkpoint"
VERSION = 1
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
DATA_SUFFIX = ".data-00000-of-00001"
INDEX_SUFFIX = ".index"
_MAX_INDEX_BYTES = 256 * 2**20
_DTYPES = {
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
}


class DataLossError(errors.DataLossError, ValueError):
    """A checkpoint file is truncated, corrupt or not a Tapeflow checkpoint (`tf.errors.DataLossError`)."""


def atomic_write(path: str, write: Any) -> None:
    """Call `write(file)` on a temporary file next to `path`, flush it to disk, rename it to `path`."""
    with _atomic.atomic_write(path) as f:
        write(f)


def write(prefix: str, nodes: list, arrays: dict) -> None:
    """Write the checkpoint `prefix` (data first, then the index that marks it complete)."""
    tensors: dict = {}
    offset = 0
    for key, arr in arrays.items():
        if arr.dtype.name not in _DTYPES:
            raise ValueError(f"Cannot checkpoint {key!r}: dtype {arr.dtype} is not supported "
                             f"(supported: {', '.join(sorted(_DTYPES))}).")
        tensors[key] = {"dtype": arr.dtype.name, "shape": list(arr.shape), "offset": offset,
                        "nbytes": int(arr.nbytes)}
        offset += int(arr.nbytes)

    def write_data(f: Any) -> None:
        for arr in arrays.values():
            f.write(np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes())

    index = {"format": FORMAT, "version": VERSION, "nodes": nodes, "tensors": tensors}
    directory = os.path.dirname(prefix)
    if directory:
        os.makedirs(directory, exist_ok=True)
    atomic_write(prefix + DATA_SUFFIX, write_data)
    atomic_write(prefix + INDEX_SUFFIX, lambda f: f.write(json.dumps(index).encode("utf-8")))


def open_reader(prefix: str) -> Any:
    """The reader of checkpoint `prefix`: TensorFlow's tensor bundle (written by TensorFlow or
    tf.keras) or Tapeflow's own format."""
    from tapeflow.train import tf_bundle

    if tf_bundle.is_tf_bundle(prefix):
        return tf_bundle.TFBundleReader(prefix)
    return CheckpointReader(prefix)


def exists(prefix: str) -> bool:
    """Whether a complete checkpoint (its index) exists at `prefix`."""
    return os.path.isfile(prefix + INDEX_SUFFIX)


def _bad(prefix: str, why: str) -> DataLossError:
    return DataLossError(f"Unable to read checkpoint {prefix!r}: {why}. The file is truncated, corrupt, "
                         "or not a Tapeflow checkpoint.")


class CheckpointReader:
    """Reads a checkpoint's index and tensors (`tf.train.load_checkpoint` returns one).

    Args:
        prefix: the checkpoint prefix (as `Checkpoint.save` returned it).
    """

    def __init__(self, prefix: str) -> None:
        prefix = os.fspath(prefix)
        if not exists(prefix):
            raise errors.NotFoundError(
                f"Unsuccessful TensorSliceReader constructor: Failed to find any matching files for {prefix}"
            )
        self.prefix = prefix
        index_path = prefix + INDEX_SUFFIX
        if os.path.getsize(index_path) > _MAX_INDEX_BYTES:
            raise _bad(prefix, f"the index is larger than {_MAX_INDEX_BYTES} bytes")
        try:
            with open(index_path, "rb") as f:
                index = json.loads(f.read().decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise _bad(prefix, f"the index is not valid JSON ({type(e).__name__})") from None
        if not isinstance(index, dict) or index.get("format") != FORMAT:
            raise _bad(prefix, "the index does not name the tapeflow-checkpoint format")
        if index.get("version") != VERSION:
            raise _bad(prefix, f"format version {index.get('version')!r} is not {VERSION}")
        data_path = prefix + DATA_SUFFIX
        if not os.path.isfile(data_path):
            raise _bad(prefix, f"the data file {data_path!r} is missing")
        self._data_path = data_path
        data_size = os.path.getsize(data_path)
        self._tensors = self._check_tensors(index.get("tensors"), data_size)
        self.nodes = self._check_nodes(index.get("nodes"))
        self._graph_json = json.dumps(index["nodes"]).encode("utf-8")
        # A name-based checkpoint (tf.compat.v1.train.Saver's) has a bare root and, as in TF, no
        # object-graph entry among its keys.
        self._object_based = len(self.nodes) > 1 or bool(self.nodes[0]["children"])

    def _check_tensors(self, tensors: Any, data_size: int) -> dict:
        if not isinstance(tensors, dict):
            raise _bad(self.prefix, "'tensors' is not a mapping")
        for key, t in tensors.items():
            ok = (isinstance(t, dict) and t.get("dtype") in _DTYPES and isinstance(t.get("shape"), list)
                  and all(type(d) is int and d >= 0 for d in t["shape"])
                  and type(t.get("offset")) is int and type(t.get("nbytes")) is int)
            if not ok:
                raise _bad(self.prefix, f"the entry for {key!r} is malformed")
            count = 1
            for d in t["shape"]:
                count *= d
            if count * np.dtype(t["dtype"]).itemsize != t["nbytes"]:
                raise _bad(self.prefix, f"the size of {key!r} does not match its shape")
            if t["offset"] < 0 or t["offset"] + t["nbytes"] > data_size:
                raise _bad(self.prefix, f"{key!r} lies outside the data file")
        return tensors

    def _check_nodes(self, nodes: Any) -> list:
        if not isinstance(nodes, list) or not nodes:
            raise _bad(self.prefix, "'nodes' is not a non-empty list")
        n = len(nodes)
        for node in nodes:
            ok = isinstance(node, dict) and isinstance(node.get("children"), list)
            ok = ok and (node.get("key") is None or node.get("key") in self._tensors)
            ok = ok and all(
                isinstance(c, list) and len(c) == 2 and isinstance(c[0], str) and type(c[1]) is int
                and 0 <= c[1] < n for c in node["children"]
            )
            if not ok:
                raise _bad(self.prefix, "the object graph is malformed")
        return nodes

    def get_variable_to_shape_map(self) -> dict:
        """{key: shape as a list} for every tensor (and the object graph, shape [])."""
        out = {k: list(t["shape"]) for k, t in self._tensors.items()}
        if self._object_based:
            out[OBJECT_GRAPH_KEY] = []
        return out

    def get_variable_to_dtype_map(self) -> dict:
        """{key: tf.DType} for every tensor (the object graph is a `tf.string`)."""
        from tapeflow import dtypes

        out = {k: dtypes.as_dtype(t["dtype"]) for k, t in self._tensors.items()}
        if self._object_based:
            out[OBJECT_GRAPH_KEY] = dtypes.string
        return out

    def has_tensor(self, key: str) -> bool:
        return key in self._tensors or (key == OBJECT_GRAPH_KEY and self._object_based)

    def get_tensor(self, key: str) -> Any:
        """The value stored under `key` as a NumPy array (the object graph as JSON bytes)."""
        if key == OBJECT_GRAPH_KEY:
            return self._graph_json
        t = self._tensors.get(key)
        if t is None:
            raise errors.NotFoundError(f"Key {key} not found in checkpoint")
        dtype = np.dtype(t["dtype"]).newbyteorder("<")
        with open(self._data_path, "rb") as f:
            f.seek(t["offset"])
            raw = f.read(t["nbytes"])
        if len(raw) != t["nbytes"]:
            raise _bad(self.prefix, f"the data of {key!r} is truncated")
        arr = np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="), copy=True)
        return arr.reshape(t["shape"])
