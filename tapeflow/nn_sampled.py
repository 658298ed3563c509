"""`tf.nn` candidate sampling and sparse embeddings: nce_loss, sampled_softmax_loss,
compute_accidental_hits, embedding_lookup_sparse and safe_embedding_lookup_sparse.

The losses are composites of gathers, matmuls and the cross-entropy ops, so they differentiate
with respect to the weights, biases and inputs like their parts; the sampled ids are constants.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.ops import elementwise as ew
from tapeflow.ops import linalg as la
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor, convert_to_tensor

ComputeAccidentalHits = namedtuple("ComputeAccidentalHits", ["indices", "ids", "weights"])


def _host(x: Any, dtype: Any = None) -> np.ndarray:
    a = backend.to_numpy(x._value) if isinstance(x, Tensor) else np.asarray(x)
    return a if dtype is None else a.astype(dtype)


def compute_accidental_hits(true_classes: Any, sampled_candidates: Any, num_true: int, seed: Any = None,
                            name: Any = None) -> ComputeAccidentalHits:
    """Where a sampled candidate equals one of its row's true classes.

    Returns:
        (indices int32: the rows, ids int64: the positions in `sampled_candidates`, weights float32:
        -FLOAT_MAX, to add to those sampled logits).
    """
    true = _host(true_classes, np.int64)
    if true.ndim != 2 or true.shape[1] != int(num_true):
        raise ValueError(f"compute_accidental_hits: true_classes must be [batch, num_true={num_true}], received "
                         f"shape {true.shape}.")
    sampled = _host(sampled_candidates, np.int64).reshape(-1)
    where: dict[int, list[int]] = {}
    for j, c in enumerate(sampled):
        where.setdefault(int(c), []).append(j)
    rows, ids = [], []
    for i, row in enumerate(true):
        for c in row:
            for j in where.get(int(c), []):
                rows.append(i)
                ids.append(j)
    low = np.finfo(np.float32).min
    return ComputeAccidentalHits(convert_to_tensor(np.asarray(rows, np.int32)),
                                 convert_to_tensor(np.asarray(ids, np.int64)),
                                 convert_to_tensor(np.full(len(rows), low, np.float32)))


def _lookup(params: Any, ids: Any) -> Tensor:
    from tapeflow.nn_extra import embedding_lookup

    return embedding_lookup(params, ids)


def _sampled_logits(weights: Any, biases: Any, labels: Any, inputs: Any, num_sampled: int, num_classes: int,
                    num_true: int, sampled_values: Any, remove_accidental_hits: bool, seed: Any,
                    op: str) -> tuple[Tensor, Tensor]:
    """(logits [batch, num_true + num_sampled], labels: 1/num_true for the true columns, 0 else),
    each logit minus the log of its expected count under the sampler."""
    from tapeflow.ops.conv import float_operand
    from tapeflow.random_samplers import log_uniform_candidate_sampler

    x = float_operand(inputs, op)
    lab = _host(labels, np.int64)
    if lab.ndim == 1:
        lab = lab[:, None]
    if lab.shape != (int(x.shape[0]), int(num_true)):
        raise ValueError(f"{op}: labels must have shape [batch, num_true] = [{x.shape[0]}, {num_true}], received "
                         f"{lab.shape}.")
    if sampled_values is None:
        sampled_values = log_uniform_candidate_sampler(lab, int(num_true), int(num_sampled), True,
                                                       int(num_classes), seed=seed)
    sampled, true_expected, sampled_expected = sampled_values
    sampled_ids = _host(sampled, np.int64).reshape(-1)
    all_ids = np.concatenate([lab.reshape(-1), sampled_ids])
    bad = all_ids[(all_ids < 0) | (all_ids >= int(num_classes))]
    if bad.size:
        raise ValueError(f"{op}: class ids must be in [0, num_classes={num_classes}), received {bad.tolist()}.")
    xp = backend.get_xp(x._value)
    all_w = _lookup(weights, Tensor(backend.asarray(all_ids, None, xp)))
    all_b = _lookup(biases, Tensor(backend.asarray(all_ids, None, xp)))
    n_true = lab.size
    dim = int(x.shape[1])
    true_w = mv.reshape(all_w[:n_true], [-1, int(num_true), dim])
    true_logits = ew.add(rd.reduce_sum(ew.multiply(mv.expand_dims(x, 1), true_w), 2),
                         mv.reshape(all_b[:n_true], [-1, int(num_true)]))
    sampled_logits = ew.add(la.matmul(x, all_w[n_true:], transpose_b=True), all_b[n_true:])
    if remove_accidental_hits:
        hits = compute_accidental_hits(lab, sampled_ids, int(num_true))
        mask = np.zeros((lab.shape[0], sampled_ids.size), x.dtype._np)
        np.add.at(mask, (_host(hits.indices), _host(hits.ids)), np.finfo(x.dtype._np).min)
        sampled_logits = ew.add(sampled_logits, Tensor(backend.asarray(mask, None, xp)))
    true_logits = ew.subtract(true_logits, ew.log(ew.cast(ew.stop_gradient(convert_to_tensor(true_expected)), x.dtype)))
    sampled_logits = ew.subtract(sampled_logits,
                                 ew.log(ew.cast(ew.stop_gradient(convert_to_tensor(sampled_expected)), x.dtype)))
    logits = mv.concat([true_logits, sampled_logits], 1)
    targets = np.concatenate([np.full(lab.shape, 1.0 / int(num_true)), np.zeros((lab.shape[0], sampled_ids.size))], 1)
    return logits, Tensor(backend.asarray(targets, x.dtype._np, xp))


def nce_loss(weights: Any, biases: Any, labels: Any, inputs: Any, num_sampled: int, num_classes: int,
             num_true: int = 1, sampled_values: Any = None, remove_accidental_hits: bool = False,
             name: str = "nce_loss") -> Tensor:
    """Noise-contrastive estimation loss (Gutmann & Hyvarinen): logistic regression of the true
    classes against `num_sampled` classes drawn by `log_uniform_candidate_sampler` (or
    `sampled_values`).

    Args:
        weights: [num_classes, dim] (or a list of 'div' shards). biases: [num_classes].
        labels: int [batch, num_true]. inputs: [batch, dim].

    Returns:
        [batch] losses.
    """
    from tapeflow.nn import sigmoid_cross_entropy_with_logits

    logits, targets = _sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes, num_true,
                                      sampled_values, remove_accidental_hits, None, "nce_loss")
    return rd.reduce_sum(sigmoid_cross_entropy_with_logits(labels=targets, logits=logits), 1)


def sampled_softmax_loss(weights: Any, biases: Any, labels: Any, inputs: Any, num_sampled: int, num_classes: int,
                         num_true: int = 1, sampled_values: Any = None, remove_accidental_hits: bool = True,
                         seed: Any = None, name: str = "sampled_softmax_loss") -> Tensor:
    """Softmax cross-entropy over the true classes and `num_sampled` sampled classes (Jean et al.,
    2014): a cheap training estimate of the full softmax loss. Shapes as `nce_loss`.

    Returns:
        [batch] losses.
    """
    from tapeflow.ops.nn import softmax_cross_entropy_with_logits

    logits, targets = _sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes, num_true,
                                      sampled_values, remove_accidental_hits, seed, "sampled_softmax_loss")
    return softmax_cross_entropy_with_logits(labels=targets, logits=logits)


def _combine(embedded: Tensor, weights: Tensor | None, segments: Tensor, rows: int, combiner: str) -> Tensor:
    from tapeflow import math as tfm

    if weights is None:
        weights = ew.ones_like_t(embedded[:, 0])
    w = mv.expand_dims(weights, 1)
    total = tfm.unsorted_segment_sum(ew.multiply(embedded, w), segments, rows)
    if combiner == "sum":
        return total
    norm = tfm.unsorted_segment_sum(weights if combiner == "mean" else ew.square(weights), segments, rows)
    if combiner == "sqrtn":
        norm = ew.sqrt(norm)
    return ew.div_no_nan(total, mv.expand_dims(norm, 1))


def _check_combiner(combiner: Any, op: str) -> str:
    combiner = "mean" if combiner is None else combiner
    if combiner not in ("mean", "sqrtn", "sum"):
        raise ValueError(f"{op}: combiner must be one of 'mean', 'sqrtn' or 'sum', received {combiner!r}.")
    return combiner


def _lookup_rows(params: Any, ids: np.ndarray, max_norm: Any) -> Tensor:
    from tapeflow.nn_extra import embedding_lookup

    return embedding_lookup(params, convert_to_tensor(ids), max_norm=max_norm)


def embedding_lookup_sparse(params: Any, sp_ids: Any, sp_weights: Any, combiner: Any = None, max_norm: Any = None,
                            name: Any = None, allow_fast_lookup: bool = False) -> Tensor:
    """Per row of the 2-D SparseTensor `sp_ids`, the embeddings of its ids combined by `combiner`
    ('mean' (default), 'sqrtn' or 'sum'), weighted by `sp_weights` (a SparseTensor or None).

    Returns:
        [max row id + 1, dim] (rows without ids are zeros).
    """
    combiner = _check_combiner(combiner, "embedding_lookup_sparse")
    idx = _host(sp_ids.indices, np.int64)
    ids = _host(sp_ids.values, np.int64)
    segments = idx[:, 0] if idx.size else np.zeros(0, np.int64)
    rows = int(segments.max()) + 1 if segments.size else 0
    embedded = _lookup_rows(params, ids, max_norm)
    weights = None if sp_weights is None else ew.cast(sp_weights.values, embedded.dtype)
    seg = Tensor(backend.asarray(segments.astype(np.int32), None, backend.get_xp(embedded._value)))
    return _combine(embedded, weights, seg, rows, combiner)


def safe_embedding_lookup_sparse(embedding_weights: Any, sparse_ids: Any, sparse_weights: Any = None,
                                 combiner: str = "mean", default_id: Any = None, max_norm: Any = None,
                                 name: Any = None, allow_fast_lookup: bool = False) -> Tensor:
    """`embedding_lookup_sparse` that drops invalid ids (< 0) and non-positive weights, and gives
    rows with no ids the embedding of `default_id` (zeros without one).

    Args:
        sparse_ids: a SparseTensor of rank >= 2 ([d0, ..., dn-1, ids]).

    Returns:
        [d0, ..., dn-1, dim].
    """
    combiner = _check_combiner(combiner, "safe_embedding_lookup_sparse")
    shape = [int(d) for d in _host(sparse_ids.dense_shape)]
    if len(shape) < 2:
        raise ValueError(f"safe_embedding_lookup_sparse: sparse_ids must have rank >= 2, received dense_shape {shape}.")
    idx = _host(sparse_ids.indices, np.int64)
    ids = _host(sparse_ids.values, np.int64)
    keep = ids >= 0
    weights = None
    if sparse_weights is not None:
        wv = sparse_weights.values
        keep &= _host(wv) > 0
    rows = int(np.prod(shape[:-1]))
    flat_rows = np.ravel_multi_index(idx[:, :-1].T, shape[:-1]) if idx.size else np.zeros(0, np.int64)
    kept = np.nonzero(keep)[0]
    embedded = _lookup_rows(embedding_weights, ids[kept], max_norm)
    if sparse_weights is not None:
        weights = ew.cast(mv.gather(wv, kept.astype(np.int64)), embedded.dtype)
    xp = backend.get_xp(embedded._value)
    seg = Tensor(backend.asarray(flat_rows[kept].astype(np.int32), None, xp))
    out = _combine(embedded, weights, seg, rows, combiner)
    empty = np.ones(rows, bool)
    empty[flat_rows[kept]] = False
    if default_id is not None and empty.any():
        fill = mv.broadcast_to(_lookup_rows(embedding_weights, np.asarray([int(default_id)]), max_norm),
                               [rows, int(out.shape[1])])
        out = ew.where(Tensor(backend.asarray(empty[:, None], None, xp)), fill, out)
    return mv.reshape(out, shape[:-1] + [int(out.shape[1])])
