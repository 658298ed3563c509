"""keras.layers.TorchModuleWrapper against PyTorch itself: outputs, autograd gradients, SGD training."""

from __future__ import annotations

import copy
import sys

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.testing import check_gradients

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.oracle

RNG = np.random.default_rng(0)


def _bn_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 1))


def _grads(layer, module, *xs):
    """The wrapper's and torch's gradients of sum(out**2) w.r.t. the inputs and the parameters."""
    ts = [tf.constant(x) for x in xs]
    with tf.GradientTape() as tape:
        for t in ts:
            tape.watch(t)
        loss = tf.reduce_sum(layer(*ts) ** 2)
    ours = tape.gradient(loss, ts + layer.trainable_weights)
    txs = [torch.from_numpy(x).requires_grad_(True) for x in xs]
    theirs = torch.autograd.grad((module(*txs) ** 2).sum(), txs + list(module.parameters()))
    return [g.numpy() for g in ours], [g.numpy() for g in theirs]


@pytest.mark.parametrize("make, shape", [
    (lambda: torch.nn.Linear(4, 3), (5, 4)),
    (lambda: torch.nn.Conv2d(2, 3, kernel_size=3, padding=1), (2, 2, 6, 6)),
])
def test_outputs_and_gradients_match_torch(make, shape):
    torch.manual_seed(1)
    module = make()
    layer = keras.layers.TorchModuleWrapper(module)
    assert [w.name for w in layer.trainable_weights] == ["weight", "bias"]
    x = RNG.normal(size=shape).astype("float32")
    np.testing.assert_allclose(layer(x).numpy(), module(torch.from_numpy(x)).detach().numpy(), rtol=1e-6, atol=1e-6)
    ours, theirs = _grads(layer, module, x)
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_float64_gradients_match_central_differences():
    torch.manual_seed(2)
    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    layer = keras.layers.TorchModuleWrapper(module)
    assert layer.dtype == "float64"
    check_gradients(lambda x: layer(x), [RNG.normal(size=(3, 3))])


def test_assign_and_optimizer_updates_are_what_torch_computes_with():
    module = torch.nn.Linear(2, 1)
    layer = keras.layers.TorchModuleWrapper(module)
    x = np.ones((1, 2), "float32")
    layer.trainable_weights[0].assign(np.array([[1.0, 2.0]], "float32"))
    layer.trainable_weights[1].assign(np.array([0.5], "float32"))
    np.testing.assert_allclose(layer(x).numpy(), [[3.5]])
    np.testing.assert_allclose(module(torch.from_numpy(x)).detach().numpy(), [[3.5]])  # memory is shared
    opt = keras.optimizers.SGD(0.5)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x))
    opt.apply_gradients(zip(tape.gradient(loss, layer.trainable_weights), layer.trainable_weights, strict=True))
    np.testing.assert_allclose(layer(x).numpy(), [[3.5 - 0.5 * 3]])


def test_fit_matches_a_torch_sgd_loop_with_batchnorm():
    net = _bn_net()
    ref = copy.deepcopy(net)
    x = RNG.normal(size=(32, 4)).astype("float32")
    y = RNG.normal(size=(32, 1)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.TorchModuleWrapper(net)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    ref.train()
    losses = []
    for _ in range(2):
        for i in range(0, 32, 8):
            opt.zero_grad()
            loss = ((ref(torch.from_numpy(x[i:i + 8])) - torch.from_numpy(y[i:i + 8])) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    np.testing.assert_allclose(history.history["loss"], [np.mean(losses[:4]), np.mean(losses[4:])], rtol=1e-5)
    wrapper = model.layers[0]
    assert len(wrapper.trainable_weights) == 6 and len(wrapper.non_trainable_weights) == 3  # + BN buffers
    for key, value in ref.state_dict().items():
        np.testing.assert_allclose(net.state_dict()[key].numpy(), value.numpy(), rtol=1e-5, atol=1e-6)
    ref.eval()
    np.testing.assert_allclose(model.predict(x, verbose=0), ref(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)


def test_training_flag_sets_train_and_eval_modes():
    module = torch.nn.BatchNorm1d(3)
    layer = keras.layers.TorchModuleWrapper(module)
    x = RNG.normal(2.0, 1.0, size=(16, 3)).astype("float32")
    eval_out = layer(x, training=False).numpy()
    assert not module.training
    np.testing.assert_allclose(eval_out, x / np.sqrt(1 + 1e-5), rtol=1e-5)  # running stats 0 / 1, unchanged
    np.testing.assert_array_equal(module.running_mean.numpy(), 0.0)
    layer(x, training=True)
    assert module.training
    np.testing.assert_allclose(layer.non_trainable_weights[0].numpy(), 0.1 * x.mean(0), rtol=1e-5)


def test_save_and_load_weights_round_trip_includes_buffers(tmp_path):
    net = _bn_net()
    model = keras.Sequential([keras.Input((4,)), keras.layers.TorchModuleWrapper(net)])
    x = RNG.normal(size=(16, 4)).astype("float32")
    model(x, training=True)  # moves the running statistics
    expected = model.predict(x, verbose=0)
    for name in ("w.weights.h5", "w.weights.npz"):
        torch.manual_seed(5)
        fresh_net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                        torch.nn.Linear(8, 1))
        fresh = keras.Sequential([keras.Input((4,)), keras.layers.TorchModuleWrapper(fresh_net)])
        assert not np.allclose(fresh.predict(x, verbose=0), expected)
        model.save_weights(tmp_path / name)
        fresh.load_weights(tmp_path / name)
        np.testing.assert_allclose(fresh.predict(x, verbose=0), expected, rtol=1e-6)
        np.testing.assert_array_equal(fresh.layers[0].module[1].running_var.numpy(), net[1].running_var.numpy())


def test_save_own_variables_is_the_state_dict():
    net = _bn_net()
    layer = keras.layers.TorchModuleWrapper(net)
    store: dict = {}
    layer.save_own_variables(store)
    assert list(store) == list(net.state_dict())
    other = keras.layers.TorchModuleWrapper(torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 1)))
    store["1.running_mean"] = np.full(8, 3.0, "float32")
    other.load_own_variables(store)
    np.testing.assert_array_equal(other.weights[0].numpy(), net[0].weight.detach().numpy())
    np.testing.assert_array_equal(other.non_trainable_weights[0].numpy(), 3.0)  # the variable sees the load


def test_tuple_outputs_and_frozen_parameters():
    class Two(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(3, 2)
            self.b = torch.nn.Linear(3, 2)
            self.b.requires_grad_(False)

        def forward(self, x):
            return self.a(x), self.b(x) * 2

    module = Two()
    layer = keras.layers.TorchModuleWrapper(module)
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2
    x = tf.constant(RNG.normal(size=(4, 3)).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(x)
        a, b = layer(x)
        loss = tf.reduce_sum(a) + tf.reduce_sum(b * b)
    gx, gw, gb = tape.gradient(loss, [x] + layer.trainable_weights)
    tx = torch.from_numpy(x.numpy()).requires_grad_(True)
    ta, tb = module(tx)
    expected = torch.autograd.grad(ta.sum() + (tb * tb).sum(), [tx, module.a.weight, module.a.bias])
    for ours, theirs in zip([gx, gw, gb], expected, strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_unsupported_variants_are_refused_by_name(monkeypatch):
    layer = keras.layers.TorchModuleWrapper(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="without pickle|pickle"):
        layer.get_config()
    with pytest.raises(ValueError, match="pickle"):
        keras.layers.TorchModuleWrapper.from_config({"name": "t"})
    with pytest.raises(ValueError, match="meta"):
        keras.layers.TorchModuleWrapper(torch.nn.Linear(2, 2, device="meta"))
    with pytest.raises(ValueError, match="LazyModules"):
        keras.layers.TorchModuleWrapper(torch.nn.LazyLinear(2))
    with pytest.raises(ValueError, match="torch.nn.Module"):
        keras.layers.TorchModuleWrapper(lambda x: x)
    x = tf.constant(np.ones((1, 2), "float32"))
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = tf.reduce_sum(layer(x) ** 2)
        g = inner.gradient(y, x)
    with pytest.raises(tf.errors.InvalidArgumentError, match="gradients of gradients"):
        outer.gradient(g, x)
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r"tapeflow\[torch\]"):
        keras.layers.TorchModuleWrapper(object())


def test_trains_in_a_tf1_graph_like_torch():
    tf1 = tf.compat.v1
    torch.manual_seed(3)
    module = torch.nn.Linear(3, 2)
    ref = copy.deepcopy(module)
    x = RNG.normal(size=(4, 3)).astype("float32")
    with tf1.Graph().as_default():
        ph = tf1.placeholder(tf1.float32, [None, 3])
        loss = tf1.reduce_sum(keras.layers.TorchModuleWrapper(module)(ph) ** 2)
        step = tf1.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf1.Session() as sess:
            sess.run(tf1.global_variables_initializer())
            first = sess.run([loss, step], {ph: x})[0]
            second = sess.run(loss, {ph: x})
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    expected = []
    for _ in range(2):
        opt.zero_grad()
        value = (ref(torch.from_numpy(x)) ** 2).sum()
        value.backward()
        opt.step()
        expected.append(value.item())
    np.testing.assert_allclose([first, second], expected, rtol=1e-5)
