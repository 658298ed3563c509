"""The public namespaces hold what TF's do: no helper imports, every listed name resolves."""

import pytest

import tapeflow as tf


def test_top_level_namespace_has_no_helper_names():
    for name in ("Any", "annotations"):
        assert not hasattr(tf, name), name
    assert tf.is_tensor(tf.constant(1.0)) and tf.newaxis is None


def test_every_name_keras_lists_resolves():
    names = dir(tf.keras)
    for name in ("Any", "annotations", "importlib"):
        assert name not in names
    for name in names:
        if not name.startswith("_"):
            assert getattr(tf.keras, name) is not None, name
    assert tf.keras.Sequential is tf.keras.models.Sequential


def test_unknown_attributes_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'no_such_thing'"):
        tf.no_such_thing  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'no_such_thing'"):
        tf.keras.no_such_thing  # noqa: B018
