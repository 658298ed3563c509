"""tf.train.Checkpoint: object-graph matching, deferred restoration, statuses, optimizer slots."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


class Linear(tf.Module):
    def __init__(self, n_in=3, n_out=2, name=None):
        super().__init__(name=name)
        self.w = tf.Variable(tf.random.normal([n_in, n_out]), name="w")
        self.b = tf.Variable(tf.zeros([n_out]), name="b")

    def __call__(self, x):
        return tf.matmul(x, self.w) + self.b


class Lazy(tf.Module):
    """Creates its variable on first call (restored as it is created)."""

    def __call__(self, x):
        if not hasattr(self, "w"):
            self.w = tf.Variable(tf.ones([x.shape[-1], 2]))
        return tf.matmul(x, self.w)


def test_round_trip_matches_by_attribute_path_not_by_name(tmp_path):
    src = Linear()
    src.extra = [tf.Variable(1.0), {"k": tf.Variable([2.0, 3.0])}]
    path = tf.train.Checkpoint(model=src).save(tmp_path / "ckpt")
    assert path == str(tmp_path / "ckpt-1")
    dst = Linear(name="renamed")
    dst.w = tf.Variable(tf.zeros([3, 2]), name="a_different_name")
    dst.extra = [tf.Variable(0.0), {"k": tf.Variable([0.0, 0.0])}]
    status = tf.train.Checkpoint(model=dst).restore(path)
    status.assert_consumed()
    np.testing.assert_array_equal(dst.w.numpy(), src.w.numpy())
    assert float(dst.extra[0].numpy()) == 1.0 and dst.extra[1]["k"].numpy().tolist() == [2.0, 3.0]


def test_deferred_restoration_of_modules_lists_and_keras_layers(tmp_path):
    src = tf.train.Checkpoint(lazy=Lazy(), items=[tf.Variable(5.0)], layer=keras.layers.Dense(2))
    x = tf.ones([1, 3])
    src.lazy.w = tf.Variable(tf.fill([3, 2], 7.0))
    src.layer(x)
    path = src.save(tmp_path / "c")

    dst = tf.train.Checkpoint(lazy=Lazy(), items=[], layer=keras.layers.Dense(2))
    status = dst.restore(path)
    with pytest.raises(AssertionError, match="Unresolved object"):
        status.assert_consumed()
    status.assert_existing_objects_matched()  # what exists now matched
    np.testing.assert_array_equal(dst.lazy(x).numpy(), np.full((1, 2), 21.0))  # created, then restored
    dst.items.append(tf.Variable(0.0))
    assert float(dst.items[0].numpy()) == 5.0
    dst.layer(x)  # built now: its kernel and bias are restored as add_weight creates them
    np.testing.assert_array_equal(dst.layer.kernel.numpy(), src.layer.kernel.numpy())
    status.assert_consumed()


def test_later_attribute_and_nested_checkpoints_restore_on_assignment(tmp_path):
    src = tf.train.Checkpoint(net=tf.train.Checkpoint(l1=tf.train.Checkpoint(bias=tf.Variable([1.0, 2.0]))))
    path = src.save(tmp_path / "c")
    bias = tf.Variable(tf.zeros([2]))
    root = tf.train.Checkpoint()
    status = root.restore(path)
    root.net = tf.train.Checkpoint(l1=tf.train.Checkpoint(bias=bias))
    assert bias.numpy().tolist() == [1.0, 2.0]
    status.assert_consumed().assert_nontrivial_match()


def _train(model, opt, x, y, steps):
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
    return [v.numpy() for v in model.trainable_variables]


@pytest.mark.parametrize("make_opt", [lambda: keras.optimizers.Adam(0.05),
                                      lambda: keras.optimizers.SGD(0.05, momentum=0.9)])
def test_optimizer_slots_restore_before_the_first_step(tmp_path, make_opt):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3)).astype("float32")
    y = rng.normal(size=(8, 1)).astype("float32")

    def make_model():
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                                 keras.layers.Dense(1)])

    model, opt = make_model(), make_opt()
    _train(model, opt, x, y, 3)
    ckpt = tf.train.Checkpoint(model=model, optimizer=opt)
    path = ckpt.save(tmp_path / "c")
    expected = _train(model, opt, x, y, 3)

    model2, opt2 = make_model(), make_opt()
    status = tf.train.Checkpoint(model=model2, optimizer=opt2).restore(path)
    status.assert_consumed()  # optimizer built on the restored variables, its slots restored
    assert int(opt2.iterations.numpy()) == 3
    got = _train(model2, opt2, x, y, 3)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)


def test_optimizer_restored_before_the_model_is_built(tmp_path):
    x = np.ones((2, 3), "float32")
    y = np.zeros((2, 2), "float32")
    model, opt = keras.layers.Dense(2), keras.optimizers.Adam(0.1)
    _train(model, opt, x, y, 2)
    path = tf.train.Checkpoint(model=model, optimizer=opt).save(tmp_path / "c")
    expected = _train(model, opt, x, y, 1)
    model2, opt2 = keras.layers.Dense(2), keras.optimizers.Adam(0.1)
    status = tf.train.Checkpoint(model=model2, optimizer=opt2).restore(path)
    assert not opt2.built
    model2(x)  # the layer builds; then the optimizer is built and its moments restored
    assert opt2.built
    got = _train(model2, opt2, x, y, 1)
    status.assert_consumed()
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)


def test_statuses_and_errors(tmp_path):
    ckpt = tf.train.Checkpoint(v=tf.Variable(1.0))
    path = ckpt.write(str(tmp_path / "exact"))
    assert path == str(tmp_path / "exact")
    assert tf.train.latest_checkpoint(str(tmp_path)) is None  # write() records nothing
    extra = tf.train.Checkpoint(v=tf.Variable(0.0), other=tf.Variable(0.0))
    status = extra.read(path)
    with pytest.raises(AssertionError, match="not bound to checkpointed values"):
        status.assert_existing_objects_matched()
    status.expect_partial()
    nothing = tf.train.Checkpoint(v=tf.Variable(0.0)).restore(None)
    with pytest.raises(AssertionError, match="No checkpoint specified"):
        nothing.assert_consumed()
    unrelated = tf.train.Checkpoint(w=tf.Variable(0.0)).restore(path)
    with pytest.raises(AssertionError, match="Nothing except the root"):
        unrelated.expect_partial().assert_nontrivial_match()
    with pytest.raises(ValueError, match="incompatible tensor with shape"):
        tf.train.Checkpoint(v=tf.Variable([1.0, 2.0])).restore(path)
    with pytest.raises(ValueError, match="trackable object"):
        tf.train.Checkpoint(step=1)
    with pytest.raises(TypeError, match="CheckpointOptions"):
        ckpt.save(str(tmp_path / "o"), options=object())
    with pytest.raises(tf.errors.NotFoundError):
        ckpt.restore(str(tmp_path / "missing"))


def test_save_numbers_and_save_counter(tmp_path):
    ckpt = tf.train.Checkpoint(v=tf.Variable(1.0))
    assert ckpt.save(str(tmp_path / "c")).endswith("c-1")
    ckpt.v.assign(2.0)
    second = ckpt.save(str(tmp_path / "c"))
    assert second.endswith("c-2") and tf.train.latest_checkpoint(str(tmp_path)) == second
    fresh = tf.train.Checkpoint(v=tf.Variable(0.0))
    fresh.restore(tf.train.latest_checkpoint(str(tmp_path))).assert_consumed()
    assert int(fresh.save_counter.numpy()) == 2 and float(fresh.v.numpy()) == 2.0
    assert fresh.save(str(tmp_path / "c")).endswith("c-3")


def test_root_object_and_readers(tmp_path):
    module = Linear()
    path = tf.train.Checkpoint(root=module, step=tf.Variable(4)).save(str(tmp_path / "r"))
    keys = dict(tf.train.list_variables(path))
    assert keys["w/.ATTRIBUTES/VARIABLE_VALUE"] == [3, 2] and keys["step/.ATTRIBUTES/VARIABLE_VALUE"] == []
    np.testing.assert_array_equal(tf.train.load_variable(str(tmp_path), "w/.ATTRIBUTES/VARIABLE_VALUE"),
                                  module.w.numpy())
    reader = tf.train.load_checkpoint(str(tmp_path))
    assert reader.get_variable_to_dtype_map()["step/.ATTRIBUTES/VARIABLE_VALUE"] == tf.int32
    assert reader.has_tensor("b/.ATTRIBUTES/VARIABLE_VALUE")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="Couldn't find 'checkpoint' file"):
        tf.train.load_checkpoint(str(tmp_path / "empty"))


def _oracle_program(tf_mod, directory):
    class Net(tf_mod.Module):
        def __init__(self):
            super().__init__()
            self.l1 = Lin(tf_mod)
            self.blocks = [Lin(tf_mod), {"gate": tf_mod.Variable([1.0, 2.0])}]
            self.pair = (tf_mod.Variable(3.0), self.l1)

    root = tf_mod.train.Checkpoint(net=Net(), step=tf_mod.Variable(7))
    path = root.save(directory + "/ckpt")
    return [(k, list(s)) for k, s in tf_mod.train.list_variables(path) if k != "_CHECKPOINTABLE_OBJECT_GRAPH"]


def Lin(tf_mod):  # noqa: N802 - a class factory
    class L(tf_mod.Module):
        def __init__(self):
            super().__init__()
            self.kernel = tf_mod.Variable(np.ones((2, 2), "float32"))

    return L()


@pytest.mark.oracle
def test_checkpoint_keys_match_tensorflow(tmp_path):
    real = pytest.importorskip("tensorflow")
    (tmp_path / "tf").mkdir()
    (tmp_path / "tapeflow").mkdir()
    assert _oracle_program(tf, str(tmp_path / "tapeflow")) == _oracle_program(real, str(tmp_path / "tf"))


def test_fit_resumes_exactly_after_restore(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(32, 5)).astype("float32")
    y = rng.integers(0, 3, size=32)

    def make():
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(3)])
        model.compile(optimizer=keras.optimizers.RMSprop(0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    model = make()
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    path = tf.train.Checkpoint(model=model, optimizer=model.optimizer).save(str(tmp_path / "fit"))
    model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)

    resumed = make()
    tf.train.Checkpoint(model=resumed, optimizer=resumed.optimizer).restore(path).assert_consumed()
    resumed.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(resumed.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_unused_values_warn_unless_expect_partial_and_nothing_is_kept_alive(tmp_path):
    import gc
    import weakref

    path = tf.train.Checkpoint(a=tf.Variable(1.0), b=tf.Variable(2.0)).write(str(tmp_path / "w"))
    root = tf.train.Checkpoint(a=tf.Variable(0.0))
    alive = weakref.ref(root)
    with pytest.warns(UserWarning, match=r"could not be found in the restored object: \(root\)\.b"):
        root.restore(path)
        del root
        gc.collect()
    assert alive() is None  # the pending restoration did not keep the program's objects alive
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = tf.train.Checkpoint(a=tf.Variable(0.0))
        quiet.restore(path).expect_partial()
        del quiet
        gc.collect()


def test_layer_weights_held_in_no_attribute_are_saved_and_restored(tmp_path):
    class Odd(keras.layers.Layer):
        def build(self, input_shape):
            self.scales = [self.add_weight(shape=(2,), initializer="ones", name="s0")]
            self.add_weight(shape=(3,), initializer="zeros", name="orphan")

        def call(self, x):
            return x

    src = Odd()
    src(np.ones((1, 2), "float32"))
    for w in src.weights:
        w.assign(np.full(w.shape, 7.0, "float32"))
    path = tf.train.Checkpoint(layer=src).save(str(tmp_path / "odd"))
    dst = Odd()
    status = tf.train.Checkpoint(layer=dst).restore(path)
    dst(np.ones((1, 2), "float32"))  # built now: both weights restored as add_weight creates them
    status.assert_consumed()
    assert [w.numpy().tolist() for w in dst.weights] == [[7.0, 7.0], [7.0, 7.0, 7.0]]


def test_keras_metrics_are_checkpointed(tmp_path):
    metric = keras.metrics.Mean()
    metric.update_state([1.0, 2.0, 6.0])
    path = tf.train.Checkpoint(metric=metric).write(str(tmp_path / "m"))
    fresh = keras.metrics.Mean()
    tf.train.Checkpoint(metric=fresh).read(path).assert_consumed()
    assert float(fresh.result()) == 3.0
