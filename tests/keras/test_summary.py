"""model.summary(): Keras 3's table, totals and options."""

from __future__ import annotations

import numpy as np
import pytest

from tapeflow import keras

XOR_SUMMARY = """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense (Dense)                   │ (None, 2)              │             6 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 1)              │             3 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 9 (36.00 B)
 Trainable params: 9 (36.00 B)
 Non-trainable params: 0 (0.00 B)
"""


@pytest.fixture(autouse=True)
def _terminal_width(monkeypatch):
    # Keras sizes the table from the terminal: 80 columns gives its 76-column default.
    monkeypatch.setenv("COLUMNS", "80")
    keras.backend.clear_session()


def _xor_model() -> keras.Sequential:
    return keras.Sequential([keras.layers.Dense(2, activation="sigmoid", input_shape=(2,)),
                             keras.layers.Dense(1, activation="sigmoid")])


def _capture(model, **kwargs) -> str:
    calls = []
    model.summary(print_fn=calls.append, **kwargs)
    assert len(calls) == 1  # Keras 3 hands print_fn the whole text at once
    return calls[0]


def test_xor_summary_text(capsys):
    model = _xor_model()
    assert _capture(model) == XOR_SUMMARY
    model.summary()
    assert capsys.readouterr().out == XOR_SUMMARY


def test_optimizer_params_after_training():
    model = _xor_model()
    model.compile(keras.optimizers.SGD(learning_rate=0.1), "mse")
    model.fit(np.zeros((4, 2)), np.zeros((4, 1)), verbose=0)
    text = _capture(model)
    assert " Total params: 11 (48.00 B)\n" in text
    assert text.endswith(" Optimizer params: 2 (12.00 B)\n")


def test_unbuilt_and_nested_and_trainable_column():
    lazy = keras.Sequential([keras.layers.Dense(3, name="d1"), keras.layers.Dense(1, name="d2")], name="lazy")
    text = _capture(lazy)
    assert "│ d1 (Dense)                      │ ?                      │   0 (unbuilt) │" in text
    inner = keras.Sequential([keras.layers.Flatten(input_shape=(4, 4), name="flat"),
                              keras.layers.Dense(5, name="hidden")], name="inner")
    inner.get_layer("hidden").trainable = False
    outer = keras.Sequential([keras.Input((4, 4)), inner, keras.layers.Dense(1, name="head")], name="outer")
    text = _capture(outer, expand_nested=True, show_trainable=True)
    assert "│    └ hidden (Dense)" in text and "Trai… ┃" in text
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if line.startswith("│")}
    assert rows["head (Dense)"].rstrip().endswith("│   Y   │")
    assert rows["└ hidden (Dense)"].rstrip().endswith("│   N   │")
    assert rows["└ flat (Flatten)"].rstrip().endswith("│   -   │")
    assert " Non-trainable params: 85 (340.00 B)" in text
    only = _capture(outer, layer_range=["head", "head"])
    assert "head (Dense)" in only and "inner (Sequential)" not in only


def test_functional_summary_has_connections_and_wraps():
    a = keras.Input((4,), name="first_input")
    b = keras.Input((3,), name="second_input")
    joined = keras.layers.Concatenate(name="a_rather_long_concatenate_layer_name")([a, b])
    out = keras.layers.Dense(2, name="out")(joined)
    model = keras.Model([a, b], out, name="two_inputs")
    text = _capture(model)
    lines = text.splitlines()
    assert lines[0] == 'Model: "two_inputs"'
    assert lines[2] == "┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃"
    assert "│ first_input         │ (None, 4)         │          0 │ -                 │" in lines
    assert "│ a_rather_long_conc… │ (None, 7)         │          0 │ first_input[0][0… │" in lines
    assert "│ (Concatenate)       │                   │            │ second_input[0][… │" in lines
    assert "│ out (Dense)         │ (None, 2)         │         16 │ a_rather_long_co… │" in lines
    chain_in = keras.Input((3,), name="x")
    chain = keras.Model(chain_in, keras.layers.Dense(1, name="y")(chain_in), name="chain")
    assert "Connected to" not in _capture(chain)  # a plain chain prints like a Sequential


def test_line_length_and_positions():
    model = _xor_model()
    text = _capture(model, line_length=50)
    assert all(len(line) == 50 for line in text.splitlines()[1:8])
    text = _capture(model, line_length=60, positions=[0.5, 0.8, 1.0])
    header = text.splitlines()[2]
    assert [len(cell) for cell in header.split("┃")[1:-1]] == [29, 16, 11]
    with pytest.raises(ValueError, match="layer_range"):
        model.summary(layer_range=["dense"])


@pytest.mark.oracle
def test_summary_matches_keras_text(monkeypatch):
    pytest.importorskip("tensorflow")
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as real_tf

    real = real_tf.keras

    def build(k):
        a = k.Input((4,), name="a")
        b = k.Input((3,), name="b")
        c = k.layers.Concatenate(name="concatenate_inputs_here")([a, b])
        h = k.layers.Dense(8, activation="relu", name="hidden")(c)
        o1 = k.layers.Dense(1, name="o1")(h)
        o2 = k.layers.Dense(2, name="o2")(h)
        multi = k.Model([a, b], [o1, o2], name="multi")
        seq = k.Sequential([k.Input((28, 28)), k.layers.Flatten(name="flatten"),
                            k.layers.Dense(300, activation="relu", name="dense"),
                            k.layers.Dense(10, activation="softmax", name="dense_1")], name="fashion")
        inner = k.Sequential([k.Input((4, 4)), k.layers.Flatten(name="flat"), k.layers.Dense(5, name="hid")],
                             name="inner")
        inner.get_layer("hid").trainable = False
        nested = k.Sequential([k.Input((4, 4)), inner, k.layers.Dense(1, name="head")], name="nested")
        return multi, seq, nested

    for ours, theirs in zip(build(keras), build(real), strict=True):
        for kwargs in ({}, {"line_length": 60}, {"show_trainable": True, "expand_nested": True}):
            got, want = [], []
            ours.summary(print_fn=got.append, **kwargs)
            theirs.summary(print_fn=lambda s, want=want, **kw: want.append(s), **kwargs)
            assert got == want, f"{ours.name} {kwargs}\n{got[0]}\n{want[0]}"


def test_sequential_built_by_a_call_keeps_that_batch_size(tmp_path):
    """Keras 3.15 builds a Sequential model on its first call's whole shape (the Sequential guide:
    `model(ops.ones((1, 4)))` then `model.summary()` shows (1, 2)); later calls, fit and predict
    take any batch size and `export` leaves the batch open, as Keras does (checked against
    Keras 3.15 on TF 2.21)."""
    import tapeflow as tf

    model = keras.Sequential([keras.layers.Dense(2, activation="relu"), keras.layers.Dense(3)])
    model(keras.ops.ones((1, 4)))
    text = _capture(model)
    assert "│ dense (Dense)                   │ (1, 2)                 │            10 │" in text
    assert "│ dense_1 (Dense)                 │ (1, 3)                 │             9 │" in text
    assert tuple(model.inputs[0].shape) == (1, 4) and model.input_shape == (1, 4)
    assert tuple(model(keras.ops.ones((5, 4))).shape) == (5, 3)
    model.compile("sgd", "mse")
    model.fit(np.ones((10, 4)), np.ones((10, 3)), batch_size=4, verbose=0)
    assert model.predict(np.ones((7, 4)), verbose=0).shape == (7, 3)
    model.export(str(tmp_path / "exported"), verbose=False)
    assert tuple(tf.saved_model.load(str(tmp_path / "exported")).serve(np.ones((6, 4), "float32")).shape) == (6, 3)
