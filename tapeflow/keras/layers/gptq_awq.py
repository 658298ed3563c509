"""GPTQ and AWQ: Keras 3.15's calibrated post-training quantization of Dense / EinsumDense.

`model.quantize("gptq" | "awq", config=GPTQConfig(...) | AWQConfig(...))` first gives every
Dense/EinsumDense its quantized variables (the float kernel still computes), then calibrates
block by block: the config's dataset (token ids, or strings through `tokenizer.tokenize`) is cut
into `num_samples` windows of `sequence_length`, run through `pre_block_layers`, and each of
the `sequential_blocks` in turn; the inputs its Dense/EinsumDense layers see give
- GPTQ: a Hessian `2/n X^T X`; columns are quantized one by one (asymmetric, `weight_bits`,
  groups of `group_size` inputs) and each rounding error is spread over the columns not yet
  quantized with the damped inverse Hessian (Frantar et al. 2022), Keras's block order included;
- AWQ: per-input maxima |x|; a grid search over `scales = max|x| ** ratio` picks the scaling
  that minimizes the activation-weighted 4-bit error (Lin et al. 2023); the kernel is quantized
  scaled, and calls divide by `awq_scales`.
The kernel is stored transposed, (columns, rows) as uint8 (packed two per byte for 4 bits), with
`kernel_scale` / zero point (columns, groups) and `g_idx` (rows,), as Keras stores them. The
calibration runs on the host in float32 (NumPy), as Keras's does in its backend's float32.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow.keras.quantizers import configs as _configs
from tapeflow.keras.quantizers import quantizers as _q


def _rows_cols(kernel_shape: tuple) -> tuple[int, int]:
    """Keras's (rows, columns) of a 2-D or 3-D kernel: a 3-D kernel whose largest axis is the
    first is a QKV projection (in, heads, head_dim), else an attention output."""
    shape = [int(d) for d in kernel_shape]
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) == 3:
        if shape.index(max(shape)) == 0:
            return shape[0], shape[1] * shape[2]
        return shape[0] * shape[1], shape[2]
    raise ValueError(f"GPTQ/AWQ quantization only supports 2D or 3D kernels, received shape {tuple(shape)}.")


def _bits_and_group(layer: Any, mode: str, config: Any) -> tuple[int, int]:
    cls = _configs.GPTQConfig if mode == "gptq" else _configs.AWQConfig
    if isinstance(config, cls):
        return config.weight_bits, config.group_size
    policy = layer.dtype_policy
    if getattr(policy, "quantization_mode", None) == mode and hasattr(policy, "group_size"):
        return policy.weight_bits, policy.group_size
    raise ValueError(f"For {mode.upper()} quantization, the weight_bits and group_size must be specified either "
                     f"through a `dtype_policy` of type `{mode.upper()}DTypePolicy` or the `config` argument.")


def build_calibrated(layer: Any, kernel_shape: tuple, reduced_axes: tuple, mode: str, config: Any,
                     from_policy: bool = False) -> None:
    """The GPTQ/AWQ variables of `layer` (Keras's shapes, names and dtypes). A layer built from
    a quantized policy (a loaded model) counts as calibrated; one being quantized keeps its float
    kernel until `calibrate` runs."""
    bits, group = _bits_and_group(layer, mode, config)
    rows, cols = _rows_cols(kernel_shape)
    groups = 1 if group == -1 else math.ceil(rows / group)
    layer._calibration = {"mode": mode, "bits": bits, "group": group, "rows": rows, "cols": cols,
                          "shape": tuple(int(d) for d in kernel_shape)}
    layer.__dict__[f"is_{mode}_calibrated"] = bool(from_policy)
    if type(layer).__name__ == "EinsumDense" and mode == "gptq":
        layer._gptq_unpacked_column_size = cols
    packed = (cols + 1) // 2 if bits == 4 else cols
    layer.quantized_kernel = layer.add_weight(name="kernel", shape=(packed, rows), initializer="zeros",
                                              dtype="uint8", trainable=False)
    layer.kernel_scale = layer.add_weight(name="kernel_scale", shape=(cols, groups), initializer="ones",
                                          trainable=False)
    zero_name = "zero_point" if type(layer).__name__ == "EinsumDense" else "kernel_zero"
    layer.kernel_zero = layer.add_weight(name=zero_name, shape=(cols, groups), initializer="zeros", dtype="uint8",
                                         trainable=False)
    if mode == "awq":
        layer.awq_scales = layer.add_weight(name="awq_scales", shape=(rows,), initializer="ones", trainable=False)
    layer.g_idx = layer.add_weight(name="g_idx", shape=(rows,), initializer="zeros", dtype="float32",
                                   trainable=False)


def dequantized_kernel(layer: Any) -> Any:
    """The calibrated kernel in its float shape: unpack, `(q - zero[g]) * scale[g]`, transpose
    (and divide by `awq_scales` for AWQ)."""
    info = layer._calibration
    q = layer.quantized_kernel
    if info["bits"] == 4:
        q = _q.unpack_int4_tensor(q, info["cols"], axis=0, signed=False)
    w = tf.transpose(_q.dequantize_with_sz_map(q, layer.kernel_scale, layer.kernel_zero, layer.g_idx))
    if info["mode"] == "awq":
        w = w / tf.expand_dims(tf.convert_to_tensor(layer.awq_scales), -1)
    return tf.reshape(w, info["shape"])


def calibrated_product(layer: Any, x: Any, specs: tuple) -> Any:
    """`einsum(x, kernel)`: the float kernel before calibration (the calibration hook sees `x`),
    the dequantized one after."""
    in_spec, k_spec, out_spec = specs
    mode = layer._calibration["mode"]
    hook = layer.__dict__.get("_calibration_hook")
    if hook is not None:
        hook(x)
    if layer.__dict__.get(f"is_{mode}_calibrated"):
        w = tf.cast(dequantized_kernel(layer), layer.compute_dtype)
    else:
        w = layer.kernel
    return tf.einsum(f"{in_spec},{k_spec}->{out_spec}", x, w)


# -- quantization parameters (Keras's keras.src.quantizers helpers, on the host in float32) -----
def compute_quantization_parameters(x: np.ndarray, *, bits: int, symmetric: bool = False, per_channel: bool = False,
                                    group_size: int = -1) -> tuple[np.ndarray, np.ndarray, np.float32]:
    """Scale, uint8 zero point ((out, groups) or (out, 1)) and `maxq` of an (out, in) matrix."""
    x = np.asarray(x, np.float32)
    out_features, in_features = x.shape
    n_groups = (in_features + group_size - 1) // group_size if per_channel and group_size > 0 else 1
    if n_groups > 1:
        pad = (-in_features) % group_size
        if pad:
            x = np.pad(x, [(0, 0), (0, pad)])
        grouped = x.reshape(out_features, n_groups, group_size)
        lo, hi = grouped.min(axis=2), grouped.max(axis=2)
    else:
        flat = x.reshape(out_features, -1) if per_channel else x.reshape(1, -1)
        lo, hi = flat.min(axis=1), flat.max(axis=1)
    if symmetric:
        top = np.maximum(np.abs(lo), hi)
        lo = np.where(lo < 0, -top, lo)
        hi = top
    same = lo == hi
    lo = np.where(same, lo - 1, lo).astype(np.float32)
    hi = np.where(same, hi + 1, hi).astype(np.float32)
    maxq = np.float32(2**bits - 1)
    scale = ((hi - lo) / maxq).astype(np.float32)
    scale = np.where(scale <= 0, np.float32(1e-8), scale).astype(np.float32)
    zero = np.full_like(scale, (maxq + 1) / 2) if symmetric else np.round(-lo / scale)
    if n_groups == 1:
        if per_channel:
            scale, zero = scale.reshape(-1, 1), zero.reshape(-1, 1)
        else:
            scale = np.tile(scale.reshape(1, 1), (out_features, 1))
            zero = np.tile(zero.reshape(1, 1), (out_features, 1))
    # uint8 saturates (a group of one sign has a zero point outside [0, 255]), as TF's vectorized
    # Cast does for Keras (its scalar path wraps around instead, for tensors under 32 elements)
    return scale, np.clip(zero, 0, 255).astype(np.uint8), maxq


def quantize_with_zero_point(x: np.ndarray, scale: np.ndarray, zero: np.ndarray, maxq: float) -> np.ndarray:
    safe = np.where(scale == 0, np.float32(1e-8), scale)
    return np.clip(np.round(x / safe + zero.astype(np.float32)), 0, maxq).astype(np.float32)


def dequantize_with_zero_point(q: np.ndarray, scale: np.ndarray, zero: np.ndarray) -> np.ndarray:
    return (scale * (q - zero.astype(np.float32))).astype(np.float32)


def gptq_quantize_matrix(weights_t: np.ndarray, inv_hessian: np.ndarray, *, find_params: Any, blocksize: int = 128,
                         group_size: int = -1, activation_order: bool = False,
                         order_metric: np.ndarray | None = None) -> tuple:
    """GPTQ on an (out, in) matrix: (int32 levels (out, in), scale and zero (out, groups), g_idx (in,))."""
    w = np.array(weights_t, np.float32)
    inv_h = np.asarray(inv_hessian, np.float32)
    n = w.shape[1]
    perm = inv_perm = None
    if activation_order:
        metric = (1.0 / (np.diagonal(inv_h) + 1e-12) if order_metric is None
                  else np.where(np.isfinite(order_metric), order_metric, 0)).astype(np.float32)
        metric = metric + (np.arange(n, dtype=np.float32) / np.float32(n)) * np.float32(1e-12)
        perm = np.argsort(-metric, kind="stable")
        inv_perm = np.argsort(perm, kind="stable")
        w = w[:, perm]
        inv_h = inv_h[perm][:, perm]
    levels = np.zeros(w.shape, np.int32)
    scales, zeros = [], []
    group = n if group_size == -1 else group_size
    for start in range(0, n, blocksize):
        end = min(start + blocksize, n)
        block = w[:, start:end].copy()
        errors = np.zeros_like(block)
        block_inv = inv_h[start:end, start:end]
        cached = None
        cached_start = -1
        for j in range(end - start):
            col = block[:, j]
            if group != n:
                group_start = ((start + j) // group) * group
                if group_start != cached_start:
                    cached = find_params(w[:, group_start:min(group_start + group, n)])
                    scales.append(cached[0])
                    zeros.append(cached[1])
                    cached_start = group_start
            elif cached is None:
                cached = find_params(w)
                scales.append(cached[0])
                zeros.append(cached[1])
            scale, zero, maxq = cached
            q = quantize_with_zero_point(col[:, None], scale, zero, maxq)
            levels[:, start + j] = q[:, 0].astype(np.int32)
            err = (col - dequantize_with_zero_point(q, scale, zero)[:, 0]) / block_inv[j, j]
            errors[:, j] = err
            if j < end - start - 1:
                block[:, j + 1:] -= np.outer(err, block_inv[j, j + 1:]).astype(np.float32)
        if end < n:
            w[:, end:] -= (errors @ inv_h[start:end, end:]).astype(np.float32)
    g_idx = (np.arange(n) / group).astype(np.float32)
    if activation_order:
        g_idx = g_idx[inv_perm]
        levels = levels[:, inv_perm]
    return levels, np.concatenate(scales, axis=1), np.concatenate(zeros, axis=1), g_idx


def awq_quantize_matrix(weights_t: np.ndarray, magnitudes: np.ndarray, *, num_grid_points: int = 20,
                        group_size: int = -1) -> tuple:
    """AWQ on an (out, in) matrix: (levels, scale, zero, awq_scales (in,), g_idx (in,))."""
    w = np.asarray(weights_t, np.float32)
    n = w.shape[1]
    x_max = np.asarray(magnitudes, np.float32)
    x_max = np.where(x_max < 1e-8, np.float32(1), x_max).astype(np.float32)
    g_idx = (np.arange(n) // group_size).astype(np.int32) if group_size != -1 else None

    def quantized(scaled: np.ndarray) -> tuple:
        scale, zero, maxq = compute_quantization_parameters(scaled, bits=4, per_channel=True, group_size=group_size)
        if g_idx is None:
            return quantize_with_zero_point(scaled, scale, zero, maxq), scale, zero
        return quantize_with_zero_point(scaled, scale[:, g_idx], zero[:, g_idx], maxq), scale, zero

    best_loss = best = None
    for i in range(num_grid_points + 1):
        ratio = i / num_grid_points
        scales = np.ones_like(x_max) if ratio == 0 else np.power(x_max, np.float32(ratio))
        scales = np.maximum(scales, np.float32(1e-4)).astype(np.float32)
        mean = np.maximum(np.sqrt(scales.max() * scales.min()), np.float32(1e-8))
        scales = (scales / mean).astype(np.float32)
        scaled = (w * scales).astype(np.float32)
        q, scale, zero = quantized(scaled)
        if g_idx is None:
            dq = dequantize_with_zero_point(q, scale, zero)
        else:
            dq = dequantize_with_zero_point(q, scale[:, g_idx], zero[:, g_idx])
        loss = np.mean(np.square(w - dq / scales) * np.square(x_max), dtype=np.float32)
        if best_loss is None or loss < best_loss:
            best_loss, best = loss, scales
    q, scale, zero = quantized((w * best).astype(np.float32))
    g = np.zeros(n, np.float32) if g_idx is None else g_idx.astype(np.float32)
    return q, scale, zero, best, g


# -- calibration ------------------------------------------------------------------------------
def calibration_samples(tokenizer: Any, sequence_length: int, dataset: Any, num_samples: int = 128,
                        *, strategy: str = "strided", seed: int = 42, stride: int | None = None,
                        eos_id: int | None = None) -> np.ndarray:
    """Keras's `get_dataloader`: (num_samples, 1, sequence_length) int32 token windows of the
    dataset (strings are tokenized; short data is repeated)."""
    if not hasattr(dataset, "__iter__") or isinstance(dataset, (str, bytes)):
        raise TypeError("The `dataset` argument must be an iterable (e.g., a list of strings, a generator, or a "
                        f"NumPy array). Got type: {type(dataset).__name__}. Please pass the loaded dataset directly.")
    items = list(dataset)
    if not items:
        raise ValueError("Provided dataset is empty.")
    pieces = []
    if isinstance(items[0], str):
        for i, text in enumerate(items):
            pieces.append(np.asarray(_numpy(tokenizer.tokenize(text))).reshape(-1))
            if eos_id is not None and i < len(items) - 1:
                pieces.append(np.array([eos_id], np.int32))
    else:
        pieces = [np.asarray(_numpy(s)).reshape(-1).astype(np.int32) for s in items]
    tokens = np.concatenate(pieces).astype(np.int32) if len(pieces) > 1 else pieces[0].astype(np.int32)
    needed = num_samples * sequence_length
    if tokens.size < needed:
        tokens = np.tile(tokens, math.ceil(needed / max(1, tokens.size)))
    max_start = tokens.size - sequence_length
    if max_start < 0:
        raise ValueError(f"Not enough tokens to form one sample of length {sequence_length} (have {tokens.size}).")
    if strategy == "random":
        starts = np.random.default_rng(seed).integers(0, max_start + 1, size=num_samples, dtype=np.int64)
    elif strategy == "linspace":
        starts = np.linspace(0, max_start, num_samples, dtype=np.int64)
    elif strategy == "strided":
        stride = stride or max(1, (max_start + 1) // num_samples)
        # Keras's offset (Python's hash of a str tuple: it changes between processes unless
        # PYTHONHASHSEED is set, in Keras as here)
        offset = abs(hash(("gptq-calib", seed))) % (max_start + 1) if max_start > 0 else 0
        starts = (offset + np.arange(num_samples, dtype=np.int64) * stride) % (max_start + 1)
    else:
        raise ValueError(f"Unknown strategy: {strategy}")
    windows = np.lib.stride_tricks.sliding_window_view(tokens, sequence_length)
    return windows[starts].astype(np.int32)[:, None, :]


def _numpy(value: Any) -> Any:
    return value.numpy() if hasattr(value, "numpy") else value


def _leaf_kernel_layers(block: Any, filters: Any) -> list:
    from tapeflow.keras.layers.core import Dense
    from tapeflow.keras.layers.einsum_dense import EinsumDense
    from tapeflow.keras.models.model import chosen_by_filters

    return [layer for layer in block._flat_layers()
            if not layer._sublayers() and isinstance(layer, (Dense, EinsumDense)) and chosen_by_filters(layer, filters)
            and getattr(layer, "_calibration", None) is not None]


class _Statistics:
    """A layer's calibration statistics: GPTQ's running Hessian or AWQ's per-input maxima."""

    def __init__(self, layer: Any, mode: str) -> None:
        info = layer._calibration
        self.layer, self.mode, self.rows = layer, mode, info["rows"]
        self.count = 0
        self.hessian = np.zeros((self.rows, self.rows), np.float32) if mode == "gptq" else None
        self.magnitudes = np.zeros((self.rows,), np.float32)

    def __call__(self, x: Any) -> None:
        arr = np.asarray(_numpy(x), np.float32).reshape(-1, self.rows)
        if self.mode == "awq":
            self.magnitudes = np.maximum(self.magnitudes, np.abs(arr).max(axis=0))
            self.count += arr.shape[0]
            return
        total = self.count + arr.shape[0]
        gram = arr.T @ arr
        gram = (gram + gram.T) / np.float32(2)
        if self.count > 0:
            self.hessian = (self.hessian * np.float32(self.count / total)).astype(np.float32)
        self.hessian = (self.hessian + np.float32(2.0 / total) * gram).astype(np.float32)
        self.count = total

    def quantize(self, config: Any) -> None:
        layer = self.layer
        info = layer._calibration
        kernel_t = np.asarray(layer.kernel.numpy(), np.float32).reshape(info["rows"], info["cols"]).T
        if self.mode == "gptq":
            levels, scale, zero, g_idx = self._gptq(kernel_t, config, layer)
            awq_scales = None
        else:
            levels, scale, zero, awq_scales, g_idx = awq_quantize_matrix(
                kernel_t, self.magnitudes, num_grid_points=config.num_grid_points, group_size=config.group_size)
        levels = levels.astype(np.uint8)
        if info["bits"] == 4:
            levels = _q.pack_int4(tf.constant(levels), axis=0, dtype="uint8")[0].numpy()
        from tapeflow.keras.layers.quantization import _drop

        _drop(layer, "kernel")
        layer.quantized_kernel.assign(levels)
        layer.kernel_scale.assign(scale)
        layer.kernel_zero.assign(zero)
        layer.g_idx.assign(g_idx)
        if awq_scales is not None:
            layer.awq_scales.assign(awq_scales)
        layer.__dict__[f"is_{self.mode}_calibrated"] = True

    def _gptq(self, kernel_t: np.ndarray, config: Any, layer: Any) -> tuple:
        h = self.hessian
        diag = np.diagonal(h).copy()
        dead = diag == 0
        diag = np.where(dead, np.float32(1), diag).astype(np.float32)
        h = h + np.diag(np.where(dead, np.float32(1), np.float32(0)))
        diag = (diag + np.float32(config.hessian_damping) * diag.mean(dtype=np.float32)).astype(np.float32)
        h = (h - np.diag(np.diagonal(h)) + np.diag(diag)).astype(np.float32)
        inverse = np.linalg.inv(h).astype(np.float32)

        def find_params(x: np.ndarray) -> tuple:
            return compute_quantization_parameters(x, bits=config.weight_bits, symmetric=config.symmetric,
                                                   per_channel=config.per_channel, group_size=config.group_size)

        return gptq_quantize_matrix(kernel_t, inverse, find_params=find_params, group_size=config.group_size,
                                    activation_order=config.activation_order, order_metric=np.diagonal(h))


def calibrate(mode: str, config: Any, structure: dict, filters: Any = None) -> None:
    """Keras's `gptq_quantize` / `awq_quantize`: calibrate the layers of `structure`'s blocks."""
    name = mode.upper()
    if config.dataset is None or config.tokenizer is None:
        raise ValueError(f"{name} quantization requires a dataset and a tokenizer. Please provide them in the "
                         f"`{name if mode == 'awq' else 'GPTQ'}Config`.")
    pre_layers = structure.get("pre_block_layers", [])
    blocks = structure.get("sequential_blocks", [])
    if not blocks:
        raise ValueError("No sequential blocks found in the provided structure to quantize.")
    samples = calibration_samples(config.tokenizer, config.sequence_length, config.dataset,
                                  num_samples=config.num_samples)[: config.num_samples]
    inputs = []
    for batch in samples:
        x = tf.constant(batch, dtype="int32")
        for layer in pre_layers:
            x = layer(x)
        inputs.append(x)
    count = min(config.num_samples, len(inputs))
    for index, block in enumerate(blocks):
        layers = _leaf_kernel_layers(block, filters)
        if layers:
            stats = [_Statistics(layer, mode) for layer in layers]
            for layer, stat in zip(layers, stats, strict=True):
                layer.__dict__["_calibration_hook"] = stat
            try:
                for i in range(count):
                    x = inputs[i]
                    block(tf.expand_dims(x, 0) if x.ndim == 2 else x)
            finally:
                for layer in layers:
                    layer.__dict__.pop("_calibration_hook", None)
            for stat in stats:
                stat.quantize(config)
        if index < len(blocks) - 1:
            outputs = []
            for i in range(count):
                x = inputs[i]
                outputs.append(block(tf.expand_dims(x, 0) if x.ndim == 2 else x)[0])
            inputs = outputs
