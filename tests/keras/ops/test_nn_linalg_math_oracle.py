"""keras.ops.nn, keras.ops.linalg and the math/core functions against real Keras."""

from __future__ import annotations

import numpy as np
import pytest

from tapeflow.keras import ops
from tests.keras.ops.conftest import assert_same

pytestmark = pytest.mark.oracle

rng = np.random.default_rng(1)
X = rng.normal(size=(2, 5)).astype("float32")
X3 = rng.normal(size=(2, 4, 3)).astype("float32")
IMG = rng.normal(size=(2, 6, 6, 3)).astype("float32")
K33 = rng.normal(size=(3, 3, 3, 4)).astype("float32")
DK = rng.normal(size=(3, 3, 3, 2)).astype("float32")
PK = rng.normal(size=(1, 1, 6, 4)).astype("float32")
SEQ = rng.normal(size=(2, 8, 3)).astype("float32")
K1 = rng.normal(size=(3, 3, 5)).astype("float32")
PROB = np.abs(rng.normal(size=(3, 4))).astype("float32") + 0.1
ONEHOT = np.eye(4, dtype="float32")[[0, 3, 1]]
LBL = np.array([0, 3, 1], "int32")
BIN = (rng.random((3, 4)) > 0.5).astype("float32")
SIG = rng.random((3, 4)).astype("float32") * 0.9 + 0.05
A = rng.normal(size=(3, 3)).astype("float32")
SPD = (A @ A.T + 3 * np.eye(3)).astype("float32")
BA = rng.normal(size=(2, 3, 3)).astype("float32")
M43 = rng.normal(size=(4, 3)).astype("float32")
Q = rng.normal(size=(2, 3, 2, 4)).astype("float32")
KV = rng.normal(size=(2, 5, 2, 4)).astype("float32")
KV1 = rng.normal(size=(2, 5, 1, 4)).astype("float32")
SIGNAL = rng.normal(size=(2, 16)).astype("float32")

CASES = [
    # activations
    ("relu", (X,), {}), ("relu6", (X * 4,), {}), ("sigmoid", (X,), {}), ("sparse_sigmoid", (X,), {}),
    ("softplus", (X,), {}), ("softsign", (X,), {}), ("silu", (X,), {}), ("swish", (X,), {}),
    ("log_sigmoid", (X,), {}), ("leaky_relu", (X,), {"negative_slope": 0.1}), ("hard_sigmoid", (X,), {}),
    ("hard_silu", (X,), {}), ("hard_swish", (X,), {}), ("elu", (X,), {"alpha": 0.5}), ("selu", (X,), {}),
    ("gelu", (X,), {}), ("gelu", (X,), {"approximate": False}), ("celu", (X,), {"alpha": 2.0}),
    ("glu", (X3[..., :2],), {}), ("hard_tanh", (X,), {}), ("hard_shrink", (X,), {}),
    ("soft_shrink", (X,), {"threshold": 0.3}), ("tanh_shrink", (X,), {}), ("squareplus", (X,), {}),
    ("sparse_plus", (X,), {}), ("threshold", (X, 0.2, -1.0), {}), ("softmax", (X,), {}),
    ("softmax", (X3,), {"axis": 1}), ("softmax", (X3,), {"axis": (1, 2)}), ("log_softmax", (X,), {}),
    ("log_softmax", (X3,), {"axis": 0}), ("sparsemax", (X,), {}), ("sparsemax", (X3,), {"axis": 1}),
    # convolutions and pooling
    ("conv", (IMG, K33), {}), ("conv", (IMG, K33), {"strides": 2, "padding": "same"}),
    ("conv", (IMG, K33), {"dilation_rate": 2}), ("conv", (SEQ, K1), {"padding": "same"}),
    ("conv", (np.transpose(IMG, (0, 3, 1, 2)), K33), {"data_format": "channels_first"}),
    ("conv_transpose", (IMG, np.transpose(K33, (0, 1, 3, 2))), {"strides": 2}),
    ("conv_transpose", (IMG, np.transpose(K33, (0, 1, 3, 2))), {"strides": 2, "padding": "same"}),
    ("conv_transpose", (IMG, np.transpose(K33, (0, 1, 3, 2))), {"strides": 2, "output_padding": 1}),
    ("depthwise_conv", (IMG, DK), {"padding": "same"}), ("depthwise_conv", (SEQ, K1[:, :, :2]), {}),
    ("separable_conv", (IMG, DK, PK), {"strides": 1}), ("max_pool", (IMG, 2), {}),
    ("max_pool", (IMG, 3), {"strides": 2, "padding": "same"}), ("average_pool", (IMG, 2), {}),
    ("average_pool", (IMG, (2, 3)), {"strides": 1, "padding": "same"}), ("max_pool", (SEQ, 2), {}),
    ("adaptive_average_pool", (IMG, (4, 4)), {}), ("adaptive_max_pool", (IMG, (4, 3)), {}),
    ("adaptive_average_pool", (SEQ, (3,)), {}), ("unfold", (np.transpose(IMG, (0, 3, 1, 2)), 2), {}),
    ("unfold", (np.transpose(IMG, (0, 3, 1, 2)), 3), {"padding": 1, "stride": 2, "dilation": 1}),
    ("fold", (rng.normal(size=(2, 12, 25)).astype("float32"), (6, 6), 2), {}),
    ("depth_to_space", (rng.normal(size=(1, 2, 2, 8)).astype("float32"), 2), {}),
    ("space_to_depth", (IMG[:, :, :, :2], 3), {}),
    # losses
    ("binary_crossentropy", (BIN, SIG), {}),
    ("binary_crossentropy", (BIN, X[:, :4].repeat(2, 0)[:3]), {"from_logits": True}),
    ("categorical_crossentropy", (ONEHOT, PROB), {}),
    ("categorical_crossentropy", (ONEHOT, PROB), {"from_logits": True}),
    ("sparse_categorical_crossentropy", (LBL, PROB), {}),
    ("sparse_categorical_crossentropy", (LBL, PROB), {"from_logits": True}),
    ("psnr", (SIG, SIG * 0.9, 1.0), {}),
    ("ctc_loss", (np.array([[1, 2, 0], [3, 0, 0]], "int32"), SEQ[:, :5, :].repeat(2, -1)[..., :4],
                  np.array([2, 1]), np.array([5, 4])), {}),
    ("ctc_decode", (SEQ[:, :5, :].repeat(2, -1)[..., :4], np.array([5, 4])), {}),
    # encodings, normalization, attention
    ("one_hot", (LBL, 4), {}), ("one_hot", (np.array([[1, -1], [2, 0]]), 3), {"axis": 0}),
    ("multi_hot", (np.array([[0, 2], [1, 1]]), 3), {}), ("moments", (X3, [0, 1]), {}),
    ("moments", (X3, [2]), {"keepdims": True}),
    ("batch_normalization", (X3, X3.mean((0, 1)), X3.var((0, 1)), -1), {"offset": X3[0, 0], "scale": X3[1, 1]}),
    ("layer_normalization", (X3,), {"gamma": X3[0, 0], "beta": X3[1, 0]}),
    ("rms_normalization", (X3,), {"scale": X3[0, 0]}), ("normalize", (X,), {}),
    ("normalize", (X3,), {"axis": 1, "order": 1}), ("dot_product_attention", (Q, KV, KV), {}),
    ("dot_product_attention", (Q, KV[:, :3], KV[:, :3]), {"is_causal": True}),
    ("dot_product_attention", (Q, KV, KV), {"mask": rng.random((2, 2, 3, 5)) > 0.3, "scale": 0.3}),
    # linalg
    ("inv", (A,), {}), ("det", (BA,), {}), ("slogdet", (A,), {}), ("logdet", (SPD,), {}),
    ("cholesky", (SPD,), {}), ("cholesky", (SPD,), {"upper": True}),
    ("cholesky_inverse", (np.linalg.cholesky(SPD),), {}), ("eigh", (SPD,), {}), ("qr", (M43,), {}),
    ("qr", (M43,), {"mode": "complete"}), ("svd", (M43,), {"compute_uv": False}),
    ("solve", (A, M43[:3]), {}), ("solve", (A, M43[:3, 0]), {}),
    ("solve_triangular", (np.triu(A) + 3 * np.eye(3, dtype="float32"), M43[:3]), {}),
    ("solve_triangular", (np.tril(A) + 3 * np.eye(3, dtype="float32"), M43[:3]), {"lower": True}),
    ("pinv", (M43,), {}), ("lstsq", (M43, M43[:, 0]), {}), ("matrix_rank", (M43,), {}),
    ("lu_factor", (A,), {}), ("norm", (X,), {}), ("norm", (X,), {"ord": 1, "axis": 1}),
    ("norm", (A,), {"ord": "nuc"}), ("norm", (A,), {"ord": 2}), ("norm", (A,), {"ord": -1}),
    ("norm", (A,), {"ord": np.inf}), ("norm", (X3,), {"axis": (1, 2), "keepdims": True}),
    ("norm", (X,), {"ord": 0, "axis": 0}), ("norm", (X,), {"ord": 3, "axis": -1}),
    # math
    ("segment_sum", (X3, np.array([0, 0])), {}), ("segment_sum", (X, np.array([1, 0])), {"num_segments": 3}),
    ("segment_max", (X, np.array([0, 0])), {}), ("segment_min", (X, np.array([1, 1])), {"num_segments": 2}),
    ("top_k", (X, 3), {}), ("in_top_k", (np.array([1, 0]), X, 2), {}), ("logsumexp", (X,), {"axis": 1}),
    ("erf", (X,), {}), ("erfc", (X,), {}), ("erfinv", (np.tanh(X),), {}), ("rsqrt", (PROB,), {}),
    ("fft", ((X, X[::-1]),), {}), ("fft2", ((X3, X3 * 2),), {}), ("ifft2", ((X3, X3 * 2),), {}),
    ("rfft", (X,), {}), ("rfft", (X,), {"fft_length": 8}), ("irfft", ((X, X[::-1]),), {}),
    ("irfft", ((X, X[::-1]),), {"fft_length": 7}),
    ("stft", (SIGNAL, 8, 4, 8), {}), ("stft", (SIGNAL, 6, 3, 8), {"window": "hamming", "center": False}),
    ("extract_sequences", (SIGNAL, 5, 3), {}), ("cdist", (X3, X3[:, :2]), {}),
    ("view_as_real", (np.array([1 + 2j, 3 - 1j], "complex64"),), {}),
    ("view_as_complex", (np.array([[1.0, 2.0], [3.0, -1.0]], "float32"),), {}),
    # core
    ("slice", (X3, (0, 1, 1), (2, 2, 2)), {}), ("slice_update", (X3, (1, 2, 0), X3[:1, :2]), {}),
    ("scatter", (np.array([[0, 1], [1, 2], [0, 1]]), np.array([1.0, 2.0, 3.0], "float32"), (2, 3)), {}),
    ("scatter_update", (X, np.array([[0, 1], [1, 3]]), np.array([9.0, 8.0], "float32")), {}),
    ("scatter_update", (X, np.array([[1]]), X[:1] * 0 + 5), {}),
    ("scatter_update", (X, np.array([[0, 1], [0, 1]]), np.array([9.0, 8.0], "float32")), {"reduction": "add"}),
    ("scatter_update", (X, np.array([[0, 1], [1, 1]]), np.array([9.0, -8.0], "float32")), {"reduction": "max"}),
    ("cast", (X, "int32"), {}), ("saturate_cast", (X * 300, "uint8"), {}), ("stop_gradient", (X,), {}),
    ("convert_to_tensor", ([1.0, 2.0],), {}), ("convert_to_tensor", (3,), {"dtype": "float64"}),
    ("unstack", (X3,), {"axis": 1}),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_op_matches_keras(kops, case):
    name, args, kwargs = case
    keras_args = args
    if name.startswith("adaptive"):  # Keras's TF backend needs tensors here
        keras_args = tuple(kops.convert_to_tensor(a) for a in args)
    if name == "sparsemax":
        check_sparsemax(ops.sparsemax(*args, **kwargs).numpy(), *args, **kwargs)
        return
    theirs = getattr(kops, name)(*keras_args, **kwargs)
    ours = getattr(ops, name)(*args, **kwargs)
    if name == "eigh":  # eigenvectors are defined up to sign
        assert_same(ours[0], theirs[0], rtol=1e-4, atol=1e-5, label=name)
        a, b = ours[1].numpy(), np.asarray(theirs[1])
        np.testing.assert_allclose(np.abs(a), np.abs(b), rtol=1e-4, atol=1e-5)
        return
    if name == "qr":
        q, r = (t.numpy() for t in ours)
        np.testing.assert_allclose(q @ r, args[0], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(np.abs(r), np.abs(np.asarray(theirs[1])), rtol=1e-4, atol=1e-5)
        return
    assert_same(ours, theirs, rtol=2e-4, atol=2e-5, label=name)


def check_sparsemax(out, x, axis=-1):
    """Sparsemax is the Euclidean projection onto the simplex (Martins & Astudillo, 2016).

    NOTE: Keras 3.15's TensorFlow backend sums the cumulative sums over the support when it
    computes the threshold, so its outputs do not sum to 1; Tapeflow follows the definition.
    """
    z = np.moveaxis(x, axis, -1).astype(np.float64)
    srt = -np.sort(-z, -1)
    k = np.arange(1, z.shape[-1] + 1)
    cum = np.cumsum(srt, -1)
    support = 1 + k * srt > cum
    kz = support.sum(-1, keepdims=True)
    tau = (np.take_along_axis(cum, kz - 1, -1) - 1) / kz
    want = np.moveaxis(np.maximum(z - tau, 0), -1, axis)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.sum(axis), 1.0, rtol=1e-5)


def test_shape_dtype_and_predicates(kops):
    x = np.zeros((2, 3), "float64")
    assert ops.shape(x) == tuple(kops.shape(x))
    assert ops.dtype(x) == kops.dtype(x) == "float64"
    assert ops.is_tensor(ops.convert_to_tensor(x)) and not ops.is_tensor(x)
    assert isinstance(ops.convert_to_numpy(ops.ones(2)), np.ndarray)


def test_svd_and_eig_reconstruct():
    u, s, vh = ops.svd(M43, full_matrices=False)
    np.testing.assert_allclose((u.numpy() * s.numpy()) @ vh.numpy(), M43, rtol=1e-4, atol=1e-5)
    w, v = ops.eig(A)
    np.testing.assert_allclose(A @ v.numpy(), v.numpy() * w.numpy(), rtol=1e-4, atol=1e-4)


def test_ctc_beam_search_top_path_is_the_greedy_path_when_peaked():
    logits = np.full((1, 5, 4), -5.0, "float32")
    for t, c in enumerate([1, 1, 0, 2, 3]):
        logits[0, t, c] = 5.0
    decoded, scores = ops.ctc_decode(logits, np.array([5]), strategy="beam_search", beam_width=5,
                                     top_paths=2)
    assert decoded.shape == (2, 1, 5)
    assert decoded.numpy()[0, 0].tolist() == [1, 2, 3, -1, -1]
    assert scores.numpy()[0, 0] > scores.numpy()[0, 1]


def test_istft_inverts_stft():
    re, im = ops.stft(SIGNAL, 8, 2, 8)
    back = ops.istft((re, im), 8, 2, 8, length=16)
    # Exact where four frames overlap (TF's window normalization assumes full overlap).
    np.testing.assert_allclose(back.numpy()[:, 2:-2], SIGNAL[:, 2:-2], rtol=1e-4, atol=1e-4)


def test_grouped_query_attention_repeats_key_heads():
    out = ops.dot_product_attention(Q, KV1, KV1)
    want = ops.dot_product_attention(Q, np.repeat(KV1, 2, 2), np.repeat(KV1, 2, 2))
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-6)


def test_istft_matches_keras(kops):
    pair = kops.stft(SIGNAL, 8, 4, 8)
    pair = tuple(np.asarray(p) for p in pair)
    assert_same(ops.istft(pair, 8, 4, 8), kops.istft(pair, 8, 4, 8), rtol=1e-4, atol=1e-5)
