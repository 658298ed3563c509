"""`keras.utils`: data helpers, progress bar, seeding, file download."""

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
