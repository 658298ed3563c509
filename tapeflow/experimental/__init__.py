"""`tf.experimental`: the NumPy API on tensors (`tf.experimental.numpy`), `Optional`, and the small
number types."""

from tapeflow.data.optional import Optional  # noqa: F401
from tapeflow.dtypes import (  # noqa: F401
    float4_e2m1fn,
    float8_e4m3b11fnuz,
    float8_e4m3fn,
    float8_e4m3fnuz,
    float8_e5m2,
    float8_e5m2fnuz,
    int2,
    int4,
    uint2,
    uint4,
)
from tapeflow.experimental import numpy  # noqa: F401
