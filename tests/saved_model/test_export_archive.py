"""keras.export.ExportArchive, Model.export and TFSMLayer, side by side with Keras 3 on TF."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


def _libraries() -> list:
    return ["tapeflow", pytest.param("tensorflow", marks=pytest.mark.oracle)]


def _lib(name: str):
    if name == "tensorflow":
        real_tf = pytest.importorskip("tensorflow")
        import keras as real_keras

        return real_tf, real_keras
    return tf, keras


def _model(k):
    k.utils.set_random_seed(0)
    return k.Sequential([k.Input((4,)), k.layers.Dense(8, activation="relu"), k.layers.Dropout(0.5),
                         k.layers.Dense(3)])


@pytest.mark.parametrize("name", _libraries())
def test_archive_endpoints_collections_and_reload(tmp_path, name, capsys):
    lib, k = _lib(name)
    model = _model(k)
    x = np.random.default_rng(0).random((5, 4)).astype("float32")
    archive = k.export.ExportArchive()
    archive.track(model)
    spec = [k.InputSpec(shape=(None, 4), dtype="float32")]
    archive.add_endpoint("call_inference", lambda x: model(x, training=False), input_signature=spec)
    archive.add_endpoint("call_training", lambda x: model(x, training=True), input_signature=spec)

    @lib.function
    def double(x):
        return {"y": model(x, training=False) * 2.0}

    double(lib.zeros((5, 4)))
    assert archive.add_endpoint("double", double) is double
    archive.add_variable_collection("kernels", [model.layers[0].kernel, model.layers[2].kernel])
    path = str(tmp_path / "archive")
    archive.write_out(path)
    printed = capsys.readouterr().out
    assert printed.startswith(f"Saved artifact at '{path}'. The following endpoints are available:\n\n"
                              "* Endpoint 'call_inference'\n")
    assert "* Endpoint 'call_training'" in printed and "* Endpoint 'double'" in printed

    r = lib.saved_model.load(path)
    assert sorted(r.signatures.keys()) == ["call_inference", "call_training", "double", "serving_default"]
    expected = model(x, training=False).numpy()
    np.testing.assert_allclose(r.call_inference(x).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(r.signatures["serving_default"](x=lib.constant(x))["output_0"].numpy(), expected,
                               rtol=1e-6)
    np.testing.assert_allclose(r.double(lib.constant(x))["y"].numpy(), 2 * expected, rtol=1e-6)
    assert not np.allclose(r.call_training(x).numpy(), expected)  # dropout runs in the training endpoint
    assert [tuple(v.shape) for v in r.kernels] == [(4, 8), (8, 3)]
    assert len(r.trainable_variables) == 4  # (Keras's Dropout adds a non-trainable seed variable)
    assert repr(r.signatures["call_inference"].structured_input_signature) == (
        "((), {'x': TensorSpec(shape=(None, 4), dtype=tf.float32, name='x')})")
    assert repr(r.signatures["double"].structured_outputs) == (
        "{'y': TensorSpec(shape=(5, 3), dtype=tf.float32, name='y')}")

    layer = k.layers.TFSMLayer(path, call_endpoint="call_inference", call_training_endpoint="call_training")
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-6)
    assert len(layer.trainable_weights) == 4
    with pytest.raises(ValueError, match="The endpoint 'nope' is neither an attribute"):
        k.layers.TFSMLayer(path, call_endpoint="nope")


@pytest.mark.parametrize("name", _libraries())
def test_model_export_signature_is_named_after_the_inputs(tmp_path, name, capsys):
    lib, k = _lib(name)
    inp = k.Input((3,), name="features")
    model = k.Model(inp, k.layers.Dense(2)(inp))
    path = str(tmp_path / "exported")
    model.export(path, format="tf_saved_model")
    assert "* Endpoint 'serve'" in capsys.readouterr().out
    r = lib.saved_model.load(path)
    x = np.ones((2, 3), "float32")
    out = r.signatures["serving_default"](features=lib.constant(x))
    np.testing.assert_allclose(out["output_0"].numpy(), model(x).numpy(), rtol=1e-6)
    assert sorted(r.signatures) == ["serve", "serving_default"]


@pytest.mark.parametrize("name", _libraries())
def test_archive_errors(tmp_path, name):
    lib, k = _lib(name)
    archive = k.export.ExportArchive()
    with pytest.raises(ValueError, match="has not yet been built"):
        archive.track(k.layers.Dense(2))
    with pytest.raises(ValueError, match="No endpoints have been set yet"):
        archive.write_out(str(tmp_path / "a"))
    with pytest.raises(ValueError, match="must provide an `input_signature`"):
        archive.add_endpoint("f", lambda x: x)
    with pytest.raises(ValueError, match="has never been called"):
        archive.add_endpoint("f", lib.function(lambda x: x))
    archive.add_endpoint("f", lambda x: x * 2.0, [lib.TensorSpec((None,), lib.float32)])
    with pytest.raises(ValueError, match="Endpoint name 'f' is already taken"):
        archive.add_endpoint("f", lambda x: x, [lib.TensorSpec((None,), lib.float32)])
    with pytest.raises(ValueError, match="Expected `variables` to be a list/tuple/set"):
        archive.add_variable_collection("v", lib.Variable(1.0))
    with pytest.raises(ValueError, match="'jax2tf_kwargs' and 'is_static' are only supported"):
        archive.add_endpoint("g", lambda x: x, [lib.TensorSpec((None,), lib.float32)], is_static=True)
    with pytest.raises(ValueError, match="Unsupported format: onnx"):
        k.export.ExportArchive(format="onnx")


def test_cnn_export_reloads_and_fine_tunes_as_tfsm_layer(tmp_path):
    """The tutorial CNN with an unknown batch: pooling geometry, Flatten and Dropout are saved."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dropout(0.2),
                              keras.layers.Dense(3, activation="softmax")])
    path = str(tmp_path / "cnn")
    model.export(path, verbose=False)
    x = np.random.default_rng(0).random((5, 12, 12, 1)).astype("float32")
    np.testing.assert_allclose(tf.saved_model.load(path).serve(x).numpy(), model(x).numpy(), rtol=1e-6)
    wrapped = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.TFSMLayer(path)])
    wrapped.compile("adam", "sparse_categorical_crossentropy")
    before = [w.numpy().copy() for w in wrapped.trainable_weights]
    wrapped.fit(x, np.array([0, 1, 2, 1, 0]), epochs=1, verbose=0)
    assert len(before) == 4 and any(not np.array_equal(b, w.numpy()) for b, w in zip(before, wrapped.trainable_weights,
                                                                                   strict=True))


@pytest.mark.parametrize("name", _libraries())
def test_subclassed_model_exports_with_the_shapes_of_its_first_call(tmp_path, name):
    lib, k = _lib(name)

    class Sub(k.Model):
        def __init__(self):
            super().__init__()
            self.d = k.layers.Dense(2)

        def call(self, x):
            return self.d(x)

    model = Sub()
    x = np.ones((3, 4), "float32")
    model(x)
    path = str(tmp_path / "sub")
    model.export(path, verbose=False)
    r = lib.saved_model.load(path)
    np.testing.assert_allclose(r.serve(np.ones((5, 4), "float32")).numpy(), model(np.ones((5, 4), "float32")).numpy(),
                               rtol=1e-6)
    with pytest.raises(ValueError):
        Sub().export(str(tmp_path / "unbuilt"), verbose=False)


@pytest.mark.parametrize("name", _libraries())
def test_saving_a_keras_model_directly_gives_serving_default(tmp_path, name):
    """tf.saved_model.save(model, path) without signatures: Keras's default signature."""
    lib, k = _lib(name)
    model = k.Sequential([k.Input((4,)), k.layers.Dense(3)])
    model.compile("adam", "mse")
    model.fit(np.ones((8, 4)), np.ones((8, 3)), verbose=0)
    path = str(tmp_path / "direct")
    lib.saved_model.save(model, path)
    sig = lib.saved_model.load(path).signatures["serving_default"]
    assert repr(sig.structured_input_signature) == (
        "((), {'inputs': TensorSpec(shape=(None, 4), dtype=tf.float32, name='inputs')})")
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(sig(inputs=lib.constant(x))["output_0"].numpy(), model(x).numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", _libraries())
def test_model_export_leaves_the_batch_size_open(tmp_path, name, capsys):
    """An Input with a fixed batch size exports a signature of any batch size (Keras's
    export_utils.make_input_spec)."""
    lib, k = _lib(name)
    inp = k.Input(batch_shape=(2, 3))
    model = k.Model(inp, k.layers.Dense(2)(inp))
    path = str(tmp_path / "exported")
    model.export(path, verbose=False)
    x = np.ones((5, 3), "float32")
    reloaded = lib.saved_model.load(path)  # kept: TF deletes the variables of a dropped load
    np.testing.assert_allclose(reloaded.serve(x).numpy(), model(x).numpy(), rtol=1e-6)


def test_exported_dense_model_loads_in_a_fresh_interpreter(tmp_path):
    """The fused Dense op the tracer rewrites a Dense layer into is in the load's op registry
    although a plain `import tapeflow` never imports its module."""
    import subprocess
    import sys

    model = _model(keras)
    path = str(tmp_path / "exported")
    model.export(path, verbose=False)
    x = np.ones((2, 4), "float32")
    code = ("import numpy as np, sys, tapeflow as tf\n"
            f"print(tf.saved_model.load({path!r}).serve(np.ones((2, 4), 'float32')).numpy().tolist())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    np.testing.assert_allclose(np.array(eval(out.stdout)), model(x, training=False).numpy(), rtol=1e-6)
