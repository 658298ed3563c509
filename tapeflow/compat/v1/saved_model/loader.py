"""`tf.compat.v1.saved_model.loader.load`: a SavedModel's signatures into a TF1 session's graph.

Each signature becomes placeholders (named by its input keys) and one graph node calling the
loaded function on them; the returned MetaGraphDef's `signature_def` maps keys to SignatureDefs
whose TensorInfos give those tensors (`utils.get_tensor_from_tensor_info`). The variables are
the loaded function's own (their saved values); they need no initializer.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tapeflow import errors
from tapeflow.compat.v1.saved_model.builder import META_FILE
from tapeflow.compat.v1.saved_model.signature_def_utils import SignatureDef
from tapeflow.compat.v1.saved_model.utils import TensorInfo
from tapeflow.saved_model import constants


class MetaInfoDef:
    """TF's MetaGraphDef.MetaInfoDef: the MetaGraph's `tags`."""

    def __init__(self, tags: list) -> None:
        self.tags = list(tags)


class MetaGraphDef:
    """What `load` returns (TF's MetaGraphDef proto fields used by TF1 programs): `meta_info_def.tags`
    and `signature_def` ({key: SignatureDef} over tensors of the session's graph)."""

    def __init__(self, tags: list, signature_def: dict) -> None:
        self.meta_info_def = MetaInfoDef(tags)
        self.signature_def = signature_def


def _tag_sets(export_dir: str) -> tuple[list, dict]:
    path = os.path.join(export_dir, META_FILE)
    if not os.path.isfile(path):  # written by tf.saved_model.save: TF tags it "serve"
        return [[constants.SERVING]], {}
    with open(path) as f:
        meta = json.load(f)
    return meta["tags"], meta.get("method_names", {})


def maybe_saved_model_directory(export_dir: Any) -> bool:
    """Whether `export_dir` could hold a SavedModel (as `tf.saved_model.contains_saved_model`)."""
    return constants.contains_saved_model(export_dir)


def load(sess: Any, tags: Any, export_dir: Any, import_scope: Any = None, **saver_kwargs: Any) -> MetaGraphDef:
    """Load the SavedModel in `export_dir` whose tag set is `tags` into `sess.graph`.

    Raises:
        RuntimeError: no MetaGraph has exactly these tags (TF's message).
        UnimplementedError: `import_scope` or saver arguments (there is no name-based import
            and no tf.train.Saver restore here).
    """
    import tapeflow as tf2
    from tapeflow.compat.v1.lift import graph_call
    from tapeflow.compat.v1.placeholders import placeholder

    if import_scope is not None or saver_kwargs:
        what = "import_scope" if import_scope is not None else f"saver arguments {sorted(saver_kwargs)}"
        raise errors.UnimplementedError(
            None, None, f"saved_model.loader.load: {what} is not supported: signatures are imported as new "
            "placeholders and one call node each, without a name scope or a tf.train.Saver.")
    export_dir = os.fspath(export_dir)
    if isinstance(export_dir, bytes):
        export_dir = export_dir.decode()
    if isinstance(tags, str):
        tags = [tags]
    tag_sets, method_names = _tag_sets(export_dir) if os.path.isdir(export_dir) else ([], {})
    if not os.path.isfile(os.path.join(export_dir, "saved_model.json")):
        raise OSError(f"SavedModel file does not exist at: {export_dir}/{{saved_model.pbtxt|saved_model.pb}}")
    if not any(set(t) == set(tags) for t in tag_sets):
        available = [set(t) for t in tag_sets]
        raise RuntimeError(
            f"MetaGraphDef associated with tags {str(list(tags)).strip('[]')} could not be found in SavedModel, "
            f"with available tags '{available}'. To inspect available tag-sets in the SavedModel, please use "
            "the SavedModel CLI: `saved_model_cli`.")
    loaded = tf2.saved_model.load(export_dir)
    signature_def = {}
    with sess.graph.as_default():
        for key, fn in loaded.signatures.items():
            _, in_specs = fn.structured_input_signature
            inputs = {name: placeholder(spec.dtype, spec.shape, name=name) for name, spec in sorted(in_specs.items())}

            def call(feeds: dict, fn: Any = fn) -> dict:
                return fn(**feeds)

            outputs = graph_call(call, (inputs,), name=key, captured=list(fn.trainable_variables))
            signature_def[key] = SignatureDef({k: TensorInfo(t) for k, t in inputs.items()},
                                              {k: TensorInfo(t) for k, t in outputs.items()},
                                              method_names.get(key, constants.PREDICT_METHOD_NAME))
    sess._saved_model_keepalive = getattr(sess, "_saved_model_keepalive", []) + [loaded]
    return MetaGraphDef(list(tags), signature_def)
