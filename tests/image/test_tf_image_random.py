"""tf.image random ops: seeded reproducibility, stateless determinism, ranges, and errors."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf

rng = np.random.default_rng(5)
IMG = rng.random((16, 4, 5, 3)).astype("float32")


def test_random_flips_flip_each_image_or_keep_it():
    tf.random.set_seed(3)
    out = tf.image.random_flip_left_right(IMG, seed=1).numpy()
    flipped = np.all(out == IMG[:, :, ::-1], axis=(1, 2, 3))
    kept = np.all(out == IMG, axis=(1, 2, 3))
    assert np.all(flipped | kept) and 0 < flipped.sum() < len(IMG)
    out = tf.image.random_flip_up_down(IMG[0], seed=2).numpy()
    assert np.array_equal(out, IMG[0]) or np.array_equal(out, IMG[0, ::-1])


def test_stateless_ops_depend_only_on_the_seed():
    for op, args in ((tf.image.stateless_random_flip_left_right, ()), (tf.image.stateless_random_flip_up_down, ()),
                     (tf.image.stateless_random_brightness, (0.3,)), (tf.image.stateless_random_contrast, (0.2, 1.8)),
                     (tf.image.stateless_random_saturation, (0.2, 1.8)), (tf.image.stateless_random_hue, (0.4,))):
        a = op(IMG, *args, seed=(1, 2)).numpy()
        b = op(IMG, *args, seed=(1, 2)).numpy()
        np.testing.assert_array_equal(a, b)
    crops = {tuple(tf.image.stateless_random_crop(IMG[0], (2, 2, 3), seed=(s, 0)).numpy().ravel()) for s in range(8)}
    assert len(crops) > 1
    with pytest.raises(ValueError, match="seed"):
        tf.image.stateless_random_brightness(IMG, 0.1, seed=3)


def test_random_adjustments_stay_in_their_ranges():
    tf.random.set_seed(0)
    for _ in range(3):
        delta = tf.image.random_brightness(IMG, 0.2).numpy() - IMG
        assert np.allclose(delta, delta.flat[0], atol=1e-6) and abs(delta.flat[0]) <= 0.2
    x = IMG[:1]
    mean = x.mean(axis=(1, 2), keepdims=True)
    factor = ((tf.image.random_contrast(x, 0.5, 0.6).numpy() - mean) / (x - mean)).ravel()
    assert 0.5 - 1e-3 <= np.median(factor) <= 0.6 + 1e-3
    hue = tf.image.random_hue(IMG, 0.1).numpy()
    assert hue.shape == IMG.shape and np.all((hue >= -1e-6) & (hue <= 1 + 1e-6))
    with pytest.raises(ValueError, match="random_hue"):
        tf.image.random_hue(IMG, 0.7)
    with pytest.raises(ValueError, match="upper must be > lower"):
        tf.image.random_saturation(IMG, 1.0, 0.5)
    with pytest.raises(ValueError, match="random_brightness"):
        tf.image.random_brightness(IMG, -1.0)


def test_random_crop():
    tf.random.set_seed(1)
    x = np.arange(60).reshape(3, 4, 5)
    seen = set()
    for _ in range(10):
        out = tf.image.random_crop(x, (2, 2, 3)).numpy()
        i, j, k = np.argwhere(x == out[0, 0, 0])[0]
        np.testing.assert_array_equal(out, x[i:i + 2, j:j + 2, k:k + 3])
        seen.add((i, j, k))
    assert len(seen) > 1
    with pytest.raises(ValueError, match="random_crop"):
        tf.image.random_crop(x, (4, 2, 3))


def test_sample_distorted_bounding_box_meets_its_constraints():
    tf.random.set_seed(4)
    obj = np.array([[[0.1, 0.2, 0.6, 0.5]]], "float32")
    h, w = 40, 50
    for _ in range(20):
        begin, size, box = tf.image.sample_distorted_bounding_box([h, w, 3], obj, min_object_covered=0.6,
                                                                  aspect_ratio_range=(0.5, 2.0),
                                                                  area_range=(0.1, 0.9))
        (y, x, zero), (ch, cw, minus1) = begin.numpy(), size.numpy()
        assert begin.dtype == tf.int32 and box.dtype == tf.float32 and box.shape == (1, 1, 4)
        assert zero == 0 and minus1 == -1 and 0 <= y <= h - ch and 0 <= x <= w - cw
        assert 0.1 * h * w <= ch * cw <= 0.9 * h * w and 0.5 - 0.1 <= cw / ch <= 2.0 + 0.1
        oy0, ox0, oy1, ox1 = int(0.1 * h), int(0.2 * w), int(0.6 * h), int(0.5 * w)
        inter = max(0, min(y + ch, oy1) - max(y, oy0)) * max(0, min(x + cw, ox1) - max(x, ox0))
        assert inter >= 0.6 * (oy1 - oy0) * (ox1 - ox0)
        np.testing.assert_allclose(box.numpy()[0, 0], [y / h, x / w, (y + ch) / h, (x + cw) / w], rtol=1e-6)
    a = tf.image.stateless_sample_distorted_bounding_box([h, w, 3], obj, seed=(3, 4))
    b = tf.image.stateless_sample_distorted_bounding_box([h, w, 3], obj, seed=(3, 4))
    np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
    with pytest.raises(ValueError, match="use_image_if_no_bounding_boxes"):
        tf.image.sample_distorted_bounding_box([h, w, 3], np.zeros((1, 0, 4), "float32"))
    whole = tf.image.sample_distorted_bounding_box([h, w, 3], obj, min_object_covered=1.0, area_range=(0.01, 0.02))
    np.testing.assert_array_equal(whole[1].numpy(), [h, w, -1])  # no valid crop: the whole image
