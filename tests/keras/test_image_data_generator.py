"""tf.keras.preprocessing.image.ImageDataGenerator (guide/data cells 28-32) against Keras's legacy
module: same batches, labels and random transforms for the same NumPy seed."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tapeflow as tf

P = tf.keras.preprocessing.image


@pytest.fixture
def flowers(tmp_path):
    image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for cls in ("daisy", "roses", "tulips"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            image.fromarray(rng.integers(0, 255, (20 + i, 30, 3), dtype=np.uint8)).save(tmp_path / cls / f"{i}.png")
    (tmp_path / "LICENSE.txt").write_text("not an image")
    return str(tmp_path)


def _legacy():
    pytest.importorskip("keras", minversion="3")
    from keras.src.legacy.preprocessing import image as legacy

    return legacy


def _runs(mod, root, x):
    out = []
    gen = mod.ImageDataGenerator(rescale=1.0 / 255, rotation_range=20)
    it = gen.flow_from_directory(root, target_size=(16, 16), batch_size=4, seed=1)
    out += [it.class_indices, it.filenames, len(it), *next(it)]
    val = mod.ImageDataGenerator(validation_split=0.34).flow_from_directory(
        root, subset="validation", class_mode="sparse", target_size=(8, 8), batch_size=2, shuffle=False)
    out += [val.filenames, *val[0]]
    aug = mod.ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True, width_shift_range=0.2,
                                 height_shift_range=[1, 2], horizontal_flip=True, zoom_range=0.1, shear_range=10,
                                 channel_shift_range=5.0, fill_mode="reflect")
    aug.fit(x)
    out += [aug.mean, aug.std, *next(aug.flow(x, np.arange(len(x)), batch_size=4, seed=3))]
    np.random.seed(0)
    out.append(mod.random_zoom(x[0], (0.8, 1.2), row_axis=0, col_axis=1, channel_axis=2))
    out.append(mod.apply_affine_transform(x[1], theta=30, tx=1, ty=-2, shear=5, zx=1.1, zy=0.9, row_axis=0,
                                          col_axis=1, channel_axis=2, fill_mode="constant", cval=3.0))
    return out


def test_image_data_generator_as_keras(flowers, capsys):
    x = np.random.default_rng(1).random((5, 8, 8, 3)).astype("float32") * 255
    ours = _runs(P, flowers, x)
    assert "Found 9 images belonging to 3 classes." in capsys.readouterr().out
    assert ours[0] == {"daisy": 0, "roses": 1, "tulips": 2} and ours[2] == 3
    images, labels = ours[3], ours[4]
    assert images.shape == (4, 16, 16, 3) and images.dtype == np.float32 and 0 <= images.min() <= images.max() <= 1
    assert labels.shape == (4, 3) and labels.sum() == 4
    legacy = _legacy()
    theirs = _runs(legacy, flowers, x)
    for a, b in zip(ours, theirs, strict=True):
        if isinstance(a, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
        else:
            assert a == b


def test_generator_feeds_from_generator_and_fit(flowers):
    gen = P.ImageDataGenerator(rescale=1.0 / 255)
    ds = tf.data.Dataset.from_generator(lambda: gen.flow_from_directory(flowers, target_size=(8, 8), batch_size=3),
                                        output_types=(tf.float32, tf.float32), output_shapes=([3, 8, 8, 3], [3, 3]))
    images, labels = next(iter(ds))
    assert images.shape == (3, 8, 8, 3) and labels.shape == (3, 3)
    model = tf.keras.Sequential([tf.keras.Input((8, 8, 3)), tf.keras.layers.Flatten(), tf.keras.layers.Dense(3)])
    model.compile("sgd", tf.keras.losses.CategoricalCrossentropy(from_logits=True))
    history = model.fit(gen.flow_from_directory(flowers, target_size=(8, 8), batch_size=3), epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1
    with pytest.raises(ValueError, match="Invalid color mode"):
        gen.flow_from_directory(flowers, color_mode="cmyk")


def _frame_runs(mod, root):
    import pandas as pd

    df = pd.DataFrame({"filename": ["daisy/0.png", "roses/1.png", "tulips/2.png", "daisy/missing.png", "roses/0.png"],
                       "class": ["daisy", "roses", "tulips", "daisy", "roses"],
                       "tags": [["a"], ["a", "b"], ["b"], ["a"], []],
                       "score": [0.5, 1.5, 2.5, 3.5, 4.5], "w": [1.0, 2.0, 3.0, 4.0, 5.0]})
    gen = mod.ImageDataGenerator(rescale=1.0 / 255)
    out = []
    for kwargs in ({"y_col": "class"}, {"y_col": "class", "class_mode": "sparse", "weight_col": "w"},
                   {"y_col": "tags"}, {"y_col": "score", "class_mode": "raw"}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            it = gen.flow_from_dataframe(df, directory=root, target_size=(8, 8), batch_size=3, shuffle=False, **kwargs)
        out += [it.filenames, getattr(it, "class_indices", None), *it[0]]
    return out


def test_flow_from_dataframe_as_keras(flowers, capsys):
    pytest.importorskip("pandas")
    ours = _frame_runs(P, flowers)
    assert "Found 4 validated image filenames belonging to 3 classes." in capsys.readouterr().out
    theirs = _frame_runs(_legacy(), flowers)
    for a, b in zip(ours, theirs, strict=True):
        if isinstance(a, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-6)
        else:
            assert a == b
