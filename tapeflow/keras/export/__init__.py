"""`keras.export`: `ExportArchive`, for SavedModels with the serving endpoints you choose."""

from tapeflow.keras.saving.export import ExportArchive

__all__ = ["ExportArchive"]
