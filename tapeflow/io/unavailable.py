"""`tf.io` names whose TF form needs machinery Tapeflow does not have (a protobuf descriptor
pool, GraphDef graphs, a JPEG XL decoder). Each raises `tf.errors.UnimplementedError` naming
what is missing and what to use instead."""

from __future__ import annotations

from typing import Any

from tapeflow.errors import UnimplementedError


def decode_proto(bytes: Any, message_type: str, field_names: Any, output_types: Any,  # noqa: A002 - TF's name
                 descriptor_source: str = "local://", message_format: str = "binary", sanitize: bool = False,
                 name: Any = None) -> Any:
    """Not available: TF reads arbitrary messages through protobuf descriptor pools, which a
    NumPy-only Tapeflow does not carry. tf.train.Example bytes parse with `tf.io.parse_example`
    or `tf.train.Example.FromString`."""
    raise UnimplementedError(None, None, f"tf.io.decode_proto ({message_type}): arbitrary protobuf messages need a "
                             "descriptor pool, which Tapeflow (NumPy only) does not have; use tf.io.parse_example "
                             "or tf.train.Example.FromString for Examples, or tf.py_function with the protobuf "
                             "package.")


def encode_proto(sizes: Any, values: Any, field_names: Any, message_type: str, descriptor_source: str = "local://",
                 name: Any = None) -> Any:
    """Not available (see `decode_proto`)."""
    raise UnimplementedError(None, None, f"tf.io.encode_proto ({message_type}): arbitrary protobuf messages need a "
                             "descriptor pool, which Tapeflow (NumPy only) does not have; build tf.train.Example "
                             "messages and call SerializeToString, or use tf.py_function with the protobuf package.")


def write_graph(graph_or_graph_def: Any, logdir: str, name: str, as_text: bool = True) -> str:
    """Not available: Tapeflow graphs are not GraphDef protos."""
    raise UnimplementedError(None, None, "tf.io.write_graph: Tapeflow graphs have no GraphDef form; save the model "
                             "with tf.saved_model.save or keras Model.save instead.")


def decode_jxl(contents: Any, channels: int = 0, dtype: Any = "uint8", name: Any = None) -> Any:
    """Not available: no JPEG XL decoder ships with Pillow."""
    raise UnimplementedError(None, None, "tf.io.decode_jxl: JPEG XL needs a decoder Pillow does not include; "
                             "convert the images to PNG or JPEG first.")
