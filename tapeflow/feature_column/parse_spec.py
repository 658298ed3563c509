"""`make_parse_example_spec`: the `tf.io.parse_example` features dict a set of columns reads."""

from __future__ import annotations

from typing import Any

from tapeflow.feature_column.base import FeatureColumn


def make_parse_example_spec(feature_columns: Any) -> dict:
    """The union of the columns' parse specs, `{key: FixedLenFeature | VarLenFeature}`.

    Raises:
        ValueError: an item is not a feature column, or two columns parse one key differently.
    """
    result: dict = {}
    for column in feature_columns:
        if not isinstance(column, FeatureColumn):
            raise ValueError(f"All feature_columns must be FeatureColumn instances. Given: {column}")
        config = column.parse_example_spec
        for key, value in config.items():
            if key in result and value != result[key]:
                raise ValueError(f"feature_columns contain different parse_spec for key {key}. "
                                 f"Given {value} and {result[key]}")
        result.update(config)
    return result
