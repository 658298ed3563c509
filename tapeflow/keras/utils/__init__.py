"""`keras.utils`: data helpers, progress bar, seeding, file download."""

from tapeflow.keras.utils.file_utils import get_file  # noqa: F401
