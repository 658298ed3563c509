"""`keras.utils.Config`: a dict of named values with attribute access, freezing and JSON."""

from __future__ import annotations

import copy
import difflib
import json
from typing import Any


class Config:
    """A dict-like container of named values, readable and writable as attributes.

    Example:
        >>> config = keras.utils.Config(learning_rate=0.1)
        >>> config.seed = 123
        >>> config.freeze()          # any further change raises ValueError
        >>> config.to_json()
        '{"learning_rate": 0.1, "seed": 123}'
    """

    __attrs__: Any = None

    def __init__(self, **kwargs: Any) -> None:
        self._config = kwargs
        self._frozen = False
        self.__attrs__ = set(dir(self))

    @property
    def frozen(self) -> bool:
        """Whether changes are refused."""
        return self._frozen

    def freeze(self) -> None:
        """Refuse any further change (setting, deleting, popping, updating)."""
        self._frozen = True

    def unfreeze(self) -> None:
        self._frozen = False

    def _raise_if_frozen(self) -> None:
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen.")

    def as_dict(self) -> dict:
        return copy.copy(self._config)

    def to_json(self) -> str:
        return json.dumps(self._config)

    def keys(self) -> Any:
        return self._config.keys()

    def values(self) -> Any:
        return self._config.values()

    def items(self) -> Any:
        return self._config.items()

    def pop(self, *args: Any) -> Any:
        self._raise_if_frozen()
        return self._config.pop(*args)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._raise_if_frozen()
        self._config.update(*args, **kwargs)

    def get(self, keyname: str, value: Any = None) -> Any:
        return self._config.get(keyname, value)

    def __setattr__(self, name: str, value: Any) -> None:
        attrs = object.__getattribute__(self, "__attrs__")
        if attrs is None or name in attrs:
            object.__setattr__(self, name, value)
            return
        self._raise_if_frozen()
        self._config[name] = value

    def __getattr__(self, name: str) -> Any:
        attrs = object.__getattribute__(self, "__attrs__")
        if attrs is None or name in attrs:
            return object.__getattribute__(self, name)
        config = object.__getattribute__(self, "_config")
        if name in config:
            return config[name]
        msg = f"Unknown attribute: '{name}'."
        close = difflib.get_close_matches(name, list(config), n=1, cutoff=0.7)
        if close:
            msg += f" Did you mean '{close[0]}'?"
        raise AttributeError(msg)

    def __setitem__(self, key: str, item: Any) -> None:
        self._raise_if_frozen()
        self._config[key] = item

    def __getitem__(self, key: str) -> Any:
        return self._config[key]

    def __delitem__(self, key: str) -> None:
        self._raise_if_frozen()
        del self._config[key]

    def __contains__(self, item: object) -> bool:
        return item in self._config

    def __iter__(self) -> Any:
        return iter(sorted(self._config))

    def __len__(self) -> int:
        return len(self._config)

    def __repr__(self) -> str:
        return f"<Config {self._config}>"
