"""Gradients of tf.sparse ops with respect to the stored values and dense operands (float64)."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.testing import check_gradients

RNG = np.random.default_rng(0)
IDX = np.array([[0, 1], [1, 0], [1, 3], [2, 2]], np.int64)
VALS = RNG.standard_normal(4)
SHAPE = [3, 4]
DENSE = RNG.standard_normal((4, 2))


def _sp(v, idx=IDX):
    return tf.SparseTensor(idx, v, SHAPE)


OTHER = np.array([[0, 1], [2, 0]], np.int64)
CASES = {
    "to_dense": lambda v: tf.sparse.to_dense(_sp(v)),
    "reduce_sum": lambda v: tf.sparse.reduce_sum(_sp(v), axis=1),
    "reduce_sum_sparse": lambda v: tf.sparse.reduce_sum(_sp(v), axis=0, output_is_sparse=True).values,
    "softmax": lambda v: tf.sparse.softmax(_sp(v)).values,
    "add_sparse": lambda v: tf.sparse.add(_sp(v), _sp(v[:2] * 3.0, OTHER)).values,
    "add_dense": lambda v: tf.sparse.add(_sp(v), tf.ones(SHAPE, tf.float64)),
    "maximum": lambda v: tf.sparse.maximum(_sp(v), _sp(v[:2] * 0.5, OTHER)).values,
    "mul_dense": lambda v: (_sp(v) * tf.constant([[2.0], [3.0], [4.0]], tf.float64)).values,
    "reorder_slice_concat": lambda v: tf.sparse.concat(
        1, [tf.sparse.slice(_sp(v), [0, 1], [3, 3]), tf.sparse.reorder(_sp(v))]).values,
    "fill_empty_rows": lambda v: tf.sparse.fill_empty_rows(
        tf.SparseTensor(IDX[:2], v[:2], [4, 4]), 0.0)[0].values,
    "segment_sqrt_n": lambda v: tf.sparse.segment_sqrt_n(tf.reshape(v, (2, 2)), [0, 1, 1], [0, 0, 2]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_of_values(case):
    check_gradients(CASES[case], [VALS])


def test_sparse_dense_matmul_gradients():
    check_gradients(lambda v, b: tf.sparse.sparse_dense_matmul(_sp(v), b), [VALS, DENSE])
    check_gradients(lambda v, b: tf.sparse.sparse_dense_matmul(_sp(v), b, adjoint_a=True),
                    [VALS, RNG.standard_normal((3, 2))])
    check_gradients(lambda v, b: tf.sparse.sparse_dense_matmul(b, _sp(v)),
                    [VALS, RNG.standard_normal((2, 3))])


def test_from_dense_gradient():
    # (no zeros: a perturbed zero would become a stored element and change the output's length)
    x = RNG.standard_normal((3, 4))
    check_gradients(lambda d: tf.sparse.from_dense(d).values * 2.0, [x])


def test_dense_operand_gradient_broadcast():
    check_gradients(lambda d: (_sp(tf.constant(VALS)) * d).values, [RNG.standard_normal((1, 4))])


@pytest.mark.oracle
def test_matmul_gradients_match_tf():
    real = pytest.importorskip("tensorflow")
    outs = []
    for m in (tf, real):
        v = m.Variable(VALS)
        b = m.Variable(DENSE)
        with m.GradientTape() as tape:
            y = m.reduce_sum(m.sparse.sparse_dense_matmul(m.SparseTensor(IDX, v, SHAPE), b) ** 2)
        outs.append([g.numpy() for g in tape.gradient(y, [v, b])])
    for a, b in zip(*outs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10)
