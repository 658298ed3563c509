"""`tf.experimental.numpy`: NumPy's API on Tapeflow tensors, with NumPy's dtype rules.

Arrays are `tf.Tensor`s (`ndarray` is `Tensor`). Python and NumPy inputs take NumPy's default
dtypes (float64, int64) unless `experimental_enable_numpy_behavior(prefer_float32=True)`;
mixed operands promote as NumPy does (`result_type`), integer inputs of float functions compute
in float64. The functions are `keras.ops`' NumPy set applied after that promotion, so they are
differentiable where those are. As in TF, `experimental_enable_numpy_behavior()` gives every
tensor NumPy's methods (`.reshape`, `.astype`, `.T`, ...) and NumPy's promotion in its operators
(through a hook of `tapeflow.ops.tensor_operators`, not by patching the class).
"""

# ruff: noqa: F401
from numpy import (
    bool_, complex64, complex128, e, finfo, float16, float32, float64, iinfo, inexact, inf, int8, int16,
    int32, int64, object_, pi, uint8, uint16, uint32, uint64
)

from tapeflow.experimental.numpy import random
from tapeflow.experimental.numpy.api import *  # noqa: F403
from tapeflow.experimental.numpy.api import __all__ as _api_names
from tapeflow.tensor import Tensor as ndarray

complex_ = complex128
float_ = float64
int_ = int64
string_ = bytes
unicode_ = str
newaxis = None
