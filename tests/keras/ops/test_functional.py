"""keras.ops on Keras symbolic inputs (batch size unknown): Functional models built from ops
equal the eager ops on the same data."""

from __future__ import annotations

import numpy as np
import pytest

from tapeflow import keras
from tapeflow.keras import ops

rng = np.random.default_rng(0)
X = rng.normal(size=(3, 4)).astype("float32")
S = rng.normal(size=(3, 4, 4)).astype("float32")
I = rng.normal(size=(3, 6, 6, 2)).astype("float32")  # noqa: E741
Q = rng.normal(size=(3, 5, 2, 4)).astype("float32")
SIG = rng.normal(size=(3, 16)).astype("float32")
RGB = np.abs(I[..., :1].repeat(3, -1)) % 1

CASES = [
("mean", X, lambda x: ops.mean(x, axis=-1)),
    ("quantile", X, lambda x: ops.quantile(x, 0.5, axis=-1)),
    ("median", X, lambda x: ops.median(x, axis=-1)),
    ("sort", X, lambda x: ops.sort(x, axis=-1)),
    ("argsort+take", X, lambda x: ops.take_along_axis(x, ops.argsort(x, axis=-1), axis=-1)),
    ("top_k", X, lambda x: ops.top_k(x, 2)[0]),
    ("pad", X, lambda x: ops.pad(x, ((0,0),(1,1)))),
    ("pad/reflect", X, lambda x: ops.pad(x, ((0,0),(1,1)), mode="reflect")),
    ("roll", X, lambda x: ops.roll(x, 1, axis=-1)),
    ("tril", S, lambda x: ops.tril(x)),
    ("diagonal", S, lambda x: ops.diagonal(x, axis1=1, axis2=2)),
    ("trace", S, lambda x: ops.trace(x, axis1=1, axis2=2)),
    ("split", X, lambda x: ops.split(x, 2, axis=-1)[1]),
    ("repeat", X, lambda x: ops.repeat(x, 2, axis=-1)),
    ("tile", X, lambda x: ops.tile(x, (1, 2))),
    ("reshape", X, lambda x: ops.reshape(x, (-1, 2, 2))),
    ("stack", X, lambda x: ops.stack([x, x], axis=1)),
    ("cumsum", X, lambda x: ops.cumsum(x, axis=-1)),
    ("cumprod", X, lambda x: ops.cumprod(x, axis=-1)),
    ("norm", X, lambda x: ops.norm(x, axis=-1)),
    ("einsum", X, lambda x: ops.einsum("bi,ij->bj", x, np.ones((4, 2), "float32"))),
    ("attention", Q, lambda q: ops.dot_product_attention(q, q, q, is_causal=True)),
    ("sparsemax", X, lambda x: ops.sparsemax(x)),
    ("conv", I, lambda x: ops.conv(x, np.ones((3,3,2,2),'float32'), padding="same")),
    ("max_pool", I, lambda x: ops.max_pool(x, 2)),
    ("flip", X, lambda x: ops.flip(x, axis=-1)),
    ("argmax", X, lambda x: ops.argmax(x, axis=-1)),
    ("where", X, lambda x: ops.where(x > 0, x, 0.0)),
    ("logsumexp", X, lambda x: ops.logsumexp(x, axis=-1)),
    ("var", X, lambda x: ops.var(x, axis=-1)),
    ("nanmean", X, lambda x: ops.nanmean(x, axis=-1)),
    ("moments", X, lambda x: ops.moments(x, axes=[-1])[1]),
    ("layer_norm", X, lambda x: ops.layer_normalization(x)),
    ("rms_norm", X, lambda x: ops.rms_normalization(x)),
    ("normalize", X, lambda x: ops.normalize(x)),
    ("glu", X, lambda x: ops.glu(x)),
    ("softmax", X, lambda x: ops.softmax(x)),
    ("log_softmax", X, lambda x: ops.log_softmax(x)),
    ("resize", I, lambda x: ops.image.resize(x, (3, 3))),
    ("patches", I, lambda x: ops.image.extract_patches(x, 2)),
    ("affine", I, lambda x: ops.image.affine_transform(x, np.array([1,0,0.5,0,1,0.5,0,0],'float32'))),
    ("hsv", RGB, lambda x: ops.image.rgb_to_hsv(x)),
    ("gray", RGB, lambda x: ops.image.rgb_to_grayscale(x)),
    ("blur", I, lambda x: ops.image.gaussian_blur(x)),
    ("sobel", I, lambda x: ops.image.sobel_edges(x)),
    ("crop", I, lambda x: ops.image.crop_images(x, 1, 1, target_height=3, target_width=3)),
    ("adaptive", I, lambda x: ops.adaptive_average_pool(x, (2, 2))),
    ("depth_to_space", I, lambda x: ops.depth_to_space(ops.tile(x, (1,1,1,2)), 2)),
    ("one_hot", X, lambda x: ops.one_hot(ops.argmax(x, axis=-1), 4)),
    ("cast", X, lambda x: ops.cast(x, "int32")),
    ("fft", X, lambda x: ops.rfft(x)[0]),
    ("stft", SIG, lambda x: ops.stft(x, 8, 4, 8)[0]),
    ("cross", X[:, :3], lambda x: ops.cross(x, x[:, ::-1])),
    ("outer-ish", X, lambda x: ops.matmul(ops.expand_dims(x, -1), ops.expand_dims(x, 1))),
    ("slice", X, lambda x: ops.slice(x, (0, 1), (3, 2))),
    ("diff", X, lambda x: ops.diff(x, axis=-1)),
    ("clip", X, lambda x: ops.clip(x, -0.5, 0.5)),
    ("searchsorted", X, lambda x: ops.searchsorted(np.array([-1.,0.,1.],'float32'), ops.ravel(x))),
    ("erfinv", X, lambda x: ops.erfinv(ops.tanh(x))),
    ("arctan2", X, lambda x: ops.arctan2(x, ops.flip(x, axis=-1))),
    ("sinc", X, lambda x: ops.sinc(x)),
    ("nan_to_num", X, lambda x: ops.nan_to_num(x)),
    ("rearrange", X, lambda x: ops.rearrange(x, "b (h w) -> b w h", h=2)),
]


@pytest.mark.parametrize("name,data,fn", CASES, ids=[c[0] for c in CASES])
def test_functional_model_of_ops_matches_eager(name, data, fn):
    inp = keras.Input(data.shape[1:])
    model = keras.Model(inp, fn(inp))
    np.testing.assert_allclose(np.asarray(model(data)), np.asarray(fn(data)), rtol=1e-5, atol=1e-5)
