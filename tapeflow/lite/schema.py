"""TFLite schema constants (tensorflow/lite/schema/schema.fbs): operator codes, option tables,
tensor types and each table's field indices, as the .tflite format numbers them."""

from __future__ import annotations

import numpy as np

FILE_IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3

# BuiltinOperator (every code, so an unsupported operator is named in errors)
BUILTIN_OPERATORS = {
    "ADD": 0, "AVERAGE_POOL_2D": 1, "CONCATENATION": 2, "CONV_2D": 3, "DEPTHWISE_CONV_2D": 4,
    "DEPTH_TO_SPACE": 5, "DEQUANTIZE": 6, "EMBEDDING_LOOKUP": 7, "FLOOR": 8, "FULLY_CONNECTED": 9,
    "HASHTABLE_LOOKUP": 10, "L2_NORMALIZATION": 11, "L2_POOL_2D": 12, "LOCAL_RESPONSE_NORMALIZATION": 13,
    "LOGISTIC": 14, "LSH_PROJECTION": 15, "LSTM": 16, "MAX_POOL_2D": 17, "MUL": 18, "RELU": 19,
    "RELU_N1_TO_1": 20, "RELU6": 21, "RESHAPE": 22, "RESIZE_BILINEAR": 23, "RNN": 24, "SOFTMAX": 25,
    "SPACE_TO_DEPTH": 26, "SVDF": 27, "TANH": 28, "CONCAT_EMBEDDINGS": 29, "SKIP_GRAM": 30, "CALL": 31,
    "CUSTOM": 32, "EMBEDDING_LOOKUP_SPARSE": 33, "PAD": 34, "UNIDIRECTIONAL_SEQUENCE_RNN": 35, "GATHER": 36,
    "BATCH_TO_SPACE_ND": 37, "SPACE_TO_BATCH_ND": 38, "TRANSPOSE": 39, "MEAN": 40, "SUB": 41, "DIV": 42,
    "SQUEEZE": 43, "UNIDIRECTIONAL_SEQUENCE_LSTM": 44, "STRIDED_SLICE": 45, "BIDIRECTIONAL_SEQUENCE_RNN": 46,
    "EXP": 47, "TOPK_V2": 48, "SPLIT": 49, "LOG_SOFTMAX": 50, "DELEGATE": 51,
    "BIDIRECTIONAL_SEQUENCE_LSTM": 52, "CAST": 53, "PRELU": 54, "MAXIMUM": 55, "ARG_MAX": 56, "MINIMUM": 57,
    "LESS": 58, "NEG": 59, "PADV2": 60, "GREATER": 61, "GREATER_EQUAL": 62, "LESS_EQUAL": 63, "SELECT": 64,
    "SLICE": 65, "SIN": 66, "TRANSPOSE_CONV": 67, "SPARSE_TO_DENSE": 68, "TILE": 69, "EXPAND_DIMS": 70,
    "EQUAL": 71, "NOT_EQUAL": 72, "LOG": 73, "SUM": 74, "SQRT": 75, "RSQRT": 76, "SHAPE": 77, "POW": 78,
    "ARG_MIN": 79, "FAKE_QUANT": 80, "REDUCE_PROD": 81, "REDUCE_MAX": 82, "PACK": 83, "LOGICAL_OR": 84,
    "ONE_HOT": 85, "LOGICAL_AND": 86, "LOGICAL_NOT": 87, "UNPACK": 88, "REDUCE_MIN": 89, "FLOOR_DIV": 90,
    "REDUCE_ANY": 91, "SQUARE": 92, "ZEROS_LIKE": 93, "FILL": 94, "FLOOR_MOD": 95, "RANGE": 96,
    "RESIZE_NEAREST_NEIGHBOR": 97, "LEAKY_RELU": 98, "SQUARED_DIFFERENCE": 99, "MIRROR_PAD": 100, "ABS": 101,
    "SPLIT_V": 102, "UNIQUE": 103, "CEIL": 104, "REVERSE_V2": 105, "ADD_N": 106, "GATHER_ND": 107, "COS": 108,
    "WHERE": 109, "RANK": 110, "ELU": 111, "REVERSE_SEQUENCE": 112, "MATRIX_DIAG": 113, "QUANTIZE": 114,
    "MATRIX_SET_DIAG": 115, "ROUND": 116, "HARD_SWISH": 117, "IF": 118, "WHILE": 119,
    "NON_MAX_SUPPRESSION_V4": 120, "NON_MAX_SUPPRESSION_V5": 121, "SCATTER_ND": 122, "SELECT_V2": 123,
    "DENSIFY": 124, "SEGMENT_SUM": 125, "BATCH_MATMUL": 126, "PLACEHOLDER_FOR_GREATER_OP_CODES": 127,
    "CUMSUM": 128, "CALL_ONCE": 129, "BROADCAST_TO": 130, "RFFT2D": 131, "CONV_3D": 132, "IMAG": 133,
    "REAL": 134, "COMPLEX_ABS": 135, "HASHTABLE": 136, "HASHTABLE_FIND": 137, "HASHTABLE_IMPORT": 138,
    "HASHTABLE_SIZE": 139, "REDUCE_ALL": 140, "CONV_3D_TRANSPOSE": 141, "VAR_HANDLE": 142,
    "READ_VARIABLE": 143, "ASSIGN_VARIABLE": 144, "BROADCAST_ARGS": 145, "RANDOM_STANDARD_NORMAL": 146,
    "BUCKETIZE": 147, "RANDOM_UNIFORM": 148, "MULTINOMIAL": 149, "GELU": 150, "DYNAMIC_UPDATE_SLICE": 151,
    "RELU_0_TO_1": 152, "UNSORTED_SEGMENT_PROD": 153, "UNSORTED_SEGMENT_MAX": 154, "UNSORTED_SEGMENT_SUM": 155,
    "ATAN2": 156, "UNSORTED_SEGMENT_MIN": 157, "SIGN": 158, "BITCAST": 159, "BITWISE_XOR": 160,
    "RIGHT_SHIFT": 161, "STABLEHLO_LOGISTIC": 162, "STABLEHLO_ADD": 163, "STABLEHLO_DIVIDE": 164,
    "STABLEHLO_MULTIPLY": 165, "STABLEHLO_MAXIMUM": 166, "STABLEHLO_RESHAPE": 167, "STABLEHLO_CLAMP": 168,
    "STABLEHLO_CONCATENATE": 169, "STABLEHLO_BROADCAST_IN_DIM": 170, "STABLEHLO_CONVOLUTION": 171,
    "STABLEHLO_SLICE": 172, "STABLEHLO_CUSTOM_CALL": 173, "STABLEHLO_REDUCE": 174, "STABLEHLO_ABS": 175,
    "STABLEHLO_AND": 176, "STABLEHLO_COSINE": 177, "STABLEHLO_EXPONENTIAL": 178, "STABLEHLO_FLOOR": 179,
    "STABLEHLO_LOG": 180, "STABLEHLO_MINIMUM": 181, "STABLEHLO_NEGATE": 182, "STABLEHLO_OR": 183,
    "STABLEHLO_POWER": 184, "STABLEHLO_REMAINDER": 185, "STABLEHLO_RSQRT": 186, "STABLEHLO_SELECT": 187,
    "STABLEHLO_SUBTRACT": 188, "STABLEHLO_TANH": 189, "STABLEHLO_SCATTER": 190, "STABLEHLO_COMPARE": 191,
    "STABLEHLO_CONVERT": 192, "STABLEHLO_DYNAMIC_SLICE": 193, "STABLEHLO_DYNAMIC_UPDATE_SLICE": 194,
    "STABLEHLO_PAD": 195, "STABLEHLO_IOTA": 196, "STABLEHLO_DOT_GENERAL": 197, "STABLEHLO_REDUCE_WINDOW": 198,
    "STABLEHLO_SORT": 199, "STABLEHLO_WHILE": 200, "STABLEHLO_GATHER": 201, "STABLEHLO_TRANSPOSE": 202,
    "DILATE": 203, "STABLEHLO_RNG_BIT_GENERATOR": 204, "REDUCE_WINDOW": 205, "STABLEHLO_COMPOSITE": 206,
    "STABLEHLO_SHIFT_LEFT": 207, "STABLEHLO_CBRT": 208, "STABLEHLO_CASE": 209,
}
OPERATOR_NAMES = {code: name for name, code in BUILTIN_OPERATORS.items()}

# BuiltinOptions union: the option table type each operator writes (0 = none)
BUILTIN_OPTIONS = {
    "CONV_2D": 1, "DEPTHWISE_CONV_2D": 2, "AVERAGE_POOL_2D": 5, "MAX_POOL_2D": 5,
    "FULLY_CONNECTED": 8, "SOFTMAX": 9, "CONCATENATION": 10, "ADD": 11, "RESHAPE": 17, "MUL": 21,
    "MEAN": 27, "REDUCE_MAX": 27, "SUM": 27, "SUB": 28, "DIV": 29, "SQUEEZE": 30, "STRIDED_SLICE": 32,
    "SHAPE": 55, "PACK": 59,
    "LEAKY_RELU": 75, "BATCH_MATMUL": 101, "PAD": 22, "GATHER": 23, "REDUCE_PROD": 27, "GELU": 116,
    "RESIZE_BILINEAR": 15, "CAST": 44, "RESIZE_NEAREST_NEIGHBOR": 74, "TRANSPOSE_CONV": 49,
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
    23: {"axis": (0, "i", 0), "batch_dims": (1, "i", 0)},
    116: {"approximate": (0, "?", False)},
    44: {"in_data_type": (0, "b", 0), "out_data_type": (1, "b", 0)},
    15: {"align_corners": (2, "?", False), "half_pixel_centers": (3, "?", False)},
    74: {"align_corners": (0, "?", False), "half_pixel_centers": (1, "?", False)},
    49: {"padding": (0, "b", 0), "stride_w": (1, "i", 0), "stride_h": (2, "i", 0),
         "fused_activation_function": (3, "b", 0)},
}
# vector-valued option fields: options type -> {name: (index, dtype)}
OPTION_VECTORS = {17: {"new_shape": (0, "int32")}, 30: {"squeeze_dims": (0, "int32")}}
