"""`tf.tools.docs.doc_controls`: decorators that mark objects for TF's docs generator.

Each marker sets TF's attribute on the object (`_tf_docs_do_not_document`, ...) and returns it
unchanged, so libraries written against TF that decorate their classes run the same here and
TF's doc tooling reads the marks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional, TypeVar

T = TypeVar("T")

_DEPRECATED = "_tf_docs_deprecated"
_INHERITABLE_HEADER = "_tf_docs_inheritable_header"
_DO_NOT_DOC = "_tf_docs_do_not_document"
_DO_NOT_DOC_INHERITABLE = "_tf_docs_do_not_doc_inheritable"
_FOR_SUBCLASS_IMPLEMENTERS = "_tf_docs_tools_for_subclass_implementers"
_DOC_PRIVATE = "_tf_docs_doc_private"
_DOC_IN_CURRENT_AND_SUBCLASSES = "_tf_docs_doc_in_current_and_subclasses"


def _marker(attribute: str, doc: str) -> Callable:
    def mark(obj: T) -> T:
        setattr(obj, attribute, None)
        return obj

    mark.__doc__ = doc
    return mark


set_deprecated = _marker(_DEPRECATED, "Mark `obj` as deprecated in the generated docs.")
do_not_generate_docs = _marker(_DO_NOT_DOC, "Leave `obj` out of the generated docs.")
do_not_doc_inheritable = _marker(_DO_NOT_DOC_INHERITABLE, "Leave `obj` and its overrides in subclasses out.")
for_subclass_implementers = _marker(_FOR_SUBCLASS_IMPLEMENTERS,
                                    "Document `obj` only in the class defining it (for subclass implementers).")
do_not_doc_in_subclasses = for_subclass_implementers
doc_private = _marker(_DOC_PRIVATE, "Document `obj` although its name starts with an underscore.")
doc_in_current_and_subclasses = _marker(_DOC_IN_CURRENT_AND_SUBCLASSES,
                                        "Document `obj` in its class and in every subclass.")


def inheritable_header(text: str) -> Callable:
    """A class decorator that adds `text` as a header to the docs of the class and its subclasses."""

    def wrapped(cls: T) -> T:
        setattr(cls, _INHERITABLE_HEADER, text)
        return cls

    return wrapped


def get_inheritable_header(obj: object) -> Optional[str]:  # noqa: UP045 - TF's signature
    """The header `inheritable_header` set on `obj` (or a base class), else None."""
    return getattr(obj, _INHERITABLE_HEADER, None)


header = inheritable_header
get_header = get_inheritable_header
