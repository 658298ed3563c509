"""tf.saved_model's constants (TF's values) and contains_saved_model."""

from __future__ import annotations

import pytest

import tapeflow as tf


@pytest.mark.oracle
def test_constants_are_tfs():
    ttf = pytest.importorskip("tensorflow")
    names = [n for n in dir(ttf.saved_model) if isinstance(getattr(ttf.saved_model, n), (str, int))
             and not n.startswith("_")]
    assert len(names) >= 20
    for name in names:
        assert getattr(tf.saved_model, name) == getattr(ttf.saved_model, name), name


def test_contains_saved_model(tmp_path):
    assert not tf.saved_model.contains_saved_model(tmp_path)
    module = tf.Module()
    module.v = tf.Variable(1.0)
    tf.saved_model.save(module, str(tmp_path / "m"))
    assert tf.saved_model.contains_saved_model(tmp_path / "m")
    assert tf.saved_model.contains_saved_model(str(tmp_path / "m"))
    (tmp_path / "tf").mkdir()
    (tmp_path / "tf" / "saved_model.pb").write_bytes(b"")
    assert tf.saved_model.contains_saved_model(tmp_path / "tf")
