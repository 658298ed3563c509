"""`tf.lite`: convert Keras models to TFLite flatbuffers and run .tflite files with NumPy."""
from tapeflow.lite.interpreter import Interpreter, SignatureRunner

__all__ = ["Interpreter", "SignatureRunner"]
