"""ConvLSTM1D/2D/3D: shapes and configs (check_layer), float64 gradients, Keras 3 oracles."""

from __future__ import annotations

import numpy as np
import pytest
from layer_check import check_against_keras, check_layer, check_layer_gradients

import tapeflow as tf
from tapeflow import keras

SHAPES = {1: (2, 3, 7, 2), 2: (2, 3, 6, 5, 2), 3: (1, 2, 4, 4, 3, 2)}


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_contract(rank):
    layer_cls = getattr(keras.layers, f"ConvLSTM{rank}D")
    shape = SHAPES[rank]
    check_layer(lambda: layer_cls(4, 3, return_sequences=True, padding="same"), shape,
                expected_output_shape=shape[:-1] + (4,),
                expected_weight_shapes=[(3,) * rank + (2, 16), (3,) * rank + (4, 16), (16,)])
    check_layer(lambda: layer_cls(3, 2, strides=2), shape,
                expected_output_shape=(shape[0],) + tuple((n - 2) // 2 + 1 for n in shape[2:-1]) + (3,))


def test_gradients_float64():
    keras.utils.set_random_seed(1)
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 2))
    check_layer_gradients(keras.layers.ConvLSTM1D(2, 3, padding="same", dtype="float64"), x)
    check_layer_gradients(keras.layers.ConvLSTM2D(2, 2, return_sequences=True, dtype="float64"),
                          np.random.default_rng(1).standard_normal((1, 2, 3, 3, 2)))


def test_states_masks_and_errors():
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 5, 1)).astype("float32")
    layer = keras.layers.ConvLSTM2D(3, 3, padding="same", return_state=True)
    out, h, c = layer(x)
    np.testing.assert_array_equal(out.numpy(), h.numpy())
    assert tuple(c.shape) == (2, 5, 5, 3)
    # A masked final step keeps the states of the step before it.
    mask = np.array([[True, True, True, False], [True, True, True, True]])
    masked = layer(x, mask=mask)
    first3 = layer(x[:, :3])
    np.testing.assert_allclose(masked[0].numpy()[0], first3[0].numpy()[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(masked[2].numpy()[0], first3[2].numpy()[0], rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="expected ndim=5, found ndim=4"):
        layer(x[0])
    with pytest.raises(ValueError, match="static input shapes for the spatial dimension"):
        keras.layers.ConvLSTM2D(3, 3).build((None, 4, None, 5, 1))
    with pytest.raises(ValueError, match="filters"):
        keras.layers.ConvLSTM2D(0, 3)


def test_trains_in_fit():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4, 6, 6, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3, 4)) > 0).astype("float32")
    model = keras.Sequential([keras.Input((4, 6, 6, 1)), keras.layers.ConvLSTM2D(4, 3, dropout=0.1,
                                                                                 recurrent_dropout=0.1),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    history = model.fit(x, y, epochs=8, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.oracle
@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("kwargs", [dict(), dict(return_sequences=True, padding="same"),
                                    dict(strides=2, padding="same", go_backwards=True),
                                    dict(data_format="channels_first", return_sequences=True),
                                    dict(dilation_rate=2, unit_forget_bias=False, activation="relu")],
                         ids=["default", "sequences_same", "strided_backwards", "channels_first", "dilated_relu"])
def test_matches_keras(rank, kwargs):
    if rank == 3 and kwargs.get("data_format") == "channels_first":
        pytest.skip("slow in TensorFlow on the CPU (about a minute when loaded); ranks 1, 2 cover channels_first")
    real = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    x = np.random.default_rng(rank).standard_normal(SHAPES[rank]).astype("float32")
    if rank == 1 and kwargs.get("dilation_rate"):
        x = np.random.default_rng(0).standard_normal((2, 3, 9, 2)).astype("float32")
    if kwargs.get("data_format") == "channels_first":
        x = np.ascontiguousarray(np.moveaxis(x, -1, 2))
    name = f"ConvLSTM{rank}D"
    ours, theirs = check_against_keras(lambda: getattr(keras.layers, name)(3, 2, **kwargs),
                                       lambda: getattr(real.layers, name)(3, 2, **kwargs), x, atol=1e-5, rtol=1e-4)
    mine, keras_config = ours.get_config(), theirs.get_config()
    for key in keras_config:
        if key not in ("dtype", "name"):
            assert mine[key] == keras_config[key], key
    rebuilt = getattr(keras.layers, name).from_config(mine)
    assert rebuilt.get_config() == mine
    assert tf.is_tensor(rebuilt(x))
