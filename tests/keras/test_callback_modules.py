"""Each callback module imports on its own (no import cycle through keras.callbacks)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["tapeflow.keras.callbacks_backup", "tapeflow.keras.callbacks_tensorboard",
                                    "tapeflow.keras.callbacks"])
def test_module_imports_first(module):
    code = f"import {module}; from tapeflow import keras; assert keras.callbacks.BackupAndRestore"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
