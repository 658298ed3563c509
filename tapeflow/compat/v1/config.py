"""Session configuration objects (`tf.ConfigProto`, `tf.GPUOptions`, ...), accepted and stored."""

from __future__ import annotations

from typing import Any


class _Options:
    """A record of keyword options; Tapeflow runs in-process and reads none of them."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = _Options()
        self.__dict__[name] = value
        return value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


class ConfigProto(_Options):
    """`tf.ConfigProto(allow_soft_placement=..., gpu_options=...)`: accepted, not used."""


class GPUOptions(_Options):
    """`tf.GPUOptions(allow_growth=...)`: accepted, not used."""


class RunOptions(_Options):
    """`tf.RunOptions`: accepted, not used."""


class RunMetadata(_Options):
    """`tf.RunMetadata`: accepted, not used."""


def __getattr__(name: str) -> object:
    # TF 1 names that are TF 2 objects (the generated table compat/v1/v2_names.py), on first use.
    from tapeflow.compat.v1.v2_alias import lookup

    return lookup("config", name)
