"""tf.image codecs (Pillow) against TensorFlow: each side decodes the other's files to the same
pixels; formats, channels, dtypes, hostile and malformed data."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf

pytest.importorskip("PIL")
rng = np.random.default_rng(9)
RGB = (rng.random((6, 7, 3)) * 255).astype("uint8")
SMOOTH = np.clip(np.add.outer(np.arange(16) * 8, np.arange(16) * 6)[..., None] + [0, 30, 60], 0, 255).astype("uint8")


@pytest.mark.oracle
def test_png_round_trips_with_tensorflow():
    tft = pytest.importorskip("tensorflow")
    for img in (RGB, RGB[..., :1], RGB[..., :2], np.concatenate([RGB, RGB[..., :1]], -1)):
        ours = tf.image.encode_png(img)
        assert ours.dtype == tf.string and ours.shape == ()
        np.testing.assert_array_equal(tft.image.decode_png(ours.numpy()).numpy(), img)
        theirs = tft.image.encode_png(img).numpy()
        np.testing.assert_array_equal(tf.image.decode_png(theirs).numpy(), img)
        for channels in (1, 3, 4):  # to gray, libpng and Pillow may round one step apart
            ours_c = tf.image.decode_png(theirs, channels=channels).numpy().astype(int)
            theirs_c = tft.image.decode_png(theirs, channels=channels).numpy()
            assert ours_c.shape == theirs_c.shape and np.abs(ours_c - theirs_c).max() <= 1
    wide = tft.image.decode_png(tft.image.encode_png(RGB).numpy(), dtype=tft.uint16).numpy()
    np.testing.assert_array_equal(tf.image.decode_png(tf.image.encode_png(RGB), dtype="uint16").numpy(), wide)
    deep = (rng.random((4, 5, 1)) * 65535).astype("uint16")
    np.testing.assert_array_equal(tft.image.decode_png(tf.image.encode_png(deep).numpy(), dtype=tft.uint16), deep)


@pytest.mark.oracle
def test_jpeg_and_decode_image_with_tensorflow():
    tft = pytest.importorskip("tensorflow")
    theirs = tft.image.encode_jpeg(SMOOTH, quality=90).numpy()
    ours = tf.image.decode_jpeg(theirs).numpy()
    assert np.abs(ours.astype(int) - tft.image.decode_jpeg(theirs).numpy()).max() <= 3  # two IDCTs
    back = tft.image.decode_jpeg(tf.image.encode_jpeg(SMOOTH, quality=90).numpy()).numpy()
    assert np.abs(back.astype(int) - SMOOTH).mean() < 4
    assert bool(tf.image.is_jpeg(theirs).numpy()) and not bool(tf.image.is_jpeg(tf.image.encode_png(RGB)).numpy())
    np.testing.assert_array_equal(tf.image.extract_jpeg_shape(theirs).numpy(), [16, 16, 3])
    assert tf.image.decode_jpeg(theirs, ratio=2).shape == (8, 8, 3)
    crop = tf.image.decode_and_crop_jpeg(theirs, [2, 3, 5, 6]).numpy().astype(int)
    assert np.abs(crop - tft.image.decode_and_crop_jpeg(theirs, [2, 3, 5, 6]).numpy()).max() <= 3
    png = tft.image.encode_png(RGB).numpy()
    as_float = tf.image.decode_image(png, dtype="float32")
    assert as_float.dtype == tf.float32
    np.testing.assert_allclose(as_float.numpy(), tft.image.decode_image(png, dtype=tft.float32).numpy(), atol=1e-6)
    assert tf.image.decode_image(png, channels=1).shape == tft.image.decode_image(png, channels=1).shape
    adjusted = tf.image.adjust_jpeg_quality(SMOOTH.astype("float32") / 255, 80)
    assert adjusted.dtype == tf.float32 and np.abs(adjusted.numpy() - SMOOTH / 255).mean() < 0.02


def test_gif_and_errors():
    import io
    import struct
    import zlib

    from PIL import Image

    frames = [Image.fromarray(RGB), Image.fromarray(255 - RGB)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    gif = buf.getvalue()
    assert tf.image.decode_gif(gif).shape == (2, 6, 7, 3)
    assert tf.image.decode_image(gif).shape == (2, 6, 7, 3)
    assert tf.image.decode_image(gif, expand_animations=False).shape == (6, 7, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="decode_png"):
        tf.image.decode_png(b"not an image")
    with pytest.raises(tf.errors.InvalidArgumentError, match="scalar tf.string"):
        tf.image.decode_png([b"a", b"b"])
    with pytest.raises(tf.errors.InvalidArgumentError, match="encode_png"):
        tf.image.encode_png(RGB.astype("float32"))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 40000, 40000, 8, 0, 0, 0, 0)  # a tiny PNG claiming 1.6 gigapixels
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    with pytest.raises(tf.errors.InvalidArgumentError, match="too large"):
        tf.image.decode_png(bomb)
