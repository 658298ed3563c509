"""`DTypePolicyMap`: per-layer dtype policies keyed by layer path (exact match, then regex)."""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

from tapeflow.keras.dtype_policies.dtype_policy import DTypePolicy


class DTypePolicyMap(DTypePolicy, MutableMapping):
    """A dict of layer path -> `DTypePolicy`, with a default for paths it does not name.

    Lookup tries the key exactly, then every key as a `re.fullmatch` pattern ("encoder/.*");
    a path matching two patterns is an error. A layer given a map takes the policy of its name.

    Args:
        default_policy: the policy of unnamed paths (None: the global policy, read at lookup).
        policy_map: optional initial {path: policy}.
    """

    def __init__(self, default_policy: Any = None, policy_map: dict | None = None) -> None:
        from tapeflow.keras.dtype_policies import get

        if isinstance(default_policy, DTypePolicyMap):
            raise ValueError("`default_policy` cannot be a `DTypePolicyMap`.")
        if policy_map is not None and not isinstance(policy_map, dict):
            raise TypeError(f"If specified, `policy_map` must be a dict. Received: policy_map={policy_map!r} "
                            f"of type {type(policy_map)}")
        self._default_policy_arg = default_policy
        self._default_policy = get(default_policy) if default_policy is not None else None
        self._policy_map: dict = {}
        for key, value in (policy_map or {}).items():
            self[key] = value

    @property
    def default_policy(self) -> DTypePolicy:
        from tapeflow.keras.dtype_policies import get

        return self._default_policy if self._default_policy is not None else get(None)

    @property
    def name(self) -> str:
        return f"map_{self.default_policy.name}"

    @property
    def compute_dtype(self) -> str:
        return self.default_policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        return self.default_policy.variable_dtype

    @property
    def quantization_mode(self) -> str | None:
        return self.default_policy.quantization_mode

    def __getitem__(self, key: str) -> DTypePolicy:
        if key in self._policy_map:
            return self._policy_map[key]
        matches = [p for p in self._policy_map if re.fullmatch(p, key)]
        if len(matches) > 1:
            raise ValueError(f"Path '{key}' matches multiple dtype policy specification keys: {matches}. "
                             "Please make sure each path only matches at most one dtype policy specification "
                             "key in the DTypePolicyMap.")
        return self._policy_map[matches[0]] if matches else self.default_policy

    def __setitem__(self, key: str, policy: Any) -> None:
        from tapeflow.keras.dtype_policies import get

        if key in self._policy_map:
            raise ValueError(f"{key} already exist in the DTypePolicyMap with value {self._policy_map[key]}. "
                             "Please make sure to not use duplicated keys.")
        try:
            policy = get(policy)
        except Exception:
            raise ValueError("Cannot interpret the assigned value by `keras.dtype_policies.get`. "
                             f"Received: {policy!r} of type {type(policy)}") from None
        self._policy_map[key] = policy

    def __delitem__(self, key: str) -> DTypePolicy:
        return self._policy_map.pop(key)

    def __contains__(self, key: object) -> bool:
        return key in self._policy_map

    def __len__(self) -> int:
        return len(self._policy_map)

    def __iter__(self) -> Any:
        return iter(self._policy_map)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, DTypePolicyMap) and self.default_policy == other.default_policy
                and self._policy_map == other._policy_map)

    __hash__ = None  # a mutable mapping

    def get_config(self) -> dict:
        from tapeflow.keras.dtype_policies import serialize

        return {"default_policy": self._default_policy_arg if not isinstance(self._default_policy_arg, DTypePolicy)
                else serialize(self._default_policy_arg),
                "policy_map": {k: serialize(v) for k, v in self._policy_map.items()}}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> DTypePolicyMap:
        from tapeflow.keras.dtype_policies import deserialize

        config = dict(config)
        config["policy_map"] = {k: deserialize(v, custom_objects) for k, v in
                                (config.get("policy_map") or {}).items()}
        return cls(**config)

    def __repr__(self) -> str:
        default = self._default_policy.name if self._default_policy is not None else None
        mapping = [(k, v.name) for k, v in self._policy_map.items()]
        return f"<DTypePolicyMap at {hex(id(self))} default_policy={default}, mapping={mapping}>"
