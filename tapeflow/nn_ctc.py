"""Connectionist temporal classification in `tf.nn`: the CTC loss (a differentiable composite of the
forward algorithm in log space), the greedy and beam-search decoders, and the label helpers
`collapse_repeated` and `ctc_unique_labels`.

The decoders are search algorithms over host arrays (like TF's CPU kernels); their outputs are
not differentiable.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.ops import elementwise as ew
from tapeflow.ops import linalg as la
from tapeflow.ops import movement as mv
from tapeflow.ops import reduce as rd
from tapeflow.ops.nn import log_softmax
from tapeflow.tensor import Tensor, convert_to_tensor

# NOTE: a finite stand-in for log(0): sums of it stay far below any real log-probability, and
# unlike -inf it keeps the gradients of log-sum-exp finite (exp(-1e30 - m) is exactly 0).
_LOG_ZERO = -1e30


def _host(x: Any, dtype: Any = None) -> np.ndarray:
    if isinstance(x, Tensor):
        x = backend.to_numpy(x._value)
    a = np.asarray(x)
    return a if dtype is None else a.astype(dtype)


def _is_sparse(x: Any) -> bool:
    from tapeflow.sparse.sparse_tensor import SparseTensor

    return isinstance(x, SparseTensor)


def _sparse_rows(sp: Any) -> list[np.ndarray]:
    """The rows of a 2-D SparseTensor of labels as lists of values, in index order."""
    idx = _host(sp.indices, np.int64)
    vals = _host(sp.values, np.int64)
    n = int(_host(sp.dense_shape)[0])
    rows: list[list[int]] = [[] for _ in range(n)]
    for (b, _), v in sorted(zip(map(tuple, idx), vals, strict=True)):
        rows[b].append(int(v))
    return [np.asarray(r, np.int64) for r in rows]


def _lse(terms: list[Tensor]) -> Tensor:
    m = terms[0]
    for t in terms[1:]:
        m = ew.maximum(m, t)
    m = ew.stop_gradient(m)
    return ew.add(m, ew.log(ew.add_n([ew.exp(ew.subtract(t, m)) for t in terms])))


def ctc_loss(labels: Any, logits: Any, label_length: Any, logit_length: Any, logits_time_major: bool = True,
             unique: Any = None, blank_index: Any = None, name: Any = None) -> Tensor:
    """Negative log-likelihood of each label sequence under CTC (Graves et al., 2006).

    Args:
        labels: int [batch, max_label_length] padded labels with `label_length`, or a SparseTensor.
        logits: [frames, batch, num_labels] (or [batch, frames, num_labels] when not time-major),
            unnormalised; softmax is applied here.
        label_length: [batch] lengths of the dense labels (None for a SparseTensor).
        logit_length: [batch] number of valid frames per sequence.
        unique: accepted for TF's API (a TPU speed-up); the result is the same without it.
        blank_index: the blank class (default 0; required with SparseTensor labels; negative counts
            from num_labels).

    Returns:
        [batch] float losses. Differentiable with respect to `logits`.
    """
    from tapeflow.ops.conv import float_operand

    x = float_operand(logits, "CTCLoss")
    if len(x.shape) != 3:
        raise ValueError(f"CTCLoss: logits must be 3-D, received shape {tuple(x.shape)}.")
    if not logits_time_major:
        x = mv.transpose(x, [1, 0, 2])
    frames, batch, classes = (int(d) for d in x.shape)
    if _is_sparse(labels):
        if blank_index is None:
            raise ValueError("Argument `blank_index` must be provided when `labels` is a `SparseTensor`.")
        rows = _sparse_rows(labels)
    else:
        dense = _host(labels, np.int64)
        if dense.ndim != 2:
            raise ValueError(f"CTCLoss: labels must be 2-D [batch, max_label_length], received shape {dense.shape}.")
        if label_length is None:
            raise ValueError("CTCLoss: label_length is required with dense labels.")
        lengths = _host(label_length, np.int64).reshape(-1)
        rows = [dense[b, :lengths[b]] for b in range(dense.shape[0])]
    blank = 0 if blank_index is None else int(blank_index)
    blank = blank + classes if blank < 0 else blank
    if not 0 <= blank < classes:
        raise ValueError(f"CTCLoss: blank_index must be in [-{classes}, {classes}), received {blank_index}.")
    if len(rows) != batch:
        raise ValueError(f"CTCLoss: labels have {len(rows)} rows but logits have batch size {batch}.")
    steps = _host(logit_length, np.int64).reshape(-1)
    steps = np.broadcast_to(steps, (batch,))
    for b, r in enumerate(rows):
        if r.size and (r.min() < 0 or r.max() >= classes):
            raise ValueError(f"CTCLoss: labels of row {b} must be in [0, {classes}), received {r.tolist()}.")
    # The extended labels: blank, l1, blank, l2, ..., blank (padded with blanks to a common width).
    width = 2 * max((len(r) for r in rows), default=0) + 1
    ext = np.full((batch, width), blank, np.int64)
    for b, r in enumerate(rows):
        ext[b, 1:2 * len(r):2] = r
    skip = np.zeros((batch, width), bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    ends = np.zeros((batch, width), bool)
    for b, r in enumerate(rows):
        ends[b, 2 * len(r)] = True
        if len(r):
            ends[b, 2 * len(r) - 1] = True
    xp = backend.get_xp(x._value)
    dt = x.dtype._np

    def const(a: np.ndarray) -> Tensor:
        return Tensor(backend.asarray(a, a.dtype if a.dtype == bool else dt, xp))

    onehot = np.zeros((batch, classes, width), dt)
    onehot[np.arange(batch)[:, None], ext, np.arange(width)[None, :]] = 1
    logp = log_softmax(mv.transpose(x, [1, 0, 2]), axis=-1)               # [batch, frames, classes]
    emit = la.matmul(logp, const(onehot))                                  # [batch, frames, width]
    neg = const(np.full((batch, 1), _LOG_ZERO))
    neg2 = const(np.full((batch, 2), _LOG_ZERO))
    first = np.zeros((batch, width), bool)
    first[:, :2] = True
    alpha = ew.where(const(first), emit[:, 0], const(np.full((batch, width), _LOG_ZERO)))
    skip_t, live = const(skip), steps[:, None]
    for t in range(1, frames):
        prev1 = mv.concat([neg, alpha[:, :-1]], 1)
        prev2 = ew.where(skip_t, mv.concat([neg2, alpha[:, :-2]], 1) if width > 2 else alpha, neg)
        step = ew.add(_lse([alpha, prev1, prev2]), emit[:, t])
        alpha = ew.where(const(np.broadcast_to(live > t, (batch, width))), step, alpha)
    final = ew.where(const(ends), alpha, const(np.full((batch, width), _LOG_ZERO)))
    return ew.negative(rd.reduce_logsumexp(final, axis=1))


def _to_sparse(paths: list[list[int]], batch: int) -> Any:
    from tapeflow.sparse.sparse_tensor import SparseTensor

    idx = [(b, i) for b, p in enumerate(paths) for i in range(len(p))]
    vals = [v for p in paths for v in p]
    width = max((len(p) for p in paths), default=0)
    return SparseTensor(np.asarray(idx, np.int64).reshape(-1, 2), np.asarray(vals, np.int64), [batch, width])


def _decoder_inputs(inputs: Any, sequence_length: Any, op: str) -> tuple[np.ndarray, np.ndarray]:
    x = _host(inputs)
    if x.ndim != 3:
        raise ValueError(f"{op}: inputs must be 3-D [max_time, batch_size, num_classes], received shape {x.shape}.")
    seq = _host(sequence_length, np.int64).reshape(-1)
    if seq.shape[0] != x.shape[1]:
        raise ValueError(f"{op}: sequence_length must have batch_size = {x.shape[1]} entries, received {seq.shape[0]}.")
    if seq.size and (seq.min() < 0 or seq.max() > x.shape[0]):
        raise ValueError(f"{op}: sequence_length must be in [0, {x.shape[0]}], received {seq.tolist()}.")
    return x, seq


def ctc_greedy_decoder(inputs: Any, sequence_length: Any, merge_repeated: bool = True,
                       blank_index: Any = None) -> tuple:
    """Best-path decoding: the most likely class per frame, repeats merged, blanks dropped.

    Args:
        inputs: [max_time, batch_size, num_classes] logits. sequence_length: [batch_size].
        blank_index: the blank class (default num_classes - 1; negative counts from num_classes).

    Returns:
        ([SparseTensor int64 [batch_size, max_decoded_length]], neg_sum_logits [batch_size, 1]).
    """
    x, seq = _decoder_inputs(inputs, sequence_length, "CTCGreedyDecoder")
    classes = x.shape[2]
    blank = classes - 1 if blank_index is None else int(blank_index)
    blank = blank + classes if blank < 0 else blank
    best = x.argmax(axis=2)
    paths, scores = [], []
    for b in range(x.shape[1]):
        path: list[int] = []
        prev = -1
        for t in range(int(seq[b])):
            c = int(best[t, b])
            if c != blank and not (merge_repeated and c == prev):
                path.append(c)
            prev = c
        paths.append(path)
        scores.append(-x[:int(seq[b]), b].max(axis=1).sum())
    neg = convert_to_tensor(np.asarray(scores, x.dtype).reshape(-1, 1))
    return [_to_sparse(paths, x.shape[1])], neg


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


def _beam_search(logp: np.ndarray, blank: int, beam_width: int, top_paths: int) -> list[tuple[tuple, float]]:
    """Prefix beam search over [time, classes] log-probabilities: the `top_paths` best label
    prefixes with their total log-probabilities (blank-ending + label-ending)."""
    ninf = -math.inf
    # prefix -> (log P ending in blank, log P ending in its last label)
    beams: dict[tuple, tuple[float, float]] = {(): (0.0, ninf)}
    for row in logp:
        new: dict[tuple, list[float]] = {}
        for prefix, (pb, pl) in beams.items():
            total = _logaddexp(pb, pl)
            entry = new.setdefault(prefix, [ninf, ninf])
            entry[0] = _logaddexp(entry[0], total + row[blank])
            if prefix:
                entry[1] = _logaddexp(entry[1], pl + row[prefix[-1]])
        for prefix, (pb, pl) in beams.items():
            total = _logaddexp(pb, pl)
            for c in range(row.shape[0]):
                if c == blank:
                    continue
                child = prefix + (c,)
                if child in beams:  # an existing beam: only the extension from its parent is added
                    entry = new[child]
                else:
                    entry = new.setdefault(child, [ninf, ninf])
                previous = pb if prefix and prefix[-1] == c else total
                entry[1] = _logaddexp(entry[1], previous + row[c])
        ranked = sorted(new.items(), key=lambda kv: -_logaddexp(*kv[1]))[:beam_width]
        beams = {k: (v[0], v[1]) for k, v in ranked}
    ranked = sorted(beams.items(), key=lambda kv: -_logaddexp(*kv[1]))[:top_paths]
    return [(k, _logaddexp(*v)) for k, v in ranked]


def ctc_beam_search_decoder(inputs: Any, sequence_length: Any, beam_width: int = 100, top_paths: int = 1) -> tuple:
    """Prefix beam search: the `top_paths` most likely labelings (blank = num_classes - 1).

    Args:
        inputs: [max_time, batch_size, num_classes] logits (log-softmax is applied per frame).
        sequence_length: [batch_size]. beam_width, top_paths: beam size and paths returned.

    Returns:
        (list of `top_paths` SparseTensors int64 [batch_size, max_len], log_probabilities
        [batch_size, top_paths]).
    """
    x, seq = _decoder_inputs(inputs, sequence_length, "CTCBeamSearchDecoder")
    beam_width, top_paths = int(beam_width), int(top_paths)
    if beam_width < 1 or not 1 <= top_paths <= beam_width:
        raise ValueError(f"CTCBeamSearchDecoder: need beam_width >= 1 and 1 <= top_paths <= beam_width, received "
                         f"beam_width={beam_width}, top_paths={top_paths}.")
    x64 = x.astype(np.float64)
    m = x64.max(axis=2, keepdims=True)
    logp = x64 - (m + np.log(np.exp(x64 - m).sum(axis=2, keepdims=True)))
    blank = x.shape[2] - 1
    per_path: list[list[list[int]]] = [[] for _ in range(top_paths)]
    scores = np.full((x.shape[1], top_paths), -np.inf)
    for b in range(x.shape[1]):
        found = _beam_search(logp[:int(seq[b]), b], blank, beam_width, top_paths)
        for k in range(top_paths):
            prefix, score = found[k] if k < len(found) else ((), -np.inf)
            per_path[k].append(list(prefix))
            scores[b, k] = score
    decoded = [_to_sparse(p, x.shape[1]) for p in per_path]
    return decoded, convert_to_tensor(scores.astype(x.dtype))


def collapse_repeated(labels: Any, seq_length: Any, name: Any = None) -> tuple:
    """Merge runs of the same label: ([batch, max new length] labels padded with 0, new lengths)."""
    lab = _host(convert_to_tensor(labels))
    if lab.ndim != 2:
        raise ValueError(f"collapse_repeated: labels must be 2-D [batch, max_len], received shape {lab.shape}.")
    lens = _host(seq_length, np.int64).reshape(-1)
    rows = []
    for b in range(lab.shape[0]):
        r = lab[b, :lens[b]]
        keep = np.ones(r.shape[0], bool)
        keep[1:] = r[1:] != r[:-1]
        rows.append(r[keep])
    width = max((len(r) for r in rows), default=0)
    out = np.zeros((lab.shape[0], width), lab.dtype)
    for b, r in enumerate(rows):
        out[b, :len(r)] = r
    return convert_to_tensor(out), convert_to_tensor(np.asarray([len(r) for r in rows], np.int32))


def ctc_unique_labels(labels: Any, name: Any = None) -> tuple:
    """Per row, the distinct labels in order of first appearance (padded with 0) and, for each
    position, the index of its label among them (int32)."""
    lab = _host(labels)
    if lab.ndim != 2:
        raise ValueError(f"ctc_unique_labels: labels must be 2-D [batch, max_len], received shape {lab.shape}.")
    uniq = np.zeros(lab.shape, np.int64)
    idx = np.zeros(lab.shape, np.int32)
    for b in range(lab.shape[0]):
        seen: dict = {}
        for i, v in enumerate(lab[b]):
            idx[b, i] = seen.setdefault(v, len(seen))
        uniq[b, :len(seen)] = list(seen)
    return convert_to_tensor(uniq), convert_to_tensor(idx)
