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
