"""The implementations behind `tf.raw_ops` (see tapeflow/raw_ops.py): TF op name -> adapter
calling Tapeflow's function with TF's keyword arguments."""

from __future__ import annotations

import inspect
from collections import namedtuple
from collections.abc import Callable
from typing import Any

import tapeflow as tf
from tapeflow.raw_op_signatures import REQUIRED, SIGNATURES

_OUTPUTS: dict[str, Any] = {}


def _outputs(op: str, *fields: str) -> Any:
    if op not in _OUTPUTS:
        _OUTPUTS[op] = namedtuple(op, fields)
    return _OUTPUTS[op]


def _dtype(value: Any) -> Any:
    return tf.as_dtype(value)


def _unary(fn: Callable) -> Callable:
    def impl(**kw: Any) -> Any:
        (value,) = kw.values()
        return fn(value)
    return impl


def _binary(fn: Callable) -> Callable:
    def impl(**kw: Any) -> Any:
        a, b = kw.values()
        return fn(a, b)
    return impl


def _reduce(fn: Callable) -> Callable:
    def impl(input: Any, axis: Any, keep_dims: bool) -> Any:  # noqa: A002
        return fn(input, axis=axis, keepdims=keep_dims)
    return impl


def _padding(padding: Any, explicit_paddings: Any) -> Any:
    if isinstance(padding, bytes):
        padding = padding.decode()
    if padding == "EXPLICIT":
        pairs = [list(explicit_paddings[i:i + 2]) for i in range(0, len(explicit_paddings), 2)]
        return pairs
    return padding


def _conv2d(input: Any, filter: Any, strides: Any, padding: Any, use_cudnn_on_gpu: bool,  # noqa: A002
            explicit_paddings: Any, data_format: str, dilations: Any) -> Any:
    return tf.nn.conv2d(input, filter, strides, _padding(padding, explicit_paddings), data_format=data_format,
                        dilations=dilations)


def _depthwise(input: Any, filter: Any, strides: Any, padding: Any, explicit_paddings: Any,  # noqa: A002
               data_format: str, dilations: Any) -> Any:
    if data_format == "NCHW":
        rate = [dilations[2], dilations[3]]
    else:
        rate = [dilations[1], dilations[2]]
    return tf.nn.depthwise_conv2d(input, filter, strides, _padding(padding, explicit_paddings),
                                  data_format=data_format, dilations=rate)


def _pool(fn: Callable) -> Callable:
    def impl(ksize: Any, strides: Any, padding: Any, data_format: str = "NHWC", explicit_paddings: Any = (),
             **kw: Any) -> Any:
        (value,) = kw.values()
        return fn(value, ksize, strides, _padding(padding, explicit_paddings), data_format=data_format)
    return impl


def _softmax_xent(features: Any, labels: Any) -> Any:
    loss = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=features)
    backprop = tf.nn.softmax(features) - tf.cast(labels, features.dtype if hasattr(features, "dtype") else tf.float32)
    return _outputs("SoftmaxCrossEntropyWithLogits", "loss", "backprop")(loss, backprop)


def _sparse_softmax_xent(features: Any, labels: Any) -> Any:
    features = tf.convert_to_tensor(features)
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=features)
    backprop = tf.nn.softmax(features) - tf.one_hot(labels, tf.shape(features)[-1], dtype=features.dtype)
    return _outputs("SparseSoftmaxCrossEntropyWithLogits", "loss", "backprop")(loss, backprop)


def _top_k(input: Any, k: Any, sorted: bool, index_type: Any) -> Any:  # noqa: A002
    values, indices = tf.math.top_k(input, k=k, sorted=sorted)
    return _outputs("TopKV2", "values", "indices")(values, tf.cast(indices, _dtype(index_type)))


def _unique(x: Any, out_idx: Any) -> Any:
    y, idx = tf.unique(x, out_idx=_dtype(out_idx))
    return _outputs("Unique", "y", "idx")(y, idx)


def _unique_with_counts(x: Any, out_idx: Any) -> Any:
    y, idx, count = tf.unique_with_counts(x, out_idx=_dtype(out_idx))
    return _outputs("UniqueWithCounts", "y", "idx", "count")(y, idx, count)


def _svd(input: Any, compute_uv: bool, full_matrices: bool) -> Any:  # noqa: A002
    out = _outputs("Svd", "s", "u", "v")
    if compute_uv:
        s, u, v = tf.linalg.svd(input, full_matrices=full_matrices, compute_uv=True)
        return out(s, u, v)
    s = tf.linalg.svd(input, full_matrices=full_matrices, compute_uv=False)
    empty = tf.zeros([], s.dtype)  # TF leaves u and v as unset scalars
    return out(s, empty, empty)


def _qr(input: Any, full_matrices: bool) -> Any:  # noqa: A002
    q, r = tf.linalg.qr(input, full_matrices=full_matrices)
    return _outputs("Qr", "q", "r")(q, r)


def _eigh(input: Any, compute_v: bool) -> Any:  # noqa: A002
    e, v = tf.linalg.eigh(input)
    return _outputs("SelfAdjointEigV2", "e", "v")(e, v if compute_v else tf.zeros([], e.dtype))


def _slogdet(input: Any) -> Any:  # noqa: A002
    sign, logdet = tf.linalg.slogdet(input)
    return _outputs("LogMatrixDeterminant", "sign", "log_abs_determinant")(sign, logdet)


def _strided_slice(input: Any, begin: Any, end: Any, strides: Any, begin_mask: int, end_mask: int,  # noqa: A002
                   ellipsis_mask: int, new_axis_mask: int, shrink_axis_mask: int) -> Any:
    return tf.strided_slice(input, begin, end, strides, begin_mask=begin_mask, end_mask=end_mask,
                            ellipsis_mask=ellipsis_mask, new_axis_mask=new_axis_mask,
                            shrink_axis_mask=shrink_axis_mask)


def _bias_add(value: Any, bias: Any, data_format: str) -> Any:
    return tf.nn.bias_add(value, bias, data_format=data_format)


def _scatter(fn: Callable) -> Callable:
    def impl(tensor: Any, indices: Any, updates: Any, bad_indices_policy: str = "") -> Any:
        return fn(tensor, indices, updates)
    return impl


def _cast(x: Any, DstT: Any, Truncate: bool) -> Any:  # noqa: N803 - TF's attribute names
    return tf.cast(x, _dtype(DstT))


def _matmul(a: Any, b: Any, transpose_a: bool, transpose_b: bool, grad_a: bool = False, grad_b: bool = False) -> Any:
    # grad_a / grad_b only tell TF's kernels the product is a gradient; no effect here.
    return tf.linalg.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b)


def _batch_matmul(x: Any, y: Any, adj_x: bool, adj_y: bool, grad_x: bool = False, grad_y: bool = False,
                  Tout: Any = None) -> Any:  # noqa: N803
    out = tf.linalg.matmul(x, y, adjoint_a=adj_x, adjoint_b=adj_y)
    return out if Tout is None else tf.cast(out, _dtype(Tout))


def _mirror_pad(input: Any, paddings: Any, mode: Any) -> Any:  # noqa: A002
    mode = mode.decode() if isinstance(mode, bytes) else mode
    return tf.pad(input, paddings, mode=mode)


def _where(condition: Any) -> Any:
    return tf.where(condition)


def _arg(fn: Callable) -> Callable:
    def impl(input: Any, dimension: Any, output_type: Any) -> Any:  # noqa: A002
        return fn(input, axis=dimension, output_type=_dtype(output_type))
    return impl


def _cum(fn: Callable) -> Callable:
    def impl(x: Any, axis: Any, exclusive: bool, reverse: bool) -> Any:
        return fn(x, axis=axis, exclusive=exclusive, reverse=reverse)
    return impl


def _complex_part(fn: Callable) -> Callable:
    def impl(input: Any, Tout: Any) -> Any:  # noqa: A002, N803
        return tf.cast(fn(input), _dtype(Tout))
    return impl


def _fft_real(fn: Callable, out: str) -> Callable:
    def impl(input: Any, fft_length: Any, **attrs: Any) -> Any:  # noqa: A002
        result = fn(input, fft_length=fft_length)
        (dtype,) = attrs.values()
        return tf.cast(result, _dtype(dtype))
    return impl


def _diag_v3(diagonal: Any, k: Any, num_rows: Any, num_cols: Any, padding_value: Any, align: str) -> Any:
    return tf.linalg.diag(diagonal, k=k, num_rows=num_rows, num_cols=num_cols, padding_value=padding_value,
                          align=align)


def _diag_part_v3(input: Any, k: Any, padding_value: Any, align: str) -> Any:  # noqa: A002
    return tf.linalg.diag_part(input, k=k, padding_value=padding_value, align=align)


def _set_diag_v3(input: Any, diagonal: Any, k: Any, align: str) -> Any:  # noqa: A002
    return tf.linalg.set_diag(input, diagonal, k=k, align=align)


def _in_top_k(predictions: Any, targets: Any, k: Any) -> Any:
    return tf.math.in_top_k(targets, predictions, k)


def _squeeze(input: Any, axis: Any) -> Any:  # noqa: A002
    return tf.squeeze(input, axis=list(axis) or None)


def _unpack(value: Any, num: Any, axis: int) -> Any:
    return tf.unstack(value, num=num, axis=axis)


def _bincount(arr: Any, size: Any, weights: Any) -> Any:
    weights = tf.convert_to_tensor(weights)
    return tf.math.bincount(arr, weights=weights if int(tf.size(weights)) else None, minlength=size,
                            maxlength=size, dtype=weights.dtype)


def _dynamic_partition(data: Any, partitions: Any, num_partitions: int) -> Any:
    return tf.dynamic_partition(data, partitions, num_partitions)


def _lrn(input: Any, depth_radius: int, bias: float, alpha: float, beta: float) -> Any:  # noqa: A002
    return tf.nn.local_response_normalization(input, depth_radius=depth_radius, bias=bias, alpha=alpha, beta=beta)


def _fill(dims: Any, value: Any) -> Any:
    return tf.fill(dims, value)


def _onehot(indices: Any, depth: Any, on_value: Any, off_value: Any, axis: int) -> Any:
    return tf.one_hot(indices, depth, on_value=on_value, off_value=off_value, axis=axis)


def _shape(fn: Callable) -> Callable:
    def impl(input: Any, out_type: Any) -> Any:  # noqa: A002
        return fn(input, out_type=_dtype(out_type))
    return impl


def _gather(params: Any, indices: Any, axis: Any, batch_dims: int) -> Any:
    return tf.gather(params, indices, axis=axis, batch_dims=batch_dims)


def _gather_nd(params: Any, indices: Any, bad_indices_policy: str = "") -> Any:
    return tf.gather_nd(params, indices)


def _scatter_nd(indices: Any, updates: Any, shape: Any, bad_indices_policy: str = "") -> Any:
    return tf.scatter_nd(indices, updates, shape)


def _leaky_relu(features: Any, alpha: float) -> Any:
    return tf.nn.leaky_relu(features, alpha=alpha)


def _space_depth(fn: Callable) -> Callable:
    def impl(input: Any, block_size: int, data_format: str) -> Any:  # noqa: A002
        return fn(input, block_size, data_format=data_format)
    return impl


def _matrix_inverse(input: Any, adjoint: bool) -> Any:  # noqa: A002
    return tf.linalg.inv(tf.linalg.adjoint(input) if adjoint else input)


def _matrix_solve(matrix: Any, rhs: Any, adjoint: bool) -> Any:
    return tf.linalg.solve(matrix, rhs, adjoint=adjoint)


def _triangular_solve(matrix: Any, rhs: Any, lower: bool, adjoint: bool) -> Any:
    return tf.linalg.triangular_solve(matrix, rhs, lower=lower, adjoint=adjoint)


def _relu_grad(gradients: Any, features: Any) -> Any:
    return gradients * tf.cast(features > 0, tf.convert_to_tensor(gradients).dtype)


def _concat(concat_dim: Any, values: Any) -> Any:
    return tf.concat(values, axis=concat_dim)


def _einsum(inputs: Any, equation: Any) -> Any:
    equation = equation.decode() if isinstance(equation, bytes) else equation
    return tf.einsum(equation, *inputs)


def _range(start: Any, limit: Any, delta: Any) -> Any:
    return tf.range(start, limit, delta)


def _segment(fn: Callable) -> Callable:
    def impl(data: Any, segment_ids: Any) -> Any:
        return fn(data, segment_ids)
    return impl


def _unsorted_segment(fn: Callable) -> Callable:
    def impl(data: Any, segment_ids: Any, num_segments: Any) -> Any:
        return fn(data, segment_ids, num_segments)
    return impl


def _bitcast(input: Any, type: Any) -> Any:  # noqa: A002
    return tf.bitcast(input, _dtype(type))


def _complex(real: Any, imag: Any, Tout: Any) -> Any:  # noqa: N803
    return tf.cast(tf.complex(real, imag), _dtype(Tout))


def _clip(t: Any, clip_value_min: Any, clip_value_max: Any) -> Any:
    return tf.clip_by_value(t, clip_value_min, clip_value_max)


def _roll(input: Any, shift: Any, axis: Any) -> Any:  # noqa: A002
    return tf.roll(input, shift, axis)


def _linspace(start: Any, stop: Any, num: Any) -> Any:
    return tf.linspace(start, stop, num)


def _betainc(a: Any, b: Any, x: Any) -> Any:
    return tf.math.betainc(a, b, x)


def _select_v1(condition: Any, x: Any, y: Any) -> Any:
    condition, x = tf.convert_to_tensor(condition), tf.convert_to_tensor(x)
    if condition.shape.rank == 1 and x.shape.rank and x.shape.rank > 1:  # TF 1 Select picks rows
        condition = tf.reshape(condition, [-1] + [1] * (x.shape.rank - 1))
    return tf.where(condition, x, y)


def _l2_loss(t: Any) -> Any:
    return tf.nn.l2_loss(t)


def _invert_permutation(x: Any) -> Any:
    return tf.math.invert_permutation(x)


def _search(side: str) -> Callable:
    def impl(sorted_inputs: Any, values: Any, out_type: Any) -> Any:
        return tf.searchsorted(sorted_inputs, values, side=side, out_type=_dtype(out_type))
    return impl


def _cross(a: Any, b: Any) -> Any:
    return tf.linalg.cross(a, b)


def _broadcast_args(s0: Any, s1: Any) -> Any:
    return tf.broadcast_dynamic_shape(s0, s1)


def _add_n(inputs: Any) -> Any:
    return tf.add_n(inputs)


def _pad_v2(input: Any, paddings: Any, constant_values: Any) -> Any:  # noqa: A002
    return tf.pad(input, paddings, constant_values=constant_values)


_m, _nn, _la, _sig, _bw = tf.math, tf.nn, tf.linalg, tf.signal, tf.bitwise

IMPLEMENTATIONS: dict[str, Callable] = {
    # -- elementwise, one argument
    **{op: _unary(fn) for op, fn in {
        "Abs": tf.abs, "Acos": _m.acos, "Acosh": _m.acosh, "Asin": _m.asin, "Asinh": _m.asinh, "Atan": _m.atan,
        "Atanh": _m.atanh, "Ceil": tf.math.ceil, "Cos": tf.cos, "Cosh": _m.cosh, "Digamma": _m.digamma,
        "Erf": _m.erf, "Erfc": _m.erfc, "Erfinv": _m.erfinv, "Exp": tf.exp, "Expm1": _m.expm1,
        "Floor": tf.floor, "Inv": _m.reciprocal, "Reciprocal": _m.reciprocal, "IsFinite": _m.is_finite,
        "IsInf": _m.is_inf, "IsNan": _m.is_nan, "Lgamma": _m.lgamma, "Log": _m.log, "Log1p": _m.log1p,
        "LogicalNot": tf.logical_not, "Ndtri": _m.ndtri, "Neg": tf.negative, "Relu": _nn.relu, "Relu6": _nn.relu6,
        "Elu": _nn.elu, "Selu": _nn.selu, "Softplus": _nn.softplus, "Softsign": _nn.softsign, "Rint": _m.rint,
        "Round": tf.round, "Rsqrt": tf.math.rsqrt, "Sigmoid": tf.sigmoid, "Sign": tf.sign, "Sin": tf.sin,
        "Sinh": _m.sinh, "Sqrt": tf.sqrt, "Square": tf.square, "Tan": _m.tan, "Tanh": tf.tanh,
        "BesselI0e": _m.bessel_i0e, "BesselI1e": _m.bessel_i1e, "Invert": _bw.invert, "Softmax": _nn.softmax,
        "LogSoftmax": _nn.log_softmax, "ZerosLike": tf.zeros_like, "OnesLike": tf.ones_like,
        "Identity": tf.identity, "StopGradient": tf.stop_gradient,
        "Rank": tf.rank, "Conj": _m.conj, "FFT": _sig.fft, "IFFT": _sig.ifft,
        "FFT2D": _sig.fft2d, "IFFT2D": _sig.ifft2d, "FFT3D": _sig.fft3d, "IFFT3D": _sig.ifft3d,
        "Cholesky": _la.cholesky, "MatrixDeterminant": _la.det, "Diag": _la.tensor_diag,
        "DiagPart": _la.tensor_diag_part, "MatrixLogarithm": _la.logm,
        "MatrixSquareRoot": _la.sqrtm, "IdentityN": tf.identity_n, "Where": _where, "L2Loss": _l2_loss,
        "InvertPermutation": _invert_permutation, "AddN": _add_n,
    }.items()},
    # -- elementwise, two arguments
    **{op: _binary(fn) for op, fn in {
        "Add": tf.add, "AddV2": tf.add, "Sub": tf.subtract, "Mul": tf.multiply, "Div": _m.divide,
        "RealDiv": tf.realdiv, "FloorDiv": tf.math.floordiv, "FloorMod": tf.math.floormod,
        "TruncateDiv": _m.truncatediv, "TruncateMod": _m.truncatemod, "Maximum": tf.maximum, "Minimum": tf.minimum,
        "Pow": tf.pow, "SquaredDifference": _m.squared_difference, "Atan2": _m.atan2, "Less": tf.less,
        "LessEqual": tf.less_equal, "Greater": tf.greater,
        "GreaterEqual": tf.greater_equal, "LogicalAnd": tf.logical_and, "LogicalOr": tf.logical_or,
        "DivNoNan": _m.divide_no_nan, "MulNoNan": _m.multiply_no_nan, "Xdivy": _m.xdivy, "Xlogy": _m.xlogy,
        "Xlog1py": _m.xlog1py, "BitwiseAnd": _bw.bitwise_and, "BitwiseOr": _bw.bitwise_or,
        "BitwiseXor": _bw.bitwise_xor, "LeftShift": _bw.left_shift, "RightShift": _bw.right_shift,
        "Igamma": _m.igamma, "Igammac": _m.igammac, "Zeta": _m.zeta, "Polygamma": _m.polygamma,
        "NextAfter": _m.nextafter, "Reshape": tf.reshape, "Transpose": tf.transpose, "ExpandDims": tf.expand_dims,
        "Tile": tf.tile, "Pad": tf.pad, "BroadcastTo": tf.broadcast_to, "ReverseV2": tf.reverse,
        "DynamicStitch": tf.dynamic_stitch, "ConcatV2": tf.concat, "ReluGrad": _relu_grad, "Cross": _cross,
        "BroadcastArgs": _broadcast_args, "Fill": _fill, "Einsum": _einsum,
    }.items()},
    "Equal": lambda x, y, incompatible_shape_error: tf.equal(x, y),
    "NotEqual": lambda x, y, incompatible_shape_error: tf.not_equal(x, y),
    "PreventGradient": lambda input, message: tf.stop_gradient(input),  # noqa: A006
    "Pack": lambda values, axis: tf.stack(values, axis=axis),
    "Unpack": _unpack,
    "Concat": _concat,
    "Slice": lambda input, begin, size: tf.slice(input, begin, size),  # noqa: A006
    "StridedSlice": _strided_slice,
    "Squeeze": _squeeze,
    "Shape": _shape(tf.shape),
    "Size": _shape(tf.size),
    "Cast": _cast,
    "GatherV2": _gather,
    "GatherNd": _gather_nd,
    "ScatterNd": _scatter_nd,
    "TensorScatterUpdate": _scatter(tf.tensor_scatter_nd_update),
    "TensorScatterAdd": _scatter(tf.tensor_scatter_nd_add),
    "TensorScatterSub": _scatter(tf.tensor_scatter_nd_sub),
    "TensorScatterMax": _scatter(tf.tensor_scatter_nd_max),
    "TensorScatterMin": _scatter(tf.tensor_scatter_nd_min),
    "OneHot": _onehot,
    "Range": _range,
    "LinSpace": _linspace,
    "Select": _select_v1,
    "SelectV2": lambda condition, t, e: tf.where(condition, t, e),
    "ClipByValue": _clip,
    "MirrorPad": _mirror_pad,
    "PadV2": _pad_v2,
    "Roll": _roll,
    "Betainc": _betainc,
    "Complex": _complex,
    "Real": _complex_part(_m.real),
    "Imag": _complex_part(_m.imag),
    "ComplexAbs": lambda x, Tout: tf.cast(tf.abs(x), _dtype(Tout)),  # noqa: N803
    "Angle": _complex_part(_m.angle),
    "RFFT": _fft_real(_sig.rfft, "Tcomplex"),
    "IRFFT": _fft_real(_sig.irfft, "Treal"),
    "RFFT2D": _fft_real(_sig.rfft2d, "Tcomplex"),
    "IRFFT2D": _fft_real(_sig.irfft2d, "Treal"),
    "Bitcast": _bitcast,
    # -- reductions and scans
    "Sum": _reduce(tf.reduce_sum), "Mean": _reduce(tf.reduce_mean), "Max": _reduce(tf.reduce_max),
    "Min": _reduce(tf.reduce_min), "Prod": _reduce(tf.reduce_prod), "All": _reduce(tf.reduce_all),
    "Any": _reduce(tf.reduce_any), "EuclideanNorm": _reduce(_m.reduce_euclidean_norm),
    "ArgMax": _arg(tf.argmax), "ArgMin": _arg(tf.argmin),
    "Cumsum": _cum(tf.cumsum), "Cumprod": _cum(_m.cumprod), "CumulativeLogsumexp": _cum(_m.cumulative_logsumexp),
    "TopKV2": _top_k,
    "InTopKV2": _in_top_k,
    "Unique": _unique,
    "UniqueWithCounts": _unique_with_counts,
    "Bincount": _bincount,
    "SegmentSum": _segment(_m.segment_sum), "SegmentMean": _segment(_m.segment_mean),
    "SegmentMax": _segment(_m.segment_max), "SegmentMin": _segment(_m.segment_min),
    "SegmentProd": _segment(_m.segment_prod),
    "UnsortedSegmentSum": _unsorted_segment(_m.unsorted_segment_sum),
    "UnsortedSegmentMax": _unsorted_segment(_m.unsorted_segment_max),
    "UnsortedSegmentMin": _unsorted_segment(_m.unsorted_segment_min),
    "UnsortedSegmentProd": _unsorted_segment(_m.unsorted_segment_prod),
    "DynamicPartition": _dynamic_partition,
    "LowerBound": _search("left"), "UpperBound": _search("right"),
    # -- linear algebra
    "MatMul": _matmul,
    "BatchMatMul": _batch_matmul, "BatchMatMulV2": _batch_matmul, "BatchMatMulV3": _batch_matmul,
    "MatrixInverse": _matrix_inverse,
    "MatrixSolve": _matrix_solve,
    "MatrixTriangularSolve": _triangular_solve,
    "MatrixBandPart": lambda input, num_lower, num_upper: _la.band_part(input, num_lower, num_upper),  # noqa: A006
    "MatrixDiagV3": _diag_v3,
    "MatrixDiagPartV3": _diag_part_v3,
    "MatrixSetDiagV3": _set_diag_v3,
    "LogMatrixDeterminant": _slogdet,
    "Svd": _svd,
    "Qr": _qr,
    "SelfAdjointEigV2": _eigh,
    # -- neural network
    "BiasAdd": _bias_add,
    "Conv2D": _conv2d,
    "DepthwiseConv2dNative": _depthwise,
    "MaxPool": _pool(tf.nn.max_pool2d),
    "AvgPool": _pool(tf.nn.avg_pool2d),
    "LeakyRelu": _leaky_relu,
    "LRN": _lrn,
    "SoftmaxCrossEntropyWithLogits": _softmax_xent,
    "SparseSoftmaxCrossEntropyWithLogits": _sparse_softmax_xent,
    "SpaceToDepth": _space_depth(tf.nn.space_to_depth),
    "DepthToSpace": _space_depth(tf.nn.depth_to_space),
}


def _bias_add_grad(out_backprop: Any, data_format: str) -> Any:
    out_backprop = tf.convert_to_tensor(out_backprop)
    rank = out_backprop.shape.rank
    channel = 1 if data_format.startswith("NC") and rank > 2 else rank - 1
    return tf.reduce_sum(out_backprop, axis=[i for i in range(rank) if i != channel])


def _selu_grad(gradients: Any, outputs: Any) -> Any:
    scale, alpha = 1.0507009873554805, 1.6732632423543772
    outputs = tf.convert_to_tensor(outputs)
    return tf.where(outputs > 0, gradients * scale, gradients * (outputs + alpha * scale))


def _bucketize(input: Any, boundaries: Any) -> Any:  # noqa: A002
    x = tf.convert_to_tensor(input)
    b = tf.constant([float(v) for v in boundaries], x.dtype)
    flat = tf.searchsorted(b, tf.reshape(x, [-1]), side="right")
    return tf.reshape(tf.cast(flat, tf.int32), tf.shape(x))


def _pool3d(fn: Callable) -> Callable:
    def impl(input: Any, ksize: Any, strides: Any, padding: Any, data_format: str) -> Any:  # noqa: A002
        return fn(input, ksize, strides, padding, data_format=data_format)
    return impl


def _conv3d(input: Any, filter: Any, strides: Any, padding: Any, data_format: str,  # noqa: A002
            dilations: Any) -> Any:
    return tf.nn.conv3d(input, filter, strides, padding, data_format=data_format, dilations=dilations)


def _conv2d_backprop_input(input_sizes: Any, filter: Any, out_backprop: Any, strides: Any,  # noqa: A002
                           padding: Any, use_cudnn_on_gpu: bool, explicit_paddings: Any, data_format: str,
                           dilations: Any) -> Any:
    return tf.nn.conv2d_transpose(out_backprop, filter, input_sizes, strides, _padding(padding, explicit_paddings),
                                  data_format=data_format, dilations=dilations)


def _depthwise_backprop(fn: Callable, sizes: str) -> Callable:
    def impl(filter: Any = None, out_backprop: Any = None, strides: Any = None, padding: Any = None,  # noqa: A002
             explicit_paddings: Any = (), data_format: str = "NHWC", dilations: Any = None, **rest: Any) -> Any:
        first = rest.get("input", rest.get("input_sizes"))
        second = rest.get("filter_sizes", filter)
        return fn(first, second, out_backprop, strides, _padding(padding, explicit_paddings),
                  data_format=data_format, dilations=dilations)
    return impl


def _lu(input: Any, output_idx_type: Any) -> Any:  # noqa: A002
    lu, p = tf.linalg.lu(input, output_idx_type=_dtype(output_idx_type))
    return _outputs("Lu", "lu", "p")(lu, p)


def _ragged_range(starts: Any, limits: Any, deltas: Any, Tsplits: Any) -> Any:  # noqa: N803
    rt = tf.ragged.range(starts, limits, deltas, row_splits_dtype=_dtype(Tsplits))
    return _outputs("RaggedRange", "rt_nested_splits", "rt_dense_values")(rt.row_splits, rt.flat_values)


def _sparse_to_dense(sparse_indices: Any, output_shape: Any, sparse_values: Any, default_value: Any,
                     validate_indices: bool) -> Any:
    indices = tf.convert_to_tensor(sparse_indices)
    if indices.shape.rank < 2:
        indices = tf.reshape(indices, [-1, 1])
    values = tf.convert_to_tensor(sparse_values)
    values = tf.broadcast_to(values, tf.shape(indices)[:1]) if values.shape.rank == 0 else values
    dense = tf.fill(output_shape, tf.cast(default_value, values.dtype))
    return tf.tensor_scatter_nd_update(dense, indices, values)


def _dense_bincount(input: Any, size: Any, weights: Any, binary_output: bool) -> Any:  # noqa: A002
    x, weights = tf.convert_to_tensor(input), tf.convert_to_tensor(weights)
    use = weights if int(tf.size(weights)) else None
    return tf.math.bincount(x, weights=use, minlength=size, maxlength=size,
                            dtype=weights.dtype,
                            axis=-1 if x.shape.rank == 2 else None, binary_output=binary_output)


def _sparse_segment(fn: Callable) -> Callable:
    def impl(data: Any, indices: Any, segment_ids: Any, sparse_gradient: bool = False) -> Any:
        return fn(data, indices, segment_ids)
    return impl


def _strings(fn: Callable, *names: str) -> Callable:
    def impl(**kw: Any) -> Any:
        return fn(*[kw[n] for n in names])
    return impl


MORE: dict[str, Callable] = {
    # gradients of activations (TF's *Grad kernels)
    "SigmoidGrad": lambda y, dy: dy * y * (1 - tf.convert_to_tensor(y)),
    "TanhGrad": lambda y, dy: dy * (1 - tf.square(y)),
    "SqrtGrad": lambda y, dy: dy * 0.5 / tf.convert_to_tensor(y),
    "RsqrtGrad": lambda y, dy: dy * -0.5 * tf.convert_to_tensor(y) ** 3,
    "ReciprocalGrad": lambda y, dy: -dy * tf.square(y),
    "Relu6Grad": lambda gradients, features: gradients * tf.cast(
        tf.logical_and(tf.convert_to_tensor(features) > 0, tf.convert_to_tensor(features) < 6),
        tf.convert_to_tensor(gradients).dtype),
    "SoftplusGrad": lambda gradients, features: gradients * tf.sigmoid(features),
    "SoftsignGrad": lambda gradients, features: gradients / tf.square(1 + tf.abs(features)),
    "EluGrad": lambda gradients, outputs: tf.where(tf.convert_to_tensor(outputs) > 0, gradients,
                                                   gradients * (tf.convert_to_tensor(outputs) + 1)),
    "SeluGrad": _selu_grad,
    "LeakyReluGrad": lambda gradients, features, alpha: tf.where(tf.convert_to_tensor(features) > 0, gradients,
                                                                 gradients * alpha),
    "BiasAddGrad": _bias_add_grad,
    # shape checks, bucketing, histograms
    "Snapshot": _unary(tf.identity),
    "EnsureShape": lambda input, shape: tf.ensure_shape(input, shape),  # noqa: A006
    "CheckNumerics": lambda tensor, message: tf.debugging.check_numerics(tensor, message),
    "Bucketize": _bucketize,
    "HistogramFixedWidth": lambda values, value_range, nbins, dtype: tf.histogram_fixed_width(
        values, value_range, nbins=nbins, dtype=_dtype(dtype)),
    "ApproximateEqual": lambda x, y, tolerance: tf.abs(tf.convert_to_tensor(x) - y) < tolerance,
    "Mod": _binary(_m.truncatemod),
    # convolution and pooling
    "Conv3D": _conv3d,
    "MaxPool3D": _pool3d(tf.nn.max_pool3d),
    "AvgPool3D": _pool3d(tf.nn.avg_pool3d),
    "MaxPoolV2": _pool(tf.nn.max_pool2d),
    "Conv2DBackpropInput": _conv2d_backprop_input,
    "DepthwiseConv2dNativeBackpropInput": _depthwise_backprop(_nn.depthwise_conv2d_backprop_input, "input_sizes"),
    "DepthwiseConv2dNativeBackpropFilter": _depthwise_backprop(_nn.depthwise_conv2d_backprop_filter, "filter_sizes"),
    "Dilation2D": lambda input, filter, strides, rates, padding: tf.nn.dilation2d(  # noqa: A006
        input, filter, strides, padding, "NHWC", rates),
    "SpaceToBatchND": lambda input, block_shape, paddings: tf.space_to_batch_nd(input, block_shape, paddings),  # noqa: A006
    "BatchToSpaceND": lambda input, block_shape, crops: tf.batch_to_space(input, block_shape, crops),  # noqa: A006
    "ExtractImagePatches": lambda images, ksizes, strides, rates, padding: tf.image.extract_patches(
        images, ksizes, strides, rates, padding),
    "ExtractVolumePatches": lambda input, ksizes, strides, padding: tf.extract_volume_patches(  # noqa: A006
        input, ksizes, strides, padding),
    # images
    "RGBToHSV": _unary(tf.image.rgb_to_hsv),
    "HSVToRGB": _unary(tf.image.hsv_to_rgb),
    "AdjustContrastv2": lambda images, contrast_factor: tf.image.adjust_contrast(images, contrast_factor),
    "AdjustHue": lambda images, delta: tf.image.adjust_hue(images, delta),
    "AdjustSaturation": lambda images, scale: tf.image.adjust_saturation(images, scale),
    "CropAndResize": lambda image, boxes, box_ind, crop_size, method, extrapolation_value: tf.image.crop_and_resize(
        image, boxes, box_ind, crop_size, method=method, extrapolation_value=extrapolation_value),
    # strings
    "StringLength": _strings(lambda x, unit: tf.strings.length(x, unit=unit), "input", "unit"),
    "StringUpper": _strings(lambda x, enc: tf.strings.upper(x, encoding=enc), "input", "encoding"),
    "StringLower": _strings(lambda x, enc: tf.strings.lower(x, encoding=enc), "input", "encoding"),
    "StringStrip": _unary(tf.strings.strip),
    "Substr": _strings(lambda x, pos, n, unit: tf.strings.substr(x, pos, n, unit=unit), "input", "pos", "len",
                       "unit"),
    "RegexReplace": _strings(tf.strings.regex_replace, "input", "pattern", "rewrite", "replace_global"),
    "StaticRegexReplace": _strings(tf.strings.regex_replace, "input", "pattern", "rewrite", "replace_global"),
    "RegexFullMatch": _strings(tf.strings.regex_full_match, "input", "pattern"),
    "StringJoin": _strings(lambda inputs, sep: tf.strings.join(inputs, separator=sep), "inputs", "separator"),
    "ReduceJoin": _strings(lambda x, axis, keep, sep: tf.strings.reduce_join(x, axis=axis, keepdims=keep,
                                                                             separator=sep),
                           "inputs", "reduction_indices", "keep_dims", "separator"),
    "AsString": _strings(lambda x, precision, scientific, shortest, width, fill: tf.strings.as_string(
        x, precision=precision, scientific=scientific, shortest=shortest, width=width, fill=fill),
        "input", "precision", "scientific", "shortest", "width", "fill"),
    "StringToNumber": _strings(lambda x, t: tf.strings.to_number(x, out_type=_dtype(t)), "string_tensor",
                               "out_type"),
    "StringToHashBucketFast": _strings(tf.strings.to_hash_bucket_fast, "input", "num_buckets"),
    "EncodeBase64": _strings(lambda x, pad: tf.io.encode_base64(x, pad=pad), "input", "pad"),
    "DecodeBase64": _unary(tf.io.decode_base64),
    # linear algebra, ragged, sparse, counting
    "Lu": _lu,
    "MatrixSolveLs": lambda matrix, rhs, l2_regularizer, fast: tf.linalg.lstsq(matrix, rhs, l2_regularizer, fast),
    "TridiagonalSolve": lambda diagonals, rhs, partial_pivoting, perturb_singular: tf.linalg.tridiagonal_solve(
        diagonals, rhs, partial_pivoting=partial_pivoting, perturb_singular=perturb_singular),
    "RaggedRange": _ragged_range,
    "SparseToDense": _sparse_to_dense,
    "DenseBincount": _dense_bincount,
    "SparseSegmentSum": _sparse_segment(tf.sparse.segment_sum),
    "SparseSegmentMean": _sparse_segment(tf.sparse.segment_mean),
    "SparseSegmentSqrtN": _sparse_segment(tf.sparse.segment_sqrt_n),
    "BesselI0": _unary(_m.bessel_i0),
    "BesselI1": _unary(_m.bessel_i1),
}

IMPLEMENTATIONS.update(MORE)


def _make(op: str, impl: Callable) -> Callable:
    params = SIGNATURES[op]
    names = [n for n, _ in params]
    required = [n for n, d in params if d is REQUIRED]

    def raw_op(*args: Any, **kwargs: Any) -> Any:
        if args:
            raise TypeError(f"{op} only takes keyword args (possible keys: {names}). Please pass these args as "
                            f"kwargs instead.")
        unknown = sorted(set(kwargs) - set(names))
        if unknown:
            raise TypeError(f"{op}() got unexpected keyword argument(s) {unknown}; expected {names}")
        missing = [n for n in required if n not in kwargs]
        if missing:
            raise TypeError(f"{op}() missing required keyword argument(s) {missing}")
        values = {n: kwargs.get(n, d) for n, d in params if n != "name"}
        return impl(**values)

    raw_op.__name__ = raw_op.__qualname__ = op
    raw_op.__doc__ = f"tf.raw_ops.{op}({', '.join(names)}): keyword arguments only (TF's op)."
    raw_op.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY,
                           default=inspect.Parameter.empty if d is REQUIRED else d) for n, d in params])
    return raw_op


_CACHE: dict[str, Callable] = {}


def lookup(name: str) -> Callable:
    """The raw op `name`; AttributeError naming it when Tapeflow has no equivalent."""
    if name in _CACHE:
        return _CACHE[name]
    if name in IMPLEMENTATIONS and name in SIGNATURES:
        _CACHE[name] = _make(name, IMPLEMENTATIONS[name])
        return _CACHE[name]
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(f"tf.raw_ops.{name} is not available in Tapeflow: only the raw ops with a direct "
                         f"equivalent are ({len(names())} of them; see dir(tf.raw_ops))")


def names() -> list[str]:
    return sorted(n for n in IMPLEMENTATIONS if n in SIGNATURES)

