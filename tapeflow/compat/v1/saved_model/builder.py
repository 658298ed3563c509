"""`tf.compat.v1.saved_model.builder.SavedModelBuilder`: a TF1 graph's signatures and variables
written in Tapeflow's SavedModel format.

Each SignatureDef becomes a traced function of its input tensors (the graph between them and
the outputs, evaluated on the traced inputs; the variables it reads are captured with their
values at `add_meta_graph_and_variables`), saved with `tf.saved_model.save`. So the directory
loads with `tf.compat.v1.saved_model.loader.load` into a session and with the TF 2
`tf.saved_model.load`, whose `.signatures[key](**inputs)` returns {output key: tensor}. The tags
and method names, which Tapeflow's format does not hold, go to `tapeflow_v1_meta.json`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from typing import Any

from tapeflow import errors

META_FILE = "tapeflow_v1_meta.json"


def _refuse(what: str, why: str) -> None:
    raise errors.UnimplementedError(None, None, f"SavedModelBuilder.add_meta_graph_and_variables: {what} is not "
                                                f"supported: {why}.")


def _signature_function(key: str, signature_def: Any) -> Any:
    """The signature as a tf.function of its inputs (TensorSpecs named by the input keys)."""
    import tapeflow as tf2
    from tapeflow import graph
    from tapeflow.compat.v1.saved_model.utils import TensorInfo

    for what, infos in (("inputs", signature_def.inputs), ("outputs", signature_def.outputs)):
        for name, info in infos.items():
            if not isinstance(info, TensorInfo):
                raise AssertionError(f"Invalid `tensor_info` {info!r} in signature {key!r} {what}[{name!r}]: "
                                     "All TensorInfo protos used in the SignatureDefs must have the name and "
                                     "dtype fields set.")
    in_keys = sorted(signature_def.inputs)
    placeholders = [signature_def.inputs[k]._tensor for k in in_keys]
    out_keys = sorted(signature_def.outputs)
    outputs = [signature_def.outputs[k]._tensor for k in out_keys]
    specs = [tf2.TensorSpec(t.shape, t.dtype, name=k) for k, t in zip(in_keys, placeholders, strict=True)]

    def signature(*values: Any) -> dict:
        feed = {id(p): v for p, v in zip(placeholders, values, strict=True)}
        symbolic = [t for t in outputs if t._value is None]
        found = dict(zip([id(t) for t in symbolic], graph.evaluate(symbolic, feed) if symbolic else [], strict=True))
        return {k: found.get(id(t), t) for k, t in zip(out_keys, outputs, strict=True)}

    signature.__name__ = key
    return tf2.function(signature, input_signature=specs).get_concrete_function()


class SavedModelBuilder:
    """Builds a SavedModel from a TF1 session (TF's `tf.compat.v1.saved_model.Builder`).

    Example:
        >>> b = tf.saved_model.builder.SavedModelBuilder(export_dir)
        >>> b.add_meta_graph_and_variables(sess, [tf.saved_model.tag_constants.SERVING],
        ...     signature_def_map={"serving_default": sig})
        >>> b.save()
    """

    def __init__(self, export_dir: Any) -> None:
        export_dir = os.fspath(export_dir)
        if isinstance(export_dir, bytes):
            export_dir = export_dir.decode()
        self._export_dir = export_dir
        if os.path.exists(export_dir):
            if os.listdir(export_dir):
                raise AssertionError(
                    f"Export directory {export_dir} already exists, and isn't empty. Please choose a different "
                    "export directory, or delete all the contents of the specified directory.")
        else:
            os.makedirs(export_dir)
        self._staged: str | None = None
        self._meta: dict | None = None

    def add_meta_graph_and_variables(self, sess: Any, tags: Any, signature_def_map: dict | None = None,
                                     assets_collection: Any = None, legacy_init_op: Any = None,
                                     clear_devices: bool = False, main_op: Any = None,
                                     strip_default_attrs: bool = False, saver: Any = None) -> None:
        """Trace the signatures of `sess.graph` and snapshot its global variables' values now.

        `clear_devices` and `strip_default_attrs` concern TF's GraphDef proto, which Tapeflow does
        not write (its graphs have no device placements or default attributes), so either value
        gives the same directory.

        Raises:
            AssertionError: called twice on one builder (as TF).
            UnimplementedError: assets, an init/main op or a custom saver (Tapeflow's SavedModel
                has no assets and runs no op at load time).
        """
        import tapeflow as tf2
        from tapeflow.compat.v1 import variables as v1_variables

        if self._meta is not None:
            raise AssertionError("Graph state including variables and assets has already been saved. Please "
                                 "invoke `add_meta_graph()` instead.")
        if assets_collection:
            _refuse("assets_collection", "Tapeflow's SavedModel format has no assets directory")
        if legacy_init_op is not None or main_op is not None:
            _refuse("legacy_init_op" if legacy_init_op is not None else "main_op",
                    "Tapeflow's SavedModel runs no op when it is loaded (variables are restored with their "
                    "saved values)")
        if saver is not None:
            _refuse("saver", "the variables are written in Tapeflow's SavedModel format, not by a tf.train.Saver")
        if isinstance(tags, str):
            tags = [tags]
        tags = list(tags)
        signature_def_map = dict(signature_def_map or {})
        for key, sig in signature_def_map.items():
            if not isinstance(key, str):
                raise TypeError(f"signature_def_map keys must be strings, received {key!r}.")
            if not hasattr(sig, "inputs") or not hasattr(sig, "outputs"):
                raise TypeError(f"signature_def_map[{key!r}] must be a SignatureDef, received "
                                f"{type(sig).__name__}.")
        with sess.graph.as_default():
            engine_variables = [v._checkpoint_as() for v in v1_variables.global_variables()]
        functions = {key: _signature_function(key, sig) for key, sig in signature_def_map.items()}
        module = tf2.Module()
        module.variables_ = engine_variables
        staged = tempfile.mkdtemp(prefix="tapeflow_savedmodel_")
        tf2.saved_model.save(module, os.path.join(staged, "model"), signatures=functions)
        self._staged = os.path.join(staged, "model")
        self._meta = {"tags": [tags],
                      "method_names": {k: s.method_name for k, s in signature_def_map.items()}}

    def add_meta_graph(self, tags: Any, signature_def_map: dict | None = None, assets_collection: Any = None,
                       legacy_init_op: Any = None, clear_devices: bool = False, main_op: Any = None,
                       strip_default_attrs: bool = False, saver: Any = None) -> None:
        """Refused: a second MetaGraph (another tag set with its own signatures)."""
        if self._meta is None:
            raise AssertionError("Graph state including variables and assets has not been saved yet. Please "
                                 "invoke `add_meta_graph_and_variables()` first.")
        raise errors.UnimplementedError(
            None, None, "SavedModelBuilder.add_meta_graph: a second MetaGraph is not supported: Tapeflow's "
            "SavedModel holds one set of signatures (add them all in add_meta_graph_and_variables).")

    def save(self, as_text: bool = False, experimental_image_format: bool = False,
             experimental_image_writer_options: Any = None) -> str:
        """Write the SavedModel into the export directory; returns the model file's path (bytes, as TF)."""
        if as_text or experimental_image_format or experimental_image_writer_options is not None:
            what = "as_text" if as_text else "experimental_image_format"
            raise errors.UnimplementedError(
                None, None, f"SavedModelBuilder.save: {what} is not supported: Tapeflow writes its own format "
                "(saved_model.json and arrays.npz), not TF's saved_model.pb / .pbtxt.")
        if self._meta is None:  # as TF: a SavedModel with no MetaGraph (no tags, no signatures)
            import tapeflow as tf2

            self._staged = os.path.join(tempfile.mkdtemp(prefix="tapeflow_savedmodel_"), "model")
            tf2.saved_model.save(tf2.Module(), self._staged)
            self._meta = {"tags": [], "method_names": {}}
        if self._staged is None:
            raise AssertionError("SavedModelBuilder.save: this SavedModel was already saved.")
        for name in os.listdir(self._staged):
            shutil.move(os.path.join(self._staged, name), os.path.join(self._export_dir, name))
        with open(os.path.join(self._export_dir, META_FILE), "w") as f:
            json.dump(self._meta, f)
        shutil.rmtree(os.path.dirname(self._staged), ignore_errors=True)
        self._staged = None
        return os.path.join(self._export_dir, "saved_model.json").encode()


Builder = SavedModelBuilder
