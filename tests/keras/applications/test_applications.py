"""keras.applications: the architectures against Keras 3 (names, parameter counts, outputs),
imagenet weights from the Keras cache, preprocess_input and decode_predictions."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import applications
from tapeflow.keras.applications import imagenet_utils

BUILDERS = [
    "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtSmall", "ConvNeXtTiny", "ConvNeXtXLarge", "DenseNet121", "DenseNet169",
    "DenseNet201", "EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3", "EfficientNetB4",
    "EfficientNetB5", "EfficientNetB6", "EfficientNetB7", "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2",
    "EfficientNetV2B3", "EfficientNetV2L", "EfficientNetV2M", "EfficientNetV2S", "InceptionResNetV2", "InceptionV3",
    "MobileNet", "MobileNetV2", "MobileNetV3Large", "MobileNetV3Small", "NASNetLarge", "NASNetMobile", "ResNet101",
    "ResNet101V2", "ResNet152", "ResNet152V2", "ResNet50", "ResNet50V2", "VGG16", "VGG19", "Xception",
]
SUBMODULES = {
    "convnext": ["ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtSmall", "ConvNeXtTiny", "ConvNeXtXLarge"],
    "densenet": ["DenseNet121", "DenseNet169", "DenseNet201"],
    "efficientnet": [f"EfficientNetB{i}" for i in range(8)],
    "efficientnet_v2": [f"EfficientNetV2{v}" for v in ("B0", "B1", "B2", "B3", "L", "M", "S")],
    "imagenet_utils": [], "inception_resnet_v2": ["InceptionResNetV2"], "inception_v3": ["InceptionV3"],
    "mobilenet": ["MobileNet"], "mobilenet_v2": ["MobileNetV2"], "mobilenet_v3": [],
    "nasnet": ["NASNetLarge", "NASNetMobile"],
    "resnet": ["ResNet101", "ResNet152", "ResNet50"], "resnet50": ["ResNet50"],
    "resnet_v2": ["ResNet101V2", "ResNet152V2", "ResNet50V2"], "vgg16": ["VGG16"], "vgg19": ["VGG19"],
    "xception": ["Xception"],
}

# Small configurations, fast to build in both frameworks (compared live with Keras in every run).
FAST = [
    ("MobileNet", dict(alpha=0.25, include_top=False, input_shape=(32, 32, 3))),
    ("MobileNetV3Small", dict(alpha=0.75, minimalistic=True, input_shape=(32, 32, 3), classes=7)),
    ("VGG16", dict(include_top=False, input_shape=(32, 32, 3), pooling="avg")),
]
# Recorded from Keras 3.15 (`weights=None`, after `keras.backend.clear_session()`): parameter count,
# number of layers, output shape, and the first 16 hex digits of the SHA-1 of the lines
# "<layer name>:<class name>:<weight shapes>" in `model.layers` order. ConvNeXtLarge/XLarge,
# EfficientNetB7 and EfficientNetV2L (same code as their smaller siblings, 117-350M parameters) are
# compared only live, with TAPEFLOW_ORACLE_ALL_APPLICATIONS=1.
KERAS_REFERENCE = [
    ('ConvNeXtSmall', {}, 50223688, 261, (None, 1000), '7dfa6aac6d0344f5'),
    ('ConvNeXtTiny', {}, 28589128, 135, (None, 1000), 'f3bcb93f22b8a322'),
    ('DenseNet121', {}, 8062504, 429, (None, 1000), '2b0d00e63d58fe5d'),
    ('DenseNet169', {}, 14307880, 597, (None, 1000), 'acfce062d74805e5'),
    ('DenseNet201', {}, 20242984, 709, (None, 1000), 'bb6e9761c8aaf67e'),
    ('EfficientNetB0', {}, 5330571, 240, (None, 1000), '32d0849af18e49a4'),
    ('EfficientNetB1', {}, 7856239, 342, (None, 1000), 'c2ba0fe397172c28'),
    ('EfficientNetB2', {}, 9177569, 342, (None, 1000), '90b4756922927d09'),
    ('EfficientNetB3', {}, 12320535, 387, (None, 1000), '326cbccf1c68129c'),
    ('EfficientNetB4', {}, 19466823, 477, (None, 1000), 'bfd862eb734ad5b1'),
    ('EfficientNetB5', {}, 30562527, 579, (None, 1000), 'fabbb68d0a20c78d'),
    ('EfficientNetB6', {}, 43265143, 669, (None, 1000), 'a611d8f351c4f4f6'),
    ('EfficientNetV2B0', {}, 7200312, 273, (None, 1000), '83c57960e6f676e8'),
    ('EfficientNetV2B1', {}, 8212124, 337, (None, 1000), '41a2fa2ce0451058'),
    ('EfficientNetV2B2', {}, 10178374, 352, (None, 1000), '35572689c2913c8c'),
    ('EfficientNetV2B3', {}, 14467622, 412, (None, 1000), '7305e8661b461326'),
    ('EfficientNetV2M', {}, 54431388, 743, (None, 1000), 'bb981e860ff23f1c'),
    ('EfficientNetV2S', {}, 21612360, 516, (None, 1000), '559eaa597384a823'),
    ('InceptionResNetV2', {}, 55873736, 782, (None, 1000), '9487aee0f1b16dce'),
    ('InceptionV3', {}, 23851784, 313, (None, 1000), 'fcb1bfc499ceaa51'),
    ('MobileNet', {}, 4253864, 91, (None, 1000), '8be9c56e79085cff'),
    ('MobileNetV2', {}, 3538984, 156, (None, 1000), 'cb9912f26b0bd637'),
    ('MobileNetV3Large', {}, 5507432, 194, (None, 1000), '4e9c7a743a164b2f'),
    ('MobileNetV3Small', {}, 2554968, 164, (None, 1000), 'c8e3c90be2822bc7'),
    ('NASNetMobile', {}, 5326716, 771, (None, 1000), 'ae5117b7fdcab2a3'),
    ('ResNet101', {}, 44707176, 347, (None, 1000), '9f8b424ba075a0ea'),
    ('ResNet101V2', {}, 44675560, 379, (None, 1000), '33c09ada950f596c'),
    ('ResNet152', {}, 60419944, 517, (None, 1000), '498af56460040853'),
    ('ResNet152V2', {}, 60380648, 566, (None, 1000), 'f31783b1d3e8006a'),
    ('ResNet50', {}, 25636712, 177, (None, 1000), 'f605d996d22780f9'),
    ('ResNet50V2', {}, 25613800, 192, (None, 1000), '5c859b9819255519'),
    ('Xception', {}, 22910480, 134, (None, 1000), '12613f8f4eab748c'),
    ('VGG16', {'include_top': False, 'input_shape': (32, 32, 3)}, 14714688, 19, (None, 1, 1, 512), '70a49620890eea65'),
    ('VGG19', {'include_top': False, 'pooling': 'max'}, 20024384, 23, (None, 512), 'd3ef6e12c97850c8'),
    ('ConvNeXtBase', {'include_top': False, 'input_shape': (32, 32, 3), 'pooling': 'avg'},
      87566464, 260, (None, 1024), '1834fd317fe8f1e0'),
    ('NASNetLarge', {'include_top': False, 'input_shape': (32, 32, 3)},
      84916818, 1039, (None, 1, 1, 4032), 'd81432561bb1a4b4'),
    ('MobileNetV3Large', {'alpha': 1.25, 'minimalistic': True, 'include_preprocessing': False, 'include_top': False,
                          'pooling': 'avg'},
      2266328, 138, (None, 1200), '15e46f6be205c516'),
    ('EfficientNetV2B3', {'include_preprocessing': False, 'include_top': False},
      12930622, 407, (None, None, None, 1536), 'a75e9a89bb641662'),
    ('ResNet50', {'classes': 10, 'classifier_activation': None, 'input_shape': (64, 64, 3)},
      23608202, 177, (None, 10), 'c5e63fc92c20c2c6'),
    ('MobileNetV2', {'alpha': 1.4, 'include_top': False, 'input_shape': (33, 47, 3), 'pooling': 'max'},
      4363712, 155, (None, 1792), 'af356a770140e82d'),
]
# Every builder (and a few variants), compared live with Keras: minutes, so only on request.
ALL_LIVE = [(name, {}) for name in BUILDERS] + [(name, kwargs) for name, kwargs, *_ in KERAS_REFERENCE if kwargs]
LIVE_ALL = pytest.mark.skipif(not os.environ.get("TAPEFLOW_ORACLE_ALL_APPLICATIONS"),
                              reason="set TAPEFLOW_ORACLE_ALL_APPLICATIONS=1 to compare every builder with Keras "
                                     "(about 15 minutes on 2 cores)")


def _keras():
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras")


def _legacy_weights(layer) -> list:
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _build_both(name: str, kwargs: dict):
    k = _keras()
    k.backend.clear_session()
    keras.backend.clear_session()
    return getattr(k.applications, name)(weights=None, **kwargs), getattr(applications, name)(weights=None, **kwargs)


def test_namespace_has_every_keras_name():
    assert sorted(dir(applications)) == sorted(BUILDERS + list(SUBMODULES))
    for module, builders in SUBMODULES.items():
        mod = getattr(applications, module)
        for name in builders + ["decode_predictions", "preprocess_input"]:
            assert callable(getattr(mod, name)), f"{module}.{name}"
    assert keras.applications.resnet50.ResNet50 is applications.ResNet50
    with pytest.raises(AttributeError, match="RegNetX002"):
        applications.RegNetX002  # noqa: B018


@pytest.mark.oracle
def test_namespace_matches_keras():
    k = _keras()
    public = {n for n in dir(k.applications) if not n.startswith("_")}
    assert public == set(BUILDERS) | set(SUBMODULES)
    for module in SUBMODULES:
        theirs = {n for n in dir(getattr(k.applications, module)) if not n.startswith("_")}
        assert all(hasattr(getattr(applications, module), n) for n in theirs), module


def _check_same_architecture(name: str, kwargs: dict) -> None:
    km, tm = _build_both(name, kwargs)
    assert tm.name == km.name
    assert tm.count_params() == km.count_params()
    assert [layer.name for layer in tm.layers] == [layer.name for layer in km.layers]
    assert [type(layer).__name__ for layer in tm.layers] == [type(layer).__name__ for layer in km.layers]
    assert tuple(tm.output.shape) == tuple(km.output.shape)
    for kl, tl in zip(km.layers, tm.layers, strict=True):
        assert [tuple(w.shape) for w in _legacy_weights(tl)] == [
            tuple(w.shape) for w in list(kl.trainable_weights) + list(kl.non_trainable_weights)], kl.name
        assert [tuple(w.shape) for w in tl.weights] == [tuple(w.shape) for w in kl.weights], kl.name


@pytest.mark.oracle
@pytest.mark.parametrize(("name", "kwargs"), FAST, ids=[f[0] for f in FAST])
def test_architecture_matches_keras(name, kwargs):
    _check_same_architecture(name, kwargs)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "kwargs", "params", "n_layers", "output_shape", "digest"), KERAS_REFERENCE,
                         ids=[f"{r[0]}-{i}" for i, r in enumerate(KERAS_REFERENCE)])
def test_architecture_matches_recorded_keras(name, kwargs, params, n_layers, output_shape, digest):
    keras.backend.clear_session()
    model = getattr(applications, name)(weights=None, **kwargs)
    lines = "\n".join(f"{layer.name}:{type(layer).__name__}:{[tuple(w.shape) for w in layer.weights]}"
                      for layer in model.layers)
    assert (model.count_params(), len(model.layers), tuple(model.output.shape)) == (params, n_layers, output_shape)
    assert hashlib.sha1(lines.encode()).hexdigest()[:16] == digest


@pytest.mark.oracle
@pytest.mark.slow
@LIVE_ALL
@pytest.mark.parametrize(("name", "kwargs"), ALL_LIVE, ids=[f"{s[0]}-{i}" for i, s in enumerate(ALL_LIVE)])
def test_architecture_matches_keras_all(name, kwargs):
    _check_same_architecture(name, kwargs)


def _copy_perturbed_weights(km, tm, seed: int = 0) -> None:
    """Keras's random weights with batch-norm statistics and biases moved off their defaults, in both."""
    rng = np.random.default_rng(seed)
    for kl in km.layers:
        if not kl.weights:
            continue
        values = []
        for w in kl.weights:
            v = np.asarray(w.numpy())
            if "variance" in w.path:
                v = rng.uniform(0.5, 1.5, size=w.shape)
            elif any(part in w.path for part in ("mean", "beta", "bias")):
                v = rng.normal(0, 0.1, size=w.shape)
            elif "gamma" in w.path:
                v = rng.uniform(0.8, 1.2, size=w.shape)
            values.append(np.asarray(v, np.float32))
        kl.set_weights(values)
        tm.get_layer(kl.name).set_weights(values)


PREDICT = [
    ("MobileNet", dict(alpha=0.25, input_shape=(32, 32, 3), include_top=False)),
]
PREDICT_SLOW = [
    ("EfficientNetB0", dict(include_top=False, input_shape=(32, 32, 3))),
]
PREDICT_ALL = PREDICT_SLOW + [
    ("MobileNetV3Small", dict(include_top=False, input_shape=(32, 32, 3))),
    ("EfficientNetV2B0", dict(include_top=False, input_shape=(32, 32, 3))),
    ("ConvNeXtTiny", dict(include_top=False, input_shape=(32, 32, 3))),
    ("InceptionResNetV2", dict(include_top=False, input_shape=(75, 75, 3))),
    ("NASNetMobile", dict(include_top=False, input_shape=(32, 32, 3))),
    ("ResNet50V2", dict(input_shape=(32, 32, 3), include_top=False)),
    ("DenseNet121", dict(input_shape=(32, 32, 3), include_top=False)),
    ("MobileNetV2", dict(input_shape=(32, 32, 3), classes=10)),
    ("Xception", dict(input_shape=(71, 71, 3), include_top=False)),
    ("InceptionV3", dict(input_shape=(75, 75, 3), include_top=False)),
]


def _check_same_predictions(name: str, kwargs: dict) -> None:
    km, tm = _build_both(name, kwargs)
    _copy_perturbed_weights(km, tm)
    x = np.random.default_rng(1).uniform(0, 255, size=(2,) + tuple(kwargs["input_shape"])).astype(np.float32)
    expected = np.asarray(km(x, training=False))
    got = tm(x, training=False).numpy()
    np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-4 * float(np.abs(expected).max()))


@pytest.mark.oracle
@pytest.mark.parametrize(("name", "kwargs"), PREDICT, ids=[p[0] for p in PREDICT])
def test_predictions_match_keras(name, kwargs):
    _check_same_predictions(name, kwargs)


@pytest.mark.oracle
@pytest.mark.slow
@pytest.mark.parametrize(("name", "kwargs"), PREDICT_SLOW, ids=[p[0] for p in PREDICT_SLOW])
def test_predictions_match_keras_slow(name, kwargs):
    _check_same_predictions(name, kwargs)


@pytest.mark.oracle
@pytest.mark.slow
@LIVE_ALL
@pytest.mark.parametrize(("name", "kwargs"), PREDICT_ALL, ids=[p[0] for p in PREDICT_ALL])
def test_predictions_match_keras_all(name, kwargs):
    _check_same_predictions(name, kwargs)


# --- imagenet weights from the Keras cache ---------------------------------------------------------------------


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    return tmp_path


def _save_legacy_h5(km, path) -> None:
    h5py = pytest.importorskip("h5py")
    from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

    with h5py.File(path, "w") as f:
        save_weights_to_hdf5_group(f, km)


@pytest.mark.oracle
def test_imagenet_weights_load_from_keras_cache_by_topology(keras_home):
    """Keras's MobileNetV3Small weights written as Keras writes its application files, read by
    `weights="imagenet"` from `$KERAS_HOME/models` (SE branches and residual adds: the layer order
    must be Keras's for topology loading)."""
    k = _keras()
    kwargs = dict(minimalistic=False, include_top=False, input_shape=(32, 32, 3))
    km = k.applications.MobileNetV3Small(weights=None, **kwargs)
    tm0 = applications.MobileNetV3Small(weights=None, **kwargs)
    _copy_perturbed_weights(km, tm0, seed=3)
    (keras_home / "models").mkdir()
    target = keras_home / "models" / "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"
    _save_legacy_h5(km, target)
    with pytest.warns(UserWarning) as record:
        tm = applications.MobileNetV3Small(weights="imagenet", **kwargs)
    messages = [str(w.message) for w in record]
    assert any("rows` is not 224" in m for m in messages)
    assert any("does not have the hash Keras publishes" in m for m in messages)
    x = np.random.default_rng(2).uniform(0, 255, size=(2, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(tm(x).numpy(), np.asarray(km(x)), rtol=1e-4, atol=1e-4)
    # The same file given as a path loads the same way.
    tm2 = applications.MobileNetV3Small(weights=str(target), **kwargs)
    np.testing.assert_allclose(tm2(x).numpy(), tm(x).numpy())
    # Keras 3 `.weights.h5` files (paths by layer order and class) go both ways.
    km.save_weights(str(keras_home / "k.weights.h5"))
    tm3 = applications.MobileNetV3Small(weights=str(keras_home / "k.weights.h5"), **kwargs)
    np.testing.assert_allclose(tm3(x).numpy(), np.asarray(km(x)), rtol=1e-4, atol=1e-4)
    tm3.save_weights(str(keras_home / "t.weights.h5"))
    km3 = k.applications.MobileNetV3Small(weights=str(keras_home / "t.weights.h5"), **kwargs)
    np.testing.assert_array_equal(np.asarray(km3(x)), np.asarray(km(x)))


def test_imagenet_weights_missing_say_where_to_put_them(keras_home):
    with pytest.raises(FileNotFoundError) as info:
        applications.MobileNet(weights="imagenet", alpha=0.25, include_top=False, input_shape=(128, 128, 3))
    message = str(info.value)
    assert "mobilenet_2_5_128_tf_no_top.h5" in message
    assert os.path.join(str(keras_home), "models", "mobilenet_2_5_128_tf_no_top.h5") in message
    assert "weights=None" in message


def test_weights_argument_errors():
    with pytest.raises(ValueError, match="`weights` argument should be either"):
        applications.VGG16(weights="/no/such/file.h5")
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        applications.ResNet50(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="`input_shape` should be \\(224, 224, 3\\)"):
        applications.ResNet50(weights="imagenet", input_shape=(200, 200, 3))
    with pytest.raises(ValueError, match="at least 32x32"):
        applications.VGG16(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="alpha can be one of"):
        applications.MobileNet(weights="imagenet", alpha=0.3)
    with pytest.raises(ValueError, match="static `input_shape`"):
        applications.VGG16(weights=None, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="Only `None` and `softmax`"), pytest.warns(UserWarning, match="224"):
        applications.MobileNetV3Small(weights="imagenet", classifier_activation="sigmoid")


def test_input_tensor_and_training_step():
    """An application on top of another graph's tensor takes that graph's inputs; it trains."""
    tf.random.set_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(2.0)(inputs)
    model = applications.MobileNetV3Small(input_tensor=x, weights=None, alpha=0.75, minimalistic=True, classes=3,
                                          include_preprocessing=False)
    assert model.inputs[0] is inputs
    assert model.output.shape.as_list() == [None, 3]
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    images = np.random.default_rng(0).uniform(0, 1, size=(4, 32, 32, 3)).astype(np.float32)
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(images, np.array([0, 1, 2, 0]), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights, strict=True))


def test_custom_layers_round_trip_through_keras_file(tmp_path):
    from tapeflow.keras.applications.convnext import LayerScale
    from tapeflow.keras.applications.inception_resnet_v2 import CustomScaleLayer

    inputs = keras.Input((4,))
    y = LayerScale(0.5, 4)(inputs)
    y = CustomScaleLayer(0.25)([inputs, y])
    model = keras.Model(inputs, y)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    np.testing.assert_allclose(loaded(x).numpy(), x + 0.25 * 0.5 * x)


# --- preprocess_input and decode_predictions -----------------------------------------------------------------


PREPROCESS = [("vgg16", "caffe"), ("resnet_v2", "tf"), ("densenet", "torch"), ("mobilenet_v3", None),
              ("efficientnet", None), ("convnext", None), ("xception", "tf"), ("resnet50", "caffe")]


@pytest.mark.oracle
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("ndim", [3, 4])
def test_preprocess_input_matches_keras(mode, data_format, ndim):
    k = _keras()
    rng = np.random.default_rng(0)
    shape = (2, 5, 4, 3) if data_format == "channels_last" else (2, 3, 5, 4)
    x = rng.uniform(0, 255, size=shape[4 - ndim:]).astype(np.float32)
    expected = k.applications.imagenet_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
    got_np = imagenet_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
    np.testing.assert_allclose(got_np, expected, rtol=1e-6, atol=1e-5)
    got_tensor = imagenet_utils.preprocess_input(tf.constant(x), data_format=data_format, mode=mode)
    np.testing.assert_allclose(got_tensor.numpy(), expected, rtol=1e-6, atol=1e-5)


def test_preprocess_input_numpy_in_place_and_integer_input():
    x = np.full((1, 2, 2, 3), 255.0, np.float32)
    out = imagenet_utils.preprocess_input(x, mode="tf")
    assert out is x and np.all(x == 1.0)
    ints = np.zeros((2, 2, 3), np.uint8)
    out = imagenet_utils.preprocess_input(ints, mode="torch")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0], -np.array([0.485, 0.456, 0.406]) / np.array([0.229, 0.224, 0.225]),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="mode to be one of"):
        imagenet_utils.preprocess_input(x, mode="keras")
    with pytest.raises(ValueError, match="data_format to be one of"):
        imagenet_utils.preprocess_input(x, data_format="NHWC")


def test_preprocess_input_inside_a_functional_model():
    inputs = keras.Input((2, 2, 3))
    model = keras.Model(inputs, applications.vgg16.preprocess_input(inputs))
    x = np.arange(12, dtype=np.float32).reshape(1, 2, 2, 3)
    expected = imagenet_utils.preprocess_input(x.copy(), mode="caffe")
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize(("module", "mode"), PREPROCESS)
def test_family_preprocess_modes(module, mode):
    x = np.random.default_rng(0).uniform(0, 255, size=(1, 3, 3, 3)).astype(np.float32)
    got = getattr(applications, module).preprocess_input(x.copy())
    expected = x if mode is None else imagenet_utils.preprocess_input(x.copy(), mode=mode)
    np.testing.assert_array_equal(got, expected)


def _class_index() -> dict:
    return {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}


@pytest.fixture
def class_index(keras_home, monkeypatch):
    monkeypatch.setattr(imagenet_utils, "_class_index", None)
    (keras_home / "models").mkdir(exist_ok=True)
    index = _class_index()
    (keras_home / "models" / "imagenet_class_index.json").write_text(json.dumps(index))
    return index


@pytest.mark.oracle
def test_decode_predictions_matches_keras(class_index, monkeypatch):
    k = _keras()
    from keras.src.applications import imagenet_utils as keras_utils

    monkeypatch.setattr(keras_utils, "CLASS_INDEX", class_index)
    preds = np.random.default_rng(0).uniform(size=(3, 1000)).astype(np.float32)
    expected = k.applications.imagenet_utils.decode_predictions(preds, top=4)
    got = applications.resnet50.decode_predictions(tf.constant(preds), top=4)
    assert [[r[:2] for r in row] for row in got] == [[r[:2] for r in row] for row in expected]
    np.testing.assert_array_equal([[r[2] for r in row] for row in got], [[r[2] for r in row] for row in expected])


def test_decode_predictions_top_classes(class_index):
    preds = np.zeros((1, 1000), np.float32)
    preds[0, [7, 3, 999]] = [0.5, 0.3, 0.2]
    assert [r[:2] for r in imagenet_utils.decode_predictions(preds, top=3)[0]] == [
        ("n00000007", "class_7"), ("n00000003", "class_3"), ("n00000999", "class_999")]
    with pytest.raises(ValueError, match=r"shape \(samples, 1000\)"):
        imagenet_utils.decode_predictions(np.zeros((2, 10)))


def test_decode_predictions_without_class_index_says_where(keras_home, monkeypatch):
    monkeypatch.setattr(imagenet_utils, "_class_index", None)
    with pytest.raises(FileNotFoundError) as info:
        imagenet_utils.decode_predictions(np.zeros((1, 1000)))
    assert os.path.join(str(keras_home), "models", "imagenet_class_index.json") in str(info.value)
