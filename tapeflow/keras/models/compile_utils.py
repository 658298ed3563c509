"""What `compile()` turns its arguments into: the loss of every output and the metrics.

`CompileLoss` resolves `loss` / `loss_weights` (one for all outputs, a list, or a dict by
output name) on the first batch; `CompileMetrics` does the same for `metrics` and
`weighted_metrics`, resolving "accuracy" to binary, categorical or sparse accuracy from the
shapes of `y_true` and `y_pred` as Keras 3 does. `LossTracker` is the running mean behind the
"loss" entry of the logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tapeflow import backend as _backend
from tapeflow import nest
from tapeflow.tensor import Tensor
from tapeflow.tensor import convert_to_tensor as tf_convert
from tapeflow.tracing import func_graph as _func_graph
from tapeflow.tracing import state as _trace_state

_ACCURACY_NAMES = ("accuracy", "acc")
_CROSSENTROPY_NAMES = ("crossentropy", "ce")


def _shape(t: Any) -> tuple:
    if isinstance(t, Tensor):
        v = t._value
        return tuple(v.shape) if v is not None else tuple(t.shape)
    return tuple(np.shape(t))


def is_binary_or_sparse_categorical(y_true: Any, y_pred: Any) -> tuple[bool, bool]:
    """(binary, sparse categorical) from the shapes, as Keras 3 decides for "accuracy"."""
    st, sp = _shape(y_true), _shape(y_pred)
    last_t = st[-1] if st else None
    last_p = sp[-1] if sp else None
    is_binary = last_p == 1
    is_sparse = len(st) < len(sp) or (last_t == 1 and last_p is not None and last_p > 1)
    return is_binary, is_sparse


def _object_name(obj: Any) -> str:
    name = getattr(obj, "name", None)
    if isinstance(name, str):
        return name
    name = getattr(obj, "__name__", None)
    if isinstance(name, str):
        return name
    return type(obj).__name__.lower()


def get_loss(identifier: Any, y_true: Any, y_pred: Any) -> Any:
    """A `keras.losses.Loss` for one output (None when the output has no loss)."""
    from tapeflow.keras import losses

    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in _CROSSENTROPY_NAMES:
        is_binary, is_sparse = is_binary_or_sparse_categorical(y_true, y_pred)
        if is_binary:
            fn = losses.binary_crossentropy
        elif is_sparse:
            fn = losses.sparse_categorical_crossentropy
        else:
            fn = losses.categorical_crossentropy
    else:
        fn = losses.get(identifier)
    if isinstance(fn, losses.Loss):
        return fn
    if not callable(fn):
        raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
    name = identifier if isinstance(identifier, str) else _object_name(fn)
    return losses.LossFunctionWrapper(fn, name=name)


def get_metric(identifier: Any, y_true: Any, y_pred: Any) -> Any:
    """A metric object for one output; "accuracy"/"acc" resolved from the shapes."""
    from tapeflow.keras import metrics

    if identifier is None:
        raise ValueError("Expected metric, received `None`")
    if isinstance(identifier, str) and identifier.lower() in _ACCURACY_NAMES:
        is_binary, is_sparse = is_binary_or_sparse_categorical(y_true, y_pred)
        if is_binary:
            obj = metrics.BinaryAccuracy(name=identifier)
        elif is_sparse:
            obj = metrics.SparseCategoricalAccuracy(name=identifier)
        else:
            obj = metrics.CategoricalAccuracy(name=identifier)
    else:
        obj = metrics.get(identifier)
        if isinstance(obj, type):
            obj = obj()
    if not isinstance(obj, metrics.Metric):
        if not callable(obj):
            raise ValueError(f"Could not interpret metric identifier: {identifier!r}")
        obj = metrics.MeanMetricWrapper(obj, name=_object_name(obj))
    if isinstance(identifier, str):
        obj.name = identifier
    return obj


class LossTracker:
    """The running, batch-size-weighted mean of the training loss (the "loss" of the logs).

    A lean `keras.metrics.Mean(name="loss")`: Python floats, no per-step tensor ops.
    """

    def __init__(self, name: str = "loss") -> None:
        self.name = name
        self.total = 0.0
        self.count = 0.0
        self.dtype = "float32"

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Add `values` (a scalar loss or an array of per-sample values) with `sample_weight`;
        inside a tf.function, one array node that adds them on every replay."""
        if _trace_state.graphs and _trace_state.graphs[-1] is not None:
            tensors = [values if isinstance(values, Tensor) else tf_convert(values)]
            if isinstance(sample_weight, Tensor):
                tensors.append(sample_weight)
                _func_graph.lift_array_call(self._update, tensors, name="loss_tracker")
            else:
                _func_graph.lift_array_call(lambda v: self._update(v, sample_weight), tensors, name="loss_tracker")
            return
        self._update(values, sample_weight)

    def _update(self, values: Any, sample_weight: Any = None) -> None:
        v = values._value if isinstance(values, Tensor) else values
        arr = np.asarray(_backend.to_numpy(v) if not isinstance(v, (float, int)) else v, dtype=np.float64)
        if sample_weight is None:
            self.total += float(arr.sum())
            self.count += float(arr.size)
            return
        sw = sample_weight._value if isinstance(sample_weight, Tensor) else sample_weight
        sw = np.asarray(_backend.to_numpy(sw) if not isinstance(sw, (float, int)) else sw, dtype=np.float64)
        if arr.ndim == 0:
            w = float(sw.sum()) if sw.ndim else float(sw)
            self.total += float(arr) * w
            self.count += w
            return
        sw = np.broadcast_to(sw, arr.shape)
        self.total += float((arr * sw).sum())
        self.count += float(sw.sum())

    def add(self, value: float, weight: float) -> None:
        """Fast path of `update_state` for a Python float loss of a batch of `weight` samples."""
        self.total += value * weight
        self.count += weight

    def value(self) -> float:
        """The mean as a Python float (NaN-safe: 0 when nothing was seen, like Keras)."""
        if not self.count:
            return 0.0
        return float(np.float32(self.total / self.count))

    def result(self) -> Tensor:
        return Tensor(np.asarray(self.value(), dtype=np.float32))

    def reset_state(self) -> None:
        self.total = 0.0
        self.count = 0.0

    @property
    def variables(self) -> list:
        return []

    def __repr__(self) -> str:
        return f"<Mean name={self.name}>"


# Inside tf.function each of these is one graph node run on every call (the state is Python floats).
_func_graph.lift_methods(LossTracker, (("reset_state", True), ("result", False)))


def _output_names_of(model: Any) -> list | None:
    names = getattr(model, "output_names", None)
    if names:
        return list(names)
    return None


def flatten_targets(y: Any, names: list, n: int, what: str) -> list:
    """`y` (one array, a list in output order or a dict by output name) as one entry per output."""
    if y is None:
        return [None] * n
    if isinstance(y, Mapping):
        if n == 1 and len(y) == 1:
            return [next(iter(y.values()))]
        missing = [k for k in names if k not in y]
        if missing and names:
            raise ValueError(
                f"Missing targets for outputs {missing} in `{what}`; received keys {list(y.keys())}."
            )
        return [y.get(name) for name in names]
    if isinstance(y, (list, tuple)) and n > 1:
        if len(y) != n:
            raise ValueError(
                f"The model has {n} outputs but `{what}` has {len(y)} entries; give one target "
                "array per output (a list in output order or a dict by output name)."
            )
        return list(y)
    if n == 1:
        if isinstance(y, (list, tuple)) and len(y) == 1 and isinstance(y[0], (Tensor, np.ndarray)):
            return [y[0]]
        return [y]
    raise ValueError(
        f"The model has {n} outputs but `{what}` is a single array; give one target array per "
        "output (a list in output order or a dict by output name)."
    )


class CompileLoss:
    """The total loss of a (possibly multi-output) model from `compile(loss=..., loss_weights=...)`.

    Args:
        loss: one identifier for every output, a list (one per output) or a dict by output name.
        loss_weights: a float, a list or a dict by output name.
        output_names: the model's output names (for dicts and per-output loss names).
    """

    def __init__(self, loss: Any, loss_weights: Any = None, output_names: list | None = None) -> None:
        if loss_weights is not None and not isinstance(loss_weights, (list, tuple, dict, float, int)):
            raise ValueError(
                "Expected `loss_weights` argument to be a float (single output case) or a list, tuple, "
                f"or dict (multiple output case). Received instead: loss_weights={loss_weights!r} of "
                f"type {type(loss_weights)}"
            )
        self._user_loss = loss
        self._user_loss_weights = loss_weights
        self.output_names = output_names
        self.built = False
        self.flat_losses: list = []  # [(output index, Loss, weight or None, name)]
        self.metrics: list = []  # one LossTracker per loss when there are several
        self._dict_keys: list | None = None
        self._single = True

    # -- building ------------------------------------------------------------------------------
    def build(self, y_true: Any, y_pred: Any) -> None:
        flat_pred = nest.flatten(y_pred)
        n = len(flat_pred)
        names = self._names_for(y_pred, n)
        self._dict_keys = names if isinstance(y_pred, Mapping) else None
        loss = self._user_loss
        weights = self._user_loss_weights
        flat_true = flatten_targets(y_true, names, n, "y")
        per_output = self._per_output(loss, names, n, "loss")
        if weights is None:
            per_weight = [None] * n
        elif isinstance(weights, (float, int)):
            per_weight = [float(weights)] * n
        else:
            per_weight = self._per_output(weights, names, n, "loss_weights")
        self.flat_losses = []
        for i in range(n):
            ident = per_output[i]
            if ident is None:
                continue
            if flat_true[i] is None:
                raise ValueError(
                    f"Output {names[i] if names else i!r} has a loss but no target was given in `y`."
                )
            loss_obj = get_loss(ident, flat_true[i], flat_pred[i])
            name = names[i] if names and n > 1 else _object_name(loss_obj)
            self.flat_losses.append((i, loss_obj, per_weight[i], name))
        self._single = n == 1
        self.metrics = [LossTracker(f"{entry[3]}_loss") for entry in self.flat_losses] \
            if len(self.flat_losses) > 1 else []
        self.built = True

    def _names_for(self, y_pred: Any, n: int) -> list:
        if isinstance(y_pred, Mapping):
            keys = list(y_pred.keys())
            if self.output_names and set(keys) == set(self.output_names):
                return list(self.output_names)
            return sorted(keys)
        if self.output_names and len(self.output_names) == n:
            return list(self.output_names)
        return [f"output_{i}" for i in range(n)] if n > 1 else []

    def _per_output(self, value: Any, names: list, n: int, what: str) -> list:
        """`value` spread to one entry per output."""
        if isinstance(value, Mapping):
            if n == 1 and len(value) == 1:
                return [next(iter(value.values()))]
            unknown = [k for k in value if k not in names]
            if unknown:
                raise ValueError(
                    f"Expected keys {names} in {what} dict, but found {what}.keys()={list(value.keys())}"
                )
            return [value.get(name) for name in names]
        if isinstance(value, (list, tuple)):
            if len(value) == n:
                return list(value)
            if n == 1 and len(value) == 1:
                return [value[0]]
            raise ValueError(
                f"`{what}` must have one entry per model output: the model has {n} output(s) but "
                f"{what} has {len(value)} entries. Received: {what}={value!r}"
            )
        return [value] * n

    def flatten_y(self, y: Any, n: int) -> list:
        return flatten_targets(y, self._dict_keys or self._names_for_cached(n), n, "y")

    def _names_for_cached(self, n: int) -> list:
        if self.output_names and len(self.output_names) == n:
            return list(self.output_names)
        return [f"output_{i}" for i in range(n)] if n > 1 else []

    def float_targets(self) -> bool:
        """Whether every loss is a built-in one that reads its targets as floats (so integer
        targets can be cast once instead of in every step)."""
        from tapeflow.keras import losses

        if not self.flat_losses:
            return False
        float_fns = _float_target_fns()
        for _, loss_obj, _, _ in self.flat_losses:
            if type(loss_obj).__module__ != losses.__name__ or getattr(loss_obj, "_sparse_labels", False):
                return False
            if getattr(loss_obj, "fn", None) not in float_fns:
                return False
        return True

    # -- calling -------------------------------------------------------------------------------
    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor | None:
        """The weighted sum of the losses of every output (None when no output has a loss)."""
        if not self.built:
            self.build(y_true, y_pred)
        if self._single and len(self.flat_losses) == 1:
            _, loss_obj, weight, _ = self.flat_losses[0]
            yt = y_true
            if isinstance(yt, (list, tuple)) and len(yt) == 1:
                yt = yt[0]
            elif isinstance(yt, Mapping) and len(yt) == 1:
                yt = next(iter(yt.values()))
            yp = y_pred
            if isinstance(yp, (list, tuple, Mapping)):
                yp = nest.flatten(yp)[0]
            sw = sample_weight
            if isinstance(sw, (list, tuple)) and len(sw) == 1:
                sw = sw[0]
            value = loss_obj(yt, yp, sw)
            if weight is not None:
                value = value * weight
            return value
        flat_pred = nest.flatten(y_pred)
        n = len(flat_pred)
        flat_true = self.flatten_y(y_true, n)
        if sample_weight is None:
            flat_sw = [None] * n
        elif nest.is_nested(sample_weight):
            flat_sw = flatten_targets(sample_weight, self._dict_keys or self._names_for_cached(n), n,
                                      "sample_weight")
        else:
            flat_sw = [sample_weight] * n
        total = None
        for k, (i, loss_obj, weight, _) in enumerate(self.flat_losses):
            value = loss_obj(flat_true[i], flat_pred[i], flat_sw[i])
            if self.metrics and value._value is None:  # inside tf.function: a node per call
                self.metrics[k].update_state(value, _traced_batch_size(flat_pred[i]))
            elif self.metrics:
                self.metrics[k].add(float(_backend.to_numpy(value._value)), _batch_size(flat_pred[i]))
            if weight is not None:
                value = value * weight
            total = value if total is None else total + value
        return total


def _float_target_fns() -> set:
    from tapeflow.keras import losses

    names = ("mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
             "mean_squared_logarithmic_error", "huber", "log_cosh", "binary_crossentropy",
             "binary_focal_crossentropy", "categorical_crossentropy", "categorical_focal_crossentropy",
             "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge", "cosine_similarity")
    return {getattr(losses, n) for n in names if hasattr(losses, n)}


def _traced_batch_size(t: Any) -> Any:
    """The batch size of a graph tensor: a number, or a graph scalar when it is unknown."""
    n = t.shape[0] if t.shape else 1
    if n is None:
        from tapeflow.ops.elementwise import cast
        from tapeflow.ops.movement import shape

        return cast(shape(t)[0], "float32")
    return float(n)


def _batch_size(t: Any) -> float:
    shape = _shape(t)
    return float(shape[0]) if shape else 1.0


class CompileMetrics:
    """The metrics of `compile(metrics=..., weighted_metrics=...)` for every output.

    Behaves as one metric named "compile_metrics" whose `result()` is a dict
    {metric name: value} (names prefixed with the output name for multi-output models).
    """

    def __init__(self, metrics: Any, weighted_metrics: Any, output_names: list | None = None) -> None:
        for what, value in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if value and not isinstance(value, (list, tuple, dict)):
                raise ValueError(
                    f"Expected `{what}` argument to be a list, tuple, or dict. Received instead: "
                    f"{what}={value!r} of type {type(value)}"
                )
        self._user_metrics = metrics
        self._user_weighted = weighted_metrics
        self.output_names = output_names
        self.name = "compile_metrics"
        self.built = False
        self._flat: list = []  # [(output index, [metric, ...], output name or None)]
        self._flat_weighted: list = []
        self._names: list | None = None
        self._n = 1

    @property
    def metrics(self) -> list:
        out = []
        for _, ms, _ in self._flat + self._flat_weighted:
            out.extend(ms)
        return out

    @property
    def variables(self) -> list:
        out = []
        for m in self.metrics:
            out.extend(getattr(m, "variables", []))
        return out

    def build(self, y_true: Any, y_pred: Any) -> None:
        flat_pred = nest.flatten(y_pred)
        n = len(flat_pred)
        self._n = n
        if isinstance(y_pred, Mapping):
            keys = list(y_pred.keys())
            names = list(self.output_names) if self.output_names and set(keys) == set(self.output_names) \
                else sorted(keys)
        elif self.output_names and len(self.output_names) == n:
            names = list(self.output_names)
        else:
            names = [f"output_{i}" for i in range(n)] if n > 1 else []
        self._names = names
        flat_true = flatten_targets(y_true, names, n, "y")
        self._flat = self._build_set(self._user_metrics, names, n, flat_true, flat_pred, "metrics")
        self._flat_weighted = self._build_set(self._user_weighted, names, n, flat_true, flat_pred,
                                              "weighted_metrics")
        self.built = True

    def _build_set(self, metrics: Any, names: list, n: int, flat_true: list, flat_pred: list,
                   what: str) -> list:
        if not metrics:
            return []
        if n == 1:
            flat = nest.flatten(metrics) if not isinstance(metrics, Mapping) else nest.flatten(
                list(metrics.values()))
            return [(0, [get_metric(m, flat_true[0], flat_pred[0]) for m in flat], None)]
        if isinstance(metrics, Mapping):
            unknown = [k for k in metrics if k not in names]
            if unknown:
                raise ValueError(
                    f"Invalid `{what}`: keys {unknown} are not output names of the model {names}. "
                    f"Received: {what}={metrics!r}"
                )
            per = [metrics.get(name) for name in names]
        elif isinstance(metrics, (list, tuple)) and len(metrics) == n:
            per = list(metrics)
        else:
            raise ValueError(
                f"Invalid `{what}`: for a model with {n} outputs, `{what}` should be a dict by output "
                f"name {names} or a list with one entry (a metric or a list of metrics) per output. "
                f"Received: {what}={metrics!r}"
            )
        out = []
        for i, entry in enumerate(per):
            if entry is None:
                continue
            if flat_true[i] is None:
                continue
            entries = entry if isinstance(entry, (list, tuple)) else [entry]
            out.append((i, [get_metric(m, flat_true[i], flat_pred[i]) for m in entries], names[i]))
        return out

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        if not self.built:
            self.build(y_true, y_pred)
        if self._n == 1 and not isinstance(y_pred, (list, tuple, Mapping)):
            yt = y_true
            if isinstance(yt, (list, tuple)) and len(yt) == 1:
                yt = yt[0]
            elif isinstance(yt, Mapping) and len(yt) == 1:
                yt = next(iter(yt.values()))
            for _, ms, _ in self._flat:
                for m in ms:
                    m.update_state(yt, y_pred)
            if self._flat_weighted:
                sw = sample_weight
                if isinstance(sw, (list, tuple)) and len(sw) == 1:
                    sw = sw[0]
                for _, ms, _ in self._flat_weighted:
                    for m in ms:
                        m.update_state(yt, y_pred, sample_weight=sw)
            return
        flat_pred = nest.flatten(y_pred)
        flat_true = flatten_targets(y_true, self._names, self._n, "y")
        for i, ms, _ in self._flat:
            for m in ms:
                m.update_state(flat_true[i], flat_pred[i])
        if self._flat_weighted:
            if sample_weight is None:
                flat_sw = [None] * self._n
            elif nest.is_nested(sample_weight):
                flat_sw = flatten_targets(sample_weight, self._names, self._n,
                                                 "sample_weight")
            else:
                flat_sw = [sample_weight] * self._n
            for i, ms, _ in self._flat_weighted:
                for m in ms:
                    m.update_state(flat_true[i], flat_pred[i], sample_weight=flat_sw[i])

    def reset_state(self) -> None:
        for m in self.metrics:
            m.reset_state()

    def result(self) -> dict:
        """{name: value} for every metric (unbuilt: empty)."""
        results: dict = {}
        seen: dict = {}
        for _, ms, out_name in self._flat:
            for m in ms:
                name = f"{out_name}_{m.name}" if out_name else m.name
                if name in seen:
                    seen[name] += 1
                    name = f"{name}_{seen[name] - 1}"
                else:
                    seen[name] = 1
                results[name] = m.result()
        for _, ms, out_name in self._flat_weighted:
            for m in ms:
                name = f"{out_name}_{m.name}" if out_name else m.name
                if name in seen:
                    name = f"weighted_{m.name}"
                    if out_name:
                        name = f"{out_name}_{name}"
                    if name in seen:
                        seen[name] += 1
                        name = f"{name}_{seen[name] - 1}"
                    else:
                        seen[name] = 1
                else:
                    seen[name] = 1
                results[name] = m.result()
        return results

    def __repr__(self) -> str:
        return "<CompileMetrics name=compile_metrics>"
