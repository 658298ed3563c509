"""The FlatBuffers writer and reader behind tf.lite: what one writes, the other reads back."""

from __future__ import annotations

import struct

import numpy as np

from tapeflow.lite.flatbuffer import Builder, Table, TableVector, TableView, Vector


def test_round_trip_of_scalars_strings_vectors_and_nested_tables():
    child = Table({0: ("i", -7), 2: "leaf"})
    root = Table({
        0: ("b", -3), 1: ("I", 4_000_000_000), 2: ("f", 1.5), 3: ("?", True), 4: ("q", -(2**40)),
        5: "héllo", 6: Vector("i", [1, -2, 3]), 7: Vector("B", bytes(range(10)), align=16),
        8: child, 9: TableVector([Table({0: ("h", i)}) for i in range(3)]), 11: Vector("f", []),
    })
    buf = Builder().finish(root, b"TEST")
    assert buf[4:8] == b"TEST" and len(buf) % 16 == 0
    view = TableView.root(buf)
    assert view.scalar(0, "b") == -3 and view.scalar(1, "I") == 4_000_000_000
    assert view.scalar(2, "f") == 1.5 and view.scalar(3, "?") is True and view.scalar(4, "q") == -(2**40)
    assert view.string(5) == "héllo"
    np.testing.assert_array_equal(view.vector(6, "int32"), [1, -2, 3])
    data_at = view._deref(7)
    assert (data_at + 4) % 16 == 0  # constant buffers are 16-byte aligned, as TFLite prefers
    np.testing.assert_array_equal(view.vector(7, "uint8"), np.arange(10))
    nested = view.table(8)
    assert nested.scalar(0, "i") == -7 and nested.string(2) == "leaf" and not nested.has(1)
    assert [t.scalar(0, "h") for t in view.tables(9)] == [0, 1, 2]
    assert view.vector(11, "float32").shape == (0,)
    # absent fields give the default; slots past the vtable's end are absent too
    assert view.scalar(10, "i", 42) == 42 and view.table(10) is None and view.string(30, "x") == "x"
    assert view.vector(30, "int32") is None and view.tables(30) == []


def test_every_scalar_is_aligned_to_its_size():
    buf = Builder().finish(Table({0: ("b", 1), 1: ("q", 2), 2: ("h", 3), 3: ("d", 4.0)}), b"TEST")
    view = TableView.root(buf)
    for index, fmt in enumerate(("b", "q", "h", "d")):
        at = view.pos + view._offset(index)
        assert at % struct.calcsize(fmt) == 0
    assert [view.scalar(i, f) for i, f in enumerate(("b", "q", "h", "d"))] == [1, 2, 3, 4.0]
