"""`safe_mode`: what a model file may ask to run.

Tapeflow never executes code from a file. Keras stores a `Lambda` layer's Python function as
marshalled bytecode (`{"class_name": "__lambda__"}`); such a config is refused whatever
`safe_mode` says. With `safe_mode=True` (the default) a `Lambda` layer is refused altogether, as
in Keras; with `safe_mode=False` a `Lambda` whose function is given by name loads when that name
is registered or passed in `custom_objects`.
"""

from __future__ import annotations

from typing import Any

_UNSAFE = [False]


def enable_unsafe_deserialization() -> None:
    """Load Lambda layers given by name without `safe_mode=False` (`keras.config`).

    As in Keras the setting overrides `load_model`'s `safe_mode` argument; bytecode stays refused.
    """
    _UNSAFE[0] = True


def _walk(config: Any) -> Any:
    if isinstance(config, dict):
        yield config
        for value in config.values():
            yield from _walk(value)
    elif isinstance(config, list):
        for value in config:
            yield from _walk(value)


def check_safe(config: Any, safe_mode: bool, path: str) -> None:
    """Raise ValueError when `config` (a model file's config.json) asks to run code.

    Args:
        config: the parsed JSON.
        safe_mode: Keras's switch (True: Lambda layers refused).
        path: the file, for the message.
    """
    for item in _walk(config):
        name = item.get("class_name")
        if name in ("__lambda__", "__bytes__") or (isinstance(item.get("config"), dict)
                                                   and "code" in item["config"] and name == "function"):
            raise ValueError(
                f"Model file '{path}' holds Python bytecode (a Lambda layer's function). Tapeflow never runs "
                "code from a file, also with safe_mode=False: define the function in your code, register it "
                "with keras.saving.register_keras_serializable, and rebuild the Lambda layer, or replace it by "
                "a registered custom layer.")
        if name == "Lambda" and safe_mode and not _UNSAFE[0]:
            raise ValueError(
                f"Model file '{path}' holds a Lambda layer. Lambda layers can run arbitrary code, so they are "
                "refused by default. If you trust the file and its function is given by name (registered or in "
                "custom_objects), pass `safe_mode=False` to load it.")
