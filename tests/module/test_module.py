"""tf.Module: attribute-walk tracking, names and name scopes, Keras layers as Modules."""

from __future__ import annotations

import pytest

import tapeflow as tf
from tapeflow import keras


def _scenario(tf_mod):
    """The same Module program for Tapeflow and TensorFlow; returns what it observed."""

    class Leaf(tf_mod.Module):
        def __init__(self, name=None):
            super().__init__(name=name)
            with self.name_scope:
                self.w = tf_mod.Variable(1.0, name="w")
                self.frozen = tf_mod.Variable(2.0, trainable=False, name="frozen")

    class Tree(tf_mod.Module):
        def __init__(self):
            super().__init__()
            self.z_leaf = Leaf(name="zed")
            self.a_list = [Leaf(), {"k2": tf_mod.Variable(3.0), "k1": tf_mod.Variable(4.0)}]
            self.m_tuple = (tf_mod.Variable(5.0, name="t"),)
            self.shared = self.z_leaf.w  # seen once

        @tf_mod.Module.with_name_scope
        def make(self):
            return tf_mod.Variable(6.0, name="made")

    with tf_mod.name_scope("outer"):
        tree = Tree()
    return {
        "name": tree.name,
        "scope": tree.name_scope.name,
        "vars": [float(v.numpy()) for v in tree.variables],
        "trainable": [float(v.numpy()) for v in tree.trainable_variables],
        "non_trainable": [float(v.numpy()) for v in tree.non_trainable_variables],
        "var_names": [v.name for v in tree.variables],
        "submodules": [m.name for m in tree.submodules],
        "made": tree.make().name,
        "list_type": type(tree.a_list).__name__,
        "dict_repr": repr(tree.a_list[1]).split("(")[0],
    }


def test_module_walk_order_names_and_scopes():
    got = _scenario(tf)
    # Own leaves by attribute name (a_list: its leaf module, then the dict by sorted key; m_tuple;
    # shared), then each sub-module's: leaf's, zed's (whose `w` was already seen as `shared`).
    assert got["vars"] == [4.0, 3.0, 5.0, 1.0, 2.0, 1.0, 2.0]
    assert got["trainable"] == [4.0, 3.0, 5.0, 1.0, 1.0]
    assert got["non_trainable"] == [2.0, 2.0]
    assert got["var_names"] == ["outer/Variable:0", "outer/Variable:0", "outer/t:0", "outer/zed/w:0",
                                "outer/leaf/frozen:0", "outer/leaf/w:0", "outer/zed/frozen:0"]
    assert got["name"] == "tree" and got["scope"] == "outer/tree/"
    assert got["submodules"] == ["leaf", "zed"]
    assert got["made"] == "outer/tree/made:0"
    assert got["list_type"] == "ListWrapper" and got["dict_repr"] == "DictWrapper"


@pytest.mark.oracle
def test_module_matches_tensorflow():
    real = pytest.importorskip("tensorflow")
    assert _scenario(tf) == _scenario(real)


def test_module_basics_and_errors():
    m = tf.Module()
    assert m.name == "module" and m.variables == () and m.submodules == ()

    class MyFancyModule(tf.Module):
        pass

    assert MyFancyModule().name == "my_fancy_module"
    with pytest.raises(ValueError, match="not a valid module name"):
        tf.Module(name="a b")
    with pytest.raises(AttributeError, match="has no setter"):
        m.name = "other"
    m.items = []
    m.items.append(tf.Variable(1.0))
    assert repr(m.items).startswith("ListWrapper([<tf.Variable")
    assert isinstance(m.items, list) and m.items == [m.items[0]]
    assert len(m.variables) == 1


def test_name_scope_names_variables_like_tf():
    with tf.name_scope("a") as scope:
        assert scope == "a/"
        with tf.name_scope("b") as inner:
            assert inner == "a/b/"
            assert tf.Variable(1.0).name == "a/b/Variable:0"
            assert tf.Variable(1.0, name="x").name == "a/b/x:0"
            with tf.name_scope("c/"):
                assert tf.Variable(1.0, name="y").name == "c/y:0"
            with tf.name_scope(""):
                assert tf.Variable(1.0, name="y").name == "y:0"
    assert tf.Variable(1.0, name="top").name == "top:0"
    with pytest.raises(ValueError, match="must be a string"):
        tf.name_scope(None)


def test_keras_layers_are_modules_with_keras_names():
    layer = keras.layers.Dense(3, name="dense_mod")
    assert isinstance(layer, tf.Module)
    with tf.name_scope("outer"):
        layer.build((None, 2))
    assert [v.name for v in layer.variables] == ["kernel", "bias"]
    assert [v.path for v in layer.variables] == ["dense_mod/kernel", "dense_mod/bias"]
    assert layer.name == "dense_mod" and layer.name_scope.name == "dense_mod/"
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    assert [type(m).__name__ for m in model.submodules][-2:] == ["Dense", "Dense"]
    assert len(model.variables) == 4 and model.variables[0] is model.layers[0].kernel


def test_module_holding_a_keras_layer_finds_its_weights():
    class Wrapper(tf.Module):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)
            self.dense.build((None, 3))
            self.scale = tf.Variable(1.0)

    w = Wrapper()
    assert {id(v) for v in w.trainable_variables} == {id(w.dense.kernel), id(w.dense.bias), id(w.scale)}
    assert w.submodules == (w.dense,)
    assert w.variables[0] is w.scale  # own leaves before the sub-module's
    assert sorted(tuple(v.shape) for v in w.variables[1:]) == [(2,), (3, 2)]
