"""keras.config: global settings and the debugging caps that fit/evaluate/predict honour."""

from __future__ import annotations

import logging
import traceback

import numpy as np
import pytest

from tapeflow import keras
from tapeflow.keras import config


@pytest.fixture(autouse=True)
def _restore():
    yield
    config.set_max_epochs(None)
    config.set_max_steps_per_epoch(None)
    config.enable_traceback_filtering()
    config.enable_interactive_logging()
    config.disable_flash_attention()
    config._FLASH_ATTENTION[0] = None


def _model() -> keras.Model:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


def test_names_match_keras_list() -> None:
    expected = {"backend", "disable_flash_attention", "disable_interactive_logging", "disable_traceback_filtering",
                "dtype_policy", "enable_flash_attention", "enable_interactive_logging", "enable_traceback_filtering",
                "enable_unsafe_deserialization", "epsilon", "floatx", "image_data_format",
                "is_flash_attention_enabled", "is_interactive_logging_enabled", "is_nnx_enabled",
                "is_traceback_filtering_enabled", "max_epochs", "max_steps_per_epoch", "set_backend",
                "set_dtype_policy", "set_epsilon", "set_floatx", "set_image_data_format", "set_max_epochs",
                "set_max_steps_per_epoch"}
    assert expected <= set(dir(keras.config))
    assert config.floatx() == "float32" and config.epsilon() == 1e-7
    assert config.image_data_format() == "channels_last" and config.backend() == "tapeflow"
    assert config.is_nnx_enabled() is False
    with pytest.raises(ValueError, match="only backend is 'tapeflow'"):
        config.set_backend("jax")
    with pytest.raises(ValueError, match="Unknown `floatx` value: int8"):
        config.set_floatx("int8")
    config.set_floatx("bfloat16")
    try:
        assert config.floatx() == "bfloat16" and keras.layers.Dense(2).variable_dtype == "bfloat16"
    finally:
        config.set_floatx("float32")
    assert config.floatx() == "float32"


def test_max_epochs_and_steps_cap_fit_evaluate_predict() -> None:
    model = _model()
    x, y = np.zeros((40, 3), "float32"), np.zeros((40, 1), "float32")
    config.set_max_epochs(2)
    config.set_max_steps_per_epoch(3)
    seen = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    with pytest.warns(UserWarning, match="Limiting epochs to 2"):
        history = model.fit(x, y, epochs=5, batch_size=4, verbose=0, callbacks=[Count()])
    assert len(history.history["loss"]) == 2 and seen == [0, 1, 2, 0, 1, 2]
    with pytest.warns(UserWarning, match="Limiting steps_per_epoch to 3"):
        assert model.predict(x, batch_size=4, verbose=0).shape == (12, 1)
    assert config.max_epochs() == 2 and config.max_steps_per_epoch() == 3
    with pytest.raises(ValueError, match="positive integer"):
        config.set_max_epochs(0)


def test_traceback_filtering_drops_keras_frames() -> None:
    model = _model()

    def frames(enabled: bool) -> list:
        (config.enable_traceback_filtering if enabled else config.disable_traceback_filtering)()
        try:
            model.fit(np.zeros((4, 7)), np.zeros((4, 1)), verbose=0)
        except Exception as e:  # noqa: BLE001
            return [f.filename for f in traceback.extract_tb(e.__traceback__)]
        raise AssertionError("fit should have failed")

    keras_dir = "tapeflow/keras/"
    filtered = [f for f in frames(True) if keras_dir in f]
    assert len(filtered) == 2 and filtered[0].endswith("config.py")
    assert any(keras_dir + "models" in f for f in frames(False))
    assert config.is_traceback_filtering_enabled() is False


def test_interactive_logging_routes_messages(capsys, caplog) -> None:
    model = _model()
    config.disable_interactive_logging()
    assert keras.utils.is_interactive_logging_enabled() is False
    with caplog.at_level(logging.INFO, logger="tapeflow"):
        model.fit(np.zeros((4, 3)), np.zeros((4, 1)), epochs=1, verbose=2)
    assert capsys.readouterr().out == "" and "loss:" in caplog.text
    keras.utils.enable_interactive_logging()
    model.fit(np.zeros((4, 3)), np.zeros((4, 1)), epochs=1, verbose=2)
    assert "loss:" in capsys.readouterr().out


def test_flash_attention_switch() -> None:
    assert config.is_flash_attention_enabled() is None
    config.enable_flash_attention()
    assert config.is_flash_attention_enabled() is True
    with pytest.raises(ValueError, match="fused GPU kernel"):
        keras.layers.MultiHeadAttention(2, 4)
    keras.layers.MultiHeadAttention(2, 4, flash_attention=False)
    config.disable_flash_attention()
    keras.layers.MultiHeadAttention(2, 4)


def test_unsafe_deserialization_lets_named_lambda_configs_through() -> None:
    from tapeflow.keras.saving import safe_mode

    lam = {"class_name": "Lambda", "config": {"function": "my_fn"}}
    with pytest.raises(ValueError, match="Lambda layer"):
        safe_mode.check_safe(lam, True, "m.keras")
    try:
        config.enable_unsafe_deserialization()
        safe_mode.check_safe(lam, True, "m.keras")
        with pytest.raises(ValueError, match="bytecode"):
            safe_mode.check_safe({"class_name": "__lambda__", "config": {}}, True, "m.keras")
    finally:
        safe_mode._UNSAFE[0] = False


def test_importing_config_first_has_no_import_cycle() -> None:
    import subprocess
    import sys

    code = ("import tapeflow.keras.config as c; c.dtype_policy(); c.disable_interactive_logging(); "
            "import tapeflow.keras.models; print(c.is_interactive_logging_enabled())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
