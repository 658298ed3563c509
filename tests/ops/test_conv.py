"""Convolutions: tf.nn.conv1d/2d/3d, transposed, depthwise, separable; gradients and oracles."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.ops import conv_algorithms as conv_ops
from tapeflow.ops.conv_geometry import geometry
from tapeflow.testing import OpCase, available_devices, check_gradients, run_case


@pytest.fixture(params=["im2col", "fft"])
def algorithm(request, monkeypatch):
    """Run a test once per convolution algorithm (FFT falls back to im2col where it can't run)."""
    monkeypatch.setattr(conv_ops, "ALGORITHM", request.param)
    return request.param


def _pad(p):
    return [[0, 0], list(p[0]), list(p[1]), [0, 0]]


def _sq(f):
    """f(...)**2: makes the gradient depend on the inputs, so second order is non-trivial."""
    return lambda *a: f(*a) ** 2


# ---------------------------------------------------------------------------------------------
# Gradient checks (float64), inputs and filters
# ---------------------------------------------------------------------------------------------

CONV_CASES = [
    OpCase("conv2d/valid", lambda x, w: tf.nn.conv2d(x, w, 1, "VALID"), [(2, 5, 6, 3), (3, 3, 3, 4)]),
    OpCase("conv2d/same_odd", lambda x, w: tf.nn.conv2d(x, w, 1, "SAME"), [(2, 5, 4, 2), (3, 3, 2, 3)]),
    # 2x2 SAME: one padding row/column, all of it at the end (TF's uneven split).
    OpCase("conv2d/same_even_kernel", lambda x, w: tf.nn.conv2d(x, w, 1, "SAME"),
           [(1, 4, 5, 2), (2, 2, 2, 3)]),
    OpCase("conv2d/same_stride2_uneven", lambda x, w: tf.nn.conv2d(x, w, 2, "SAME"),
           [(2, 7, 8, 2), (3, 3, 2, 3)]),
    OpCase("conv2d/valid_stride2_leftover", lambda x, w: tf.nn.conv2d(x, w, [1, 2, 2, 1], "VALID"),
           [(1, 8, 7, 2), (3, 2, 2, 2)]),
    OpCase("conv2d/dilation2_same", lambda x, w: tf.nn.conv2d(x, w, 1, "SAME", dilations=2),
           [(1, 6, 7, 2), (3, 3, 2, 2)]),
    OpCase("conv2d/asymmetric_stride_dilation",
           lambda x, w: tf.nn.conv2d(x, w, [2, 1], "VALID", dilations=[1, 2]), [(1, 7, 8, 2), (2, 3, 2, 2)]),
    OpCase("conv2d/explicit_padding", lambda x, w: tf.nn.conv2d(x, w, 1, _pad(((2, 0), (1, 3)))),
           [(1, 4, 5, 2), (3, 2, 2, 3)]),
    OpCase("conv2d/nchw", lambda x, w: tf.nn.conv2d(x, w, 2, "SAME", data_format="NCHW"),
           [(2, 3, 5, 6), (3, 3, 3, 2)]),
    OpCase("conv2d/grouped", lambda x, w: tf.nn.conv2d(x, w, 1, "SAME"), [(1, 4, 4, 4), (3, 3, 2, 6)]),
    OpCase("conv2d/1x1", lambda x, w: tf.nn.conv2d(x, w, 1, "VALID"), [(2, 3, 3, 4), (1, 1, 4, 3)]),
    OpCase("conv2d/batch_shape", lambda x, w: tf.nn.conv2d(x, w, 1, "SAME"),
           [(2, 2, 4, 4, 2), (3, 3, 2, 2)]),
    OpCase("conv1d/valid_stride2", lambda x, w: tf.nn.conv1d(x, w, 2, "VALID"), [(2, 9, 3), (3, 3, 4)]),
    OpCase("conv1d/same_dilation", lambda x, w: tf.nn.conv1d(x, w, 1, "SAME", dilations=2),
           [(2, 8, 2), (3, 2, 3)]),
    OpCase("conv1d/ncw", lambda x, w: tf.nn.conv1d(x, w, 1, "SAME", data_format="NCW"),
           [(2, 3, 7), (4, 3, 2)]),
    OpCase("conv3d/same", lambda x, w: tf.nn.conv3d(x, w, 1, "SAME"), [(1, 4, 3, 4, 2), (3, 2, 3, 2, 2)]),
    OpCase("conv3d/valid_stride2_ncdhw",
           lambda x, w: tf.nn.conv3d(x, w, 2, "VALID", data_format="NCDHW"),
           [(1, 2, 5, 5, 4), (2, 2, 2, 2, 3)]),
    OpCase("conv2d_transpose/same_stride2",
           lambda x, w: tf.nn.conv2d_transpose(x, w, (2, 7, 8, 3), 2, "SAME"), [(2, 4, 4, 2), (3, 3, 3, 2)]),
    OpCase("conv2d_transpose/valid_stride2_odd",
           lambda x, w: tf.nn.conv2d_transpose(x, w, (1, 9, 8, 2), [2, 2], "VALID"),
           [(1, 4, 3, 3), (3, 4, 2, 3)]),
    OpCase("conv2d_transpose/dilation",
           lambda x, w: tf.nn.conv2d_transpose(x, w, (1, 6, 6, 2), 1, "SAME", dilations=2),
           [(1, 6, 6, 3), (3, 3, 2, 3)]),
    OpCase("conv1d_transpose/same_stride3",
           lambda x, w: tf.nn.conv1d_transpose(x, w, (2, 10, 2), 3, "SAME"), [(2, 4, 3), (4, 2, 3)]),
    OpCase("depthwise_conv2d/mult2_same_stride2",
           lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 2, 2, 1], "SAME"), [(2, 5, 6, 3), (3, 3, 3, 2)]),
    OpCase("depthwise_conv2d/dilation_valid",
           lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "VALID", dilations=[2, 2]),
           [(1, 6, 6, 2), (2, 2, 2, 1)]),
    OpCase("depthwise_conv2d/nchw",
           lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME", data_format="NCHW"),
           [(1, 2, 4, 5), (3, 3, 2, 2)]),
    OpCase("depthwise_conv2d/explicit_wide_padding",
           lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], [[0, 0], [3, 0], [0, 2], [0, 0]]),
           [(1, 4, 4, 2), (2, 2, 2, 2)]),
    OpCase("conv1d/depthwise_groups", lambda x, w: tf.nn.conv1d(x, w, 1, "SAME"), [(2, 7, 3), (3, 1, 6)]),
    # one output per channel, stride 1: the per-tap multiply-add path
    OpCase("depthwise_conv2d/mult1_same",
           lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME"), [(3, 5, 4, 3), (3, 3, 3, 1)]),
    OpCase("depthwise_conv2d/mult1_explicit_padding",
           lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], [[0, 0], [2, 0], [1, 2], [0, 0]]),
           [(2, 4, 5, 2), (3, 2, 2, 1)]),
    OpCase("conv1d/depthwise_mult1", lambda x, w: tf.nn.conv1d(x, w, 1, "SAME"), [(2, 7, 3), (3, 1, 3)]),
    OpCase("conv2d/groups_one_channel_each_stride2", lambda x, w: tf.nn.conv2d(x, w, 2, "SAME"),
           [(1, 5, 5, 3), (3, 3, 1, 3)]),
    OpCase("separable_conv2d",
           lambda x, d, p: tf.nn.separable_conv2d(x, d, p, [1, 1, 1, 1], "SAME"),
           [(1, 5, 5, 2), (3, 3, 2, 2), (1, 1, 4, 3)]),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: c.name)
def test_conv_gradients(case, algorithm):
    run_case(case, second_order=False)


SECOND_ORDER = [
    OpCase("conv2d/same", _sq(lambda x, w: tf.nn.conv2d(x, w, 1, "SAME")), [(1, 4, 4, 2), (3, 3, 2, 2)]),
    OpCase("conv2d/stride2_dilation_valid", _sq(lambda x, w: tf.nn.conv2d(x, w, 2, "VALID", dilations=1)),
           [(1, 5, 6, 2), (2, 2, 2, 2)]),
    OpCase("conv2d_transpose", _sq(lambda x, w: tf.nn.conv2d_transpose(x, w, (1, 6, 6, 2), 2)),
           [(1, 3, 3, 2), (3, 3, 2, 2)]),
    OpCase("depthwise_conv2d", _sq(lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME")),
           [(1, 4, 4, 2), (3, 3, 2, 2)]),
]


@pytest.mark.parametrize("case", SECOND_ORDER, ids=lambda c: c.name)
def test_conv_second_order(case, algorithm):
    run_case(case, second_order=True)


def test_filter_gradient_without_forward_cache(algorithm):
    """A persistent tape differentiates twice; the spectra/columns cache must not be required."""
    rng = np.random.default_rng(1)
    x = tf.constant(rng.standard_normal((2, 6, 6, 3)))
    w = tf.constant(rng.standard_normal((3, 3, 3, 4)))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, w])
        y = tf.nn.conv2d(x, w, 1, "SAME")
    g1 = tape.gradient(y, [x, w])
    g2 = tape.gradient(y, [x, w])
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# The two algorithms agree on random geometries (values and both gradients)
# ---------------------------------------------------------------------------------------------

GEOMETRIES = [
    # (input spatial, kernel, dilation, padding)
    ((14, 14), (5, 5), (1, 1), "SAME"),
    ((7, 9), (4, 2), (1, 2), "SAME"),
    ((8, 5), (3, 3), (2, 1), "VALID"),
    ((6, 6), (3, 3), (1, 1), ((4, 4), (0, 5))),  # padding wider than the kernel
    ((3, 2), (3, 3), (1, 1), ((2, 2), (2, 2))),
    ((1, 9), (1, 5), (1, 1), "SAME"),
]


@pytest.mark.parametrize("geom", GEOMETRIES, ids=str)
def test_fft_matches_im2col(geom, monkeypatch):
    S, K, d, padding = geom
    rng = np.random.default_rng(2)
    x = tf.constant(rng.standard_normal((2, *S, 3)))
    w = tf.constant(rng.standard_normal((*K, 3, 4)))
    pad = padding if isinstance(padding, str) else _pad(padding)
    out = {}
    for alg in ("im2col", "fft"):
        monkeypatch.setattr(conv_ops, "ALGORITHM", alg)
        with tf.GradientTape() as tape:
            tape.watch([x, w])
            y = tf.nn.conv2d(x, w, 1, pad, dilations=list(d))
            loss = tf.reduce_sum(y * y)
        out[alg] = [y.numpy()] + [g.numpy() for g in tape.gradient(loss, [x, w])]
    for a, b in zip(out["im2col"], out["fft"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("per_chunk", [1, 2])
@pytest.mark.parametrize("stride,padding", [(1, "SAME"), (2, "VALID"), (1, [[0, 0], [3, 1], [0, 2], [0, 0]])])
def test_batch_chunked_columns(stride, padding, per_chunk, monkeypatch):
    """Large column matrices are built a few images at a time (each chunk padded in a reused
    zero-bordered buffer; 5 images in chunks of 2 leave a partial last chunk); force that on
    small shapes."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((5, 6, 7, 4))
    w = rng.standard_normal((3, 2, 4, 3))
    monkeypatch.setattr(conv_ops, "ALGORITHM", "im2col")

    def run():
        tx, tw = tf.constant(x), tf.constant(w)
        with tf.GradientTape() as tape:
            tape.watch([tx, tw])
            y = tf.nn.conv2d(tx, tw, stride, padding)
            loss = tf.reduce_sum(y * y)
        return [y.numpy()] + [gr.numpy() for gr in tape.gradient(loss, [tx, tw])]

    whole = run()
    g = geometry("", (6, 7), (3, 2), (stride,) * 2, (1, 1),
                 padding if isinstance(padding, str) else ((3, 1), (0, 2)))
    per_image = int(np.prod(g.O)) * g.taps * 4 * 8
    monkeypatch.setattr(conv_ops, "_CHUNK_BYTES", per_chunk * per_image)
    assert conv_ops.chunked(np, g, x.shape, 1, 8)
    for a, b in zip(run(), whole, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    check_gradients(lambda a, b: tf.nn.conv2d(a, b, stride, padding), [x, w])


@pytest.mark.parametrize("rank,padding,dilation", [
    (2, "SAME", 1), (2, "VALID", 1), (2, ((2, 0), (1, 2)), 1), (2, "SAME", 2), (1, "SAME", 1), (3, "VALID", 1)])
@pytest.mark.parametrize("chunk_bytes", [None, 64])
def test_depthwise_taps_match_einsum(rank, padding, dilation, chunk_bytes, monkeypatch):
    """The stride-1 depthwise per-tap multiply-adds (forward, input and filter gradients; one
    image per chunk with chunk_bytes=64) give the einsum path's values in float64."""
    rng = np.random.default_rng(5)
    S = {1: (9,), 2: (6, 7), 3: (4, 5, 3)}[rank]
    K = (3,) * rank if rank != 3 else (2, 3, 2)
    C = 4
    x = rng.standard_normal((5,) + S + (C,))
    w = rng.standard_normal(K + (1, C))
    g = geometry("", S, K, (1,) * rank, (dilation,) * rank, padding if isinstance(padding, str) else padding)
    dy = rng.standard_normal((5,) + g.O + (C,))
    if chunk_bytes is not None:
        monkeypatch.setattr(conv_ops, "_DW_CHUNK_BYTES", chunk_bytes)
    out = {}
    for taps in (True, False):
        monkeypatch.setattr(conv_ops, "_depthwise_by_taps", lambda *a, taps=taps, **k: taps)
        y = conv_ops._depthwise_forward(np, x, w, g)
        dx = conv_ops._depthwise_input_grad(np, dy, w, g, C)
        dw = conv_ops._depthwise_filter_grad(np, x, dy, g, w.shape)
        out[taps] = (y, dx, dw)
    for a, b in zip(out[True], out[False], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("S,K,strides,dilations,padding", [
    ((6, 7), (3, 3), (1, 1), (1, 1), "VALID"), ((6, 7), (3, 2), (2, 2), (1, 1), "SAME"),
    ((7, 6), (3, 3), (1, 2), (2, 1), ((3, 1), (0, 2))), ((9,), (4,), (3,), (1,), "SAME"),
    ((4, 5, 3), (2, 3, 2), (1, 1, 1), (1, 1, 1), "SAME")])
@pytest.mark.parametrize("chunk_bytes", [None, 64, 3000])
def test_tap_major_input_grad_matches_scatter(S, K, strides, dilations, padding, chunk_bytes, monkeypatch):
    """The input gradient's tap-major GEMM + row scatter (whole batch, one image per chunk, a
    partial last chunk) equals the plain per-tap scatter of dy @ w_t^T, in float64."""
    from tapeflow.ops.conv_geometry import crop_padding, tap_slices

    rng = np.random.default_rng(11)
    C, Cout, N = 3, 5, 5
    g = geometry("", S, K, strides, dilations, padding)
    dy = rng.standard_normal((N,) + g.O + (Cout,))
    w = rng.standard_normal(K + (C, Cout))
    if chunk_bytes is not None:
        monkeypatch.setattr(conv_ops, "_SCATTER_CHUNK_BYTES", chunk_bytes)
    got = conv_ops.im2col_input_grad(np, dy, w, g, 1, C)
    wt = w.reshape(-1, C, Cout)
    dxpad = np.zeros((N,) + g.padded + (C,))
    for t, sl in enumerate(tap_slices(g)):
        dxpad[sl] += dy @ wt[t].T
    np.testing.assert_allclose(got, crop_padding(np, dxpad, g), rtol=1e-12, atol=1e-12)


def test_auto_picks_fft_for_the_cnn_second_conv_and_im2col_for_the_first():
    np_ = np
    g2 = geometry("", (14, 14), (5, 5), (1, 1), (1, 1), "SAME")
    g1 = geometry("", (28, 28), (5, 5), (1, 1), (1, 1), "SAME")
    assert conv_ops.choose_algorithm(np_, g2, 100, 32, 64, 1, 4) == "fft"
    assert conv_ops.choose_algorithm(np_, g1, 100, 1, 32, 1, 4) == "im2col"
    gs = geometry("", (14, 14), (5, 5), (2, 2), (1, 1), "SAME")
    assert conv_ops.choose_algorithm(np_, gs, 100, 32, 64, 1, 4) == "im2col"


# ---------------------------------------------------------------------------------------------
# Oracles: PyTorch (values and gradients, float32) and TensorFlow (the same code)
# ---------------------------------------------------------------------------------------------

def _close(a, b, tol=1e-5):
    b = np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, float(np.abs(b).max())))


@pytest.mark.oracle
@pytest.mark.parametrize("stride,dilation,padding", [
    (1, 1, "SAME"), (1, 2, "SAME"), (1, 1, "VALID"), (2, 1, "VALID"), ((2, 3), (1, 1), "VALID"),
])
def test_conv2d_matches_torch(stride, dilation, padding, algorithm):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 11, 10, 4)).astype(np.float32)
    w = rng.standard_normal((5, 3, 4, 6)).astype(np.float32)
    s = (stride,) * 2 if isinstance(stride, int) else stride
    d = (dilation,) * 2 if isinstance(dilation, int) else dilation
    tx, tw = tf.constant(x), tf.Variable(w)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        y = tf.nn.conv2d(tx, tw, list(s), padding, dilations=list(d))
        loss = tf.reduce_sum(y * y)
    dx, dw = tape.gradient(loss, [tx, tw])
    # torch: explicit padding equal to TF's SAME split (stride 1: total = (k - 1) * d)
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).requires_grad_()
    wt = torch.from_numpy(w).permute(3, 2, 0, 1).detach().requires_grad_()
    pads = [0, 0, 0, 0]
    if padding == "SAME":
        th, tw_ = (w.shape[0] - 1) * d[0], (w.shape[1] - 1) * d[1]
        pads = [tw_ // 2, tw_ - tw_ // 2, th // 2, th - th // 2]
    yt = torch.nn.functional.conv2d(torch.nn.functional.pad(xt, pads), wt, stride=s, dilation=d)
    (yt * yt).sum().backward()
    _close(y.numpy(), yt.detach().permute(0, 2, 3, 1).numpy())
    _close(dx.numpy(), xt.grad.permute(0, 2, 3, 1).numpy())
    _close(dw.numpy(), wt.grad.permute(2, 3, 1, 0).numpy())


@pytest.mark.oracle
def test_cnn_shapes_match_torch(algorithm):
    """The seed-003 CNN's second convolution (the FFT case) at a reduced batch."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 14, 14, 32)).astype(np.float32)
    w = (rng.standard_normal((5, 5, 32, 64)) * 0.1).astype(np.float32)
    dy = rng.standard_normal((8, 14, 14, 64)).astype(np.float32)
    tx, tw = tf.constant(x), tf.Variable(w)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        y = tf.nn.conv2d(tx, tw, 1, "SAME")
    dx, dw = tape.gradient(y, [tx, tw], output_gradients=tf.constant(dy))
    assert y.dtype == tf.float32 and dx.dtype == tf.float32 and dw.dtype == tf.float32
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).requires_grad_()
    wt = torch.from_numpy(w).permute(3, 2, 0, 1).detach().requires_grad_()
    yt = torch.nn.functional.conv2d(xt, wt, padding=2)
    yt.backward(torch.from_numpy(dy).permute(0, 3, 1, 2))
    _close(y.numpy(), yt.detach().permute(0, 2, 3, 1).numpy())
    _close(dx.numpy(), xt.grad.permute(0, 2, 3, 1).numpy())
    _close(dw.numpy(), wt.grad.permute(2, 3, 1, 0).numpy())


@pytest.mark.oracle
def test_conv1d_conv3d_transpose_match_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(5)
    x1 = rng.standard_normal((2, 12, 3)).astype(np.float32)
    w1 = rng.standard_normal((4, 3, 5)).astype(np.float32)
    y1 = tf.nn.conv1d(x1, w1, 2, "VALID", dilations=1).numpy()
    ref1 = F.conv1d(torch.from_numpy(x1).permute(0, 2, 1), torch.from_numpy(w1).permute(2, 1, 0), stride=2)
    _close(y1, ref1.permute(0, 2, 1).numpy())
    x3 = rng.standard_normal((1, 5, 6, 4, 2)).astype(np.float32)
    w3 = rng.standard_normal((3, 2, 2, 2, 3)).astype(np.float32)
    y3 = tf.nn.conv3d(x3, w3, [1, 2, 1, 2, 1], "VALID").numpy()
    ref3 = F.conv3d(torch.from_numpy(x3).permute(0, 4, 1, 2, 3), torch.from_numpy(w3).permute(4, 3, 0, 1, 2),
                    stride=(2, 1, 2))
    _close(y3, ref3.permute(0, 2, 3, 4, 1).numpy())
    # conv2d_transpose VALID stride 2 = torch's conv_transpose2d (filter (kh, kw, out, in)).
    xt = rng.standard_normal((2, 4, 3, 5)).astype(np.float32)
    wt = rng.standard_normal((3, 3, 2, 5)).astype(np.float32)
    yt = tf.nn.conv2d_transpose(xt, wt, (2, 9, 7, 2), 2, "VALID").numpy()
    reft = F.conv_transpose2d(torch.from_numpy(xt).permute(0, 3, 1, 2),
                              torch.from_numpy(wt).permute(3, 2, 0, 1),
                              stride=2)
    _close(yt, reft.permute(0, 2, 3, 1).numpy())


def _tf_or_skip():
    return pytest.importorskip("tensorflow")


TF_CASES = [
    # (name, fn(m, x, w), x shape, w shape)
    ("conv2d_same_stride2_uneven", lambda m, x, w: m.nn.conv2d(x, w, 2, "SAME"), (2, 7, 8, 3), (3, 3, 3, 4)),
    ("conv2d_same_even_kernel_stride3", lambda m, x, w: m.nn.conv2d(x, w, [1, 3, 3, 1], "SAME"),
     (1, 10, 9, 2), (4, 2, 2, 3)),
    ("conv2d_explicit", lambda m, x, w: m.nn.conv2d(x, w, [1, 2], [[0, 0], [3, 1], [0, 2], [0, 0]]),
     (1, 6, 5, 2), (3, 3, 2, 2)),
    ("conv2d_dilated_same", lambda m, x, w: m.nn.conv2d(x, w, 1, "SAME", dilations=[2, 3]),
     (2, 9, 10, 2), (3, 2, 2, 3)),
    ("conv1d_same_stride2", lambda m, x, w: m.nn.conv1d(x, w, 2, "SAME"), (2, 9, 3), (4, 3, 2)),
    ("conv3d_same_stride2", lambda m, x, w: m.nn.conv3d(x, w, [1, 2, 2, 2, 1], "SAME"),
     (1, 5, 4, 5, 2), (3, 2, 3, 2, 2)),
    ("conv2d_transpose_same_stride2",
     lambda m, x, w: m.nn.conv2d_transpose(x, w, [2, 7, 8, 3], 2, "SAME"), (2, 4, 4, 5), (3, 3, 3, 5)),
    ("conv1d_transpose_same", lambda m, x, w: m.nn.conv1d_transpose(x, w, [2, 9, 2], 2, "SAME"),
     (2, 5, 3), (3, 2, 3)),
    ("depthwise_same_stride2", lambda m, x, w: m.nn.depthwise_conv2d(x, w, [1, 2, 2, 1], "SAME"),
     (2, 7, 6, 3), (3, 3, 3, 2)),
    ("depthwise_dilated", lambda m, x, w: m.nn.depthwise_conv2d(x, w, [1, 1, 1, 1], "SAME", dilations=[2, 2]),
     (1, 6, 6, 2), (3, 3, 2, 1)),
    ("convolution_generic", lambda m, x, w: m.nn.convolution(x, w, padding="SAME"),
     (2, 6, 5, 2), (2, 3, 2, 3)),
]


@pytest.mark.oracle
@pytest.mark.parametrize("name,fn,xs,ws", TF_CASES, ids=[c[0] for c in TF_CASES])
def test_matches_tensorflow(name, fn, xs, ws):
    tfm = _tf_or_skip()
    rng = np.random.default_rng(6)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    outs = {}
    for key, m in (("ours", tf), ("tf", tfm)):
        tx, tw = m.constant(x), m.constant(w)
        with m.GradientTape() as tape:
            tape.watch([tx, tw])
            y = fn(m, tx, tw)
            loss = m.reduce_sum(y * y)
        gx, gw = tape.gradient(loss, [tx, tw])
        outs[key] = (y.numpy(), gx.numpy(), gw.numpy())
    for a, b in zip(outs["ours"], outs["tf"], strict=True):
        assert a.shape == b.shape
        _close(a, b)


@pytest.mark.oracle
def test_separable_matches_tensorflow():
    tfm = _tf_or_skip()
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    d = rng.standard_normal((3, 3, 3, 2)).astype(np.float32)
    p = rng.standard_normal((1, 1, 6, 4)).astype(np.float32)
    ours = tf.nn.separable_conv2d(x, d, p, [1, 2, 2, 1], "SAME").numpy()
    ref = tfm.nn.separable_conv2d(x, d, p, [1, 2, 2, 1], "SAME").numpy()
    _close(ours, ref)


# ---------------------------------------------------------------------------------------------
# Devices, dtypes, symbolic inputs
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("device", available_devices())
def test_conv_on_each_device(device):
    rng = np.random.default_rng(8)
    x_np = rng.standard_normal((2, 6, 6, 3))
    w_np = rng.standard_normal((3, 3, 3, 4))
    with tf.device(device):
        x = tf.constant(x_np.astype(np.float32))
        w = tf.Variable(w_np.astype(np.float32))
        with tf.GradientTape() as tape:
            y = tf.nn.conv2d(x, w, 1, "SAME")
        (dw,) = tape.gradient(y, [w])
    assert y.device == x.device and dw.device == x.device
    cpu = tf.nn.conv2d(x_np.astype(np.float32), w_np.astype(np.float32), 1, "SAME").numpy()
    np.testing.assert_allclose(y.numpy(), cpu, rtol=1e-5, atol=1e-5)


def test_float32_stays_float32_and_float64_stays_float64(algorithm):
    for dt in (np.float32, np.float64):
        x = tf.constant(np.ones((1, 6, 6, 2), dt))
        w = tf.constant(np.ones((3, 3, 2, 2), dt))
        assert tf.nn.conv2d(x, w, 1, "SAME").dtype == tf.as_dtype(dt)


def test_symbolic_input_gives_symbolic_output():
    from tapeflow.graph import SymbolicTensor

    x = SymbolicTensor((None, 8, 8, 3))
    w = tf.constant(np.ones((3, 3, 3, 5), np.float32))
    y = tf.nn.conv2d(x, w, 2, "SAME")
    assert tuple(y.shape) == (None, 4, 4, 5)


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------

def test_wrong_rank_names_op_and_expected_rank():
    w = np.ones((3, 3, 1, 2), np.float32)
    with pytest.raises(ValueError, match=r"Conv2D: expected input of rank 4.*\(28, 28, 1\)"):
        tf.nn.conv2d(np.ones((28, 28, 1), np.float32), w, 1, "SAME")
    with pytest.raises(ValueError, match=r"Conv1D: expected input of rank 3"):
        tf.nn.conv1d(np.ones((5, 2), np.float32), np.ones((2, 2, 2), np.float32), 1, "SAME")
    with pytest.raises(ValueError, match=r"Conv2D: expected filters of rank 4.*\(3, 3, 1\)"):
        tf.nn.conv2d(np.ones((1, 5, 5, 1), np.float32), np.ones((3, 3, 1), np.float32), 1, "SAME")


def test_kernel_larger_than_valid_input_names_both_sizes():
    with pytest.raises(ValueError, match=r"Conv2D: the window size 5 is larger than the input size 3"):
        tf.nn.conv2d(np.ones((1, 3, 8, 1), np.float32), np.ones((5, 5, 1, 2), np.float32), 1, "VALID")
    with pytest.raises(ValueError, match=r"dilated to 5.*larger than the input size 4"):
        tf.nn.conv2d(np.ones((1, 4, 8, 1), np.float32), np.ones((3, 3, 1, 2), np.float32), 1, "VALID",
                     dilations=2)


def test_channel_mismatch_names_both_counts():
    with pytest.raises(ValueError, match=r"Conv2D: the input has 3 channels but the filters expect 2"):
        tf.nn.conv2d(np.ones((1, 5, 5, 3), np.float32), np.ones((3, 3, 2, 4), np.float32), 1, "SAME")
    with pytest.raises(ValueError, match=r"DepthwiseConv2dNative: the input has 3 channels but the filter "
                                         r"expects 2"):
        tf.nn.depthwise_conv2d(np.ones((1, 5, 5, 3), np.float32), np.ones((3, 3, 2, 1), np.float32),
                               [1, 1, 1, 1], "SAME")
    with pytest.raises(ValueError,
                       match=r"Conv2DTranspose: the input has 4 channels but the filters expect 5"):
        tf.nn.conv2d_transpose(np.ones((1, 3, 3, 4), np.float32), np.ones((3, 3, 2, 5), np.float32),
                               (1, 6, 6, 2), 2)


def test_bad_arguments():
    x = np.ones((1, 5, 5, 2), np.float32)
    w = np.ones((3, 3, 2, 2), np.float32)
    with pytest.raises(ValueError, match="padding must be 'SAME' or 'VALID'"):
        tf.nn.conv2d(x, w, 1, "FULL")
    with pytest.raises(ValueError, match="strides in the batch and channel dimensions must be 1"):
        tf.nn.conv2d(x, w, [2, 1, 1, 1], "SAME")
    with pytest.raises(ValueError, match="data_format must be one of"):
        tf.nn.conv2d(x, w, 1, "SAME", data_format="NWC")
    with pytest.raises(ValueError, match="explicit padding of the batch and channel"):
        tf.nn.conv2d(x, w, 1, [[1, 0], [1, 1], [1, 1], [0, 0]])
    with pytest.raises(TypeError, match="same dtype"):
        tf.nn.conv2d(tf.constant(x), tf.constant(w.astype(np.float64)), 1, "SAME")
    with pytest.raises(ValueError, match=r"output_shape \(7, 7\) is inconsistent"):
        tf.nn.conv2d_transpose(np.ones((1, 3, 3, 2), np.float32), w, (1, 7, 7, 2), 2, "SAME")


def test_gradient_check_is_able_to_fail():
    """Guard: a deliberately wrong gradient is caught by the checker used above."""
    @tf.custom_gradient
    def bad_conv(x):
        y = tf.nn.conv2d(x, tf.ones((3, 3, 1, 1), tf.float64), 1, "SAME")
        return y, lambda dy: dy * 2.0
    with pytest.raises(AssertionError):
        check_gradients(bad_conv, [np.random.default_rng(0).standard_normal((1, 4, 4, 1))])
