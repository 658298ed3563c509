"""Bad arguments to fit / evaluate / predict / keras.Input get a clear error naming the argument
and echoing the received value (issue 18)."""

import warnings

import numpy as np
import pytest

from tapeflow import keras


def _model(units: int = 1, loss: str = "mse") -> keras.Model:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units)])
    model.compile("sgd", loss)
    return model


def _data(n: int = 10) -> tuple:
    rng = np.random.default_rng(0)
    return rng.random((n, 3), dtype=np.float32), rng.random((n, 1), dtype=np.float32)


@pytest.mark.parametrize("kwargs, needle", [
    ({"validation_split": 1.5}, "validation_split=1.5"),
    ({"validation_split": -0.2}, "validation_split=-0.2"),
    ({"validation_split": 1.0}, "validation_split=1.0"),
    ({"validation_split": "0.2"}, "validation_split='0.2'"),
    ({"batch_size": 0}, "batch_size=0"),
    ({"batch_size": 2.5}, "batch_size=2.5"),
    ({"batch_size": -1}, "batch_size=-1"),
    ({"epochs": -1}, "epochs=-1"),
    ({"epochs": 2.7}, "epochs=2.7"),
    ({"initial_epoch": -1}, "initial_epoch=-1"),
    ({"steps_per_epoch": 0}, "steps_per_epoch=0"),
    ({"validation_steps": 0, "validation_split": 0.2}, "validation_steps=0"),
    ({"validation_batch_size": 0, "validation_split": 0.2}, "validation_batch_size=0"),
])
def test_fit_refuses_bad_numbers_before_training(kwargs, needle):
    model, (x, y) = _model(), _data()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=f"Argument `{needle.split('=')[0]}`.*Received: {needle}"):
        model.fit(x, y, verbose=0, **kwargs)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_valid_edge_values_still_train():
    model, (x, y) = _model(), _data()
    history = model.fit(x, y, batch_size=np.int64(4), epochs=np.int32(2), verbose=0,
                        validation_split=0.0)
    assert len(history.history["loss"]) == 2
    assert model.fit(x, y, epochs=0, verbose=0).history == {}


@pytest.mark.parametrize("method", ["evaluate", "predict"])
@pytest.mark.parametrize("kwargs, needle", [
    ({"batch_size": 0}, "batch_size=0"), ({"batch_size": 1.5}, "batch_size=1.5"),
    ({"steps": 0}, "steps=0"), ({"steps": -2}, "steps=-2"),
])
def test_evaluate_and_predict_refuse_bad_numbers(method, kwargs, needle):
    model, (x, y) = _model(), _data()
    args = (x, y) if method == "evaluate" else (x,)
    with pytest.raises(ValueError, match=f"Received: {needle}"):
        getattr(model, method)(*args, verbose=0, **kwargs)


def test_wrong_number_of_inputs_is_named():
    model, (x, y) = _model(), _data()
    with pytest.raises(ValueError, match=r'"sequential.*" expects 1 input\(s\), but it received 2'):
        model.fit([x, x], y, verbose=0)
    a = keras.Input((3,))
    b = keras.Input((2,))
    two = keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))
    two.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"expects 2 input\(s\), but it received 1"):
        two.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match=r"expects 2 input\(s\), but it received 3"):
        two.predict([x, x[:, :2], x], verbose=0)
    assert two.predict([x, x[:, :2]], verbose=0).shape == (10, 1)


@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
def test_empty_data_is_an_error_not_a_zero_loss(method):
    model, (x, y) = _model(), _data(0)
    args = (x, y) if method != "predict" else (x,)
    with pytest.raises(ValueError, match=rf"`{method}\(\)` received empty input data: `x` has 0 samples"):
        getattr(model, method)(*args, verbose=0)


def test_predict_on_an_empty_generator_says_so():
    model = _model()
    with pytest.raises(ValueError, match="generator must yield at least one batch") as info:
        model.predict(iter([]), verbose=0)
    assert "run_eagerly" not in str(info.value)


def test_non_integer_sparse_labels_are_refused():
    model, (x, _) = _model(4, "sparse_categorical_crossentropy"), _data()
    labels = np.array([0, 1, 2, 3, 1.5, 0, 1, 2, 3, 0], dtype=np.float32)
    with pytest.raises(ValueError, match=r"non-integer labels \(e.g. y=1.5\)"):
        model.fit(x, labels, verbose=0)
    with pytest.raises(ValueError, match="non-integer labels"):
        model.evaluate(x, labels, verbose=0)
    # Whole numbers in a float array are fine (as Keras accepts them).
    model.fit(x, np.round(labels + 0.1) % 4, verbose=0)


def test_complex_inputs_warn_like_tensorflow():
    model, (x, y) = _model(), _data()
    with pytest.warns(UserWarning, match="casting an input of type complex64 to an incompatible dtype "
                                         "float32.  This will discard the imaginary part"):
        model.fit((x + 1j * x).astype(np.complex64), y, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(x, y, verbose=0)


@pytest.mark.parametrize("shape", [(-3,), (4, -1), ("a",), (2.5,)])
def test_input_shape_is_checked(shape):
    with pytest.raises(ValueError, match="Cannot convert"):
        keras.Input(shape)
    with pytest.raises(ValueError, match="Cannot convert"):
        keras.Input(batch_shape=(None,) + shape)


@pytest.mark.oracle
@pytest.mark.parametrize("shape", [(-3,), ("a",), (2.5,), (3, None, 0)])
def test_input_shape_messages_match_keras(shape):
    real = pytest.importorskip("keras")
    try:
        expected = real.Input(shape).shape
    except ValueError as exc:
        with pytest.raises(ValueError) as ours:
            keras.Input(shape)
        assert str(ours.value) == str(exc)
    else:
        assert tuple(keras.Input(shape).shape) == tuple(expected)
