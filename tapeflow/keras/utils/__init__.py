"""`keras.utils`: data helpers, progress bar, seeding, file download, images, configs."""

from typing import Any as _Any

from tapeflow.keras.saving.object_registration import (  # noqa: F401
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from tapeflow.keras.utils.file_utils import get_file  # noqa: F401
from tapeflow.keras.utils.numerical_utils import normalize, to_categorical  # noqa: F401
from tapeflow.keras.utils.progbar import Progbar  # noqa: F401
from tapeflow.keras.utils.rng_utils import get_random_seed, set_random_seed  # noqa: F401
from tapeflow.keras.utils.py_dataset import PyDataset, Sequence  # noqa: F401
from tapeflow.keras.utils.dataset_split import split_dataset  # noqa: F401
from tapeflow.keras.utils.image_dataset import image_dataset_from_directory  # noqa: F401
from tapeflow.keras.utils.timeseries_dataset import timeseries_dataset_from_array  # noqa: F401
from tapeflow.keras.utils.text_dataset import text_dataset_from_directory  # noqa: F401
from tapeflow.keras.utils.config_dict import Config  # noqa: F401
from tapeflow.keras.utils.image_utils import array_to_img, img_to_array, load_img, save_img  # noqa: F401
from tapeflow.keras.utils.io_utils import (  # noqa: F401
    disable_interactive_logging,
    enable_interactive_logging,
    is_interactive_logging_enabled,
)
from tapeflow.keras.utils.sequence_utils import pad_sequences  # noqa: F401
from tapeflow.keras.utils.summary_utils import (  # noqa: F401
    get_source_inputs,
    is_keras_tensor,
    pack_x_y_sample_weight,
    unpack_x_y_sample_weight,
)
from tapeflow.keras.saving.serialization import deserialize_keras_object, serialize_keras_object  # noqa: F401
from tapeflow.keras.backend import clear_session, standardize_dtype  # noqa: F401

_LAZY = {"legacy": "tapeflow.keras.utils.legacy", "bounding_boxes": "tapeflow.keras.utils.bounding_boxes",
         "model_to_dot": "tapeflow.keras.utils.model_visualization",
         "plot_model": "tapeflow.keras.utils.model_visualization",
         "audio_dataset_from_directory": "tapeflow.keras.utils.audio_dataset",
         "FeatureSpace": "tapeflow.keras.utils.feature_space"}
_MODULES = {"legacy", "bounding_boxes"}


def __getattr__(name: str) -> _Any:
    import importlib

    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = module if name in _MODULES else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tapeflow.keras.utils' has no attribute {name!r}")


def __dir__() -> list:
    return sorted({n for n in globals() if not n.startswith("_")} | set(_LAZY))
