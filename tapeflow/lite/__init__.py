"""`tf.lite`: convert float32 Keras models to TFLite flatbuffers (`TFLiteConverter`) and run .tflite
files, Tapeflow's or TensorFlow's, with NumPy (`Interpreter`)."""

from tapeflow.lite.converter import OpsSet, Optimize, TargetSpec, TFLiteConverter
from tapeflow.lite.interpreter import Interpreter, SignatureRunner

__all__ = ["Interpreter", "OpsSet", "Optimize", "SignatureRunner", "TFLiteConverter", "TargetSpec"]
