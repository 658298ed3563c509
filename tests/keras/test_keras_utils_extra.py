"""keras.utils additions, keras.preprocessing / keras.legacy and Keras 3's top-level helpers."""

from __future__ import annotations

import shutil
import sys
import types

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


def test_pad_sequences_modes() -> None:
    seqs = [[1], [2, 3, 4], []]
    np.testing.assert_array_equal(keras.utils.pad_sequences(seqs), [[0, 0, 1], [2, 3, 4], [0, 0, 0]])
    out = keras.utils.pad_sequences(seqs, maxlen=2, padding="post", truncating="post", value=-1)
    np.testing.assert_array_equal(out, [[1, -1], [2, 3], [-1, -1]])
    assert out.dtype == np.int32
    with pytest.raises(ValueError, match="Padding type"):
        keras.utils.pad_sequences(seqs, padding="middle")


def test_config_container() -> None:
    config = keras.utils.Config(learning_rate=0.1)
    config.seed = 3
    config["momentum"] = 0.9
    assert config.seed == 3 and list(config) == ["learning_rate", "momentum", "seed"]
    assert config.to_json() == '{"learning_rate": 0.1, "seed": 3, "momentum": 0.9}'
    with pytest.raises(AttributeError, match="Did you mean 'seed'"):
        _ = config.sed
    config.freeze()
    with pytest.raises(ValueError, match="frozen"):
        config.seed = 4
    config.unfreeze()
    assert config.pop("seed") == 3 and len(config) == 2


def test_image_round_trip(tmp_path) -> None:
    pytest.importorskip("PIL")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (6, 8, 3)).astype("float32")
    path = tmp_path / "a.png"
    keras.utils.save_img(path, x, scale=False)
    img = keras.utils.load_img(path)
    assert img.size == (8, 6)
    np.testing.assert_array_equal(keras.utils.img_to_array(img), x)
    gray = keras.utils.load_img(path, color_mode="grayscale", target_size=(3, 4))
    assert keras.utils.img_to_array(gray).shape == (3, 4, 1)
    assert keras.utils.img_to_array(img, data_format="channels_first").shape == (3, 6, 8)
    scaled = keras.utils.img_to_array(keras.utils.array_to_img(x / 255.0 + 1))
    assert scaled.min() == 0 and scaled.max() == 255
    with pytest.raises(ValueError, match="rank 3"):
        keras.utils.array_to_img(np.zeros((2, 2)))


def test_graph_helpers_and_packing() -> None:
    a, b = keras.Input((3,)), keras.Input((2,))
    out = keras.layers.Dense(1)(keras.layers.Concatenate()([a, keras.layers.Dense(3)(b)]))
    assert keras.utils.get_source_inputs(out) == [a, b]
    assert keras.utils.is_keras_tensor(out) and not keras.utils.is_keras_tensor(tf.constant(1.0))
    assert keras.utils.is_keras_tensor(keras.ops.relu(a) + 1.0)  # ops on a keras.Input
    import tapeflow.compat.v1 as v1

    with v1.Graph().as_default():
        assert not keras.utils.is_keras_tensor(v1.placeholder("float32", (None, 2)))
    with pytest.raises(ValueError, match="Keras tensor"):
        keras.utils.get_source_inputs(np.zeros(2))
    assert keras.utils.pack_x_y_sample_weight((1, 2)) == ((1, 2),)
    assert keras.utils.pack_x_y_sample_weight(1, 2, 3) == (1, 2, 3)
    assert keras.utils.unpack_x_y_sample_weight((1, 2)) == (1, 2, None)
    assert keras.utils.standardize_dtype("half") == "float16"


def test_legacy_format_round_trip() -> None:
    config = keras.legacy.saving.serialize_keras_object(keras.layers.Dense(3, name="d"))
    assert config["class_name"] == "Dense" and "module" not in config
    layer = keras.utils.legacy.deserialize_keras_object(config)
    assert isinstance(layer, keras.layers.Dense) and layer.units == 3
    with pytest.raises(ValueError, match="Unknown object"):
        keras.utils.legacy.deserialize_keras_object({"class_name": "Nope", "config": {}})


def test_model_to_dot_and_plot_model(tmp_path, monkeypatch) -> None:
    pytest.importorskip("pydot")
    monkeypatch.delitem(sys.modules, "IPython.core.magics.namespace", raising=False)
    i = keras.Input((3,), name="x")
    model = keras.Model(i, keras.layers.Add()([keras.layers.Dense(2)(i), keras.layers.Dense(2)(i)]))
    dot = keras.utils.model_to_dot(model, show_shapes=True, show_dtype=True)
    nodes = [n for n in dot.get_nodes() if n.get_name() != "node"]  # "node" holds the defaults
    assert len(nodes) == 4 and len(dot.get_edges()) == 4
    assert "Output shape: <b>(None, 2)</b>" in nodes[1].get("label")
    if shutil.which("dot") is None:
        with pytest.raises(ImportError, match="graphviz"):
            keras.utils.plot_model(model, tmp_path / "m.png")
    else:
        keras.utils.plot_model(model, tmp_path / "m.png")
        assert (tmp_path / "m.png").stat().st_size > 0
    with pytest.raises(ValueError, match="expand_nested"):
        keras.utils.model_to_dot(model, expand_nested=True)


def test_plot_model_without_graphviz_in_a_notebook_prints(monkeypatch, capsys) -> None:
    """Keras 3.15 in IPython prints the missing-dependency message and returns None (the guides'
    plot_model cells go on), outside IPython it raises ImportError."""
    from tapeflow.keras.utils import model_visualization

    monkeypatch.setattr(model_visualization, "_pydot", lambda: None)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    monkeypatch.delitem(sys.modules, "IPython.core.magics.namespace", raising=False)
    with pytest.raises(ImportError, match="pydot"):
        keras.utils.plot_model(model, "unused.png")
    monkeypatch.setitem(sys.modules, "IPython.core.magics.namespace", types.ModuleType("namespace"))
    assert keras.utils.plot_model(model, "unused.png") is None
    assert capsys.readouterr().out == "You must install pydot (`pip install pydot`) for `plot_model` to work.\n"


def test_top_level_names() -> None:
    assert keras.version() == keras.__version__
    for name in ("InputSpec", "Initializer", "Loss", "Metric", "Optimizer", "Regularizer", "DTypePolicy"):
        assert isinstance(getattr(keras, name), type)
    x = keras.Input((3,))
    f = keras.Function(x, keras.ops.relu(x) * 2)
    np.testing.assert_allclose(f(np.array([[-1.0, 0.5, 2.0]], "float32")).numpy(), [[0.0, 1.0, 4.0]])
    with keras.name_scope("block"):
        v = tf.Variable(1.0, name="w")
    assert v.name == "block/w:0"
    with keras.device("cpu:0"):
        assert tf.constant(1.0).device.endswith("CPU:0")
    w = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(keras.remat(lambda t: tf.sin(t) * w)(tf.constant([0.5, 1.0])))
    np.testing.assert_allclose(tape.gradient(y, w).numpy(), np.sin([0.5, 1.0]), rtol=1e-6)

    class Double(keras.Operation):
        def call(self, t):
            return t * 2

    np.testing.assert_allclose(Double()(tf.constant([1.0])).numpy(), [2.0])
    assert tuple(Double().compute_output_spec(tf.zeros((4, 2))).shape) == (4, 2)


@pytest.mark.oracle
def test_utils_match_keras() -> None:
    pytest.importorskip("tensorflow")
    k = pytest.importorskip("keras")
    seqs = [[1, 2], [3], [4, 5, 6, 7]]
    for kwargs in ({}, {"maxlen": 3, "padding": "post"}, {"maxlen": 2, "truncating": "post", "value": 9}):
        np.testing.assert_array_equal(keras.utils.pad_sequences(seqs, **kwargs), k.utils.pad_sequences(seqs, **kwargs))
    images = np.random.default_rng(1).random((2, 10, 7, 3)).astype("float32")
    np.testing.assert_allclose(keras.preprocessing.image.smart_resize(images, (4, 4)).numpy(),
                               np.asarray(k.preprocessing.image.smart_resize(images, (4, 4))), rtol=1e-5, atol=1e-5)
    layer = k.layers.Dense(2)
    ours = keras.utils.legacy.serialize_keras_object(keras.initializers.GlorotUniform(seed=1))
    assert ours == k.utils.legacy.serialize_keras_object(k.initializers.GlorotUniform(seed=1))
    assert layer is not None
