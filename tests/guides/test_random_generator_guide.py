"""guide/random_numbers.ipynb: a tf.random.Generator is trackable (checkpoint, SavedModel) and its
draws inside a tf.function advance the state on every call; numbers oracle-checked against TF 2.21."""

import numpy as np

import tapeflow as tf

# TF 2.21 (CPU) values for Generator.from_seed(1).normal(...) streams.
TF_FIRST_TWO = [[0.43842274, -0.53439844], [1.6307176, 0.00784778]]


def test_generator_in_tf_function_advances_each_call():
    g = tf.random.Generator.from_seed(1)

    @tf.function
    def f():
        return g.normal([2])

    a, b = f(), f()
    np.testing.assert_allclose(np.stack([a.numpy(), b.numpy()]), TF_FIRST_TWO, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g.normal([2]).numpy(), [-0.79253083, 0.37646857], rtol=1e-6)


def test_checkpoint_generator(tmp_path):
    # The guide's cells 15-17: the state is checkpointed and restored.
    g = tf.random.Generator.from_seed(1)
    cp = tf.train.Checkpoint(generator=g)
    g.normal([])
    filename = str(tmp_path / "checkpoint")
    cp.write(filename)
    after = [g.normal([]).numpy() for _ in range(2)]
    cp.restore(filename)
    again = [g.normal([]).numpy() for _ in range(2)]
    np.testing.assert_array_equal(after, again)
    assert [k for k, _ in tf.train.list_variables(filename) if "generator" in k] == [
        "generator/_state_var/.ATTRIBUTES/VARIABLE_VALUE"]


def test_saved_model_generator(tmp_path):
    class MyModule(tf.Module):
        def __init__(self):
            self.g = tf.random.Generator.from_seed(0)

        @tf.function
        def __call__(self):
            return self.g.normal([])

        @tf.function
        def state(self):
            return self.g.state

    m = MyModule()
    m()
    m.state()  # traced before saving, as TF saves only traced functions
    path = str(tmp_path / "saved_model")
    tf.saved_model.save(m, path)
    imported = tf.saved_model.load(path)
    np.testing.assert_array_equal(imported.state().numpy(), m.state().numpy())
    assert float(imported()) == float(m())
    assert float(imported()) == float(m())
