"""`tf.compat.v1.feature_column`: the TF 2 columns plus `input_layer`, `linear_model`,
`shared_embedding_columns`, and TF 1's argument order of `categorical_column_with_vocabulary_file`."""

from __future__ import annotations

from typing import Any

from tapeflow import dtypes as _dt
from tapeflow.feature_column import categorical as _categorical
from tapeflow.feature_column import parse_spec as _parse_spec
from tapeflow.feature_column.base import FeatureColumn as _FeatureColumn
from tapeflow.feature_column.categorical import (  # noqa: F401
    categorical_column_with_hash_bucket,
    categorical_column_with_identity,
    categorical_column_with_vocabulary_list,
)
from tapeflow.feature_column.combined import crossed_column, weighted_categorical_column  # noqa: F401
from tapeflow.feature_column.dense_of_ids import embedding_column, indicator_column  # noqa: F401
from tapeflow.feature_column.layers import input_layer, linear_model  # noqa: F401
from tapeflow.feature_column.numeric import bucketized_column, numeric_column  # noqa: F401
from tapeflow.feature_column.sequence import (  # noqa: F401
    sequence_categorical_column_with_hash_bucket,
    sequence_categorical_column_with_identity,
    sequence_categorical_column_with_vocabulary_file,
    sequence_categorical_column_with_vocabulary_list,
    sequence_numeric_column,
)
from tapeflow.feature_column.shared import shared_embedding_columns  # noqa: F401


def categorical_column_with_vocabulary_file(key: str, vocabulary_file: str, vocabulary_size: Any = None,
                                            num_oov_buckets: int = 0, default_value: Any = None,
                                            dtype: Any = _dt.string) -> Any:
    """Ids from the line numbers of a vocabulary file (TF 1 argument order)."""
    return _categorical.categorical_column_with_vocabulary_file(
        key, vocabulary_file, vocabulary_size, dtype, default_value, num_oov_buckets)


def make_parse_example_spec(feature_columns: Any) -> dict:
    """The union of the columns' parse specs (TF 1 wording of the errors)."""
    for column in feature_columns:
        if not isinstance(column, _FeatureColumn):
            raise ValueError(f"All feature_columns must be _FeatureColumn instances. Given: {column}")
    return _parse_spec.make_parse_example_spec(feature_columns)
