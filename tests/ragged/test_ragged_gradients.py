"""Gradients through RaggedTensor ops reach the flat values (and dense operands): float64 checks."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients

RNG = np.random.default_rng(0)
VALUES = RNG.standard_normal(6)
SPLITS = [0, 2, 2, 5, 6]


def _rt(v, splits=SPLITS):
    return tf.RaggedTensor.from_row_splits(v, splits)


CASES = {
    "to_tensor": lambda v: _rt(v).to_tensor(default_value=0.5),
    "to_tensor_shape": lambda v: _rt(v).to_tensor(shape=[3, 2]),
    "reduce_sum": lambda v: tf.reduce_sum(_rt(v), axis=1),
    # (no empty row here: its max is the dtype's lowest value and its mean NaN, as in TF)
    "reduce_max": lambda v: tf.reduce_max(_rt(v, [0, 2, 5, 6]), axis=1),
    "reduce_mean": lambda v: tf.reduce_mean(_rt(v, [0, 2, 5, 6]), axis=1),
    "reduce_sum_axis0": lambda v: tf.reduce_sum(_rt(v), axis=0),
    "reduce_middle_axis": lambda v: tf.reduce_max(tf.RaggedTensor.from_row_lengths(
        _rt(v, [0, 2, 5, 6]), [2, 1]), axis=1).flat_values,
    "elementwise": lambda v: (tf.math.sin(_rt(v)) * _rt(v) + 1.0).flat_values,
    "index_rows": lambda v: _rt(v)[1:3].flat_values,
    "index_cols": lambda v: _rt(v)[:, 1:].flat_values,
    "concat_rows": lambda v: tf.concat([_rt(v), _rt(v) * 2.0], axis=1).flat_values,
    "map_flat_values": lambda v: tf.ragged.map_flat_values(tf.exp, _rt(v)).flat_values,
    "boolean_mask": lambda v: tf.ragged.boolean_mask(_rt(v), _rt(v) > 0).flat_values,
    "from_tensor": lambda v: tf.RaggedTensor.from_tensor(tf.reshape(v, (3, 2)), lengths=[1, 2, 0]).flat_values,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_through_flat_values(case):
    check_gradients(CASES[case], [VALUES])


def test_gradient_of_dense_operand_broadcast_over_rows():
    dense = RNG.standard_normal((4, 1))
    check_gradients(lambda v, d: (_rt(v) * d).flat_values, [VALUES, dense])


def test_tape_gradient_shape():
    v = tf.Variable(VALUES)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.reduce_sum(_rt(v), axis=1) ** 2)
    g = tape.gradient(loss, v).numpy()
    row_sums = np.array([VALUES[0:2].sum(), 0.0, VALUES[2:5].sum(), VALUES[5]])
    np.testing.assert_allclose(g, 2 * np.repeat(row_sums, np.diff(SPLITS)))
