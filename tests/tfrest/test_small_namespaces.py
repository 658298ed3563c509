"""tf.tools.docs.doc_controls, tf.security.fuzzing.py.annotation_types and tf.mlir.experimental
against TensorFlow's."""

from __future__ import annotations

import inspect

import pytest

import tapeflow as tf


def test_doc_controls_mark_objects_as_tf_does():
    dc = tf.tools.docs.doc_controls

    @dc.do_not_generate_docs
    class Hidden:
        pass

    @dc.header("Read me")
    class Base:
        pass

    assert hasattr(Hidden, "_tf_docs_do_not_document")
    assert dc.get_header(type("Child", (Base,), {})) == "Read me"
    for name in ("set_deprecated", "do_not_doc_inheritable", "for_subclass_implementers", "doc_private",
                 "doc_in_current_and_subclasses", "do_not_doc_in_subclasses"):
        assert getattr(dc, name)(Hidden) is Hidden


@pytest.mark.oracle
def test_doc_controls_and_annotation_types_match_tf():
    ttf = pytest.importorskip("tensorflow")

    def fn():
        pass

    for name in dir(ttf.tools.docs.doc_controls):
        if name.startswith("_") or name in ("T", "TypeVar", "Optional"):
            continue
        theirs, ours = getattr(ttf.tools.docs.doc_controls, name), getattr(tf.tools.docs.doc_controls, name)
        if name in ("header", "inheritable_header"):
            theirs, ours = theirs("h"), ours("h")
        elif name.startswith("get_"):
            continue
        a, b = type("A", (), {}), type("B", (), {})
        theirs(a)
        ours(b)
        assert {k for k in vars(a) if k.startswith("_tf_docs")} == {k for k in vars(b) if k.startswith("_tf_docs")}
    theirs_types = ttf.security.fuzzing.py.annotation_types
    ours_types = tf.security.fuzzing.py.annotation_types
    for name in dir(theirs_types):
        if name.startswith("_") or name in ("DTypeAnnotation",):
            continue
        ours_cls = getattr(ours_types, name)
        assert issubclass(ours_cls, ours_types.DTypeAnnotation)
        assert ours_cls.underlying_dtype.name == getattr(theirs_types, name).underlying_dtype.name


@pytest.mark.oracle
def test_mlir_converters_refuse_with_tf_signatures():
    ttf = pytest.importorskip("tensorflow")
    for name in dir(ttf.mlir.experimental):
        if name.startswith("_"):
            continue
        ours, theirs = getattr(tf.mlir.experimental, name), getattr(ttf.mlir.experimental, name)
        assert list(inspect.signature(ours).parameters) == list(inspect.signature(theirs).parameters)
    with pytest.raises(tf.errors.UnimplementedError, match="convert_function.*MLIR bridge"):
        tf.mlir.experimental.convert_function(None)


def test_sync_devices_eager_only():
    tf.test.experimental.sync_devices()

    @tf.function
    def inside():
        tf.test.experimental.sync_devices()
        return tf.constant(1)

    with pytest.raises(RuntimeError, match="must only be called in Eager mode"):
        inside()
