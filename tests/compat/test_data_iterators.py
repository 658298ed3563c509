"""tf.compat.v1.data graph iterators in sessions, and make_saveable_from_iterator with a Saver,
side by side with TensorFlow's TF 1 mode."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
import tapeflow.compat.v1 as v1


def _lib(name: str):
    if name == "tensorflow":
        real = pytest.importorskip("tensorflow")
        return real, real.compat.v1
    return tf, v1


LIBRARIES = ["tapeflow", pytest.param("tensorflow", marks=pytest.mark.oracle)]


@pytest.mark.parametrize("name", LIBRARIES)
def test_one_shot_iterator_position_saved_by_a_saver(tmp_path, name):
    lib, compat = _lib(name)
    got = []
    with compat.Graph().as_default():
        it = compat.data.make_one_shot_iterator(lib.data.Dataset.range(5).map(lambda x: x * 2))
        nxt = it.get_next()
        assert tuple(nxt.shape) == () and nxt.dtype == lib.int64
        compat.add_to_collection(compat.GraphKeys.SAVEABLE_OBJECTS,
                                 lib.data.experimental.make_saveable_from_iterator(it))
        saver = compat.train.Saver()
        with compat.Session() as sess:
            got += [int(sess.run(nxt)), int(sess.run(nxt))]
            path = saver.save(sess, str(tmp_path / "ckpt"))
            got.append(int(sess.run(nxt)))
            saver.restore(sess, path)
            got += [int(sess.run(nxt)) for _ in range(3)]
            with pytest.raises(lib.errors.OutOfRangeError):
                sess.run(nxt)
        with pytest.raises(ValueError, match="The iterator does not have an initializer"):
            it.initializer  # noqa: B018
    assert got == [0, 2, 4, 4, 6, 8]


@pytest.mark.parametrize("name", LIBRARIES)
def test_initializable_iterator_pulls_once_per_run(name):
    lib, compat = _lib(name)
    with compat.Graph().as_default():
        ds = lib.data.Dataset.from_tensor_slices((np.arange(4.0, dtype="float32"), np.arange(4)))
        it = compat.data.make_initializable_iterator(ds)
        a, b = it.get_next()
        total = a + 1.0
        with compat.Session() as sess:
            with pytest.raises(lib.errors.FailedPreconditionError, match="iterator has not been initialized"):
                sess.run(a)
            sess.run(it.initializer)
            assert [v.tolist() for v in sess.run([a, b, total])] == [0.0, 0, 1.0]  # one element per run
            assert float(sess.run(a)) == 1.0
            sess.run(it.initializer)  # starts again
            assert float(sess.run(total)) == 1.0
            assert compat.data.get_output_types(it) == (lib.float32, lib.int64)


def test_a_saveable_follows_the_external_state_policy(tmp_path):
    with v1.Graph().as_default():
        ds = tf.data.Dataset.range(3).map(lambda x: tf.py_function(lambda v: v, [x], tf.int64))
        it = v1.data.make_one_shot_iterator(ds)
        nxt = it.get_next()
        refusing = v1.train.Saver([tf.data.experimental.make_saveable_from_iterator(it)])
        ignoring = v1.train.Saver([tf.data.experimental.make_saveable_from_iterator(it, "ignore")])
        with v1.Session() as sess:
            sess.run(nxt)
            with pytest.raises(tf.errors.FailedPreconditionError, match="EagerPyFunc is stateful"):
                refusing.save(sess, str(tmp_path / "a"))
            path = ignoring.save(sess, str(tmp_path / "b"))
            assert int(sess.run(nxt)) == 1
            ignoring.restore(sess, path)
            assert int(sess.run(nxt)) == 1


def test_compat_v1_data_holds_tf_data_names():
    assert v1.data.Dataset is tf.data.Dataset and v1.data.AUTOTUNE == tf.data.AUTOTUNE
    assert v1.data.experimental is tf.data.experimental and v1.data.Options is tf.data.Options
    with v1.Graph().as_default():
        nxt = v1.data.make_one_shot_iterator(v1.data.Dataset.range(3).batch(2)).get_next()
        with v1.Session() as sess:
            assert sess.run(nxt).tolist() == [0, 1] and sess.run(nxt).tolist() == [2]
