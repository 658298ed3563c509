"""tf.quantization against TensorFlow: fake quantization (values bit for bit, straight-through
gradients), quantize / dequantize in the three modes, quantize_and_dequantize(_v2), quantized_concat.

TF's 8-bit quantize/dequantize run oneDNN kernels when its oneDNN options are on (the default),
which round differently from TF's reference kernels; the 8-bit cases are therefore checked against
values recorded from TF's reference kernels (TF_ENABLE_ONEDNN_OPTS=0), the 16-bit ones live.
"""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.errors import InvalidArgumentError

q = tf.quantization
RNG = np.random.default_rng(0)
X = (RNG.standard_normal((4, 5, 3)) * 4).astype(np.float32)
X.flat[:3] = [-6.0, 6.0, 0.0]
DY = RNG.standard_normal(X.shape).astype(np.float32)
RANGES = [(-6.0, 6.0), (-0.3, 2.7), (0.5, 3.0), (-5.0, -1.0), (-1e-3, 1e-3)]


def _ints(t):
    a = np.asarray(t.numpy())
    return a.view(a.dtype.fields[a.dtype.names[0]][0]) if a.dtype.names else a


@pytest.fixture(scope="module")
def ttf():
    return pytest.importorskip("tensorflow")


@pytest.mark.oracle
@pytest.mark.parametrize("num_bits", [2, 4, 8, 16])
@pytest.mark.parametrize("narrow_range", [False, True])
def test_fake_quant_values_and_gradients_match_tf(ttf, num_bits, narrow_range):
    for lo, hi in RANGES:
        ours = q.fake_quant_with_min_max_args(X, lo, hi, num_bits, narrow_range).numpy()
        theirs = ttf.quantization.fake_quant_with_min_max_args(X, lo, hi, num_bits, narrow_range).numpy()
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(q.fake_quant_with_min_max_vars(X, lo, hi, num_bits, narrow_range).numpy(), theirs)
        np.testing.assert_array_equal(
            q.fake_quant_with_min_max_args_gradient(DY, X, lo, hi, num_bits, narrow_range).numpy(),
            ttf.quantization.fake_quant_with_min_max_args_gradient(DY, X, lo, hi, num_bits, narrow_range).numpy())
        g = q.fake_quant_with_min_max_vars_gradient(DY, X, lo, hi, num_bits, narrow_range)
        G = ttf.quantization.fake_quant_with_min_max_vars_gradient(DY, X, lo, hi, num_bits, narrow_range)
        for a, b in zip(g, G, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)
    lo = np.array([-1.0, 0.0, 0.5], np.float32)
    hi = np.array([1.0, 0.0, 3.0], np.float32)   # channel 1: min == max == 0 gives 0 and passes dy
    np.testing.assert_array_equal(
        q.fake_quant_with_min_max_vars_per_channel(X, lo, hi, num_bits, narrow_range).numpy(),
        ttf.quantization.fake_quant_with_min_max_vars_per_channel(X, lo, hi, num_bits, narrow_range).numpy())
    g = q.fake_quant_with_min_max_vars_per_channel_gradient(DY, X, lo, hi, num_bits, narrow_range)
    G = ttf.quantization.fake_quant_with_min_max_vars_per_channel_gradient(DY, X, lo, hi, num_bits, narrow_range)
    for a, b in zip(g, G, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.oracle
def test_fake_quant_tape_gradients_match_tf(ttf):
    def grads(mod, per_channel):
        lo = mod.Variable([-1.0, -2.0, 0.0] if per_channel else -1.5)
        hi = mod.Variable([1.0, 2.5, 3.0] if per_channel else 2.0)
        x = mod.constant(X)
        with mod.GradientTape() as tape:
            tape.watch(x)
            fn = (mod.quantization.fake_quant_with_min_max_vars_per_channel if per_channel
                  else mod.quantization.fake_quant_with_min_max_vars)
            loss = mod.reduce_sum(fn(x, lo, hi, num_bits=5) * DY)
            loss2 = mod.reduce_sum(mod.quantization.fake_quant_with_min_max_args(x, -2.0, 2.0) * DY)
        return [t.numpy() for t in tape.gradient([loss, loss2], [x, lo, hi])]

    for per_channel in (False, True):
        for a, b in zip(grads(tf, per_channel), grads(ttf, per_channel), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_fake_quant_errors():
    with pytest.raises(InvalidArgumentError, match="min has to be smaller than max"):
        q.fake_quant_with_min_max_args(X, 1.0, 1.0)
    with pytest.raises(InvalidArgumentError, match="num_bits must be between 2 and 16"):
        q.fake_quant_with_min_max_vars(X, -1.0, 1.0, num_bits=1)
    with pytest.raises(InvalidArgumentError, match=r"min must have shape \[3\]"):
        q.fake_quant_with_min_max_vars_per_channel(X, [0.0, 1.0], [1.0, 2.0])


@pytest.mark.oracle
@pytest.mark.parametrize("T", ["qint16", "quint16"])
@pytest.mark.parametrize("mode", ["MIN_COMBINED", "MIN_FIRST", "SCALED"])
def test_quantize_dequantize_16_bit_match_tf(ttf, T, mode):
    for lo, hi, emr in [(0.0, 6.0, 0.01), (-6.0, 6.0, 0.01), (-1.0, 2.5, 0.0), (1.0, 2.0, 0.01), (0.0, 0.0, 0.01),
                        (-3.0, -1.0, 0.01)]:
        for nr in ([False, True] if mode == "SCALED" else [False]):
            rm = "HALF_TO_EVEN" if mode == "SCALED" and nr else "HALF_AWAY_FROM_ZERO"
            o = ttf.quantization.quantize(X, lo, hi, getattr(ttf, T), mode=mode, round_mode=rm, narrow_range=nr,
                                          ensure_minimum_range=emr)
            p = q.quantize(X, lo, hi, getattr(tf, T), mode=mode, round_mode=rm, narrow_range=nr,
                           ensure_minimum_range=emr)
            assert p.output.dtype == getattr(tf, T)
            np.testing.assert_array_equal(_ints(p.output), o.output.numpy())
            assert float(p.output_min) == float(o.output_min) and float(p.output_max) == float(o.output_max)
            d = ttf.quantization.dequantize(o.output, o.output_min, o.output_max, mode=mode, narrow_range=nr)
            np.testing.assert_array_equal(
                q.dequantize(p.output, p.output_min, p.output_max, mode=mode, narrow_range=nr).numpy(), d.numpy())


# Recorded from TF 2.21's reference kernels (TF_ENABLE_ONEDNN_OPTS=0), input X8.
X8 = np.array([-6.5, -3.1, -0.7, 0.0, 0.26, 1.7, 4.49, 6.2], np.float32)
GOLDEN_8_BIT = [
    ("qint8", "MIN_COMBINED", -1.0, 2.5, False, "HALF_AWAY_FROM_ZERO", [-128, -128, -106, -55, -36, 69, 127, 127],
     -1.0, 2.5, [-1.0, -1.0, -0.698039174079895, 0.00196075439453125, 0.2627451419830322, 1.7039215564727783, 2.5,
                 2.5]),
    ("qint8", "MIN_FIRST", -6.0, 6.0, False, "HALF_AWAY_FROM_ZERO", [-128, -66, -15, 0, 6, 36, 95, 127], -6.0, 6.0,
     [-6.023529529571533, -3.105882406234741, -0.7058823704719543, 0.0, 0.2823529541492462, 1.6941176652908325,
      4.470588207244873, 5.976470470428467]),
    ("qint8", "SCALED", -3.0, 5.0, True, "HALF_TO_EVEN", [-127, -79, -18, 0, 7, 43, 114, 127], -5.0, 5.0,
     [-5.0, -3.110236167907715, -0.7086614370346069, 0.0, 0.27559053897857666, 1.6929134130477905,
      4.488188743591309, 5.0]),
    ("qint8", "SCALED", 0.0, 6.0, False, "HALF_AWAY_FROM_ZERO", [-128, -66, -15, 0, 6, 36, 95, 127],
     -6.047244071960449, 6.0, [-6.047244071960449, -3.118110179901123, -0.7086614370346069, 0.0,
                                0.28346455097198486, 1.7007874250411987, 4.488188743591309, 6.0]),
    ("quint8", "MIN_COMBINED", -1.0, 2.5, False, "HALF_AWAY_FROM_ZERO", [0, 0, 22, 73, 92, 197, 255, 255], -1.0, 2.5,
     [-1.0, -1.0, -0.698039174079895, 0.00196075439453125, 0.2627451419830322, 1.7039215564727783, 2.5, 2.5]),
    ("quint8", "MIN_FIRST", -6.0, 6.0, False, "HALF_AWAY_FROM_ZERO", [0, 62, 113, 128, 134, 164, 223, 255], -6.0,
     6.0, [-6.023529529571533, -3.105882406234741, -0.7058825492858887, 0.0, 0.28235292434692383, 1.694117546081543,
           4.470588207244873, 5.976470470428467]),
    ("quint8", "SCALED", -3.0, 5.0, True, "HALF_TO_EVEN", [1, 1, 1, 1, 13, 87, 229, 255], 0.019607843831181526, 5.0,
     [0.019607843831181526] * 4 + [0.2549019753932953, 1.7058824300765991, 4.490196228027344, 5.0]),
    ("quint8", "SCALED", 0.0, 6.0, False, "HALF_AWAY_FROM_ZERO", [0, 0, 0, 0, 11, 72, 191, 255], 0.0, 6.0,
     [0.0, 0.0, 0.0, 0.0, 0.25882354378700256, 1.6941176652908325, 4.494117736816406, 6.0]),
]


@pytest.mark.parametrize("case", GOLDEN_8_BIT, ids=lambda c: f"{c[0]}-{c[1]}-{c[4]}")
def test_quantize_dequantize_8_bit_match_tf_reference_kernels(case):
    T, mode, lo, hi, nr, rm, want, want_min, want_max, want_f = case
    p = q.quantize(X8, lo, hi, getattr(tf, T), mode=mode, round_mode=rm, narrow_range=nr)
    assert _ints(p.output).tolist() == want
    assert float(p.output_min) == np.float32(want_min) and float(p.output_max) == np.float32(want_max)
    d = q.dequantize(p.output, p.output_min, p.output_max, mode=mode, narrow_range=nr)
    np.testing.assert_array_equal(d.numpy(), np.array(want_f, np.float32))


def test_quantize_errors():
    with pytest.raises(InvalidArgumentError, match="only supported for mode 'SCALED'"):
        q.quantize(X8, 0.0, 1.0, tf.qint8, round_mode="HALF_TO_EVEN")
    with pytest.raises(InvalidArgumentError, match="mode must be one of"):
        q.quantize(X8, 0.0, 1.0, tf.qint8, mode="LINEAR")
    with pytest.raises(InvalidArgumentError, match="T must be one of"):
        q.quantize(X8, 0.0, 1.0, tf.int8)
    with pytest.raises(InvalidArgumentError, match="max_range must be larger"):
        q.quantize(X8, 1.0, 0.0, tf.quint8)


@pytest.mark.oracle
def test_quantize_per_axis_matches_tf(ttf):
    lo, hi = np.array([-1.0, 0.0, -4.0], np.float32), np.array([1.0, 3.0, 2.0], np.float32)
    o = ttf.quantization.quantize(X, lo, hi, ttf.qint16, mode="SCALED", axis=2)
    p = q.quantize(X, lo, hi, tf.qint16, mode="SCALED", axis=2)
    np.testing.assert_array_equal(_ints(p.output), o.output.numpy())
    np.testing.assert_array_equal(p.output_min.numpy(), o.output_min.numpy())
    d = ttf.quantization.dequantize(o.output, o.output_min, o.output_max, mode="SCALED", axis=2)
    np.testing.assert_array_equal(q.dequantize(p.output, p.output_min, p.output_max, mode="SCALED",
                                               axis=2).numpy(), d.numpy())


@pytest.mark.oracle
def test_quantize_and_dequantize_match_tf(ttf):
    for signed in (True, False):
        for nb in (2, 4, 8):
            for rg, lo, hi in [(False, -1.0, 1.0), (True, -3.0, 5.0), (True, 0.0, 2.0), (True, -2.0, -1.0)]:
                if not signed and lo < 0:
                    continue
                for rm in ("HALF_TO_EVEN", "HALF_UP"):
                    for nr in (False, True):
                        for axis in ([None, 2] if not rg else [None]):
                            args = (X, lo, hi, signed, nb, rg, rm)
                            want = ttf.quantization.quantize_and_dequantize_v2(*args, narrow_range=nr, axis=axis)
                            got = q.quantize_and_dequantize_v2(*args, narrow_range=nr, axis=axis)
                            np.testing.assert_array_equal(got.numpy(), want.numpy())
                            np.testing.assert_array_equal(
                                q.quantize_and_dequantize(*args, narrow_range=nr, axis=axis).numpy(), want.numpy())


@pytest.mark.oracle
def test_quantize_and_dequantize_gradients_match_tf(ttf):
    # float64 in, float64 out; v2 passes dy inside [input_min, input_max], the deprecated v1 everywhere.
    x64 = X.astype(np.float64)

    def grads(mod):
        x = mod.constant(x64)
        with mod.GradientTape(persistent=True) as tape:
            tape.watch(x)
            a = mod.quantization.quantize_and_dequantize_v2(x, -2.0, 3.0, range_given=True)
            b = mod.quantization.quantize_and_dequantize(x, -2.0, 3.0, range_given=True)
        return tape.gradient(a, x, output_gradients=DY.astype(np.float64)).numpy(), tape.gradient(b, x).numpy()

    for g, G in zip(grads(tf), grads(ttf), strict=True):
        assert g.dtype == np.float64
        np.testing.assert_array_equal(g, G)


@pytest.mark.oracle
def test_quantized_concat_matches_tf(ttf):
    a = np.array([[0, 100, 255]], np.uint8)
    b = np.array([[7, 128, 200]], np.uint8)
    want = ttf.quantization.quantized_concat(0, [ttf.bitcast(a, ttf.quint8), ttf.bitcast(b, ttf.quint8)],
                                             [-1.0, 0.0], [1.0, 3.0])
    got = q.quantized_concat(0, [tf.bitcast(a, tf.quint8), tf.bitcast(b, tf.quint8)], [-1.0, 0.0], [1.0, 3.0])
    np.testing.assert_array_equal(_ints(got.output), want.output.numpy())
    assert float(got.output_min) == -1.0 and float(got.output_max) == 3.0
