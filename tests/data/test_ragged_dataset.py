"""tf.data with ragged elements against TensorFlow: from_tensor_slices of a RaggedTensor, batch of
ragged elements, ragged_batch, padded_batch of varying-length elements."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow

pytestmark = pytest.mark.oracle


def _rt(m):
    return m.ragged.constant([[1, 2], [3], [], [4, 5, 6]])


def _varying(m):
    rows = [np.arange(n, dtype=np.int32) for n in (1, 3, 0, 2, 4)]
    return m.data.Dataset.from_generator(
        lambda: iter(rows), output_signature=m.TensorSpec(shape=(None,), dtype=m.int32))


CASES = {
    "slices": lambda m: m.data.Dataset.from_tensor_slices(_rt(m)),
    "slices_tuple": lambda m: m.data.Dataset.from_tensor_slices((_rt(m), m.constant([0, 1, 0, 1]))),
    "slices_batch": lambda m: m.data.Dataset.from_tensor_slices(_rt(m)).batch(3),
    "slices_nested": lambda m: m.data.Dataset.from_tensor_slices(m.ragged.constant([[[1], [2, 3]], [[4]]])),
    "ragged_batch": lambda m: _varying(m).ragged_batch(2),
    "ragged_batch_drop": lambda m: _varying(m).ragged_batch(2, drop_remainder=True),
    "ragged_batch_dense": lambda m: m.data.Dataset.from_tensor_slices([[1, 2, 3], [4, 5, 6]]).ragged_batch(2),
    "ragged_batch_nested": lambda m: m.data.Dataset.from_tensor_slices(
        m.ragged.constant([[[1], [2, 3]], [[4]]])).ragged_batch(2),
    "padded_batch": lambda m: _varying(m).padded_batch(2),
}


def _describe(ds):
    return repr(ds.element_spec) + "".join(repr(e) for e in ds)


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_tf(case):
    tf = pytest.importorskip("tensorflow")
    assert _describe(CASES[case](tapeflow)) == _describe(CASES[case](tf))
