"""`tf.saved_model` constants (TF's names and values: directory layout, tags, signature keys and
method names) and `contains_saved_model`."""

from __future__ import annotations

import os
from typing import Any

ASSETS_DIRECTORY = "assets"
ASSETS_KEY = "saved_model_assets"
DEBUG_DIRECTORY = "debug"
DEBUG_INFO_FILENAME_PB = "saved_model_debug_info.pb"
SAVED_MODEL_FILENAME_PB = "saved_model.pb"
SAVED_MODEL_FILENAME_PBTXT = "saved_model.pbtxt"
SAVED_MODEL_SCHEMA_VERSION = 1
VARIABLES_DIRECTORY = "variables"
VARIABLES_FILENAME = "variables"
# tag constants
SERVING = "serve"
TRAINING = "train"
GPU = "gpu"
TPU = "tpu"
# signature constants
DEFAULT_SERVING_SIGNATURE_DEF_KEY = "serving_default"
CLASSIFY_INPUTS = "inputs"
CLASSIFY_METHOD_NAME = "tensorflow/serving/classify"
CLASSIFY_OUTPUT_CLASSES = "classes"
CLASSIFY_OUTPUT_SCORES = "scores"
PREDICT_INPUTS = "inputs"
PREDICT_METHOD_NAME = "tensorflow/serving/predict"
PREDICT_OUTPUTS = "outputs"
REGRESS_INPUTS = "inputs"
REGRESS_METHOD_NAME = "tensorflow/serving/regress"
REGRESS_OUTPUTS = "outputs"

# Tapeflow's own SavedModel file (tapeflow/saved_model/save.py), next to TF's two.
_MODEL_FILES = ("saved_model.json", SAVED_MODEL_FILENAME_PB, SAVED_MODEL_FILENAME_PBTXT)


def contains_saved_model(export_dir: Any) -> bool:
    """Whether `export_dir` could hold a SavedModel (Tapeflow's saved_model.json, or TF's
    saved_model.pb / .pbtxt); False means it certainly does not. Loads nothing."""
    export_dir = os.fspath(export_dir)
    if isinstance(export_dir, bytes):
        export_dir = export_dir.decode()
    return any(os.path.isfile(os.path.join(export_dir, name)) for name in _MODEL_FILES)
