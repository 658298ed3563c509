"""`tf.compat.v1`: TF1 graph-style programs over Tapeflow's engine.

`import tapeflow.compat.v1 as tf` runs TF1 code: placeholders, variables, `tf.layers`,
`tf.losses`, `tf.train` optimizers and `Session.run`. Ops applied to placeholders or variables
record graph nodes (nothing is computed until a session runs them); the same ops on plain
values compute at once, as in the engine.

Example:
    >>> import tapeflow.compat.v1 as tf
    >>> x = tf.placeholder(tf.float32, [None, 784])
    >>> y = tf.placeholder(tf.float32, [None, 10])
    >>> logits = tf.layers.dense(x, 10)
    >>> loss = tf.losses.softmax_cross_entropy(y, logits)
    >>> train_step = tf.train.GradientDescentOptimizer(0.5).minimize(loss)
    >>> sess = tf.InteractiveSession()
    >>> sess.run(tf.global_variables_initializer())
    >>> train_step.run(feed_dict={x: xb, y: yb})
"""

from __future__ import annotations

from typing import Any

import tapeflow as _tf
from tapeflow import dtypes, errors, nest  # noqa: F401
from tapeflow.compat.v1 import (  # noqa: F401
    initializers,
    layers,
    linalg,
    logging,
    losses,
    math,
    metrics,
    nn,
    random,
    train,
)
from tapeflow.compat.v1.array_ops import (  # noqa: F401
    Print,
    arg_max,
    arg_min,
    argmax,
    argmin,
    clip_by_global_norm,
    clip_by_norm,
    cond,
    count_nonzero,
    div,
    expand_dims,
    floormod,
    global_norm,
    log,
    log1p,
    multinomial,
    norm,
    numpy_function,
    py_func,
    random_normal,
    random_shuffle,
    random_uniform,
    reciprocal,
    reduce_all,
    reduce_any,
    reduce_logsumexp,
    reduce_max,
    reduce_mean,
    reduce_min,
    reduce_prod,
    reduce_sum,
    set_random_seed,
    squared_difference,
    squeeze,
    to_double,
    to_float,
    to_int32,
    to_int64,
    truncated_normal,
    where,
)
from tapeflow.compat.v1.config import ConfigProto, GPUOptions, RunMetadata, RunOptions  # noqa: F401
from tapeflow.tracing.graph_gradients import gradients, hessians  # noqa: F401
from tapeflow.compat.v1.graph import (  # noqa: F401
    Graph,
    GraphKeys,
    add_to_collection,
    add_to_collections,
    control_dependencies,
    get_collection,
    get_collection_ref,
    get_default_graph,
    name_scope,
    reset_default_graph,
)
from tapeflow.compat.v1.initializers import (  # noqa: F401
    constant_initializer,
    glorot_normal_initializer,
    glorot_uniform_initializer,
    ones_initializer,
    orthogonal_initializer,
    random_normal_initializer,
    random_uniform_initializer,
    truncated_normal_initializer,
    variance_scaling_initializer,
    zeros_initializer,
)
from tapeflow.compat.v1.lift import graph_function as _g
from tapeflow.compat.v1.operations import Operation, assign, assign_add, assign_sub, group, no_op  # noqa: F401
from tapeflow.compat.v1.placeholders import placeholder, placeholder_with_default  # noqa: F401
from tapeflow.compat.v1.session import InteractiveSession, Session, get_default_session  # noqa: F401
from tapeflow.compat.v1.variables import (  # noqa: F401
    AUTO_REUSE,
    Variable,
    VariableScope,
    all_variables,
    get_variable,
    get_variable_scope,
    global_variables,
    global_variables_initializer,
    initialize_all_variables,
    initialize_local_variables,
    local_variables,
    local_variables_initializer,
    model_variables,
    moving_average_variables,
    trainable_variables,
    variable_scope,
    variables_initializer,
)
from tapeflow.dtypes import (  # noqa: F401
    DType,
    as_dtype,
    bool,
    complex64,
    complex128,
    double,
    float16,
    float32,
    float64,
    half,
    int8,
    int16,
    int32,
    int64,
    string,
    uint8,
    uint16,
    uint32,
    uint64,
)
from tapeflow.tensor import Tensor, TensorShape, constant, convert_to_tensor  # noqa: F401

# -- the engine's ops, recording graph nodes when an argument is symbolic -------------------------
abs = _g(_tf.abs)  # noqa: A001
add = _g(_tf.add)
add_n = _g(_tf.add_n)
argsort = _g(_tf.argsort)
boolean_mask = _g(_tf.boolean_mask)
broadcast_to = _g(_tf.broadcast_to)
cast = _g(_tf.cast)
ceil = _g(_tf.ceil)
clip_by_value = _g(_tf.clip_by_value)
concat = _g(_tf.concat)
cos = _g(_tf.cos)
cumsum = _g(_tf.cumsum)
divide = _g(_tf.divide)
einsum = _g(_tf.einsum)
equal = _g(_tf.equal)
exp = _g(_tf.exp)
eye = _tf.eye
fill = _g(_tf.fill)
floor = _g(_tf.floor)
floordiv = _g(_tf.floordiv)
gather = _g(_tf.gather)
gather_nd = _g(_tf.gather_nd)
greater = _g(_tf.greater)
greater_equal = _g(_tf.greater_equal)
identity = _g(_tf.identity)
less = _g(_tf.less)
less_equal = _g(_tf.less_equal)
linspace = _g(_tf.linspace)
lin_space = linspace
logical_and = _g(_tf.logical_and)
logical_not = _g(_tf.logical_not)
logical_or = _g(_tf.logical_or)
logical_xor = math.logical_xor
matmul = _g(_tf.matmul)
maximum = _g(_tf.maximum)
minimum = _g(_tf.minimum)
mod = _g(_tf.mod)
multiply = _g(_tf.multiply)
negative = _g(_tf.negative)
not_equal = _g(_tf.not_equal)
one_hot = _g(_tf.one_hot)
ones = _g(_tf.ones)
ones_like = _g(_tf.ones_like)
pad = _g(_tf.pad)
pow = _g(_tf.pow)  # noqa: A001
range = _g(_tf.range)  # noqa: A001
rank = _g(_tf.rank)
realdiv = _g(_tf.realdiv)
repeat = _g(_tf.repeat)
reshape = _g(_tf.reshape)
reverse = _g(_tf.reverse)
round = _g(_tf.round)  # noqa: A001
rsqrt = _g(_tf.rsqrt)
saturate_cast = _g(_tf.saturate_cast)
shape = _g(_tf.shape)
sigmoid = _g(_tf.sigmoid)
sign = _g(_tf.sign)
sin = _g(_tf.sin)
size = _g(_tf.size)
slice = _g(_tf.slice)  # noqa: A001
sort = _g(_tf.sort)
split = _g(_tf.split)
sqrt = _g(_tf.sqrt)
square = _g(_tf.square)
stack = _g(_tf.stack)
stop_gradient = _g(_tf.stop_gradient)
strided_slice = _g(_tf.strided_slice)
subtract = _g(_tf.subtract)
tanh = _g(_tf.tanh)
tensordot = _g(_tf.tensordot)
tile = _g(_tf.tile)
transpose = _g(_tf.transpose)
truediv = _g(_tf.truediv)
unstack = _g(_tf.unstack)
zeros = _g(_tf.zeros)
zeros_like = _g(_tf.zeros_like)
erf = math.erf
is_finite = math.is_finite
is_inf = math.is_inf
is_nan = math.is_nan
top_k = math.top_k
tan = math.tan
expm1 = math.expm1
div_no_nan = math.div_no_nan
# TF1 aliases
mul = multiply
sub = subtract
neg = negative
random_categorical = random.categorical
trace = linalg.trace
matrix_inverse = linalg.inv
matrix_transpose = linalg.matrix_transpose

newaxis = None
GradientTape = _tf.GradientTape
device = _tf.device
is_tensor = _tf.is_tensor
custom_gradient = _tf.custom_gradient


from tapeflow.dimension import Dimension, dimension_at_index, dimension_value  # noqa: E402,F401


def executing_eagerly() -> _tf.bool:  # type: ignore[valid-type]
    """False: TF1 programs build graphs and run them in sessions."""
    return False


def disable_v2_behavior() -> None:
    """Accepted for compatibility (compat.v1 is always TF1-style)."""


def disable_eager_execution() -> None:
    """Accepted for compatibility (compat.v1 ops on placeholders always build graphs)."""


def enable_v2_behavior() -> None:
    """Accepted for compatibility; use `import tapeflow as tf` for TF2-style code."""


def enable_eager_execution(config: Any = None, device_policy: Any = None, execution_mode: Any = None) -> None:
    """Accepted for compatibility; ops on plain values always compute at once."""


def enable_tensor_equality() -> None:
    """`==` on tensors and variables compares elementwise and they are unhashable (TF 2's rule,
    the default): use `t.ref()` as a dict key."""
    from tapeflow.ops import tensor_operators

    tensor_operators.set_tensor_equality(True)


def disable_tensor_equality() -> None:
    """TF 1's rule: `==` on tensors and variables is identity and they hash by identity."""
    from tapeflow.ops import tensor_operators

    tensor_operators.set_tensor_equality(False)


def __getattr__(name: str) -> Any:
    # `tf.keras` loads on first use, like the top-level package.
    if name == "keras":
        from tapeflow import keras

        return keras
    if name == "feature_column":  # TF 2's columns + input_layer / linear_model
        import importlib

        return importlib.import_module("tapeflow.feature_column.v1")
    if name in ("Summary", "SummaryMetadata", "HistogramProto", "Event", "SessionLog", "LogMessage"):
        from tapeflow.summary._tensorboard import tensorboard  # TF's protos, tensorboard's copies

        tb = tensorboard()
        return getattr(tb.summary_pb2 if hasattr(tb.summary_pb2, name) else tb.event_pb2, name)
    if name == "summary":  # TF 1 summary ops (serialized Summary protos) and FileWriter
        import importlib

        return importlib.import_module("tapeflow.compat.v1.summary")
    if name == "saved_model":  # TF 1 Builder / loader over Tapeflow's SavedModel format
        import importlib

        return importlib.import_module("tapeflow.compat.v1.saved_model")
    if name == "data":  # TF 1 graph iterators (loads tf.data on first use)
        import importlib

        return importlib.import_module("tapeflow.compat.v1.data")
    if name in ("io", "python_io") or name in _IO_NAMES:
        import importlib

        io = importlib.import_module("tapeflow.compat.v1.io")
        return io if name in ("io", "python_io") else getattr(io, name)
    from tapeflow.compat.v1 import v2_alias  # TF 1 names that are TF 2 objects (generated table)

    if name in v2_alias.submodules():
        return v2_alias.module(name)
    return v2_alias.lookup("", name)


# TF 1 spellings of tf.io names at the top of tf.compat.v1.
_IO_NAMES = {"FixedLenFeature", "FixedLenSequenceFeature", "VarLenFeature", "SparseFeature", "parse_example",
             "parse_single_example", "parse_sequence_example", "parse_single_sequence_example", "decode_raw",
             "parse_tensor", "serialize_tensor", "read_file", "write_file", "decode_json_example"}
