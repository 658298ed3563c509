"""tf.lite oracle tests: Tapeflow's .tflite files run in TensorFlow's interpreter, TensorFlow's
.tflite files run in Tapeflow's, and the signature names agree."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers as L


def _tapeflow_conv_model() -> keras.Model:
    tf.keras.utils.set_random_seed(0)
    return keras.Sequential([
        L.Rescaling(1.0 / 255, input_shape=(12, 12, 3)),
        L.RandomFlip("horizontal"),
        L.Conv2D(8, 3, padding="same", activation="relu"),
        L.MaxPooling2D(),
        L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="relu6"),
        L.BatchNormalization(),
        L.Conv2D(6, 3, strides=2, padding="valid", activation="tanh"),
        L.AveragePooling2D(padding="same"),
        L.Dropout(0.2),
        L.Flatten(),
        L.Dense(16, activation="relu"),
        L.Dense(5, name="outputs"),
    ])


def _tapeflow_functional_model() -> keras.Model:
    tf.keras.utils.set_random_seed(1)
    inp = keras.Input((10, 10, 4), name="img")
    a = L.Conv2D(6, 3, padding="same", dilation_rate=2)(inp)
    a = L.ReLU(max_value=6.0)(a)
    b = L.Conv2D(6, 1, activation="sigmoid")(inp)
    s = L.Add()([a, b])
    c = L.Concatenate()([s, L.LeakyReLU(0.2)(b)])
    c = L.BatchNormalization()(c)
    g = L.GlobalAveragePooling2D()(c)
    r = L.Reshape((3, 4))(g)
    r = L.Flatten()(r)
    out = L.Dense(4, activation="softmax")(r)
    return keras.Model(inp, out)


def _tapeflow_mobilenet_v2() -> keras.Model:
    """ZeroPadding2D, DepthwiseConv2D, ReLU(6), BatchNormalization, Add, GlobalAveragePooling2D."""
    tf.keras.utils.set_random_seed(2)
    return keras.applications.MobileNetV2(input_shape=(32, 32, 3), weights=None, alpha=0.35, classes=7,
                                          classifier_activation=None)


def _randomize_bn(model: keras.Model) -> None:
    rng = np.random.default_rng(3)
    for layer in model.layers:  # statistics away from (0, 1), so folding them is tested
        if isinstance(layer, L.BatchNormalization):
            for v in (layer.moving_mean, layer.moving_variance, layer.gamma, layer.beta):
                v.assign(rng.uniform(0.5, 1.5, v.shape).astype("float32"))


@pytest.mark.parametrize("build", [_tapeflow_conv_model, _tapeflow_functional_model, _tapeflow_mobilenet_v2])
def test_tapeflow_tflite_runs_in_tensorflow(build):
    real_tf = pytest.importorskip("tensorflow")
    model = build()
    _randomize_bn(model)
    content = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    assert isinstance(content, bytes) and content[4:8] == b"TFL3"
    shape = (3,) + tuple(model.inputs[0].shape[1:])
    x = np.random.default_rng(2).uniform(0, 255 if build is _tapeflow_conv_model else 1, shape).astype("float32")
    want = model.predict(x, verbose=0)
    name = model.inputs[0].name
    oracle = real_tf.lite.Interpreter(model_content=content)
    got = oracle.get_signature_runner("serving_default")(**{name: x})["output_0"]
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    # and in Tapeflow's own interpreter, through the index-based API at batch size 1
    ours = tf.lite.Interpreter(model_content=content)
    ours.allocate_tensors()
    inp, out = ours.get_input_details()[0], ours.get_output_details()[0]
    assert list(inp["shape"]) == [1, *shape[1:]] and list(inp["shape_signature"]) == [-1, *shape[1:]]
    ours.set_tensor(inp["index"], x[:1])
    ours.invoke()
    np.testing.assert_allclose(ours.get_tensor(out["index"]), want[:1], atol=1e-5, rtol=1e-5)


@pytest.fixture(scope="module")
def tensorflow_converted():
    """A real Keras model converted by TensorFlow's converter, with TF's outputs and signatures."""
    real_tf = pytest.importorskip("tensorflow")
    rk = pytest.importorskip("keras")
    rk.utils.set_random_seed(0)
    inp = rk.Input((12, 12, 3), name="img")
    x = rk.layers.Rescaling(1.0 / 255)(inp)
    x = rk.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = rk.layers.MaxPooling2D()(x)
    y = rk.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = rk.layers.Add()([x, y])
    x = rk.layers.BatchNormalization()(x)
    a = rk.layers.GlobalAveragePooling2D()(x)
    f = rk.layers.Flatten()(rk.layers.AveragePooling2D(3, strides=2, padding="same")(x))
    x = rk.layers.Concatenate()([a, f])
    x = rk.layers.Dense(10, activation="tanh")(x)
    out = rk.layers.Dense(4, activation="softmax")(x)
    model = rk.Model(inp, out)
    content = real_tf.lite.TFLiteConverter.from_keras_model(model).convert()
    x = np.random.default_rng(5).uniform(0, 255, (2, 12, 12, 3)).astype("float32")
    runner = real_tf.lite.Interpreter(model_content=content).get_signature_runner("serving_default")
    interpreter = real_tf.lite.Interpreter(model_content=content)
    return {"content": content, "x": x, "y": runner(img=x)["output_0"], "want_y": model.predict(x, verbose=0),
            "signatures": interpreter.get_signature_list(),
            "input_keys": sorted(runner.get_input_details()["img"])}


def test_tensorflow_tflite_runs_in_tapeflow(tensorflow_converted):
    ref = tensorflow_converted
    interpreter = tf.lite.Interpreter(model_content=ref["content"])
    assert interpreter.get_signature_list() == ref["signatures"]
    ops = {op for op, *_ in interpreter._ops}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"} <= ops, ops
    got = interpreter.get_signature_runner("serving_default")(img=ref["x"])["output_0"]
    np.testing.assert_allclose(got, ref["y"], atol=1e-5, rtol=1e-5)


def test_signature_names_match_tensorflow(tensorflow_converted):
    ref = tensorflow_converted
    tf.keras.utils.set_random_seed(0)
    inp = keras.Input((12, 12, 3), name="img")
    out = L.Dense(4)(L.GlobalAveragePooling2D()(L.Conv2D(2, 3)(inp)))
    content = tf.lite.TFLiteConverter.from_keras_model(keras.Model(inp, out)).convert()
    interpreter = tf.lite.Interpreter(model_content=content)
    assert interpreter.get_signature_list() == ref["signatures"] == {
        "serving_default": {"inputs": ["img"], "outputs": ["output_0"]}}
    runner = interpreter.get_signature_runner("serving_default")
    assert sorted(runner.get_input_details()["img"]) == ref["input_keys"]


def test_model_path_and_resize(tmp_path):
    model = _tapeflow_conv_model()
    path = tmp_path / "model.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    interpreter = tf.lite.Interpreter(model_path=str(path))
    idx = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(idx, [4, 12, 12, 3])
    interpreter.allocate_tensors()
    x = np.random.default_rng(0).uniform(0, 255, (4, 12, 12, 3)).astype("float32")
    interpreter.set_tensor(idx, x)
    interpreter.invoke()
    got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_allclose(got, model.predict(x, verbose=0), atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="Dimension mismatch"):
        interpreter.set_tensor(idx, x[:2])


def test_unsupported_settings_and_layers_raise():
    model = _tapeflow_conv_model()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    with pytest.raises(tf.errors.UnimplementedError, match="optimizations=.*quantization"):
        converter.convert()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = {tf.lite.OpsSet.SELECT_TF_OPS}
    with pytest.raises(tf.errors.UnimplementedError, match="SELECT_TF_OPS"):
        converter.convert()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.representative_dataset = lambda: iter([])
    with pytest.raises(tf.errors.UnimplementedError, match="representative_dataset"):
        converter.convert()
    rnn = keras.Sequential([L.LSTM(3, input_shape=(4, 2))])
    with pytest.raises(tf.errors.UnimplementedError, match=r"layer 'lstm.*' \(LSTM\)"):
        tf.lite.TFLiteConverter.from_keras_model(rnn).convert()
    with pytest.raises(ValueError, match="model identifier"):
        tf.lite.Interpreter(model_content=b"\0" * 16)
    with pytest.raises(ValueError, match="exactly one"):
        tf.lite.Interpreter()


def _two_input_model(k, dict_out: bool):
    i, j = k.Input((3,), name="zed"), k.Input((2,), name="a")
    c = k.layers.Concatenate()([i, j])
    o1, o2 = k.layers.Dense(2)(c), k.layers.Dense(1, activation="sigmoid")(c)
    return k.Model([i, j], {"y": o1, "x": o2} if dict_out else [o1, o2])


@pytest.mark.parametrize("dict_out", [False, True])
def test_multi_input_output_signature_matches_tensorflow(dict_out):
    real_tf = pytest.importorskip("tensorflow")
    rk = pytest.importorskip("keras")
    theirs = real_tf.lite.TFLiteConverter.from_keras_model(_two_input_model(rk, dict_out)).convert()
    model = _two_input_model(keras, dict_out)
    ours = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    want_sig = real_tf.lite.Interpreter(model_content=theirs).get_signature_list()
    assert tf.lite.Interpreter(model_content=ours).get_signature_list() == want_sig
    assert real_tf.lite.Interpreter(model_content=ours).get_signature_list() == want_sig
    assert tf.lite.Interpreter(model_content=theirs).get_signature_list() == want_sig
    x, y = np.ones((2, 3), "float32"), np.arange(4, dtype="float32").reshape(2, 2)
    want = model.predict([x, y], verbose=0)
    want = want if dict_out else {f"output_{i}": w for i, w in enumerate(want)}
    got = real_tf.lite.Interpreter(model_content=ours).get_signature_runner()(zed=x, a=y)
    for key, value in want.items():
        np.testing.assert_allclose(got[key], value, atol=1e-5, rtol=1e-5)


def test_unbuilt_model_raises():
    with pytest.raises(ValueError, match="no known input shape"):
        tf.lite.TFLiteConverter.from_keras_model(keras.Sequential([L.Dense(4)])).convert()


def test_tensorflow_float16_model_runs_and_int8_model_is_refused():
    real_tf = pytest.importorskip("tensorflow")
    rk = pytest.importorskip("keras")
    rk.utils.set_random_seed(0)
    model = rk.Sequential([rk.Input((8, 8, 3), name="img"), rk.layers.Conv2D(4, 3, activation="relu"),
                           rk.layers.Flatten(), rk.layers.Dense(3)])
    converter = real_tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [real_tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [real_tf.float16]
    content = converter.convert()
    x = np.random.default_rng(0).random((1, 8, 8, 3)).astype("float32")
    want = real_tf.lite.Interpreter(model_content=content).get_signature_runner()(img=x)["output_0"]
    ours = tf.lite.Interpreter(model_content=content)
    assert "DEQUANTIZE" in {op for op, *_ in ours._ops}
    np.testing.assert_allclose(ours.get_signature_runner()(img=x)["output_0"], want, atol=1e-5, rtol=1e-5)
    converter = real_tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [real_tf.lite.Optimize.DEFAULT]  # int8, calibrated on a few samples
    converter.representative_dataset = lambda: ([x] for _ in range(3))
    with pytest.raises(tf.errors.UnimplementedError, match="int8-quantized"):
        tf.lite.Interpreter(model_content=converter.convert())


def test_tensorflow_embedding_layernorm_gelu_model_runs_in_tapeflow():
    """TF lowers these to GATHER, SELECT_V2, LESS, NEG, SQUARED_DIFFERENCE, RSQRT, GELU, MEAN..."""
    real_tf = pytest.importorskip("tensorflow")
    rk = pytest.importorskip("keras")
    rk.utils.set_random_seed(0)
    tokens = rk.Input((5,), name="tok", dtype="int32")
    x = rk.layers.LayerNormalization()(rk.layers.Embedding(20, 8)(tokens))
    x = rk.layers.Dense(6, activation="gelu")(x)
    model = rk.Model(tokens, rk.layers.GlobalAveragePooling1D()(x))
    content = real_tf.lite.TFLiteConverter.from_keras_model(model).convert()
    ids = np.array([[1, 2, 3, 4, 19], [0, 0, 7, 7, 5]], "int32")
    want = real_tf.lite.Interpreter(model_content=content).get_signature_runner()(tok=ids)["output_0"]
    ours = tf.lite.Interpreter(model_content=content)
    assert {"GATHER", "GELU", "SQUARED_DIFFERENCE"} <= {op for op, *_ in ours._ops}
    np.testing.assert_allclose(ours.get_signature_runner()(tok=ids)["output_0"], want, atol=1e-5, rtol=1e-5)


def test_tensorflow_resize_transpose_conv_conv1d_model_runs_in_tapeflow():
    real_tf = pytest.importorskip("tensorflow")
    rk = pytest.importorskip("keras")
    rk.utils.set_random_seed(0)
    img = rk.Input((8, 7, 3), name="img")
    flat = rk.layers.Flatten()
    outs = [
        rk.layers.UpSampling2D()(img),
        rk.layers.Resizing(13, 5)(img),
        rk.layers.Resizing(5, 11, interpolation="nearest")(img),
        rk.layers.Conv2DTranspose(2, 3, strides=2, padding="same")(img),
        rk.layers.Conv2DTranspose(2, 3, strides=2, padding="valid", activation="relu")(img),
        rk.layers.Conv1D(2, 3)(rk.layers.Reshape((56, 3))(img)),
        rk.layers.ELU()(rk.layers.Activation("swish")(img)),
    ]
    model = rk.Model(img, [flat(o) for o in outs])
    content = real_tf.lite.TFLiteConverter.from_keras_model(model).convert()
    x = np.random.default_rng(0).standard_normal((2, 8, 7, 3)).astype("float32")
    want = real_tf.lite.Interpreter(model_content=content).get_signature_runner()(img=x)
    ours = tf.lite.Interpreter(model_content=content)
    assert {"TRANSPOSE_CONV", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"} <= {op for op, *_ in ours._ops}
    got = ours.get_signature_runner()(img=x)
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], atol=1e-5, rtol=1e-5, err_msg=key)


def _tapeflow_more_layers_model() -> keras.Model:
    """Conv1D (causal, strided), Conv2DTranspose, UpSampling2D, Resizing, LayerNormalization."""
    tf.keras.utils.set_random_seed(4)
    img = keras.Input((6, 5, 3), name="img")
    outs = [
        L.Conv2DTranspose(2, 3, strides=2, padding="same", activation="relu")(img),
        L.Conv2DTranspose(2, 3, strides=2, padding="valid", use_bias=False)(img),
        L.UpSampling2D((2, 3))(img),
        L.UpSampling2D(interpolation="bilinear")(img),
        L.Resizing(9, 4)(img),
        L.Resizing(3, 7, interpolation="nearest")(img),
    ]
    seq = L.Reshape((30, 3))(img)
    outs.append(L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="tanh")(seq))
    outs.append(L.LayerNormalization()(L.Conv1D(4, 3, strides=2, padding="same")(seq)))
    return keras.Model(img, [L.Flatten()(o) for o in outs])


def test_more_layers_convert_and_run_in_tensorflow():
    real_tf = pytest.importorskip("tensorflow")
    model = _tapeflow_more_layers_model()
    content = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    x = np.random.default_rng(2).standard_normal((2, 6, 5, 3)).astype("float32")
    want = model.predict(x, verbose=0)
    for interpreter in (real_tf.lite.Interpreter(model_content=content), tf.lite.Interpreter(model_content=content)):
        got = interpreter.get_signature_runner()(img=x)
        for i, w in enumerate(want):
            np.testing.assert_allclose(got[f"output_{i}"], w, atol=1e-5, rtol=1e-5, err_msg=f"output_{i}")


def test_embedding_model_converts():
    real_tf = pytest.importorskip("tensorflow")
    tf.keras.utils.set_random_seed(5)
    model = keras.Sequential([L.Embedding(12, 4, input_shape=(6,)), L.GlobalAveragePooling1D(), L.Dense(2)])
    content = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    ids = np.array([[1, 2, 3, 11, 0, 5], [4, 4, 4, 4, 4, 4]], "float32")
    name = model.inputs[0].name
    got = real_tf.lite.Interpreter(model_content=content).get_signature_runner()(**{name: ids})["output_0"]
    np.testing.assert_allclose(got, model.predict(ids, verbose=0), atol=1e-5, rtol=1e-5)
    masked = keras.Sequential([L.Embedding(12, 4, mask_zero=True, input_shape=(6,)), L.GlobalAveragePooling1D()])
    with pytest.raises(tf.errors.UnimplementedError, match="mask_zero"):
        tf.lite.TFLiteConverter.from_keras_model(masked).convert()


def test_lora_dense_is_merged_and_quantized_layers_are_refused():
    tf.keras.utils.set_random_seed(6)
    model = keras.Sequential([L.Dense(8, input_shape=(4,)), L.Dense(2)])
    model.layers[0].enable_lora(2)
    model.layers[0].lora_kernel_b.assign(np.ones((2, 8), "float32"))
    content = tf.lite.TFLiteConverter.from_keras_model(model).convert()
    x = np.random.default_rng(0).random((3, 4)).astype("float32")
    got = tf.lite.Interpreter(model_content=content).get_signature_runner()(**{model.inputs[0].name: x})
    np.testing.assert_allclose(got["output_0"], model.predict(x, verbose=0), atol=1e-5, rtol=1e-5)
    model.quantize("int8")
    with pytest.raises(tf.errors.UnimplementedError, match="quantized to int8"):
        tf.lite.TFLiteConverter.from_keras_model(model).convert()
