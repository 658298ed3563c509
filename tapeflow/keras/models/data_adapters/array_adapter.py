"""Array input (NumPy arrays, tensors, lists / dicts of them): converted once, sliced per epoch.

Batches are views of the arrays when not shuffling, and views of one per-epoch gather (or one
gather per batch, for large data) when shuffling.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow import nest
from tapeflow.keras import backend as _kbackend
from tapeflow.keras.models import arg_checks as _checks
from tapeflow.keras.models import data_handler as _data
from tapeflow.keras.models.data_adapters.base import DataAdapter
from tapeflow.keras.models.data_adapters.composite_rows import CompositeRows, composite_aware

# Shuffled data up to this size is gathered once per epoch and then sliced into views;
# above it each batch is gathered on its own (same memory traffic, better cache use).
_GATHER_ONCE_BYTES = 8 << 20


class ArrayDataAdapter(DataAdapter):
    """Array data `(x, y, sample_weight)` cut into batches; one instance serves every epoch.

    Args:
        x, y, sample_weight: arrays or nested lists/dicts of arrays (same first dimension).
        batch_size: samples per batch (default 32; with `steps`, ceil(n / steps)).
        shuffle: True (new order every epoch), "batch" (shuffle inside each batch) or False.
        class_weight: optional {class: weight} turned into sample weights.
        steps: batches per epoch (default: enough to see every sample once).
        argument: the name of the data in error messages ("x", "validation_data").
    """

    def __init__(self, x: Any, y: Any = None, sample_weight: Any = None, batch_size: int | None = None,
                 shuffle: Any = False, class_weight: dict | None = None, steps: int | None = None,
                 argument: str = "x") -> None:
        x = _data.convert_structure(x, "x")
        y = _data.convert_structure(y, "y")
        sample_weight = _data.convert_structure(sample_weight, "sample_weight")
        if sample_weight is not None and class_weight is not None:
            raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
        if sample_weight is not None and nest.is_nested(y) and not nest.is_nested(sample_weight):
            sw = sample_weight
            if not (sw.ndim == 1 or (sw.ndim == 2 and sw.shape[1] == 1)):
                raise ValueError(
                    "For a model with multiple outputs, when providing a single `sample_weight` array, "
                    "it should only have one scalar score per sample (i.e. shape `(num_samples,)`). "
                    f"Received sample_weight of shape {tuple(sw.shape)}."
                )
            sample_weight = nest.map_structure(lambda _: sw, y)
        if class_weight is not None:
            if nest.is_nested(y):
                raise ValueError("`class_weight` is only supported for Models with a single output.")
            if y is None:
                raise ValueError("`class_weight` needs targets `y`.")
            sample_weight = _data.class_weight_to_sample_weights(y, class_weight)
        sizes = {int(a.shape[0]) for a in nest.flatten((x, y, sample_weight)) if a is not None}
        if not sizes:
            raise ValueError("Expected input data `x`, received None.")
        if len(sizes) > 1:
            msg = ("Data cardinality is ambiguous. Make sure all arrays contain the same number of "
                   "samples.")
            for label, part in (("x", x), ("y", y), ("sample_weight", sample_weight)):
                if part is not None:
                    msg += f"\n'{label}' sizes: {_data.sizes(part)}"
            raise ValueError(msg)
        self.num_samples = sizes.pop()
        if not batch_size:
            batch_size = int(math.ceil(self.num_samples / steps)) if steps else 32
        self.batch_size = int(batch_size)
        if self.batch_size <= 0:
            raise ValueError(f"`batch_size` must be a positive integer, received {batch_size!r}.")
        self.num_batches = int(math.ceil(self.num_samples / self.batch_size))
        self.shuffle = shuffle
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self._struct = _data.pack_x_y_sample_weight(x, y, sample_weight)
        self._flat = nest.flatten(self._struct)
        # The common case (one x, one y, no weights) packs without walking a structure.
        self._simple = (not nest.is_nested(x) and y is not None and not nest.is_nested(y)
                        and sample_weight is None)
        nbytes = sum(int(a.nbytes) for a in self._flat)
        self._composite = any(isinstance(a, CompositeRows) for a in self._flat)
        self._gather_once = nbytes <= _GATHER_ONCE_BYTES
        self.steps = steps
        self._pending: Iterator | None = None  # with `steps`, an epoch continues the last pass
        self._seen = 0
        self.exhausted = False
        self._argument = argument

    def check(self, model: Any, method: str) -> None:
        _checks.check_array_data(model, self, method, self._argument)

    def prepare(self, model: Any, first: Any) -> None:
        """Build the compiled loss on `first`; cast integer x (y) to the input (loss) float
        type once, instead of in every step."""
        cl = model._compile_loss
        x0, y0, _ = _data.unpack_x_y_sample_weight(first)
        if cl is not None and not cl.built and y0 is not None:
            cl.build(y0, model(x0, training=False))
        if not self._simple:
            return
        try:
            inputs = list(model.inputs) if model.built else []
        except (AttributeError, ValueError):
            inputs = []
        if len(inputs) == 1 and self.x.dtype.kind in "biu":
            want = inputs[0].dtype
            if want.is_floating:
                self.set_leaf(0, self.x.astype(want._np))
        if cl is not None and cl.built and cl.float_targets() and self.y.dtype.kind in "biu":
            self.set_leaf(1, self.y.astype(_kbackend.floatx()))

    def set_leaf(self, index: int, array: Any) -> None:
        """Replace leaf `index` (0: x, 1: y, in the simple one-x-one-y case) by `array`."""
        self._flat[index] = array
        if self._simple:
            self.x, self.y = self._flat[0], self._flat[1]

    def _wrapper(self) -> Any:
        wrap = _data.device_wrapper()
        return composite_aware(wrap) if self._composite else wrap

    def _pack(self, leaves: list) -> Any:
        if self._simple:
            return (leaves[0], leaves[1])
        if not nest.is_nested(self._struct):
            return leaves[0]
        return nest.pack_sequence_as(self._struct, leaves)

    def epoch(self) -> Iterator:
        """The batches of one epoch, each in `pack_x_y_sample_weight` form with Tensor leaves.

        With `steps`, an epoch is `steps` batches taken from a pass over the data that goes on
        across epochs (as Keras does); when a pass ends early the epoch ends with a warning and
        the next epoch starts a new pass.
        """
        if not self.steps:
            yield from self._one_pass()
            return
        if self._pending is None:
            self._pending = self._one_pass()
            self._seen = 0
        count = 0
        for batch in self._pending:
            yield batch
            count += 1
            self._seen += 1
            if count >= self.steps:
                if self._seen >= self.num_batches:
                    self._pending = None
                return
        self._pending = None
        warnings.warn(
            "Your input ran out of data; interrupting training. Make sure that your dataset or "
            "generator can generate at least `steps_per_epoch * epochs` batches.", stacklevel=3,
        )

    def _one_pass(self) -> Iterator:
        n, bs, flat = self.num_samples, self.batch_size, self._flat
        shuffle = self.shuffle
        order = None
        if shuffle and shuffle != "batch":
            order = np.random.permutation(n)
            if self._gather_once:
                flat = [a[order] for a in flat]
                order = None
        pack = self._pack
        wrap = self._wrapper()
        for start in range(0, n, bs):
            stop = min(start + bs, n)
            if shuffle == "batch":
                idx = np.random.permutation(stop - start) + start
                leaves = [wrap(a[idx]) for a in flat]
            elif order is not None:
                idx = order[start:stop]
                leaves = [wrap(a[idx]) for a in flat]
            else:
                leaves = [wrap(a[start:stop]) for a in flat]
            yield pack(leaves)

    def whole(self) -> Any:
        """All samples as one batch (for `train_on_batch` and friends)."""
        wrap = self._wrapper()
        return self._pack([wrap(a) for a in self._flat])

    def first_batch(self) -> Any:
        """A batch of the first samples (used to build the model or the metrics)."""
        stop = min(self.batch_size, self.num_samples)
        wrap = self._wrapper()
        return self._pack([wrap(a[:stop]) for a in self._flat])
