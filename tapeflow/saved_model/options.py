"""`tf.saved_model.SaveOptions` and `LoadOptions`: TF's option objects, checked once against
what Tapeflow's SavedModel format does (as `tf.train.CheckpointOptions` in tapeflow.train.options).

Each option is either honoured or, for a value that asks for something the format cannot do,
refused with an error naming the option, the value and why (never silently ignored):
- an `experimental_io_device` may only name this host (`/job:localhost`, `/CPU:0`, ...): all
  reading and writing happens in this process on the host;
- values that only restate what Tapeflow does (a namespace whitelist, no saver ops, the default
  variable policy) are accepted.
"""

from __future__ import annotations

import enum
from typing import Any

from tapeflow.train.options import _refuse, check_io_device


class VariablePolicy(enum.Enum):
    """`tf.saved_model.experimental.VariablePolicy`: how devices and distributed variables are saved."""

    NONE = None
    SAVE_VARIABLE_DEVICES = "save_variable_devices"
    EXPAND_DISTRIBUTED_VARIABLES = "expand_distributed_variables"

    @classmethod
    def from_obj(cls, obj: Any) -> VariablePolicy:
        if obj is None or isinstance(obj, cls):
            return cls.NONE if obj is None else obj
        for member in cls:
            if member.value == str(obj).lower():
                return member
        raise ValueError(f"Received invalid VariablePolicy value: {obj}.")


class SaveOptions:
    """Options for `tf.saved_model.save` (TF's arguments; see the module docstring)."""

    def __init__(self, namespace_whitelist: Any = None, save_debug_info: bool = False,
                 function_aliases: dict | None = None, experimental_debug_stripper: bool = False,
                 experimental_io_device: Any = None, experimental_variable_policy: Any = None,
                 experimental_custom_gradients: bool = True, experimental_image_format: bool = False,
                 experimental_skip_saver: bool = False, experimental_sharding_callback: Any = None,
                 extra_tags: Any = None) -> None:
        name = "tf.saved_model.SaveOptions"
        self.namespace_whitelist = list(namespace_whitelist or [])  # Tapeflow graphs hold no namespaced ops
        if save_debug_info:
            _refuse(name, "save_debug_info", save_debug_info,
                    "Tapeflow's SavedModel has no debug-info file (op creation stack traces).")
        if function_aliases:
            _refuse(name, "function_aliases", function_aliases,
                    "Tapeflow's SavedModel does not record function aliases; save the functions as "
                    "attributes or signatures instead.")
        if experimental_debug_stripper:
            _refuse(name, "experimental_debug_stripper", experimental_debug_stripper,
                    "Tapeflow's graphs carry no debug ops to strip.")
        check_io_device(name, experimental_io_device)
        policy = VariablePolicy.from_obj(experimental_variable_policy)
        if policy is not VariablePolicy.NONE:
            _refuse(name, "experimental_variable_policy", experimental_variable_policy,
                    "variables are saved without devices and are never distributed.")
        if experimental_image_format:
            _refuse(name, "experimental_image_format", experimental_image_format,
                    "Tapeflow writes its own documented format, not TF's chunked protobuf image.")
        if experimental_sharding_callback is not None:
            _refuse(name, "experimental_sharding_callback", experimental_sharding_callback,
                    "variables are written to one file.")
        if extra_tags:
            _refuse(name, "extra_tags", extra_tags, "a Tapeflow SavedModel has the one 'serve' tag set.")
        self.save_debug_info = False
        self.function_aliases: dict = {}
        self.experimental_debug_stripper = False
        self.experimental_io_device = experimental_io_device
        self.experimental_variable_policy = policy
        self.experimental_custom_gradients = bool(experimental_custom_gradients)
        self.experimental_image_format = False
        self.experimental_skip_saver = bool(experimental_skip_saver)  # there are no saver ops either way
        self.experimental_sharding_callback = None
        self.extra_tags = None


class LoadOptions:
    """Options for `tf.saved_model.load` (TF's arguments; see the module docstring)."""

    def __init__(self, allow_partial_checkpoint: bool = False, experimental_io_device: Any = None,
                 experimental_skip_checkpoint: bool = False, experimental_variable_policy: Any = None,
                 experimental_load_function_aliases: bool = False) -> None:
        name = "tf.saved_model.LoadOptions"
        check_io_device(name, experimental_io_device)
        if experimental_skip_checkpoint:
            _refuse(name, "experimental_skip_checkpoint", experimental_skip_checkpoint,
                    "a loaded Tapeflow SavedModel always takes its variables' saved values.")
        policy = VariablePolicy.from_obj(experimental_variable_policy)
        if policy is not VariablePolicy.NONE:
            _refuse(name, "experimental_variable_policy", experimental_variable_policy,
                    "variables are loaded on the host, never distributed.")
        if experimental_load_function_aliases:
            _refuse(name, "experimental_load_function_aliases", experimental_load_function_aliases,
                    "Tapeflow's SavedModel does not record function aliases.")
        self.allow_partial_checkpoint = bool(allow_partial_checkpoint)
        self.experimental_io_device = experimental_io_device
        self.experimental_skip_checkpoint = False
        self.experimental_variable_policy = policy
        self.experimental_load_function_aliases = False


def save_options(options: Any) -> SaveOptions:
    if options is None:
        return SaveOptions()
    if not isinstance(options, SaveOptions):
        raise TypeError(f"tf.saved_model.save: options must be a tf.saved_model.SaveOptions, received {options!r}.")
    return options


def load_options(options: Any) -> LoadOptions:
    if options is None:
        return LoadOptions()
    if not isinstance(options, LoadOptions):
        raise TypeError(f"tf.saved_model.load: options must be a tf.saved_model.LoadOptions, received {options!r}.")
    return options
