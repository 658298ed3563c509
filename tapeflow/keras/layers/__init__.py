"""`keras.layers`: the layer classes, one family per module."""

from tapeflow.keras.layers.base import InputSpec, Layer
from tapeflow.keras.layers.core import (
    Activation, Dense, Dropout, Embedding, Flatten, GaussianNoise, Input, InputLayer, Lambda,
    Permute, RepeatVector, Reshape,
)
from tapeflow.keras.layers.merge import (
    Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average, concatenate,
    dot, maximum, minimum, multiply, subtract,
)
