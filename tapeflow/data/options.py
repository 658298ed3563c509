"""`tf.data.Options`: pipeline-wide settings set with `Dataset.with_options`.

Only settings that change what Tapeflow's pipelines do exist; setting any other attribute
raises AttributeError (as TF does for unknown names):
- `deterministic`: the default order of parallel `map` (True: input order).
- `autotune.enabled`: False makes `AUTOTUNE` parallelism one thread.
- `threading.private_threadpool_size`: the thread count `AUTOTUNE` uses (0: one per CPU).
- `experimental_distribute.auto_shard_policy`: read by distribution strategies when they shard
  a dataset across workers (`tf.data.experimental.AutoShardPolicy`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any

from tapeflow.data.dataset import Dataset


class ExternalStatePolicy(enum.Enum):
    """What saving an iterator does with state outside the pipeline (TF's values)."""

    WARN = 0
    IGNORE = 1
    FAIL = 2


class AutoShardPolicy(enum.IntEnum):
    """How a distribution strategy splits a dataset across workers."""

    OFF = -1
    AUTO = 0
    FILE = 1
    DATA = 2
    HINT = 3


class _OptionGroup:
    """A fixed set of named options with defaults; unknown names raise AttributeError."""

    _defaults: dict = {}

    def __init__(self) -> None:
        object.__setattr__(self, "_values", {})

    def __getattr__(self, name: str) -> Any:
        defaults = type(self)._defaults
        if name in defaults:
            return self._values.get(name, defaults[name])
        raise AttributeError(f"{type(self).__name__} has no option {name!r}; available: "
                             f"{', '.join(sorted(defaults))}.")

    def __setattr__(self, name: str, value: Any) -> None:
        defaults = type(self)._defaults
        if name not in defaults:
            raise AttributeError(f"{type(self).__name__} has no option {name!r}; available: "
                                 f"{', '.join(sorted(defaults))}.")
        self._values[name] = value

    def _merge(self, other: _OptionGroup) -> None:
        self._values.update(other._values)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._values == self._values

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._values})"


class AutotuneOptions(_OptionGroup):
    _defaults = {"enabled": True}


class ThreadingOptions(_OptionGroup):
    _defaults = {"private_threadpool_size": 0}


class DistributeOptions(_OptionGroup):
    _defaults = {"auto_shard_policy": AutoShardPolicy.AUTO}


_GROUPS = {"autotune": AutotuneOptions, "threading": ThreadingOptions,
           "experimental_distribute": DistributeOptions}


class Options:
    """Settings for a whole input pipeline (`dataset.with_options(options)`).

    Example:
        >>> options = tf.data.Options()
        >>> options.deterministic = False
        >>> ds = ds.with_options(options)
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_deterministic", None)
        object.__setattr__(self, "_external_state_policy", None)
        for name, group in _GROUPS.items():
            object.__setattr__(self, name, group())

    @property
    def deterministic(self) -> bool | None:
        return self._deterministic

    @deterministic.setter
    def deterministic(self, value: bool | None) -> None:
        if value is not None and not isinstance(value, bool):
            raise TypeError(f"Options.deterministic must be a bool or None, received {value!r}.")
        object.__setattr__(self, "_deterministic", value)

    experimental_deterministic = deterministic

    @property
    def experimental_external_state_policy(self) -> ExternalStatePolicy | None:
        """What checkpointing an iterator does when a function of the pipeline holds a stateful
        op (a py_function, random sampling): None or FAIL refuses, WARN warns, IGNORE saves."""
        return self._external_state_policy

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("deterministic", "experimental_deterministic"):
            Options.deterministic.fset(self, value)
            return
        if name == "experimental_external_state_policy":
            if value is not None and not isinstance(value, ExternalStatePolicy):
                raise TypeError("Options.experimental_external_state_policy must be a "
                                f"tf.data.experimental.ExternalStatePolicy or None, received {value!r}.")
            object.__setattr__(self, "_external_state_policy", value)
            return
        raise AttributeError(f"tf.data.Options has no settable option {name!r}; available: "
                             "deterministic, experimental_external_state_policy, autotune.enabled, "
                             "threading.private_threadpool_size, experimental_distribute.auto_shard_policy.")

    def merge(self, options: Options) -> Options:
        """A new Options with `options`' explicitly set values over this one's."""
        return merged([self, options])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Options) and other._deterministic == self._deterministic and (
            other._external_state_policy == self._external_state_policy) and all(
            getattr(self, n) == getattr(other, n) for n in _GROUPS)

    def __repr__(self) -> str:
        return f"<tf.data.Options deterministic={self._deterministic}>"


def merged(options: list) -> Options:
    """Options combined in order (later explicitly set values win)."""
    out = Options()
    for o in options:
        if o._deterministic is not None:
            out.deterministic = o._deterministic
        if o._external_state_policy is not None:
            out.experimental_external_state_policy = o._external_state_policy
        for name in _GROUPS:
            getattr(out, name)._merge(getattr(o, name))
    return out


class OptionsDataset(Dataset):
    """`with_options`: the input unchanged, with options that `dataset.options()` reports."""

    def __init__(self, input_ds: Dataset, options: Options, name: str | None = None) -> None:
        if not isinstance(options, Options):
            raise TypeError(f"Dataset.with_options: expected tf.data.Options, received "
                            f"{type(options).__name__}.")
        super().__init__((input_ds,), name)
        self._own_options = options

    def _compute_element_spec(self) -> Any:
        return self._inputs[0].element_spec

    def _compute_cardinality(self) -> int:
        return self._inputs[0]._compute_cardinality()

    def _index_plan(self) -> Any:
        return self._inputs[0]._index_plan()

    def _iter_elements(self) -> Iterator:
        yield from self._inputs[0]._iter_elements()

    def _iter_elements_from(self, position: int) -> Iterator | None:
        return self._inputs[0]._iter_elements_from(position)
