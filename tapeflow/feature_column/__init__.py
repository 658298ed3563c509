"""`tf.feature_column`: feature columns, TF's (deprecated) way to describe model inputs.

Columns are namedtuples with TF's fields, reprs, names and parse specs; compat.v1's `input_layer`
and `linear_model` turn a features dict into tensors (`tapeflow.compat.v1.feature_column`).
"""

from tapeflow.feature_column.categorical import (
    categorical_column_with_hash_bucket,
    categorical_column_with_identity,
    categorical_column_with_vocabulary_file,
    categorical_column_with_vocabulary_list,
)
from tapeflow.feature_column.combined import crossed_column, weighted_categorical_column
from tapeflow.feature_column.dense_of_ids import embedding_column, indicator_column
from tapeflow.feature_column.numeric import bucketized_column, numeric_column
from tapeflow.feature_column.parse_spec import make_parse_example_spec
from tapeflow.feature_column.sequence import (
    sequence_categorical_column_with_hash_bucket,
    sequence_categorical_column_with_identity,
    sequence_categorical_column_with_vocabulary_file,
    sequence_categorical_column_with_vocabulary_list,
    sequence_numeric_column,
)
from tapeflow.feature_column.shared import shared_embeddings

__all__ = [
    "bucketized_column", "categorical_column_with_hash_bucket", "categorical_column_with_identity",
    "categorical_column_with_vocabulary_file", "categorical_column_with_vocabulary_list",
    "crossed_column", "embedding_column", "indicator_column", "make_parse_example_spec",
    "numeric_column", "sequence_categorical_column_with_hash_bucket",
    "sequence_categorical_column_with_identity", "sequence_categorical_column_with_vocabulary_file",
    "sequence_categorical_column_with_vocabulary_list", "sequence_numeric_column",
    "shared_embeddings", "weighted_categorical_column",
]
