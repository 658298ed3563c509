"""`tf.experimental.tensorrt`: TF-TRT converts SavedModels for NVIDIA TensorRT, a C++ inference
runtime Tapeflow does not link; the classes exist so imports work and say so when used."""

from __future__ import annotations

from typing import Any, NamedTuple

from tapeflow.errors import UnimplementedError


class ConversionParams(NamedTuple):
    """TF-TRT's conversion parameters (accepted, so configuration code runs)."""

    max_workspace_size_bytes: int = 1 << 30
    precision_mode: str = "FP32"
    minimum_segment_size: int = 3
    maximum_cached_engines: int = 1
    use_calibration: bool = True
    allow_build_at_runtime: bool = True


class Converter:
    """Not available: TensorRT conversion needs TF's C++ runtime and NVIDIA's TensorRT."""

    def __init__(self, input_saved_model_dir: Any = None, *args: Any, **kwargs: Any) -> None:
        raise UnimplementedError(None, None, "tf.experimental.tensorrt.Converter: TensorRT conversion needs "
                                 "TensorFlow's C++ runtime and NVIDIA TensorRT, which Tapeflow does not use; "
                                 "export the model to ONNX (tapeflow.onnx) and use TensorRT's ONNX parser.")
