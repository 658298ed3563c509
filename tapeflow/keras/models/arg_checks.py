"""Argument checks shared by `fit` / `evaluate` / `predict`: every message names the argument and
echoes the received value, Keras-style (`Received: batch_size=0`).

Keras itself lets several bad values through (`batch_size=0` becomes 32, `epochs=-1` trains
nothing, `validation_split=1.5` trains on a slice with a negative end); here they are refused
before any work is done, so a typo never trains silently on the wrong data.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from tapeflow import backend as _backend
from tapeflow import nest
from tapeflow.dtypes import is_real_float_np

__all__ = ["check_int", "check_fit_args", "check_batch_args", "check_array_data", "check_sparse_labels",
           "is_sparse_ce"]


def check_int(name: str, value: Any, minimum: int, allow_none: bool = True) -> int | None:
    """`value` as an int, refusing bools, floats and values below `minimum` (None passes when
    `allow_none`)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        what = "a positive integer" if minimum > 0 else "a non-negative integer"
        raise ValueError(
            f"Argument `{name}` must be {what}{' or None' if allow_none else ''}. "
            f"Received: {name}={value!r} (of type {type(value).__name__})"
        )
    if value < minimum:
        what = "a positive integer" if minimum > 0 else "a non-negative integer"
        raise ValueError(f"Argument `{name}` must be {what}. Received: {name}={value!r}")
    return int(value)


def check_fit_args(batch_size: Any, epochs: Any, initial_epoch: Any, steps_per_epoch: Any,
                   validation_split: Any, validation_steps: Any,
                   validation_batch_size: Any) -> tuple[int | None, int, int, int | None]:
    """Check `fit`'s numeric arguments; returns `(batch_size, epochs, initial_epoch,
    steps_per_epoch)` as plain ints (or None)."""
    batch_size = check_int("batch_size", batch_size, 1)
    epochs = check_int("epochs", epochs, 0, allow_none=False)
    initial_epoch = check_int("initial_epoch", initial_epoch, 0, allow_none=False)
    steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch, 1)
    check_int("validation_steps", validation_steps, 1)
    check_int("validation_batch_size", validation_batch_size, 1)
    if validation_split is None:
        validation_split = 0.0
    if (isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real)
            or not 0.0 <= float(validation_split) < 1.0):
        raise ValueError(
            "Argument `validation_split` must be a float between 0 and 1 (0 included, 1 excluded). "
            f"Received: validation_split={validation_split!r}"
        )
    return batch_size, epochs, initial_epoch, steps_per_epoch


def check_batch_args(batch_size: Any, steps: Any) -> tuple[int | None, int | None]:
    """Check `evaluate` / `predict`'s `batch_size` and `steps`."""
    return check_int("batch_size", batch_size, 1), check_int("steps", steps, 1)


def _describe(struct: Any) -> str:
    return ", ".join(str(tuple(a.shape)) for a in nest.flatten(struct) if a is not None)


def _model_inputs(model: Any) -> list:
    """The symbolic inputs of a Functional / Sequential model with known inputs, else []."""
    try:
        return list(model.inputs or [])
    except (AttributeError, ValueError, TypeError):
        return []


def _expected_input_count(model: Any) -> int | None:
    from tapeflow.keras.models.sequential import Sequential

    if isinstance(model, Sequential):
        return 1
    return len(_model_inputs(model)) or None


def _check_input_count(model: Any, x: Any) -> None:
    expected = _expected_input_count(model)
    if expected is None:
        return
    if isinstance(x, Mapping):  # matched by name when the model is called
        return
    received = len(x) if isinstance(x, (list, tuple)) else 1
    if received != expected:
        raise ValueError(
            f'Model "{model.name}" expects {expected} input(s), but it received {received} input '
            f"tensors. Inputs received: [{_describe(x)}]"
        )


def is_sparse_ce(loss: Any) -> bool:
    """Whether the compiled `loss` is sparse categorical cross-entropy (labels are class indices)."""
    from tapeflow.keras import losses

    if isinstance(loss, str):
        return loss in ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy")
    if isinstance(loss, losses.SparseCategoricalCrossentropy):
        return True
    return loss is losses.sparse_categorical_crossentropy


def check_sparse_labels(model: Any, y: Any) -> None:
    """Sparse cross-entropy labels must be whole numbers (Keras truncates 1.5 to 1 silently)."""
    if not is_sparse_ce(getattr(model, "loss", None)) or y is None or nest.is_nested(y):
        return
    if not is_real_float_np(y.dtype):
        return
    labels = _backend.to_numpy(y)
    bad = labels != np.floor(labels)
    if bad.any():
        first = float(labels[bad].flat[0])
        raise ValueError(
            "sparse_categorical_crossentropy expects integer class indices in `y`, but it "
            f"received non-integer labels (e.g. y={first!r}); they would be truncated. Round "
            "them or cast them to an integer dtype."
        )


def _warn_complex(model: Any, x: Any) -> None:
    """Like TF: a complex input cast to a real input type loses its imaginary part."""
    inputs = _model_inputs(model)
    dtype = getattr(inputs[0], "dtype", "float32") if len(inputs) == 1 else "float32"
    want = getattr(dtype, "name", None) or str(dtype)
    if "complex" in want:
        return
    for leaf in nest.flatten(x):
        if leaf is not None and leaf.dtype.kind == "c":
            warnings.warn(
                f"You are casting an input of type {leaf.dtype.name} to an incompatible dtype "
                f"{want.replace('tf.', '')}.  This will discard the imaginary part and may not be "
                "what you intended.", stacklevel=4,
            )
            return


def check_array_data(model: Any, data: Any, method: str, argument: str = "x") -> None:
    """Checks of converted array data (`ArrayDataAdapter`) before `method` ("fit", "evaluate",
    "predict") runs: samples present, one array per model input, whole-number sparse labels,
    and a warning for complex inputs. `argument` names the data in messages."""
    if data.num_samples == 0:
        raise ValueError(
            f"`{method}()` received empty input data: `{argument}` has 0 samples (shapes: "
            f"{_describe(data.x)}). Pass at least one sample."
        )
    _check_input_count(model, data.x)
    if method != "predict":
        check_sparse_labels(model, data.y)
    _warn_complex(model, data.x)
