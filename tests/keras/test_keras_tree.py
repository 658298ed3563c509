"""keras.tree: nested-structure utilities, checked against Keras 3's optree-based rules."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from tapeflow.keras import tree

NT = collections.namedtuple("NT", "b a")


def _structures() -> list:
    return [
        {"b": [1, None, (2, 3)], "a": NT(4, {"z": 5, "y": 6}), "c": collections.OrderedDict([("q", 7), ("p", 8)])},
        [1, [2, [3, [4]]]],
        (None,),
        5,
        None,
        [],
        {"x": collections.deque([1, 2], maxlen=3)},
        [np.zeros(2), "text", b"bytes", {1, 2}],
    ]


def test_flatten_and_paths_follow_sorted_keys_and_field_order() -> None:
    s = _structures()[0]
    assert tree.flatten(s) == [4, 6, 5, 1, None, 2, 3, 7, 8]
    assert tree.flatten_with_path(s)[1] == (("a", 1, "y"), 6)
    assert tree.flatten(None) == [None] and tree.flatten({}) == [] and tree.flatten("ab") == ["ab"]


def test_map_structure_keeps_key_order_and_types() -> None:
    s = _structures()[0]
    out = tree.map_structure(lambda x: None if x is None else x * 10, s)
    assert list(out) == ["b", "a", "c"] and isinstance(out["a"], NT) and out["a"].a == {"z": 50, "y": 60}
    assert isinstance(out["c"], collections.OrderedDict) and list(out["c"]) == ["q", "p"]
    assert tree.map_structure(lambda x: 1, [None], none_is_leaf=False) == [None]
    with pytest.raises(ValueError, match="same nested structure"):
        tree.map_structure(lambda a, b: a, [1, 2], (1, 2))
    with pytest.raises(ValueError, match="same nested structure"):
        tree.map_structure(lambda a, b: a, [1, 2], [1, [2]])


def test_pack_traverse_and_helpers() -> None:
    assert tree.pack_sequence_as({"b": [0, 0], "a": 0}, [1, 2, 3]) == {"b": [2, 3], "a": 1}
    with pytest.raises(ValueError, match="2 leaves but flat_sequence has 1"):
        tree.pack_sequence_as([0, 0], [1])
    assert tree.traverse(lambda x: tree.MAP_TO_NONE if x == 2 else None, [1, [2, 3]]) == [1, [None, 3]]
    assert tree.traverse(lambda x: "X" if isinstance(x, list) and len(x) == 2 else None, [1, [2, 3]]) == "X"
    assert tree.traverse(lambda x: sum(x) if isinstance(x, list) else None, [1, [2, 3]], top_down=False) == 6
    assert tree.lists_to_tuples([1, [2, {"a": [3]}]]) == (1, (2, {"a": (3,)}))
    assert tree.map_shape_structure(len, [(1, 2), {"a": (3,), "b": []}]) == [2, {"a": 1, "b": 0}]
    assert tree.map_structure_up_to([None, None], lambda a: a, [[1, 2], 3]) == [[1, 2], 3]
    assert tree.is_nested([]) and not tree.is_nested(np.zeros(2)) and not tree.is_nested("ab")


def test_assert_same_structure_and_paths() -> None:
    tree.assert_same_structure({"a": [1]}, {"a": [2]})
    with pytest.raises(ValueError):
        tree.assert_same_structure([1, 2], (1, 2))
    with pytest.warns(DeprecationWarning, match="check_types"):
        tree.assert_same_structure([1], [2], check_types=True)
    tree.assert_same_paths([1, 2], (3, 4))
    with pytest.raises(ValueError, match="missing in `b`"):
        tree.assert_same_paths({"a": 1}, {"b": 1})


@pytest.mark.oracle
def test_matches_keras_tree() -> None:
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    kt = keras.tree
    for s in _structures():
        assert repr(tree.flatten(s)) == repr(kt.flatten(s))
        assert repr(tree.flatten_with_path(s)) == repr(kt.flatten_with_path(s))
        assert tree.is_nested(s) == kt.is_nested(s)
        f = lambda x: (x, 1) if isinstance(x, int) else x  # noqa: E731
        assert repr(tree.map_structure(f, s)) == repr(kt.map_structure(f, s))
        assert repr(tree.lists_to_tuples(s)) == repr(kt.lists_to_tuples(s))
        flat = list(range(len(kt.flatten(s))))
        assert repr(tree.pack_sequence_as(s, flat)) == repr(kt.pack_sequence_as(s, flat))
        g = lambda x: -1 if isinstance(x, int) and x > 2 else None  # noqa: E731
        for top_down in (True, False):
            assert repr(tree.traverse(g, s, top_down)) == repr(kt.traverse(g, s, top_down))
    for a, b in [([1, 2], (1, 2)), ({"a": 1}, {"a": [1]}), ([1], [2]), (NT(1, 2), (1, 2))]:
        for ours, theirs in ((tree.assert_same_structure, kt.assert_same_structure),
                             (tree.assert_same_paths, kt.assert_same_paths)):
            try:
                theirs(a, b)
                expected = None
            except (ValueError, TypeError):
                expected = ValueError
            if expected is None:
                ours(a, b)
            else:
                with pytest.raises(expected):
                    ours(a, b)


def test_tf_nest_keeps_mapping_types():  # as TF's nest: OrderedDict / defaultdict / dict subclasses
    import collections

    import tapeflow as tf

    ordered = collections.OrderedDict([("b", 1), ("a", 2)])
    assert tf.nest.flatten(ordered) == [2, 1]
    packed = tf.nest.pack_sequence_as(ordered, [5, 6])
    assert type(packed) is collections.OrderedDict and list(packed.items()) == [("b", 6), ("a", 5)]
    dd = tf.nest.map_structure(lambda x: x + 1, collections.defaultdict(list, {"b": 1, "a": 2}))
    assert type(dd) is collections.defaultdict and dd.default_factory is list and dict(dd) == {"b": 2, "a": 3}
    ds = tf.data.Dataset.range(3).map(lambda x: collections.OrderedDict([("b", x), ("a", x)]))
    assert type(ds.element_spec) is collections.OrderedDict and type(next(iter(ds.batch(2)))) is collections.OrderedDict
