"""`keras.config`: Keras's global settings.

floatx, epsilon and the image data format live in `keras.backend`; the dtype policy in
`keras.dtype_policies`; interactive logging in `keras.utils.io_utils`. This module adds the
debugging caps on epochs and steps that `fit`, `evaluate` and `predict` honour, traceback
filtering for those methods, unsafe deserialization, and the flash-attention switch.
"""

from __future__ import annotations

import functools
import os
import warnings
from typing import Any

from tapeflow.keras.backend import backend as backend
from tapeflow.keras.backend import (
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)
from tapeflow.keras.dtype_policies.dtype_policy import dtype_policy, set_dtype_policy

# NOTE: keras.saving and keras.utils import the models, which import this module: their settings
# are reached through functions that import them when called.


def enable_unsafe_deserialization() -> None:
    """Let `load_model` load Lambda layers given by name without `safe_mode=False` (bytecode stays
    refused)."""
    from tapeflow.keras.saving.safe_mode import enable_unsafe_deserialization as enable

    enable()


def enable_interactive_logging() -> None:
    """Print progress bars and messages to stdout (the default)."""
    from tapeflow.keras.utils import io_utils

    io_utils.enable_interactive_logging()


def disable_interactive_logging() -> None:
    """Send progress bars and messages to `logging.getLogger("tapeflow")` at INFO level."""
    from tapeflow.keras.utils import io_utils

    io_utils.disable_interactive_logging()


def is_interactive_logging_enabled() -> bool:
    """Whether messages are printed to stdout (True) or logged (False)."""
    from tapeflow.keras.utils import io_utils

    return io_utils.is_interactive_logging_enabled()


__all__ = [
    "backend", "disable_flash_attention", "disable_interactive_logging", "disable_traceback_filtering",
    "dtype_policy", "enable_flash_attention", "enable_interactive_logging", "enable_traceback_filtering",
    "enable_unsafe_deserialization", "epsilon", "floatx", "image_data_format", "is_flash_attention_enabled",
    "is_interactive_logging_enabled", "is_nnx_enabled", "is_traceback_filtering_enabled", "max_epochs",
    "max_steps_per_epoch", "set_backend", "set_dtype_policy", "set_epsilon", "set_floatx",
    "set_image_data_format", "set_max_epochs", "set_max_steps_per_epoch",
]

_MAX_EPOCHS: list = [None]
_MAX_STEPS_PER_EPOCH: list = [None]
_TRACEBACK_FILTERING = [True]
_FLASH_ATTENTION: list = [None]


def set_backend(backend: str) -> None:
    """Keras switches between JAX, TensorFlow and PyTorch; Tapeflow is its own single backend.

    Raises:
        ValueError: for any name other than "tapeflow".
    """
    if backend != "tapeflow":
        raise ValueError(f"keras.config.set_backend({backend!r}): Tapeflow runs Keras on its own engine, "
                         "the only backend is 'tapeflow'.")


def is_nnx_enabled() -> bool:
    """Whether Flax NNX integration is on: never (a JAX-backend feature)."""
    return False


def set_max_epochs(max_epochs: int | None) -> None:
    """Cap the number of epochs of every `fit` call (None removes the cap); for debugging runs."""
    _MAX_EPOCHS[0] = _check_cap("max_epochs", max_epochs)


def max_epochs() -> int | None:
    """The cap set by `set_max_epochs`, or None."""
    return _MAX_EPOCHS[0]


def set_max_steps_per_epoch(max_steps_per_epoch: int | None) -> None:
    """Cap the steps of every epoch of `fit` and of `evaluate`/`predict` (None removes the cap)."""
    _MAX_STEPS_PER_EPOCH[0] = _check_cap("max_steps_per_epoch", max_steps_per_epoch)


def max_steps_per_epoch() -> int | None:
    """The cap set by `set_max_steps_per_epoch`, or None."""
    return _MAX_STEPS_PER_EPOCH[0]


def _check_cap(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"keras.config.set_{name}: expected a positive integer or None, received {value!r}.")
    return value


def capped_epochs(epochs: int) -> int:
    """`epochs` limited by `max_epochs()` (with Keras's warning when it is)."""
    cap = _MAX_EPOCHS[0]
    if cap and cap < epochs:
        warnings.warn(f"Limiting epochs to {cap}", stacklevel=3)
        return cap
    return epochs


def capped_steps(steps: int | None) -> int | None:
    """`steps` (None: the whole data) limited by `max_steps_per_epoch()` (with Keras's warning)."""
    cap = _MAX_STEPS_PER_EPOCH[0]
    if cap and (not steps or cap < steps):
        warnings.warn(f"Limiting steps_per_epoch to {cap}", stacklevel=3)
        return cap
    return steps


def enable_traceback_filtering() -> None:
    """Drop Tapeflow's Keras frames from tracebacks of errors raised in fit/evaluate/predict."""
    _TRACEBACK_FILTERING[0] = True


def disable_traceback_filtering() -> None:
    """Keep every frame in tracebacks (useful when debugging Tapeflow itself)."""
    _TRACEBACK_FILTERING[0] = False


def is_traceback_filtering_enabled() -> bool:
    """Whether tracebacks from fit/evaluate/predict are filtered (the default)."""
    return _TRACEBACK_FILTERING[0]


_KERAS_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def filter_traceback(fn: Any) -> Any:
    """Decorate `fn` so that an error it raises shows no frames of `tapeflow/keras` (when enabled)."""

    @functools.wraps(fn)
    def error_handler(*args: Any, **kwargs: Any) -> Any:
        if not _TRACEBACK_FILTERING[0]:
            return fn(*args, **kwargs)
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            kept = None
            tb = e.__traceback__
            frames = []
            while tb is not None:
                frames.append(tb)
                tb = tb.tb_next
            for tb in reversed(frames):
                if not tb.tb_frame.f_code.co_filename.startswith(_KERAS_DIR):
                    kept = type(tb)(kept, tb.tb_frame, tb.tb_lasti, tb.tb_lineno)
            if kept is None and frames:  # only Keras frames: keep the innermost, where it failed
                last = frames[-1]
                kept = type(last)(None, last.tb_frame, last.tb_lasti, last.tb_lineno)
            raise e.with_traceback(kept)  # noqa: B904 (the same error, its own cause kept)

    return error_handler


def enable_flash_attention() -> None:
    """Ask attention layers for flash attention.

    Tapeflow has no fused flash-attention kernel: attention layers created while it is enabled
    (without their own `flash_attention=` argument) raise an error that says so.
    """
    _FLASH_ATTENTION[0] = True


def disable_flash_attention() -> None:
    """Attention layers compute attention without flash attention (Tapeflow's only way)."""
    _FLASH_ATTENTION[0] = False


def is_flash_attention_enabled() -> bool | None:
    """True/False once set by enable/disable_flash_attention, None (automatic) by default."""
    return _FLASH_ATTENTION[0]
