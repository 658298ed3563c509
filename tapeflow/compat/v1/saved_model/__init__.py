"""`tf.compat.v1.saved_model`: TF1 SavedModel export from a session (`simple_save`, `Builder`)
and import into one (`load`), in Tapeflow's SavedModel format (see builder.py); the TF 2 names
(`save`, `load_v2`, ...) are Tapeflow's `tf.saved_model`."""

from __future__ import annotations

from typing import Any

from tapeflow.compat.v1.saved_model import (  # noqa: F401
    builder,
    constants,
    loader,
    signature_constants,
    signature_def_utils,
    tag_constants,
    utils,
)
from tapeflow.compat.v1.saved_model.builder import Builder, SavedModelBuilder  # noqa: F401
from tapeflow.compat.v1.saved_model.constants import *  # noqa: F403
from tapeflow.compat.v1.saved_model.loader import load, maybe_saved_model_directory  # noqa: F401
from tapeflow.compat.v1.saved_model.signature_constants import *  # noqa: F403
from tapeflow.compat.v1.saved_model.signature_def_utils import (  # noqa: F401
    build_signature_def,
    classification_signature_def,
    is_valid_signature,
    predict_signature_def,
    regression_signature_def,
)
from tapeflow.compat.v1.saved_model.tag_constants import *  # noqa: F403
from tapeflow.compat.v1.saved_model.utils import build_tensor_info, get_tensor_from_tensor_info  # noqa: F401
from tapeflow.saved_model import SaveOptions, contains_saved_model, save  # noqa: F401
from tapeflow.saved_model import load as load_v2  # noqa: F401


def simple_save(session: Any, export_dir: Any, inputs: dict, outputs: dict, legacy_init_op: Any = None) -> None:
    """Save `session`'s graph for serving: one "serving_default" Predict signature of `inputs`
    -> `outputs` ({name: tensor}), tagged "serve" (TF's `tf.compat.v1.saved_model.simple_save`)."""
    signature_def_map = {signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY:
                         signature_def_utils.predict_signature_def(inputs, outputs)}
    b = builder.SavedModelBuilder(export_dir)
    b.add_meta_graph_and_variables(session, tags=[tag_constants.SERVING], signature_def_map=signature_def_map,
                                   main_op=legacy_init_op, clear_devices=True)
    b.save()

