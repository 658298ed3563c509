"""TFLite schema constants (tensorflow/lite/schema/schema.fbs): operator codes, option tables,
tensor types and each table's field indices, as the .tflite format numbers them."""

from __future__ import annotations

import numpy as np

FILE_IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3

# BuiltinOperator
BUILTIN_OPERATORS = {
    "ADD": 0, "AVERAGE_POOL_2D": 1, "CONCATENATION": 2, "CONV_2D": 3, "DEPTHWISE_CONV_2D": 4,
    "DEQUANTIZE": 6, "FULLY_CONNECTED": 9, "LOGISTIC": 14, "MAX_POOL_2D": 17, "MUL": 18, "RELU": 19, "RELU6": 21,
    "RESHAPE": 22, "SOFTMAX": 25, "TANH": 28, "PAD": 34, "GATHER": 36, "TRANSPOSE": 39, "MEAN": 40,
    "SUB": 41, "DIV": 42, "SQUEEZE": 43, "STRIDED_SLICE": 45, "EXP": 47, "MAXIMUM": 55,
    "MINIMUM": 57, "EXPAND_DIMS": 70, "SUM": 74, "SQRT": 75, "RSQRT": 76, "SHAPE": 77, "PACK": 83,
    "REDUCE_MAX": 82, "LEAKY_RELU": 98, "HARD_SWISH": 117, "BATCH_MATMUL": 126,
}
OPERATOR_NAMES = {code: name for name, code in BUILTIN_OPERATORS.items()}

# BuiltinOptions union: the option table type each operator writes (0 = none)
BUILTIN_OPTIONS = {
    "CONV_2D": 1, "DEPTHWISE_CONV_2D": 2, "AVERAGE_POOL_2D": 5, "MAX_POOL_2D": 5,
    "FULLY_CONNECTED": 8, "SOFTMAX": 9, "CONCATENATION": 10, "ADD": 11, "RESHAPE": 17, "MUL": 21,
    "MEAN": 27, "REDUCE_MAX": 27, "SUM": 27, "SUB": 28, "DIV": 29, "SQUEEZE": 30, "STRIDED_SLICE": 32,
    "SHAPE": 55, "PACK": 59,
    "LEAKY_RELU": 75, "BATCH_MATMUL": 101, "PAD": 22,
}

# TensorType <-> NumPy
TENSOR_TYPES = {
    0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 6: np.bool_, 7: np.int16,
    9: np.int8, 10: np.float64, 12: np.uint64, 15: np.uint32, 16: np.uint16,
}
TYPE_CODES = {np.dtype(v): k for k, v in TENSOR_TYPES.items()}

# Padding / ActivationFunctionType
PADDING_SAME, PADDING_VALID = 0, 1
ACTIVATIONS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3, "TANH": 4, "SIGN_BIT": 5}
ACTIVATION_NAMES = {v: k for k, v in ACTIVATIONS.items()}


class Field:
    """Field indices (vtable slot = 4 + 2 * index) of the tables the converter and reader use."""

    # Model
    MODEL_VERSION, MODEL_OPERATOR_CODES, MODEL_SUBGRAPHS, MODEL_DESCRIPTION, MODEL_BUFFERS = 0, 1, 2, 3, 4
    MODEL_SIGNATURE_DEFS = 7
    # SubGraph
    SG_TENSORS, SG_INPUTS, SG_OUTPUTS, SG_OPERATORS, SG_NAME = 0, 1, 2, 3, 4
    # Tensor
    T_SHAPE, T_TYPE, T_BUFFER, T_NAME, T_QUANTIZATION, T_IS_VARIABLE, T_SPARSITY = 0, 1, 2, 3, 4, 5, 6
    T_SHAPE_SIGNATURE = 7
    # QuantizationParameters
    Q_MIN, Q_MAX, Q_SCALE, Q_ZERO_POINT = 0, 1, 2, 3
    # Operator
    OP_OPCODE_INDEX, OP_INPUTS, OP_OUTPUTS, OP_OPTIONS_TYPE, OP_OPTIONS = 0, 1, 2, 3, 4
    OP_CUSTOM_OPTIONS = 5
    # OperatorCode
    OC_DEPRECATED_BUILTIN_CODE, OC_CUSTOM_CODE, OC_VERSION, OC_BUILTIN_CODE = 0, 1, 2, 3
    # Buffer
    B_DATA, B_OFFSET, B_SIZE = 0, 1, 2
    # SignatureDef (field 3 is deprecated) / TensorMap
    SIG_INPUTS, SIG_OUTPUTS, SIG_KEY, SIG_SUBGRAPH_INDEX = 0, 1, 2, 4
    TM_NAME, TM_TENSOR_INDEX = 0, 1


# Option tables: field name -> (index, struct format, default), per schema.fbs
OPTION_FIELDS = {
    1: {"padding": (0, "b", 0), "stride_w": (1, "i", 0), "stride_h": (2, "i", 0),
        "fused_activation_function": (3, "b", 0), "dilation_w_factor": (4, "i", 1),
        "dilation_h_factor": (5, "i", 1)},
    2: {"padding": (0, "b", 0), "stride_w": (1, "i", 0), "stride_h": (2, "i", 0),
        "depth_multiplier": (3, "i", 0), "fused_activation_function": (4, "b", 0),
        "dilation_w_factor": (5, "i", 1), "dilation_h_factor": (6, "i", 1)},
    5: {"padding": (0, "b", 0), "stride_w": (1, "i", 0), "stride_h": (2, "i", 0),
        "filter_width": (3, "i", 0), "filter_height": (4, "i", 0),
        "fused_activation_function": (5, "b", 0)},
    8: {"fused_activation_function": (0, "b", 0), "weights_format": (1, "b", 0),
        "keep_num_dims": (2, "?", False), "asymmetric_quantize_inputs": (3, "?", False)},
    9: {"beta": (0, "f", 0.0)},
    10: {"axis": (0, "i", 0), "fused_activation_function": (1, "b", 0)},
    11: {"fused_activation_function": (0, "b", 0)},
    21: {"fused_activation_function": (0, "b", 0)},
    27: {"keep_dims": (0, "?", False)},
    28: {"fused_activation_function": (0, "b", 0)},
    29: {"fused_activation_function": (0, "b", 0)},
    32: {"begin_mask": (0, "i", 0), "end_mask": (1, "i", 0), "ellipsis_mask": (2, "i", 0),
         "new_axis_mask": (3, "i", 0), "shrink_axis_mask": (4, "i", 0), "offset": (5, "?", False)},
    55: {"out_type": (0, "b", 2)},
    59: {"values_count": (0, "i", 0), "axis": (1, "i", 0)},
    75: {"alpha": (0, "f", 0.0)},
    101: {"adj_x": (0, "?", False), "adj_y": (1, "?", False)},
}
# vector-valued option fields: options type -> {name: (index, dtype)}
OPTION_VECTORS = {17: {"new_shape": (0, "int32")}, 30: {"squeeze_dims": (0, "int32")}}
