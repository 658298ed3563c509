"""`tf.compat.v1.saved_model.utils`: TensorInfo, the description of one signature tensor."""

from __future__ import annotations

from typing import Any

from tapeflow.tensor import Tensor


class TensorInfo:
    """A signature tensor (TF's TensorInfo proto fields: `name`, `dtype` as the DataType enum,
    `tensor_shape`), holding the graph tensor it describes."""

    def __init__(self, tensor: Tensor) -> None:
        self._tensor = tensor
        self.name = tensor.name
        self.dtype = tensor.dtype.as_datatype_enum
        self.tensor_shape = tensor.shape

    def __repr__(self) -> str:
        return f"TensorInfo(name={self.name!r}, dtype={self.dtype}, tensor_shape={self.tensor_shape})"


def build_tensor_info(tensor: Any) -> TensorInfo:
    """The TensorInfo of a graph `tensor` (for `signature_def_utils.build_signature_def`).

    Raises:
        RuntimeError: `tensor` has a value (TF: build_tensor_info is not supported in eager mode).
        TypeError: `tensor` is not a Tensor.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"build_tensor_info expects a graph Tensor, received {type(tensor).__name__}.")
    if tensor._value is not None:
        raise RuntimeError("`build_tensor_info` is not supported in eager execution.")
    return TensorInfo(tensor)


def get_tensor_from_tensor_info(tensor_info: TensorInfo, graph: Any = None, import_scope: Any = None) -> Tensor:
    """The graph tensor a TensorInfo (from `build_tensor_info` or `loader.load`'s signatures) describes."""
    if import_scope is not None:
        from tapeflow import errors

        raise errors.UnimplementedError(
            None, None, "get_tensor_from_tensor_info: import_scope is not supported (loader.load imports "
            "a SavedModel's signatures without a name scope).")
    if not isinstance(tensor_info, TensorInfo):
        raise TypeError(f"get_tensor_from_tensor_info expects a TensorInfo, received {type(tensor_info).__name__}.")
    return tensor_info._tensor
