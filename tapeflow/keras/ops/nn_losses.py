"""`keras.ops.nn` losses and decoding: cross-entropies, CTC loss and CTC decoding, PSNR."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import nn as tfnn
from tapeflow.keras import backend as kbackend
from tapeflow.keras.ops.arguments import cast, constant_like, float_dtype, one_axis, to_tensor
from tapeflow.ops import elementwise as ew
from tapeflow.ops import extra_array
from tapeflow.ops import movement as mv
from tapeflow.ops import nn as nnops
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor
from tapeflow.tracing.func_graph import lifted_on_graph_tensors


def _pair(target: Any, output: Any, op: str) -> tuple:
    y = to_tensor(output)
    t = to_tensor(target)
    dtype = float_dtype(y, t)
    y, t = cast(y, dtype), cast(t, dtype)
    if tuple(t.shape) != tuple(y.shape):
        raise ValueError(f"{op}: target and output must have the same shape, received "
                         f"{tuple(t.shape)} and {tuple(y.shape)}.")
    return t, y


def _clip(y: Tensor) -> Tensor:
    eps = kbackend.epsilon()
    return ew.clip_by_value(y, eps, 1.0 - eps)


def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> Tensor:
    """Elementwise binary cross-entropy (no reduction); probabilities are clipped to
    [epsilon, 1 - epsilon]."""
    t, y = _pair(target, output, "binary_crossentropy")
    if from_logits:
        return tfnn.sigmoid_cross_entropy_with_logits(labels=t, logits=y)
    y = _clip(y)
    return ew.negative(ew.add(ew.multiply(t, ew.log(y)),
                              ew.multiply(ew.subtract(1.0, t), ew.log(ew.subtract(1.0, y)))))


def categorical_crossentropy(target: Any, output: Any, from_logits: bool = False,
                             axis: int = -1) -> Tensor:
    """Cross-entropy between distributions `target` and `output` over `axis` (reduced)."""
    t, y = _pair(target, output, "categorical_crossentropy")
    ax = one_axis(axis, y.ndim, "categorical_crossentropy")
    if from_logits:
        return ew.negative(rd.reduce_sum(ew.multiply(t, nnops.log_softmax(y, ax)), ax))
    y = _clip(ew.divide(y, rd.reduce_sum(y, ax, True)))
    return ew.negative(rd.reduce_sum(ew.multiply(t, ew.log(y)), ax))


def sparse_categorical_crossentropy(target: Any, output: Any, from_logits: bool = False,
                                    axis: int = -1) -> Tensor:
    """Cross-entropy with integer class labels `target` (a trailing 1 axis is dropped)."""
    y = to_tensor(output)
    y = cast(y, float_dtype(y))
    ax = one_axis(axis, y.ndim, "sparse_categorical_crossentropy")
    if ax != y.ndim - 1:
        y = mv.transpose(y, [i for i in range(y.ndim) if i != ax] + [ax])
    t = to_tensor(target)
    if t.ndim == y.ndim and t.shape[-1] == 1:
        t = mv.squeeze(t, [-1])
    if t.dtype.is_floating:
        t = cast(t, "int32")
    if tuple(t.shape) != tuple(y.shape[:-1]):
        raise ValueError(f"sparse_categorical_crossentropy: target shape {tuple(t.shape)} must be "
                         f"output's shape without the class axis, {tuple(y.shape[:-1])}.")
    # NOTE: probabilities are clipped and logged without renormalizing, as Keras does (the
    # softmax inside the fused loss renormalizes them).
    logits = y if from_logits else ew.log(_clip(y))
    return nnops.sparse_softmax_cross_entropy_with_logits(labels=t, logits=logits)


def psnr(x1: Any, x2: Any, max_val: float) -> Tensor:
    """Peak signal-to-noise ratio 20 log10(max_val) - 10 log10(mse) over all elements."""
    a, b = _pair(x1, x2, "psnr")
    mse = rd.reduce_mean(ew.square(ew.subtract(a, b)))
    return ew.subtract(float(20.0 * np.log10(max_val)), ew.multiply(ew.log(mse), 10.0 / np.log(10.0)))


# -- CTC ---------------------------------------------------------------------------------------

def _logsumexp(*terms: Tensor) -> Tensor:
    """log(sum(exp(terms))) elementwise; -inf (with a zero gradient) where every term is -inf."""
    m = terms[0]
    for t in terms[1:]:
        m = ew.maximum(m, t)
    finite = ew.is_finite(m)
    finite_m = ew.where(finite, m, extra_array.fill_like(m, 0))
    s = None
    for t in terms:
        e = ew.exp(ew.subtract(t, finite_m))
        s = e if s is None else ew.add(s, e)
    # NOTE: log is taken of 1 where the sum is 0, so no inf * 0 = nan reaches the gradient.
    safe = ew.where(finite, s, extra_array.fill_like(s, 1))
    return ew.where(finite, ew.add(ew.log(safe), finite_m), m)


@lifted_on_graph_tensors
def ctc_loss(target: Any, output: Any, target_length: Any, output_length: Any,
             mask_index: int = 0) -> Tensor:
    """Connectionist temporal classification loss per batch entry (the negative log-likelihood).

    Args:
        target: int labels (batch, max_label_length), padded beyond `target_length`.
        output: logits (batch, max_time, classes); softmax is applied over classes.
        target_length, output_length: (batch,) valid lengths.
        mask_index: the blank class.

    Returns:
        (batch,) losses.
    """
    y = to_tensor(output)
    y = cast(y, float_dtype(y))
    logp = nnops.log_softmax(y, -1)
    labels = backend.to_numpy(to_tensor(target)._value).astype(np.int64)
    lab_len = backend.to_numpy(to_tensor(target_length)._value).astype(np.int64).reshape(-1)
    out_len = backend.to_numpy(to_tensor(output_length)._value).astype(np.int64).reshape(-1)
    batch, time, _ = y.shape
    max_l = labels.shape[1]
    s_len = 2 * max_l + 1
    # The extended label sequence: blank, l1, blank, l2, ..., blank.
    ext = np.full((batch, s_len), mask_index, dtype=np.int64)
    ext[:, 1::2] = labels
    # A skip from s-2 is allowed onto a label that differs from the label two back.
    skip = np.zeros((batch, s_len), dtype=bool)
    skip[:, 3::2] = labels[:, 1:] != labels[:, :-1]
    neg_inf = constant_like(-np.inf, y)
    xp = backend.get_xp(y._value)
    ext_x = xp.asarray(ext)
    rows = xp.arange(batch)[:, None]
    init = np.full((batch, s_len), -np.inf)
    init[:, 0] = 0.0
    init[:, 1] = np.where(lab_len > 0, 0.0, -np.inf)
    alpha = None
    for t in range(time):
        emit = mv.getitem(logp, (rows, t, ext_x))  # (batch, S)
        if alpha is None:
            alpha = ew.add(constant_like(init, y), emit)
            continue
        prev1 = mv.pad(alpha[:, :-1], [[0, 0], [1, 0]], constant_values=-np.inf)
        prev2 = mv.pad(alpha[:, :-2], [[0, 0], [2, 0]], constant_values=-np.inf)
        prev2 = ew.where(Tensor(xp.asarray(skip)), prev2, mv.broadcast_to(neg_inf, prev2.shape))
        new = ew.add(_logsumexp(alpha, prev1, prev2), emit)
        active = Tensor(xp.asarray((t < out_len)[:, None]))
        alpha = ew.where(mv.broadcast_to(active, new.shape), new, alpha)
    last = xp.asarray(2 * lab_len)
    end_blank = mv.getitem(alpha, (xp.arange(batch), last))
    end_label = mv.getitem(alpha, (xp.arange(batch), xp.maximum(last - 1, 0)))
    end_label = ew.where(Tensor(xp.asarray(lab_len > 0)), end_label,
                         mv.broadcast_to(neg_inf, end_label.shape))
    return ew.negative(_logsumexp(end_blank, end_label))


def _greedy(logp: np.ndarray, lengths: np.ndarray, merge_repeated: bool, mask_index: int) -> tuple:
    """Best class per step, repeats merged and blanks dropped; the score is minus the sum of the
    best inputs, as TF's greedy decoder reports it (of the raw inputs, not log-probabilities)."""
    batch, time, _ = logp.shape
    best = logp.argmax(-1)
    decoded = np.full((1, batch, time), -1, dtype=np.int32)
    scores = np.zeros((batch, 1), dtype=logp.dtype)
    for b in range(batch):
        n = int(lengths[b])
        seq, prev = [], None
        for t in range(n):
            c = int(best[b, t])
            if c != mask_index and not (merge_repeated and c == prev):
                seq.append(c)
            prev = c
        decoded[0, b, :len(seq)] = seq
        scores[b, 0] = -logp[b, np.arange(n), best[b, :n]].sum()
    return decoded, scores


def _beam_search(logp: np.ndarray, lengths: np.ndarray, beam_width: int, top_paths: int,
                 mask_index: int) -> tuple:
    """CTC prefix beam search over log-probabilities (repeated labels merge unless split by a blank)."""
    batch, time, classes = logp.shape
    decoded = np.full((top_paths, batch, time), -1, dtype=np.int32)
    scores = np.full((batch, top_paths), -np.inf, dtype=logp.dtype)
    for b in range(batch):
        beams = {(): (0.0, -np.inf)}  # prefix -> (log p ending in blank, log p ending in label)
        for t in range(int(lengths[b])):
            nxt: dict = {}

            def add(prefix: tuple, pb: float, pnb: float, nxt: dict = nxt) -> None:
                ob, onb = nxt.get(prefix, (-np.inf, -np.inf))
                nxt[prefix] = (np.logaddexp(ob, pb), np.logaddexp(onb, pnb))

            for prefix, (pb, pnb) in beams.items():
                total = np.logaddexp(pb, pnb)
                for c in range(classes):
                    p = logp[b, t, c]
                    if c == mask_index:
                        add(prefix, total + p, -np.inf)
                    elif prefix and prefix[-1] == c:
                        add(prefix + (c,), -np.inf, pb + p)
                        add(prefix, -np.inf, pnb + p)
                    else:
                        add(prefix + (c,), -np.inf, total + p)
            ranked = sorted(nxt.items(), key=lambda kv: -np.logaddexp(*kv[1]))
            beams = dict(ranked[:beam_width])
        ranked = sorted(beams.items(), key=lambda kv: -np.logaddexp(*kv[1]))[:top_paths]
        for k, (prefix, (pb, pnb)) in enumerate(ranked):
            decoded[k, b, :len(prefix)] = prefix
            scores[b, k] = np.logaddexp(pb, pnb)
    return decoded, scores


@lifted_on_graph_tensors
def ctc_decode(inputs: Any, sequence_lengths: Any, strategy: str = "greedy", beam_width: int = 100,
               top_paths: int = 1, merge_repeated: bool = True, mask_index: int = 0) -> tuple:
    """Decode CTC outputs (batch, time, classes) by greedy or beam search.

    Returns:
        (decoded, scores): decoded labels (top_paths, batch, time) padded with -1, and the
        scores (batch, top_paths): for beam search the log-probability of each path, for greedy
        minus the sum of the chosen inputs (TF's convention). Not differentiable.
    """
    x = to_tensor(inputs)
    x = cast(x, float_dtype(x))
    lengths = backend.to_numpy(to_tensor(sequence_lengths)._value).reshape(-1)
    if strategy == "greedy":
        raw = backend.to_numpy(x._value)
        decoded, scores = _greedy(raw, lengths, merge_repeated, mask_index)
        logp = raw
    elif strategy == "beam_search":
        logp = backend.to_numpy(nnops.log_softmax(x, -1)._value)
        decoded, scores = _beam_search(logp, lengths, int(beam_width), int(top_paths), mask_index)
    else:
        raise ValueError(f"ctc_decode: strategy must be 'greedy' or 'beam_search', received {strategy!r}.")
    xp = backend.get_xp(x._value)
    return (Tensor(backend.asarray(decoded, None, xp)),
            Tensor(backend.asarray(scores.astype(logp.dtype), None, xp)))
