"""tf.raw_ops against TensorFlow: every implemented op has TF's keyword arguments and defaults
and gives TF's values on sample inputs; unsupported names raise AttributeError naming them."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.raw_op_signatures import REQUIRED, SIGNATURES

RNG = np.random.default_rng(0)
U = RNG.uniform(0.1, 0.9, (3, 4)).astype(np.float32)        # inside every unary op's domain
V = RNG.uniform(0.2, 1.5, (3, 4)).astype(np.float32)
I1 = np.array([[3, -1, 4, 1], [5, -9, 2, 6], [5, 3, 5, 8]], np.int32)
I2 = np.array([[2, 7, 1, 8], [2, 8, 1, 8], [4, 5, 9, 0]], np.int32)
SPD = (lambda a: a @ a.T + 3 * np.eye(3))(RNG.standard_normal((3, 3))).astype(np.float32)
C = (RNG.standard_normal((3, 4)) + 1j * RNG.standard_normal((3, 4))).astype(np.complex64)
IMG = RNG.standard_normal((2, 6, 6, 3)).astype(np.float32)
KER = RNG.standard_normal((3, 3, 3, 4)).astype(np.float32)
DWK = RNG.standard_normal((3, 3, 3, 2)).astype(np.float32)
LOGITS = RNG.standard_normal((4, 5)).astype(np.float32)
SEG = np.array([0, 0, 1], np.int32)

INT_BINARY = {"BitwiseAnd", "BitwiseOr", "BitwiseXor", "LeftShift", "RightShift", "FloorDiv", "FloorMod",
              "TruncateDiv", "TruncateMod"}
BOOL_OPS = {"LogicalAnd", "LogicalOr"}
SPECIAL = {
    "Acosh": dict(x=V + 1), "Invert": dict(x=I1), "LogicalNot": dict(x=U > 0.5), "Conj": dict(input=C),
    "Angle": dict(input=C), "FFT": dict(input=C), "IFFT": dict(input=C), "FFT2D": dict(input=C),
    "IFFT2D": dict(input=C), "FFT3D": dict(input=C[None]), "IFFT3D": dict(input=C[None]),
    "Cholesky": dict(input=SPD), "MatrixDeterminant": dict(input=SPD), "MatrixExponential": dict(input=SPD / 10),
    "MatrixLogarithm": dict(input=SPD.astype(np.complex64)), "MatrixSquareRoot": dict(input=SPD),
    "Diag": dict(diagonal=U[0]), "DiagPart": dict(input=SPD), "IdentityN": dict(input=[U, V]),
    "Where": dict(condition=U > 0.5), "L2Loss": dict(t=U), "InvertPermutation": dict(x=np.int32([2, 0, 3, 1])),
    "AddN": dict(inputs=[U, V, U]), "Rank": dict(input=U), "Polygamma": dict(a=np.float32([[1, 2, 3, 0]] * 3), x=V),
    "Zeta": dict(x=V + 1, q=U), "Igamma": dict(a=V, x=U), "Igammac": dict(a=V, x=U),
    "Reshape": dict(tensor=U, shape=[4, 3]), "Transpose": dict(x=U, perm=[1, 0]), "ExpandDims": dict(input=U, axis=1),
    "Tile": dict(input=U, multiples=[2, 1]), "Pad": dict(input=U, paddings=[[1, 0], [0, 2]]),
    "BroadcastTo": dict(input=U[0], shape=[2, 4]), "ReverseV2": dict(tensor=U, axis=[1]),
    "DynamicStitch": dict(indices=[np.array([0, 2]), np.array([1, 3])], data=[U[:2], U[1:]]),
    "ConcatV2": dict(values=[U, V], axis=1), "ReluGrad": dict(gradients=U, features=V - 0.8),
    "Cross": dict(a=U[:, :3], b=V[:, :3]), "BroadcastArgs": dict(s0=np.int32([3, 1]), s1=np.int32([4])),
    "Fill": dict(dims=[2, 3], value=np.float32(1.5)), "Einsum": dict(inputs=[U, V.T], equation="ij,jk->ik"),
    "Pack": dict(values=[U, V], axis=1), "Unpack": dict(value=U, num=3), "Concat": dict(concat_dim=0, values=[U, V]),
    "Slice": dict(input=U, begin=[1, 0], size=[2, -1]),
    "StridedSlice": dict(input=U, begin=[0, 1], end=[3, 4], strides=[2, 1], shrink_axis_mask=0, end_mask=1),
    "Squeeze": dict(input=U[None]), "Shape": dict(input=U), "Size": dict(input=U, out_type=tf.int64.name),
    "Cast": dict(x=V * 3, DstT="int32"), "GatherV2": dict(params=U, indices=[2, 0], axis=1),
    "GatherNd": dict(params=U, indices=[[0, 1], [2, 3]]),
    "ScatterNd": dict(indices=[[0], [2]], updates=U[:2], shape=[4, 4]),
    "OneHot": dict(indices=[0, 2, 1], depth=3, on_value=np.float32(5), off_value=np.float32(-1)),
    "Range": dict(start=1, limit=10, delta=3), "LinSpace": dict(start=np.float32(0), stop=np.float32(1), num=5),
    "Select": dict(condition=np.array([True, False, True]), x=U, y=V), "SelectV2": dict(condition=U > 0.5, t=U, e=V),
    "ClipByValue": dict(t=U, clip_value_min=np.float32(0.3), clip_value_max=np.float32(0.6)),
    "MirrorPad": dict(input=U, paddings=[[1, 1], [2, 0]], mode="REFLECT"),
    "PadV2": dict(input=U, paddings=[[1, 1], [2, 0]], constant_values=np.float32(7)),
    "Roll": dict(input=U, shift=[1], axis=[1]), "Betainc": dict(a=V, b=V + 1, x=U),
    "Complex": dict(real=U, imag=V), "Real": dict(input=C), "Imag": dict(input=C), "ComplexAbs": dict(x=C),
    "RFFT": dict(input=U, fft_length=[4]), "IRFFT": dict(input=C, fft_length=[6]),
    "RFFT2D": dict(input=U, fft_length=[3, 4]), "IRFFT2D": dict(input=C, fft_length=[3, 6]),
    "Bitcast": dict(input=U, type="int32"), "ArgMax": dict(input=U, dimension=1), "ArgMin": dict(input=U, dimension=0),
    "Cumsum": dict(x=U, axis=1, exclusive=True), "Cumprod": dict(x=U, axis=0, reverse=True),
    "CumulativeLogsumexp": dict(x=U, axis=1), "TopKV2": dict(input=U, k=2),
    "InTopKV2": dict(predictions=U, targets=np.int32([0, 1, 3]), k=2), "Unique": dict(x=np.int32([4, 1, 4, 2, 1])),
    "UniqueWithCounts": dict(x=np.int32([4, 1, 4, 2, 1])),
    "Bincount": dict(arr=np.int32([1, 1, 3]), size=5, weights=np.float32([])),
    "DynamicPartition": dict(data=U, partitions=np.int32([1, 0, 1]), num_partitions=2),
    "LowerBound": dict(sorted_inputs=np.sort(U, 1), values=V),
    "UpperBound": dict(sorted_inputs=np.sort(U, 1), values=V),
    "MatMul": dict(a=U, b=V, transpose_b=True), "BatchMatMul": dict(x=U[None], y=V.T[None]),
    "BatchMatMulV2": dict(x=U, y=V, adj_y=True), "BatchMatMulV3": dict(x=U, y=V.T, Tout="float32"),
    "MatrixInverse": dict(input=SPD), "MatrixSolve": dict(matrix=SPD, rhs=U[:, :2]),
    "MatrixTriangularSolve": dict(matrix=np.tril(SPD), rhs=U[:, :2]),
    "MatrixBandPart": dict(input=U, num_lower=1, num_upper=0),
    "MatrixDiagV3": dict(diagonal=U[:, :3], k=0, num_rows=-1, num_cols=-1, padding_value=np.float32(0)),
    "MatrixDiagPartV3": dict(input=U, k=1, padding_value=np.float32(9)),
    "MatrixSetDiagV3": dict(input=U, diagonal=V[:, 0], k=0), "LogMatrixDeterminant": dict(input=SPD),
    "Svd": dict(input=SPD, compute_uv=False), "Qr": dict(input=U), "SelfAdjointEigV2": dict(input=SPD, compute_v=False),
    "BiasAdd": dict(value=IMG, bias=U[0, :3]),
    "Conv2D": dict(input=IMG, filter=KER, strides=[1, 2, 2, 1], padding="SAME"),
    "DepthwiseConv2dNative": dict(input=IMG, filter=DWK, strides=[1, 1, 1, 1], padding="VALID"),
    "MaxPool": dict(input=IMG, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID"),
    "AvgPool": dict(value=IMG, ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME"),
    "LeakyRelu": dict(features=U - 0.5, alpha=0.1), "LRN": dict(input=IMG),
    "SoftmaxCrossEntropyWithLogits": dict(features=LOGITS, labels=np.eye(5, dtype=np.float32)[[0, 2, 4, 1]]),
    "SparseSoftmaxCrossEntropyWithLogits": dict(features=LOGITS, labels=np.int32([0, 2, 4, 1])),
    "SpaceToDepth": dict(input=IMG, block_size=2), "DepthToSpace": dict(input=np.tile(IMG, 4)[:, :2], block_size=2),
    # the second batch
    "SigmoidGrad": dict(y=U, dy=V), "TanhGrad": dict(y=U, dy=V), "SqrtGrad": dict(y=V, dy=U),
    "RsqrtGrad": dict(y=V, dy=U), "ReciprocalGrad": dict(y=V, dy=U), "Relu6Grad": dict(gradients=U, features=V * 5),
    "SoftplusGrad": dict(gradients=U, features=V - 1), "SoftsignGrad": dict(gradients=U, features=V - 1),
    "EluGrad": dict(gradients=U, outputs=V - 1), "SeluGrad": dict(gradients=U, outputs=V - 1),
    "LeakyReluGrad": dict(gradients=U, features=V - 1, alpha=0.3), "BiasAddGrad": dict(out_backprop=IMG),
    "EnsureShape": dict(input=U, shape=[3, 4]), "CheckNumerics": dict(tensor=U, message="bad"),
    "Bucketize": dict(input=V, boundaries=[0.3, 0.7, 1.2]),
    "HistogramFixedWidth": dict(values=V, value_range=np.float32([0, 1.5]), nbins=5),
    "ApproximateEqual": dict(x=U, y=U + 1e-6), "Mod": dict(x=I1, y=I2 % 5 + 1),
    "Conv3D": dict(input=IMG[..., None, :].repeat(3, 3), filter=RNG.standard_normal((2, 2, 2, 3, 2)).astype(np.float32),
                   strides=[1, 1, 1, 1, 1], padding="VALID"),
    "MaxPool3D": dict(input=IMG[..., None, :].repeat(2, 3), ksize=[1, 2, 2, 2, 1], strides=[1, 2, 2, 1, 1],
                      padding="VALID"),
    "AvgPool3D": dict(input=IMG[..., None, :].repeat(2, 3), ksize=[1, 2, 2, 1, 1], strides=[1, 1, 2, 1, 1],
                      padding="SAME"),
    "MaxPoolV2": dict(input=IMG, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME"),
    "Conv2DBackpropInput": dict(input_sizes=[2, 6, 6, 3], filter=KER, out_backprop=RNG.standard_normal(
        (2, 3, 3, 4)).astype(np.float32), strides=[1, 2, 2, 1], padding="SAME"),
    "DepthwiseConv2dNativeBackpropInput": dict(input_sizes=[2, 6, 6, 3], filter=DWK, out_backprop=RNG.standard_normal(
        (2, 4, 4, 6)).astype(np.float32), strides=[1, 1, 1, 1], padding="VALID"),
    "DepthwiseConv2dNativeBackpropFilter": dict(input=IMG, filter_sizes=[3, 3, 3, 2], out_backprop=RNG.standard_normal(
        (2, 4, 4, 6)).astype(np.float32), strides=[1, 1, 1, 1], padding="VALID"),
    "Dilation2D": dict(input=IMG, filter=DWK[..., 0], strides=[1, 1, 1, 1], rates=[1, 1, 1, 1], padding="SAME"),
    "SpaceToBatchND": dict(input=IMG, block_shape=[2, 2], paddings=[[0, 0], [0, 0]]),
    "BatchToSpaceND": dict(input=np.tile(IMG, (4, 1, 1, 1)), block_shape=[2, 2], crops=[[0, 1], [1, 0]]),
    "ExtractImagePatches": dict(images=IMG, ksizes=[1, 2, 2, 1], strides=[1, 2, 2, 1], rates=[1, 1, 1, 1],
                                padding="VALID"),
    "ExtractVolumePatches": dict(input=IMG[..., None, :].repeat(2, 3), ksizes=[1, 2, 2, 2, 1],
                                 strides=[1, 2, 2, 1, 1], padding="VALID"),
    "RGBToHSV": dict(images=np.abs(IMG) / 4), "HSVToRGB": dict(images=np.clip(np.abs(IMG) / 4, 0, 1)),
    "AdjustContrastv2": dict(images=IMG, contrast_factor=np.float32(1.5)),
    "AdjustHue": dict(images=np.abs(IMG) / 4, delta=np.float32(0.2)),
    "AdjustSaturation": dict(images=np.abs(IMG) / 4, scale=np.float32(0.5)),
    "CropAndResize": dict(image=IMG, boxes=np.float32([[0, 0, 1, 1], [0.2, 0.1, 0.8, 0.9]]), box_ind=np.int32([0, 1]),
                          crop_size=[3, 3]),
    "StringLength": dict(input=["ab", "héllo"], unit="UTF8_CHAR"), "StringUpper": dict(input=["ab", "Cd"]),
    "StringLower": dict(input=["ab", "Cd"]), "StringStrip": dict(input=[" a ", "b  "]),
    "Substr": dict(input=["hello", "world"], pos=1, len=3), "RegexReplace": dict(input=["a1b22"], pattern="[0-9]+",
                                                                               rewrite="#"),
    "StaticRegexReplace": dict(input=["a1b22"], pattern="[0-9]", rewrite="#", replace_global=False),
    "RegexFullMatch": dict(input=["abc", "a1"], pattern="[a-z]+"),
    "StringJoin": dict(inputs=[["a", "b"], ["c", "d"]], separator="-"),
    "ReduceJoin": dict(inputs=[["a", "b"], ["c", "d"]], reduction_indices=1, separator="+"),
    "AsString": dict(input=V, precision=2), "StringToNumber": dict(string_tensor=["1.5", "-2"]),
    "StringToHashBucketFast": dict(input=["a", "b", "c"], num_buckets=7),
    "EncodeBase64": dict(input=["hello?", "x"], pad=True), "DecodeBase64": dict(input=["aGVsbG8_", "eA"]),
    "Lu": dict(input=SPD), "MatrixSolveLs": dict(matrix=V, rhs=U[:, :2], l2_regularizer=np.float64(0.1)),
    "TridiagonalSolve": dict(diagonals=np.stack([U[0, :3] * 0.1, V[0, :3] + 2, U[1, :3] * 0.1]),
                             rhs=U[:, :1].astype(np.float32)),
    "RaggedRange": dict(starts=np.int32([0, 3]), limits=np.int32([4, 5]), deltas=np.int32([2, 1])),
    "SparseToDense": dict(sparse_indices=np.int32([[0, 1], [2, 3]]), output_shape=[3, 4],
                          sparse_values=np.float32([5, 6]), default_value=np.float32(-1)),
    "DenseBincount": dict(input=np.int32([[1, 1, 3], [0, 2, 2]]), size=4, weights=np.float32([])),
    "SparseSegmentSum": dict(data=U, indices=np.int32([0, 2, 1]), segment_ids=np.int32([0, 0, 1])),
    "SparseSegmentMean": dict(data=U, indices=np.int32([0, 2, 1]), segment_ids=np.int32([0, 0, 1])),
    "SparseSegmentSqrtN": dict(data=U, indices=np.int32([0, 2, 1]), segment_ids=np.int32([0, 0, 1])),
}
REDUCTIONS = {"Sum", "Mean", "Max", "Min", "Prod", "All", "Any", "EuclideanNorm"}
SEGMENTS = {"SegmentSum", "SegmentMean", "SegmentMax", "SegmentMin", "SegmentProd"}
UNSORTED = {"UnsortedSegmentSum", "UnsortedSegmentMax", "UnsortedSegmentMin", "UnsortedSegmentProd"}
SCATTERS = {"TensorScatterUpdate", "TensorScatterAdd", "TensorScatterSub", "TensorScatterMax", "TensorScatterMin"}


def _inputs(op):
    if op in SPECIAL:
        return SPECIAL[op]
    names = [n for n, d in SIGNATURES[op] if d is REQUIRED]
    if op in REDUCTIONS:
        return dict(input=(U > 0.5) if op in ("All", "Any") else U, axis=[1], keep_dims=True)
    if op in SEGMENTS:
        return dict(data=U, segment_ids=SEG)
    if op in UNSORTED:
        return dict(data=U, segment_ids=SEG, num_segments=3)
    if op in SCATTERS:
        return dict(tensor=U, indices=[[1], [0]], updates=V[:2])
    if len(names) == 2:
        a, b = (I1, I2 % 5 + 1) if op in INT_BINARY else (U > 0.5, V > 0.5) if op in BOOL_OPS else (U, V)
        return dict(zip(names, (a, b), strict=True))
    return {names[0]: U}


def _leaves(value):
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [np.asarray(value.numpy() if hasattr(value, "numpy") else value)]


def test_unsupported_name_raises_attribute_error_naming_it():
    with pytest.raises(AttributeError, match="tf.raw_ops.TPUReplicatedInput is not available"):
        tf.raw_ops.TPUReplicatedInput  # noqa: B018
    assert "MatMul" in dir(tf.raw_ops) and "TPUReplicatedInput" not in dir(tf.raw_ops)


def test_keyword_arguments_only():
    with pytest.raises(TypeError, match="Add only takes keyword args"):
        tf.raw_ops.Add(1.0, 2.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        tf.raw_ops.Add(x=1.0, z=2.0)
    with pytest.raises(TypeError, match=r"missing required keyword argument\(s\) \['y'\]"):
        tf.raw_ops.Add(x=1.0)
    assert float(tf.raw_ops.Add(x=1.0, y=2.0, name="a")) == 3.0


@pytest.mark.oracle
def test_signatures_are_tfs():
    ttf = pytest.importorskip("tensorflow")
    for op in dir(tf.raw_ops):
        ours = [(p.name, p.default) for p in inspect.signature(getattr(tf.raw_ops, op)).parameters.values()]
        theirs = [(p.name, p.default.name if hasattr(p.default, "as_datatype_enum") else p.default)
                  for p in inspect.signature(getattr(ttf.raw_ops, op)).parameters.values()]
        assert ours == theirs, op


@pytest.mark.oracle
def test_values_match_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    failures = []
    for op in dir(tf.raw_ops):
        kwargs = _inputs(op)
        try:
            want = _leaves(getattr(ttf.raw_ops, op)(**kwargs))
        except Exception as e:  # noqa: BLE001 - the sample must be valid for TF first
            failures.append(f"{op}: TF rejected the sample: {str(e)[:80]}")
            continue
        try:
            got = _leaves(getattr(tf.raw_ops, op)(**kwargs))
        except Exception as e:  # noqa: BLE001 - collect every failing op
            failures.append(f"{op}: raised {type(e).__name__}: {str(e)[:100]}")
            continue
        if op in ("Svd", "SelfAdjointEigV2"):  # with compute_uv / compute_v False TF's other outputs are unset
            got, want = got[:1], want[:1]
        if len(got) != len(want):
            failures.append(f"{op}: {len(got)} outputs, TF {len(want)}")
            continue
        for g, w in zip(got, want, strict=True):
            if g.dtype.kind in "OSU":
                same = g.shape == w.shape and g.tolist() == w.tolist()
            else:
                same = g.shape == w.shape and g.dtype == w.dtype and np.allclose(g, w, rtol=2e-5, atol=2e-5,
                                                                                 equal_nan=True)
            if not same:
                if op in ("Svd", "Qr", "SelfAdjointEigV2") and g.shape == w.shape:
                    continue  # sign conventions of the factors; checked by reconstruction elsewhere
                failures.append(f"{op}: got {g.dtype}{g.shape} {g.ravel()[:3]}, TF {w.dtype}{w.shape} {w.ravel()[:3]}")
                break
    assert not failures, "\n".join(failures)
