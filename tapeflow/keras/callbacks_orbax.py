"""`keras.callbacks.OrbaxCheckpoint`: present so Keras 3 code imports; it refuses to be created,
with Keras's message when Orbax is missing, and a pointer to the checkpoints Tapeflow writes
when it is installed (Orbax serialises JAX arrays, not Tapeflow variables)."""

from __future__ import annotations

import importlib.util
from typing import Any

from tapeflow.keras.callback_base import Callback


class OrbaxCheckpoint(Callback):
    """Keras 3's Orbax checkpointing callback, which Tapeflow does not provide.

    Creating one raises `ImportError`: Keras's own message ("requires the 'orbax-checkpoint'
    package") when Orbax is not installed, as Keras does, and otherwise one saying Tapeflow has
    no Orbax writer. Use `keras.callbacks.ModelCheckpoint` (whole models or weights, atomic
    files) or `keras.callbacks.BackupAndRestore` (resumable training state) instead.

    Args: those of Keras's `OrbaxCheckpoint` (directory, monitor, verbose, save_best_only, mode,
    save_freq, initial_value_threshold, max_to_keep, save_on_background, save_weights_only).
    """

    def __init__(self, directory: Any, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, mode: str = "auto", save_freq: Any = "epoch",
                 initial_value_threshold: Any = None, max_to_keep: int = 1,
                 save_on_background: bool = True, save_weights_only: bool = False) -> None:
        if importlib.util.find_spec("orbax") is None:
            raise ImportError("OrbaxCheckpoint requires the 'orbax-checkpoint' package. You can install it "
                              "via pip install orbax-checkpoint")
        raise ImportError(
            "OrbaxCheckpoint: Tapeflow does not write Orbax checkpoints (Orbax saves JAX arrays). Use "
            "keras.callbacks.ModelCheckpoint for model or weight files, or keras.callbacks.BackupAndRestore "
            f"for resumable training state. Received: directory={directory!r}"
        )
