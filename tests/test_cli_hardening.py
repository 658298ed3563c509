"""The command line and the examples answer bad input with a message, not a traceback (issue 18)."""

import os
import sys

import pytest

import tapeflow
from tapeflow import demo
from tapeflow.__main__ import main

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


@pytest.mark.parametrize("flag", ["--version", "-V", "version"])
def test_version(flag, capsys):
    assert main([flag]) == 0
    assert capsys.readouterr().out.strip() == tapeflow.__tapeflow_version__


@pytest.mark.parametrize("args, needle", [
    (["--epochs", "0"], "argument --epochs: expected a positive integer, received 0"),
    (["--epochs", "2.5"], "argument --epochs: expected a positive integer, received '2.5'"),
    (["--batch-size", "-4"], "argument --batch-size: expected a positive integer, received -4"),
    (["--limit", "0"], "argument --limit: expected a positive integer, received 0"),
])
def test_demo_refuses_bad_numbers_before_touching_files(tmp_path, capsys, args, needle):
    out = tmp_path / "demo"
    with pytest.raises(SystemExit) as info:
        demo.main([*args, "--out", str(out)])
    assert info.value.code == 2
    assert needle in capsys.readouterr().err
    assert not out.exists()


def test_demo_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        demo.main(["--help"])
    text = capsys.readouterr().out
    assert "(default: 3)" in text and "(default: 64)" in text and "(default: auto)" in text


def test_examples_explain_a_failed_download(monkeypatch, capsys):
    monkeypatch.syspath_prepend(EXAMPLES)
    monkeypatch.setattr(sys, "argv", ["fashion_mnist_mlp.py"])
    import _common

    from tapeflow.keras.utils.file_utils import DownloadError

    def offline():
        raise DownloadError("Could not fetch 'train-images-idx3-ubyte.gz' from any of its mirrors")

    with pytest.raises(SystemExit) as info:
        _common.download(offline, "Fashion-MNIST")
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "fashion_mnist_mlp.py needs Fashion-MNIST" in err and "Traceback" not in err
    assert "Could not fetch" in err
