"""Name-based checkpoints (tf.compat.v1.train.Saver), as the TF guide "Migrating checkpoints"
uses them: Saver files read by load_checkpoint / list_variables, restored by name through
tf.train.Checkpoint (TF's NameBasedSaverStatus), and TF's own Saver checkpoints restored."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import tapeflow as tf
import tapeflow.compat.v1 as tf1


def _tf1_checkpoint(path: str) -> str:
    with tf.Graph().as_default():
        a = tf1.get_variable("a", shape=[], dtype=tf.float32, initializer=tf1.zeros_initializer())
        b = tf1.get_variable("b", shape=[2], dtype=tf.float32, initializer=tf1.zeros_initializer())
        c = tf1.get_variable("scoped/c", shape=[], dtype=tf.float32, initializer=tf1.zeros_initializer())
        with tf1.Session() as sess:
            saver = tf1.train.Saver()
            sess.run(a.assign(1))
            sess.run(b.assign([2, 2.5]))
            sess.run(c.assign(3))
            return saver.save(sess, path)


def test_saver_checkpoint_is_read_by_name(tmp_path) -> None:
    prefix = _tf1_checkpoint(str(tmp_path / "tf1-ckpt"))
    assert prefix == str(tmp_path / "tf1-ckpt")
    assert tf.train.list_variables(prefix) == [("a", []), ("b", [2]), ("scoped/c", [])]
    reader = tf.train.load_checkpoint(prefix)
    assert reader.get_tensor("scoped/c") == 3.0
    np.testing.assert_array_equal(reader.get_tensor("b"), [2, 2.5])
    assert tf.train.latest_checkpoint(str(tmp_path)) == prefix


def test_checkpoint_restores_a_saver_checkpoint_by_name(tmp_path) -> None:
    prefix = _tf1_checkpoint(str(tmp_path / "tf1-ckpt"))
    a = tf.Variable(0.0, name="a")
    with tf.name_scope("scoped"):
        c = tf.Variable(0.0, name="c")
    c_2 = tf.Variable(0.0, name="scoped/c")
    status = tf.train.Checkpoint(variables=[a, c, c_2]).restore(prefix)
    assert [a.numpy(), c.numpy(), c_2.numpy()] == [1.0, 3.0, 3.0]
    status.assert_consumed().run_restore_ops()
    x = tf.Variable(0.0, name="x")
    status = tf.train.Checkpoint(variables=[a, x]).restore(prefix)
    with pytest.raises(AssertionError, match=r"Some objects had attributes which were not restored: \n    "
                                             r"<tf.Variable 'x:0' .*: \['x'\]"):
        status.assert_consumed()
    status.expect_partial()


def test_saver_in_eager_saves_and_restores(tmp_path) -> None:
    a = tf.Variable(1.0, name="a")
    with tf.name_scope("scoped"):
        c = tf.Variable(3.0, name="c")
    saver = tf1.train.Saver(var_list=[a, c], max_to_keep=2)
    paths = [saver.save(None, str(tmp_path / "ck"), global_step=s) for s in (1, 2, 3)]
    assert not os.path.exists(paths[0] + ".index") and os.path.exists(paths[2] + ".index")
    assert tf.train.latest_checkpoint(str(tmp_path)) == paths[2]
    a.assign(9.0)
    saver.restore(None, paths[1])
    assert a.numpy() == 1.0
    with pytest.raises(tf.errors.NotFoundError, match="Key x not found in checkpoint"):
        tf1.train.Saver(var_list=[tf.Variable(0.0, name="x")]).restore(None, paths[1])


def test_saver_restores_tensorflows_own_saver_checkpoint(tmp_path) -> None:
    pytest.importorskip("tensorflow")
    code = ("import sys, tensorflow as tf, tensorflow.compat.v1 as tf1\n"
            "with tf.Graph().as_default():\n"
            "    a = tf1.get_variable('a', shape=[], initializer=tf1.zeros_initializer())\n"
            "    c = tf1.get_variable('scoped/c', shape=[2], initializer=tf1.zeros_initializer())\n"
            "    with tf1.Session() as s:\n"
            "        s.run(a.assign(1.5)); s.run(c.assign([3.0, 4.0]))\n"
            "        tf1.train.Saver().save(s, sys.argv[1])\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "tf1")], check=True, env=env, timeout=300,
                   capture_output=True)
    a = tf.Variable(0.0, name="a")
    c = tf.Variable([0.0, 0.0], name="scoped/c")
    tf1.train.Saver(var_list=[a, c]).restore(None, str(tmp_path / "tf1"))
    assert a.numpy() == 1.5 and c.numpy().tolist() == [3.0, 4.0]
    b = tf.Variable(0.0, name="a")
    tf.train.Checkpoint(v=[b]).restore(str(tmp_path / "tf1")).assert_consumed()
    assert b.numpy() == 1.5


def test_init_from_checkpoint_remaps_scopes_and_names(tmp_path) -> None:
    prefix = _tf1_checkpoint(str(tmp_path / "tf1-ckpt"))
    with tf.Graph().as_default():
        with tf1.variable_scope("new_scope"):
            a = tf1.get_variable("a", shape=[], dtype=tf.float32, initializer=tf1.zeros_initializer())
            b = tf1.get_variable("b", shape=[2], dtype=tf.float32, initializer=tf1.zeros_initializer())
            c = tf1.get_variable("scoped/c", shape=[], dtype=tf.float32, initializer=tf1.zeros_initializer())
        d = tf1.get_variable("d", shape=[], dtype=tf.float32, initializer=tf1.zeros_initializer())
        with tf1.Session() as sess:
            tf1.train.init_from_checkpoint(str(tmp_path), {"/": "new_scope/"})
            tf1.train.init_from_checkpoint(prefix, [("scoped/c", "d")])
            sess.run(tf1.global_variables_initializer())  # values load when the initializer runs
            got = sess.run([a, b, c, d])
    assert [float(got[0]), got[1].tolist(), float(got[2]), float(got[3])] == [1.0, [2.0, 2.5], 3.0, 3.0]
    eager = tf.Variable([0.0, 0.0])
    tf1.train.init_from_checkpoint(prefix, {"b": eager})
    assert eager.numpy().tolist() == [2.0, 2.5]
    with pytest.raises(ValueError, match="Tensor nope is not found in"):
        tf1.train.init_from_checkpoint(prefix, {"nope": eager})
    with pytest.raises(ValueError, match=r"Shape of variable .* doesn't match with shape of tensor a"):
        tf1.train.init_from_checkpoint(prefix, {"a": eager})


def test_object_keys_escape_as_tensorflow() -> None:
    """Edge names with '/' and '.' are escaped as TF 2.21 escapes them in checkpoint keys."""
    ck = tf.train.Checkpoint(var_list={"scoped/c": tf.Variable(1.0), "a.b": tf.Variable(2.0)})
    import tempfile

    keys = [k for k, _ in tf.train.list_variables(ck.save(os.path.join(tempfile.mkdtemp(), "esc")))]
    assert "var_list/scoped.Sc/.ATTRIBUTES/VARIABLE_VALUE" in keys
    assert "var_list/a..b/.ATTRIBUTES/VARIABLE_VALUE" in keys


def test_tf1_graph_variables_save_in_object_checkpoints(tmp_path) -> None:
    """tf.train.Checkpoint of TF 1 graph variables (compat.v1) saves and restores their values
    (they were silently left out)."""
    with tf.Graph().as_default():
        a = tf1.get_variable("a", shape=[], dtype=tf.float32, initializer=tf1.constant_initializer(1))
        with tf1.variable_scope("scoped"):
            c = tf1.get_variable("c", shape=[], dtype=tf.float32, initializer=tf1.constant_initializer(3))
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            path = tf.train.Checkpoint(unscoped=[a], scoped=[c]).save(str(tmp_path / "tf2-ckpt"))
    assert {k for k, _ in tf.train.list_variables(path)} >= {"unscoped/0/.ATTRIBUTES/VARIABLE_VALUE",
                                                              "scoped/0/.ATTRIBUTES/VARIABLE_VALUE"}
    x, y = tf.Variable(0.0), tf.Variable(0.0)
    tf.train.Checkpoint(unscoped=[x], scoped=[y]).restore(path).assert_consumed().run_restore_ops()
    assert (x.numpy(), y.numpy()) == (1.0, 3.0)
