"""`tf.RaggedTensorSpec`: the shape, dtype and ragged rank a RaggedTensor must have."""

from __future__ import annotations

from typing import Any

from tapeflow import dtypes as _dt
from tapeflow.dispatch import CompositeSpec


class RaggedTensorSpec(CompositeSpec):
    """Describes RaggedTensors: `shape` (None for ragged axes), `dtype`, `ragged_rank`.

    Example:
        >>> tf.RaggedTensorSpec([None, None], tf.int32)
        RaggedTensorSpec(TensorShape([None, None]), tf.int32, 1, tf.int64)
    """

    def __init__(self, shape: Any = None, dtype: Any = _dt.float32, ragged_rank: int | None = None,
                 row_splits_dtype: Any = _dt.int64, flat_values_spec: Any = None) -> None:
        if flat_values_spec is not None:
            dtype = flat_values_spec.dtype
        super().__init__(shape, dtype)
        if ragged_rank is None:
            if self._shape is None:
                raise ValueError("RaggedTensorSpec: ragged_rank is required when shape is None.")
            ragged_rank = len(self._shape) - 1
        ragged_rank = int(ragged_rank)
        if self._shape is not None and not 0 <= ragged_rank < max(len(self._shape), 1):
            raise ValueError(f"RaggedTensorSpec: ragged_rank must be in [0, {len(self._shape)}), "
                             f"received {ragged_rank}.")
        self._ragged_rank = ragged_rank
        self._row_splits_dtype = _dt.as_dtype(row_splits_dtype)
        self._flat_values_spec = flat_values_spec

    @property
    def ragged_rank(self) -> int:
        return self._ragged_rank

    @property
    def row_splits_dtype(self) -> _dt.DType:
        return self._row_splits_dtype

    @property
    def flat_values_spec(self) -> Any:
        return self._flat_values_spec

    @property
    def value_type(self) -> type:  # type: ignore[override]
        from tapeflow.ragged.ragged_tensor import RaggedTensor

        return RaggedTensor

    @classmethod
    def from_value(cls, value: Any) -> RaggedTensorSpec:
        return cls(value.shape, value.dtype, value.ragged_rank, value.row_splits_dtype)

    def _key(self) -> tuple:
        return super()._key() + (self._ragged_rank, self._row_splits_dtype.name)

    def __repr__(self) -> str:
        return (f"RaggedTensorSpec({self._shape_repr()}, {self._dtype!r}, {self._ragged_rank}, "
                f"{self._row_splits_dtype!r})")

    # -- crossing tf.function boundaries (tapeflow.tracing.composites) -------------------------
    def _tf_encode_spec(self) -> tuple:
        """(static part, component TensorSpecs): flat values, then one row-splits vector per
        ragged level (the outermost sized nrows + 1 when nrows is known), as TF's components."""
        from tapeflow.tracing.spec import TensorSpec

        k = self._ragged_rank
        if self._shape is None:
            return RaggedStatic((None,) * k), [TensorSpec(None, self._dtype)] + [
                TensorSpec([None], self._row_splits_dtype) for _ in range(k)]
        dims = tuple(self._shape)
        if k == 0:
            return RaggedStatic(()), [TensorSpec(dims, self._dtype)]
        nrows = dims[0]
        specs = [TensorSpec((None, *dims[k + 1:]), self._dtype),
                 TensorSpec([None if nrows is None else nrows + 1], self._row_splits_dtype)]
        specs += [TensorSpec([None], self._row_splits_dtype) for _ in range(k - 1)]
        return RaggedStatic(tuple(dims[1:k + 1])), specs


class RaggedStatic:
    """The non-tensor part of a RaggedTensor crossing a trace: each ragged level's uniform row
    length (None where rows differ in length); its ragged rank is their number."""

    __slots__ = ("uniform",)

    def __init__(self, uniform: tuple) -> None:
        self.uniform = tuple(None if u is None else int(u) for u in uniform)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RaggedStatic) and other.uniform == self.uniform

    def __hash__(self) -> int:
        return hash(("ragged", self.uniform))

    def __repr__(self) -> str:
        return f"RaggedTensor<ragged_rank={len(self.uniform)}>"

    def _tf_saved_model_state(self) -> tuple:
        return self.uniform

    def _tf_n_components(self) -> int:
        return 1 + len(self.uniform)

    def _tf_decode(self, components: list) -> Any:
        from tapeflow.ragged.ragged_tensor import RaggedTensor

        rt = components[0]
        for splits, u in reversed(list(zip(components[1:], self.uniform, strict=True))):
            rt = RaggedTensor(rt, splits, u, internal=True)
        return rt

    def _tf_decode_spec(self, component_specs: list) -> Any:
        flat, splits = component_specs[0], component_specs[1:]
        if not splits:
            return flat
        if flat.shape.rank is None:
            return RaggedTensorSpec(None, flat.dtype, len(splits), splits[0].dtype)
        n = splits[0].shape[0]
        shape = [None if n is None else n - 1, *self.uniform, *tuple(flat.shape)[1:]]
        return RaggedTensorSpec(shape, flat.dtype, len(splits), splits[0].dtype)

    def _tf_component_specs(self, components: list) -> list:
        """The specs a trace keys on (TF's rule: nrows, ragged rank, dtypes, inner shape; not
        the number of values)."""
        from tapeflow.tracing.spec import TensorSpec

        flat, splits = components[0], components[1:]
        out = [TensorSpec((None, *tuple(flat.shape)[1:]) if flat.shape.rank is not None else None, flat.dtype)]
        for i, s in enumerate(splits):
            out.append(TensorSpec([s.shape[0] if i == 0 else None], s.dtype))
        return out

    def _tf_consistent(self, values: list) -> bool:
        """Whether component values make a valid RaggedTensor (stand-ins for shape probes)."""
        import numpy as np

        from tapeflow import backend

        n = None
        for s in reversed(values[1:]):
            a = backend.to_numpy(s._value)
            if a.ndim != 1 or len(a) == 0 or a[0] != 0 or np.any(np.diff(a) < 0):
                return False
            nvals = len(backend.to_numpy(values[0]._value)) if n is None else n
            if a[-1] != nvals:
                return False
            n = len(a) - 1
        return True

    def _tf_stand_in(self, components: list, fill: int) -> list:
        """Consistent stand-in component values for graph components (shape probes): nrows
        from the spec (else `fill`), rows of lengths that vary with `fill`."""
        import numpy as np

        from tapeflow.graph import SymbolicTensor, _dummy
        from tapeflow.tensor import Tensor

        flat, splits = components[0], components[1:]
        n = splits[0].shape[0] - 1 if splits and splits[0].shape[0] is not None else fill
        out_splits = []
        for s, u in zip(splits, self.uniform, strict=True):
            lengths = np.full(n, u) if u is not None else (np.arange(n) + fill) % 3 + 1
            sp = np.concatenate([[0], np.cumsum(lengths)]).astype(s.dtype._np)
            out_splits.append(Tensor(sp))
            n = int(sp[-1])
        inner = tuple(fill if d is None else d for d in tuple(flat.shape)[1:])
        values = _dummy(SymbolicTensor((n, *inner), flat.dtype), fill)
        return [values, *out_splits]
