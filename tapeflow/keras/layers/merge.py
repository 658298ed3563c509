"""Merge layers: combine a list of tensors (Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, Dot) and their functional forms (`add`, `concatenate`, ...).

Keras masks (batch, steps) on the inputs follow Keras 3: the elementwise merges output the OR of
the masks when every input has one (no mask otherwise); Multiply treats masked entries as 1
(and zeroes the entries masked in every input), Maximum/Minimum let a masked entry take the other
inputs' value; Concatenate concatenates the masks (all-true for an unmasked input); Dot drops them.
"""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow.keras.layers.base import Layer
from tapeflow.tensor import Tensor


class _Merge(Layer):
    """Elementwise merge of a list of same-shape tensors (broadcasting like NumPy)."""

    min_inputs = 2

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check(self, inputs: Any) -> list:
        if not isinstance(inputs, (list, tuple)) or len(inputs) < self.min_inputs:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' should be called on a list of at least "
                f"{self.min_inputs} inputs, received: {inputs!r}"
            )
        return list(inputs)

    def build(self, input_shape: Any) -> None:
        shapes = [tuple(s) for s in input_shape]
        ref = shapes[0]
        for s in shapes[1:]:
            if len(s) == len(ref):
                for a, b in zip(ref[1:], s[1:], strict=False):
                    if a is not None and b is not None and a != b and a != 1 and b != 1:
                        raise ValueError(
                            f"{type(self).__name__} layer '{self.name}' requires inputs with matching "
                            f"shapes except for the batch dimension; received shapes {shapes}."
                        )
        self.built = True

    def call(self, inputs: Any) -> Tensor:
        xs = self._check(inputs)
        out = xs[0]
        for x in xs[1:]:
            out = self._merge(out, x)
        return self._finish(out, len(xs))

    def _merge(self, a: Tensor, b: Tensor) -> Tensor:
        raise NotImplementedError

    def _finish(self, out: Tensor, n: int) -> Tensor:
        return out

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shapes = [tuple(s) for s in input_shape]
        rank = max(len(s) for s in shapes)
        out = []
        for i in range(rank):
            dims = [s[i - rank + len(s)] for s in shapes if i - rank + len(s) >= 0]
            known = [d for d in dims if d is not None and d != 1]
            out.append(known[0] if known else (1 if all(d == 1 for d in dims) else None))
        return tuple(out)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        masks = _input_masks(inputs, mask)
        if not masks or any(m is None for m in masks):
            return None
        out = masks[0]
        for m in masks[1:]:
            out = tf.logical_or(out, m)
        return out


def _input_masks(inputs: Any, mask: Any = None) -> list:
    """The Keras masks of a merge's inputs (`mask` when given as a list, else the tensors' own)."""
    if not isinstance(inputs, (list, tuple)):
        return []
    if isinstance(mask, (list, tuple)) and len(mask) == len(inputs):
        masks = list(mask)
    else:
        masks = [getattr(x, "_keras_mask", None) for x in inputs]
    return [None if m is None else tf.cast(m, tf.bool) for m in masks]


def _feature_mask(mask: Tensor, x: Tensor) -> Tensor:
    """A (batch, steps) mask broadcast to `x`'s (batch, steps, features) shape."""
    return tf.broadcast_to(tf.expand_dims(mask, -1), tf.shape(x))


def _merge_masked_extremum(op: Any, inputs: list) -> Tensor:
    """Keras 3's Maximum/Minimum with masks: a masked entry takes the other operand's value."""
    output = output_mask = None
    for x in inputs:
        mask = getattr(x, "_keras_mask", None)
        if mask is not None:
            mask = _feature_mask(tf.cast(mask, tf.bool), x)
        if output is None:
            output, output_mask = x, mask
            continue
        if mask is not None:
            x = tf.where(mask, x, output)
        if output_mask is not None:
            output = tf.where(output_mask, output, x)
        output_mask = tf.logical_or(output_mask, mask) if mask is not None and output_mask is not None else None
        output = op(output, x)
    return output


class Add(_Merge):
    """Sum of the inputs."""

    def _merge(self, a: Tensor, b: Tensor) -> Tensor:
        return tf.add(a, b)


class Subtract(_Merge):
    """inputs[0] - inputs[1] (exactly two inputs)."""

    def call(self, inputs: Any) -> Tensor:
        xs = self._check(inputs)
        if len(xs) != 2:
            raise ValueError(
                f"Subtract layer '{self.name}' should be called on exactly 2 inputs, received {len(xs)}."
            )
        return tf.subtract(xs[0], xs[1])


class Multiply(_Merge):
    """Elementwise product of the inputs (masked entries count as 1; see the module doc)."""

    def call(self, inputs: Any) -> Tensor:
        xs = self._check(inputs)
        masks = [getattr(x, "_keras_mask", None) for x in xs]
        if all(m is None for m in masks):
            out = xs[0]
            for x in xs[1:]:
                out = tf.multiply(out, x)
            return out
        out = output_mask = None
        for x, mask in zip(xs, masks, strict=True):
            if mask is not None:
                mask = _feature_mask(tf.cast(mask, tf.bool), x)
                x = tf.where(mask, x, tf.ones_like(x))
                output_mask = mask if output_mask is None else tf.logical_or(output_mask, mask)
            out = x if out is None else tf.multiply(out, x)
        if all(m is not None for m in masks):
            out = tf.where(output_mask, out, tf.zeros_like(out))
        return out


class Average(_Merge):
    """Elementwise mean of the inputs."""

    def _merge(self, a: Tensor, b: Tensor) -> Tensor:
        return tf.add(a, b)

    def _finish(self, out: Tensor, n: int) -> Tensor:
        return tf.multiply(out, 1.0 / n)


class Maximum(_Merge):
    """Elementwise maximum of the inputs (masked entries ignored; see the module doc)."""

    def call(self, inputs: Any) -> Tensor:
        return _merge_masked_extremum(tf.maximum, self._check(inputs))


class Minimum(_Merge):
    """Elementwise minimum of the inputs (masked entries ignored; see the module doc)."""

    def call(self, inputs: Any) -> Tensor:
        return _merge_masked_extremum(tf.minimum, self._check(inputs))


class Concatenate(Layer):
    """Concatenate a list of tensors along `axis` (default -1)."""

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True

    def build(self, input_shape: Any) -> None:
        shapes = [tuple(s) for s in input_shape]
        if len(shapes) < 1:
            raise ValueError(f"Concatenate layer '{self.name}' should be called on a list of inputs.")
        rank = len(shapes[0])
        ax = self.axis % rank
        for s in shapes[1:]:
            if len(s) != rank or any(
                a is not None and b is not None and a != b
                for i, (a, b) in enumerate(zip(shapes[0], s, strict=False))
                if i != ax
            ):
                raise ValueError(
                    f"Concatenate layer '{self.name}' requires inputs with matching shapes except for "
                    f"the concatenation axis. Received: input_shape={shapes}"
                )
        self.built = True

    def call(self, inputs: Any) -> Tensor:
        return tf.concat(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape: Any) -> tuple:
        shapes = [list(s) for s in input_shape]
        ax = self.axis % len(shapes[0])
        out = list(shapes[0])
        sizes = [s[ax] for s in shapes]
        out[ax] = None if any(d is None for d in sizes) else sum(sizes)
        return tuple(out)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        masks = _input_masks(inputs, mask)
        if all(m is None for m in masks):
            return None
        full = []
        for x, m in zip(inputs, masks, strict=True):
            if m is None:
                full.append(tf.ones_like(x, dtype=tf.bool))
            elif m.ndim < x.ndim:
                full.append(tf.broadcast_to(tf.expand_dims(m, -1), tf.shape(x)))
            else:
                full.append(m)
        return tf.reduce_any(tf.concat(full, axis=self.axis), axis=-1)

    def get_config(self) -> dict:
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Dot(Layer):
    """Dot product between samples of two tensors along `axes` (optionally L2-normalised)."""

    def __init__(self, axes: Any, normalize: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axes = axes
        self.normalize = normalize
        self.supports_masking = True  # as Keras 3: masked inputs are accepted, the output has no mask

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None

    def _axes(self, ranks: tuple) -> tuple:
        axes = self.axes if isinstance(self.axes, (list, tuple)) else (self.axes, self.axes)
        return tuple(a % r for a, r in zip(axes, ranks, strict=False))

    def call(self, inputs: Any) -> Tensor:
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"Dot layer '{self.name}' should be called on a list of 2 inputs.")
        a, b = inputs
        ax_a, ax_b = self._axes((a.ndim, b.ndim))
        if self.normalize:
            a = tf.nn.l2_normalize(a, axis=ax_a)
            b = tf.nn.l2_normalize(b, axis=ax_b)
        if a.shape[ax_a] != b.shape[ax_b]:
            raise ValueError(
                f"Dot layer '{self.name}': dimension incompatibility {a.shape[ax_a]} != {b.shape[ax_b]}; "
                f"received shapes {tuple(a.shape)} and {tuple(b.shape)} with axes {(ax_a, ax_b)}."
            )
        letters = "bcdefghijklmnopqrstuvw"
        sa = "a" + letters[: a.ndim - 1]
        sb = "a" + letters[a.ndim - 1 : a.ndim - 1 + b.ndim - 1]
        sb = sb[:ax_b] + sa[ax_a] + sb[ax_b + 1 :]
        out = [c for i, c in enumerate(sa) if i != ax_a] + [c for i, c in enumerate(sb) if i not in (0, ax_b)]
        y = tf.einsum(f"{sa},{sb}->{''.join(out)}", a, b)
        if y.ndim == 1:
            y = tf.expand_dims(y, 1)
        return y

    def compute_output_shape(self, input_shape: Any) -> tuple:
        sa, sb = (tuple(s) for s in input_shape)
        ax_a, ax_b = self._axes((len(sa), len(sb)))
        out = [d for i, d in enumerate(sa) if i != ax_a] + [d for i, d in enumerate(sb) if i not in (0, ax_b)]
        if len(out) == 1:
            out.append(1)
        return tuple(out)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"axes": self.axes, "normalize": self.normalize})
        return config


def add(inputs: list, **kwargs: Any) -> Tensor:
    return Add(**kwargs)(inputs)


def subtract(inputs: list, **kwargs: Any) -> Tensor:
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list, **kwargs: Any) -> Tensor:
    return Multiply(**kwargs)(inputs)


def average(inputs: list, **kwargs: Any) -> Tensor:
    return Average(**kwargs)(inputs)


def maximum(inputs: list, **kwargs: Any) -> Tensor:
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list, **kwargs: Any) -> Tensor:
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: list, axis: int = -1, **kwargs: Any) -> Tensor:
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: list, axes: Any = -1, normalize: bool = False, **kwargs: Any) -> Tensor:
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
