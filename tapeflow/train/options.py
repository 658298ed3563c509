"""`tf.train.CheckpointOptions`: TF's checkpoint options, checked against what Tapeflow's
checkpoint format does. A value is honoured or refused with an error naming it and why:
`experimental_io_device` may only name this host; `enable_async=True` writes before `save`
returns (what an async save guarantees after `sync()`); `experimental_write_callbacks` run after
each write, with the path when they take an argument.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


def _refuse(cls: str, name: str, value: Any, why: str) -> None:
    raise ValueError(f"{cls}: {name}={value!r} is not supported: {why}")


def check_io_device(cls: str, device: Any) -> None:
    """An io device may only be this host (Tapeflow reads and writes files in this process)."""
    if device is None:
        return
    text = str(device).lower()
    local = text.startswith("/job:localhost") or text.startswith("/cpu") or text.startswith("/device:cpu")
    if not local:
        _refuse(cls, "experimental_io_device", device,
                "files are read and written by this process on the host (only '/job:localhost' or a CPU "
                "device can be named).")


class CheckpointOptions:
    """Options for `tf.train.Checkpoint` writes and reads (TF's arguments; see the module docstring)."""

    def __init__(self, experimental_io_device: Any = None, experimental_enable_async_checkpoint: bool = False,
                 experimental_write_callbacks: list | None = None, enable_async: bool = False,
                 experimental_skip_slot_variables: bool = False, experimental_sharding_callback: Any = None) -> None:
        name = "tf.train.CheckpointOptions"
        check_io_device(name, experimental_io_device)
        callbacks = list(experimental_write_callbacks or [])
        for cb in callbacks:
            if not callable(cb):
                raise ValueError(f"{name}: experimental_write_callbacks must be callables, received {cb!r}.")
        if experimental_skip_slot_variables:
            _refuse(name, "experimental_skip_slot_variables", experimental_skip_slot_variables,
                    "optimizer slots are always written with the optimizer.")
        if experimental_sharding_callback is not None:
            _refuse(name, "experimental_sharding_callback", experimental_sharding_callback,
                    "a checkpoint is written to one file.")
        self.experimental_io_device = experimental_io_device
        self.experimental_enable_async_checkpoint = bool(experimental_enable_async_checkpoint)
        self.enable_async = bool(enable_async or experimental_enable_async_checkpoint)
        self.experimental_write_callbacks: list[Callable] = callbacks
        self.experimental_skip_slot_variables = False
        self.experimental_sharding_callback = None


def checkpoint_options(options: Any) -> CheckpointOptions:
    """`options` as CheckpointOptions (None: the defaults); anything else is a TypeError."""
    if options is None:
        return CheckpointOptions()
    if not isinstance(options, CheckpointOptions):
        raise TypeError(f"tf.train.Checkpoint: options must be a tf.train.CheckpointOptions, received {options!r}.")
    return options


def run_write_callbacks(options: CheckpointOptions, path: str) -> None:
    """Call each write callback after a checkpoint write, with `path` if it takes an argument."""
    for cb in options.experimental_write_callbacks:
        try:
            takes_path = any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
                             for p in inspect.signature(cb).parameters.values())
        except (TypeError, ValueError):
            takes_path = True
        if takes_path:
            cb(path)
        else:
            cb()
