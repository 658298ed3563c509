"""tf.compat.v1 names that are TF 2 objects (compat/v1/v2_names.py, generated from TF 2.21).

The table is checked against TensorFlow (each name is the very TF 2 object in TF, or a second
wrapper of the same op with the same name and signature), every entry
resolves here, and a sample of them runs on graph tensors (lifted into Session.run) with TF's
numbers.
"""

from __future__ import annotations

import inspect
import os
import sys

import numpy as np
import pytest

import tapeflow as tf2
import tapeflow.compat.v1 as tf
from tapeflow.compat.v1.v2_alias import NOT_LIFTED
from tapeflow.compat.v1.v2_names import V2_NAMES

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from gen_compat_v1_names import signature_of  # noqa: E402


def _get(root, path):
    for part in path.split(".") if path else []:
        root = getattr(root, part)
    return root


@pytest.fixture(autouse=True)
def _fresh_graph():
    tf.reset_default_graph()
    yield
    tf.reset_default_graph()


def test_every_entry_resolves_to_the_v2_object():
    for ns, table in V2_NAMES.items():
        module = _get(tf, ns)
        for name, path in table.items():
            ours = getattr(module, name)
            theirs = _get(tf2, path)
            assert getattr(ours, "__wrapped__", ours) is theirs, (ns, name, path)
            if callable(theirs) and not isinstance(theirs, type) and name not in NOT_LIFTED:
                assert ours is theirs or hasattr(ours, "__wrapped__")


def test_unknown_names_still_raise_attribute_error():
    with pytest.raises(AttributeError, match="no_such_op"):
        tf.no_such_op  # noqa: B018
    with pytest.raises(AttributeError, match="tapeflow.compat.v1.image"):
        tf.image.no_such_op  # noqa: B018


@pytest.mark.oracle
def test_table_matches_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    for ns, table in V2_NAMES.items():
        module = _get(ttf.compat.v1, ns)
        for name, path in table.items():
            v1, v2 = getattr(module, name), _get(ttf, path)
            if v1 is not v2:  # else a second wrapper of the same op: same name and signature
                assert path.split(".")[-1] == name and inspect.isfunction(v1), (ns, name, path)
                assert signature_of(v1) == signature_of(v2), (ns, name, path)


@pytest.mark.oracle
def test_lifted_names_run_in_a_session_as_tf():
    ttf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    m = rng.standard_normal((3, 3)).astype(np.float32) + 3 * np.eye(3, dtype=np.float32)
    img = rng.random((2, 4, 5, 3)).astype(np.float32)
    v = rng.uniform(-0.9, 0.9, (5,)).astype(np.float32)
    seg = np.array([0, 0, 1, 2, 2])
    x = tf.placeholder(tf.float32, [5])
    a = tf.placeholder(tf.float32, [3, 3])
    im = tf.placeholder(tf.float32, [None, 4, 5, 3])
    fetches = [tf.acos(x), tf.matrix_determinant(a), tf.segment_sum(x, seg), tf.image.flip_left_right(im),
               tf.math.lgamma(x + 2.0), tf.linalg.logdet(a @ tf.transpose(a)), tf.nn.lrn(im, 2),
               tf.unsorted_segment_max(x, seg, 3), tf.random.shuffle(x, seed=1)]
    with tf.Session() as sess:
        got = sess.run(fetches, {x: v, a: m, im: img})
    want = [ttf.compat.v1.acos(v), ttf.compat.v1.matrix_determinant(m), ttf.compat.v1.segment_sum(v, seg),
            ttf.compat.v1.image.flip_left_right(img), ttf.compat.v1.math.lgamma(v + 2.0),
            ttf.compat.v1.linalg.logdet(m @ m.T), ttf.compat.v1.nn.lrn(img, 2),
            ttf.compat.v1.unsorted_segment_max(v, seg, 3)]
    for g, w in zip(got[:-1], want, strict=True):
        np.testing.assert_allclose(g, w.numpy(), rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(np.sort(got[-1]), np.sort(v))
    # The same names on plain values compute at once (no graph), like the engine's.
    np.testing.assert_allclose(tf.acos(v).numpy(), np.arccos(v), rtol=1e-6)
    assert tf.strings.upper(tf2.constant(["ab", "c"])).numpy().tolist() == [b"AB", b"C"]
