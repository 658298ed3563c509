"""Gradient checks (float64 central differences) of the new primitives and of keras.ops composites."""

from __future__ import annotations

import numpy as np
import pytest

from tapeflow.keras import ops
from tapeflow.ops import extra, extra_fft, extra_linalg, extra_scatter
from tapeflow.testing import check_gradients, check_second_order

rng = np.random.default_rng(3)


def r(*shape, lo=None, hi=None):
    if lo is not None:
        return rng.uniform(lo, hi, shape)
    return rng.normal(size=shape)


def sym(a):
    return (a + extra_linalg.mT(a)) * 0.5


SPD = r(2, 3, 3)
SPD = SPD @ SPD.transpose(0, 2, 1) + 3 * np.eye(3)

DOMAINS = {"arcsin": (-0.9, 0.9), "arccos": (-0.9, 0.9), "arctanh": (-0.9, 0.9), "arccosh": (1.2, 3.0),
           "log2": (0.5, 2.0), "log10": (0.5, 2.0), "erfinv": (-0.9, 0.9), "cbrt": (0.3, 2.0)}

PRIMITIVES = [(f"unary/{name}", (lambda n: lambda x: extra.unary_math(n, x))(name),
               [r(2, 3, lo=DOMAINS.get(name, (-2, 2))[0], hi=DOMAINS.get(name, (-2, 2))[1])])
              for name in extra.UNARY_NAMES]
PRIMITIVES += [
    ("arctan2/broadcast", lambda a, b: extra.Arctan2()(a, b), [r(3, 1, 4), r(2, 4)]),
    ("fmod/broadcast", lambda a, b: extra.Fmod()(a, b), [r(3, 4, lo=1, hi=5), r(4, lo=0.6, hi=0.9)]),
    ("cumprod", lambda x: extra.Cumprod(1)(x), [r(2, 4, lo=0.5, hi=2)]),
    ("scatter_add/repeats", lambda v: extra_scatter.ScatterAdd(np.array([[0], [2], [0]]), (3, 2))(v), [r(3, 2)]),
    ("scatter_nd/repeats", lambda v: extra_scatter.ScatterNd((3, 2))(v, ops.convert_to_tensor([[0], [2], [0]])),
     [r(3, 2)]),
    ("gather_along/repeats", lambda x: extra_scatter.GatherAlong(1)(x, ops.convert_to_tensor([[0, 0, 2], [1, -1, 0]])),
     [r(2, 3)]),
    ("gather_along/broadcast", lambda x: extra_scatter.GatherAlong(1)(x, ops.convert_to_tensor([[0, 0], [2, 1]])),
     [r(1, 3)]),
    ("solve/batched", lambda a, b: extra_linalg.Solve()(a, b), [SPD, r(2, 3, 2)]),
    ("det", lambda a: extra_linalg.Det()(a), [r(2, 3, 3)]),
    ("logabsdet", lambda a: extra_linalg.LogAbsDet()(a), [r(2, 3, 3)]),
    ("cholesky", lambda a: extra_linalg.Cholesky()(sym(a)), [SPD]),
    ("eigh", lambda a: list(extra_linalg.Eigh()(sym(a))), [SPD]),
    ("qr", lambda a: list(extra_linalg.Qr("reduced")(a)), [r(4, 3)]),
    ("svd/values", lambda a: extra_linalg.Svd(False, False)(a), [r(4, 3)]),
    ("svd/u", lambda a: extra_linalg.Svd(False, True)(a)[0], [r(4, 3)]),
    ("svd/vh/wide", lambda a: extra_linalg.Svd(False, True)(a)[2], [r(2, 3, 5)]),
    ("svd/all/square", lambda a: list(extra_linalg.Svd(True, True)(a)), [r(3, 3)]),
    ("pinv/tall", lambda a: extra_linalg.Pinv(1e-15)(a), [r(4, 3)]),
    ("pinv/wide", lambda a: extra_linalg.Pinv(1e-15)(a), [r(2, 5)]),
    ("fft", lambda a, b: list(extra_fft.FFT("fft", 1)(a, b)), [r(2, 6), r(2, 6)]),
    ("ifft2", lambda a, b: list(extra_fft.FFT("ifft", 2)(a, b)), [r(3, 4), r(3, 4)]),
    ("rfft/padded", lambda a: list(extra_fft.FFT("rfft", 1, 8)(a, a * 0)), [r(2, 6)]),
    ("irfft/odd", lambda a, b: list(extra_fft.FFT("irfft", 1, 7)(a, b)), [r(2, 4), r(2, 4)]),
]


@pytest.mark.parametrize("name,fn,inputs", PRIMITIVES, ids=[p[0] for p in PRIMITIVES])
def test_primitive_gradients(name, fn, inputs):
    check_gradients(fn, inputs, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name,fn,inputs", [p for p in PRIMITIVES if p[0] in (
    "unary/sinh", "unary/arctan", "unary/erfinv", "arctan2/broadcast", "solve/batched", "cholesky",
    "gather_along/repeats",
    "fft", "irfft/odd")], ids=lambda v: v if isinstance(v, str) else "")
def test_second_order(name, fn, inputs):
    check_second_order(fn, inputs, rtol=1e-4, atol=1e-6)


COMPOSITES = [
    ("logaddexp", lambda a, b: ops.logaddexp(a, b), [r(3, 1), r(4)]),
    ("hypot", lambda a, b: ops.hypot(a, b), [r(3, 4), r(4)]),
    ("sinc", lambda x: ops.sinc(x), [r(5)]),
    ("quantile", lambda x: ops.quantile(x, np.array([0.3, 0.8]), axis=1), [r(3, 5)]),
    ("median", lambda x: ops.median(x, axis=0), [r(4, 3)]),
    ("nanmean", lambda x: ops.nanmean(x, axis=1), [r(3, 4)]),
    ("var", lambda x: ops.var(x, axis=(0, 2)), [r(2, 3, 4)]),
    ("take_along_axis/repeats", lambda x: ops.take_along_axis(x, np.array([[0, 0, 2]]), axis=1), [r(3, 4)]),
    ("take", lambda x: ops.take(x, np.array([[1, -1], [1, 1]]), axis=0), [r(3, 2)]),
    ("roll", lambda x: ops.roll(x, (1, -2), axis=(0, 1)), [r(3, 4)]),
    ("diag/vector", lambda x: ops.diag(x, k=-1), [r(3)]),
    ("trace", lambda x: ops.trace(x, offset=1), [r(3, 4)]),
    ("cross", lambda a, b: ops.cross(a, b), [r(2, 3), r(2, 3)]),
    ("kron", lambda a, b: ops.kron(a, b), [r(2, 2), r(2, 3)]),
    ("correlate/full", lambda a, b: ops.correlate(a, b, mode="full"), [r(5), r(3)]),
    ("norm/nuc", lambda x: ops.norm(x, ord="nuc"), [r(3, 3)]),
    ("norm/p3", lambda x: ops.norm(x, ord=3, axis=1), [r(2, 4)]),
    ("segment_max", lambda x: ops.segment_max(x, np.array([0, 0, 1, 1]), 3)[:2], [r(4, 2)]),
    ("segment_prod", lambda x: ops.segment_prod(x, np.array([0, 1, 1, 0])), [r(4, lo=0.5, hi=2)]),
    ("sparsemax", lambda x: ops.sparsemax(x), [r(2, 5)]),
    ("normalize", lambda x: ops.normalize(x, axis=0), [r(3, 4)]),
    ("layer_normalization", lambda x, g: ops.layer_normalization(x, g), [r(2, 4), r(4)]),
    ("dot_product_attention/causal", lambda q, k, v: ops.dot_product_attention(q, k, v, is_causal=True),
     [r(1, 3, 2, 4), r(1, 3, 2, 4), r(1, 3, 2, 4)]),
    ("conv_transpose", lambda x, k: ops.conv_transpose(x, k, strides=2, padding="same"),
     [r(1, 3, 3, 2), r(3, 3, 4, 2)]),
    ("adaptive_max_pool", lambda x: ops.adaptive_max_pool(x, (2, 2)), [r(1, 5, 5, 2)]),
    ("unfold+fold", lambda x: ops.fold(ops.unfold(x, 2, stride=1), (4, 4), 2), [r(1, 2, 4, 4)]),
    ("ctc_loss", lambda z: ops.ctc_loss(np.array([[1, 1, 2]]), z, np.array([3]), np.array([6])),
     [r(1, 6, 3)]),
    ("binary_crossentropy/logits", lambda t, z: ops.binary_crossentropy(t, z, from_logits=True),
     [r(3, 2, lo=0, hi=1), r(3, 2)]),
    ("resize/bicubic", lambda x: ops.image.resize(x, (5, 3), interpolation="bicubic"), [r(1, 4, 4, 1)]),
    ("affine_transform", lambda x: ops.image.affine_transform(
        x, np.array([0.9, 0.1, 0.3, -0.1, 1.1, 0.2, 0.0, 0.0]), fill_mode="reflect"), [r(1, 4, 5, 2)]),
    ("rgb_to_hsv", lambda x: ops.image.rgb_to_hsv(x), [r(1, 2, 2, 3, lo=0.1, hi=0.9)]),
    ("stft", lambda x: list(ops.stft(x, 6, 2, 8)), [r(2, 12)]),
    ("istft", lambda a, b: ops.istft((a, b), 8, 4, 8), [r(3, 5), r(3, 5)]),
    ("cholesky_inverse", lambda a: ops.cholesky_inverse(ops.cholesky(sym(a))), [SPD[0]]),
    ("lstsq", lambda a, b: ops.lstsq(a, b), [r(4, 2), r(4)]),
    ("slice_update", lambda x, u: ops.slice_update(x, (1, 0), u), [r(3, 3), r(1, 2)]),
    ("scatter_update", lambda x, u: ops.scatter_update(x, np.array([[0], [2], [0]]), u), [r(3, 2), r(3, 2)]),
]


@pytest.mark.parametrize("name,fn,inputs", COMPOSITES, ids=[c[0] for c in COMPOSITES])
def test_composite_gradients(name, fn, inputs):
    check_gradients(fn, inputs, rtol=1e-4, atol=1e-6)


SECOND_ORDER = [
    ("logaddexp", lambda a, b: ops.logaddexp(a, b), [r(3, 1), r(4)]),
    ("quantile", lambda x: ops.quantile(x, 0.3, axis=1), [r(3, 5)]),
    ("segment_max", lambda x: ops.segment_max(x, np.array([0, 0, 1, 1]), 2), [r(4, 2)]),
    ("resize/bilinear", lambda x: ops.square(ops.image.resize(x, (5, 3))), [r(1, 4, 4, 1)]),
    ("conv_transpose", lambda x, k: ops.conv_transpose(x, k, strides=2), [r(1, 3, 3, 2), r(3, 3, 4, 2)]),
    ("ctc_loss", lambda z: ops.ctc_loss(np.array([[1, 2]]), z, np.array([2]), np.array([4])), [r(1, 4, 3)]),
    ("svd/u", lambda a: extra_linalg.Svd(False, True)(a)[0], [r(4, 3)]),
    ("rfft", lambda a: list(ops.rfft(a)), [r(2, 6)]),
]


@pytest.mark.parametrize("name,fn,inputs", SECOND_ORDER, ids=[c[0] for c in SECOND_ORDER])
def test_composite_second_order(name, fn, inputs):
    check_second_order(fn, inputs, rtol=1e-4, atol=1e-6)
