"""`python -m tapeflow demo` and the `tapeflow` command, run as a new user runs them."""

from __future__ import annotations

import builtins
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from tapeflow import demo


def _run(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1", **(env or {}))
    return subprocess.run([sys.executable, "-m", "tapeflow", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=600)


def test_demo_trains_reports_saves_and_plots(tmp_path):
    out = tmp_path / "demo"
    proc = _run("demo", "--dataset", "embedded", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = proc.stdout
    assert "MNIST subset shipped with Tapeflow" in text
    # Keras's progress output (one line per epoch when stdout is not a terminal) and the summary.
    assert "Epoch 3/3" in text and "val_accuracy" in text
    assert "Total params" in text
    acc = float(re.search(r"Test accuracy: ([\d.]+)%", text).group(1)) / 100
    assert acc >= 0.9
    rows = [line for line in text.splitlines() if re.match(r"^\d\s+[\d.]+%", line)]
    assert len(rows) == 10  # one confusion line per digit
    model_path = out / "demo_cnn.keras"
    assert model_path.is_file()
    import tapeflow as tf

    model = tf.keras.models.load_model(str(model_path))
    _, (x_test, y_test) = tf.keras.datasets.mnist.load_embedded()
    pred = model.predict(x_test.astype("float32")[..., None] / 255.0, verbose=0).argmax(axis=1)
    assert abs(float(np.mean(pred == y_test)) - acc) < 1e-3  # the saved model is the evaluated one
    png = out / "learning_curves.png"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in text and not png.exists()
    else:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob("*.tmp*"))  # written under temporary names, then renamed


def test_learning_curves_without_matplotlib_explain_how_to_get_them(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.split(".")[0] == "matplotlib":
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    path = tmp_path / "curves.png"
    message = demo.plot_history({"loss": [1.0, 0.5], "accuracy": [0.5, 0.8]}, str(path))
    assert "matplotlib is not installed" in message and "pip install" in message
    assert not path.exists()


def test_confusion_summary_names_each_class_and_its_usual_confusion():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 2, 2, 1, 1, 1])
    lines = demo.confusion_summary(y_true, y_pred, ["cat", "dog", "eel"]).splitlines()
    assert lines[1].split()[:2] == ["cat", "33.3%"] and "eel (2x)" in lines[1]
    assert lines[2].split()[:2] == ["dog", "100.0%"] and lines[2].rstrip().endswith("-")
    assert lines[3].split()[:2] == ["eel", "0.0%"] and "dog (1x)" in lines[3]


def test_demo_without_the_requested_dataset_fails_with_a_message_not_a_traceback(tmp_path):
    proc = _run("demo", "--dataset", "fashion_mnist", "--out", str(tmp_path / "o"),
                env={"TAPEFLOW_DATA_DIR": str(tmp_path / "empty")})
    assert proc.returncode == 1
    assert proc.stderr.startswith("tapeflow demo failed:")
    assert "Traceback" not in proc.stderr
    assert "fashion" in proc.stderr.lower()


def test_the_command_line_lists_its_commands_and_rejects_unknown_ones():
    import tapeflow

    assert _run("version").stdout.strip() == tapeflow.__tapeflow_version__
    usage = _run("--help")
    assert usage.returncode == 0 and "demo" in usage.stdout
    bad = _run("train-everything")
    assert bad.returncode != 0 and "unknown command 'train-everything'" in bad.stderr
