"""Tracked containers: list and dict attributes of a Module stay lists and dicts and report changes."""

from __future__ import annotations

import tapeflow as tf
from tapeflow import tracking


def test_wrappers_behave_as_list_and_dict_and_wrap_nested_values():
    m = tf.Module()
    m.items = [1, [2]]
    m.table = {"a": {"b": 1}}
    assert isinstance(m.items, list) and isinstance(m.items[1], tracking.ListWrapper)
    assert isinstance(m.table, dict) and isinstance(m.table["a"], tracking.DictWrapper)
    m.items += [3]
    m.items.insert(0, 0)
    m.items[1:2] = [[9]]
    assert m.items == [0, [9], [2], 3] and isinstance(m.items[1], tracking.ListWrapper)
    m.table.update(c=[4])
    assert m.table.setdefault("d", 5) == 5 and isinstance(m.table["c"], tracking.ListWrapper)
    assert repr(tracking.DictWrapper({"k": 1})) == "DictWrapper({'k': 1})"


def test_every_change_is_announced(tmp_path):
    seen = []
    tracking.add_listener(seen.append)
    try:
        m = tf.Module()
        m.items = []
        m.items.append(1)
        m.items.extend([2])
        m.table = {}
        m.table["k"] = 1
    finally:
        tracking.remove_listener(seen.append)
    kinds = [type(o).__name__ for o in seen]
    assert kinds == ["Module", "ListWrapper", "ListWrapper", "Module", "DictWrapper"]


def test_deferred_restore_through_every_container_method(tmp_path):
    src = tf.train.Checkpoint(vals=[tf.Variable(1.0), tf.Variable(2.0), tf.Variable(3.0)],
                              named={"x": tf.Variable(4.0), "y": tf.Variable(5.0)})
    path = src.write(str(tmp_path / "c"))
    dst = tf.train.Checkpoint(vals=[], named={})
    dst.restore(path)
    a, b, c = tf.Variable(0.0), tf.Variable(0.0), tf.Variable(0.0)
    dst.vals.extend([a])
    dst.vals += [b]
    dst.vals.insert(2, c)
    x, y = tf.Variable(0.0), tf.Variable(0.0)
    dst.named.update(x=x)
    dst.named.setdefault("y", y)
    assert [float(v.numpy()) for v in (a, b, c, x, y)] == [1.0, 2.0, 3.0, 4.0, 5.0]
