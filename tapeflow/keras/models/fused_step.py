"""A traced train step for plain stacks of Dense layers: forward, loss and backward on arrays.

What `tf.function` does for Keras, in miniature: when a `Sequential` model (or a Functional
chain) is only `Flatten` and `Dense` layers (linear / relu / sigmoid / tanh, softmax on the
last layer) trained with a built-in mean squared error or (sparse) categorical cross-entropy,
`fit` runs each step as a fixed sequence of array operations instead of recording a tape,
then hands the gradients to the optimizer as usual. The arithmetic is the same as the layers'
and losses' own (`tapeflow.ops.dense`, `tf.nn.*softmax_cross_entropy_with_logits`); the
results agree with the taped step to float32 rounding (bit for bit in the tests). Anything
else (regularizers, masks, dropout, sample weights, custom steps, `run_eagerly=True`) uses
the general taped step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras import activations
from tapeflow.keras import losses as _losses
from tapeflow.keras.layers import core as _core
from tapeflow.ops.nn import _log_softmax_array

_ACTS = ("linear", "relu", "sigmoid", "tanh")


def _activation_name(layer: Any) -> str | None:
    act = layer.activation
    if act is None or act is activations.linear:
        return "linear"
    if act is activations.softmax:
        return "softmax"
    name = getattr(act, "__name__", "")
    if getattr(act, "__module__", "").startswith("tapeflow") and name in _ACTS:
        return name
    return None


_LOSS_TYPES = (_losses.LossFunctionWrapper, _losses.MeanSquaredError, _losses.SparseCategoricalCrossentropy,
               _losses.CategoricalCrossentropy)


def _loss_kind(compile_loss: Any) -> tuple[str, bool] | None:
    """("mse" | "sparse_cce" | "cce", from_logits) for the supported built-in losses."""
    if compile_loss is None or not compile_loss.built or len(compile_loss.flat_losses) != 1:
        return None
    _, loss, weight, _ = compile_loss.flat_losses[0]
    if weight is not None or type(loss) not in _LOSS_TYPES or loss.reduction not in ("sum_over_batch_size",
                                                                                    "mean"):
        return None
    fn = loss.fn
    kw = dict(loss._fn_kwargs)
    from_logits = bool(kw.pop("from_logits", False))
    axis = kw.pop("axis", -1)
    if axis != -1:
        return None
    if fn is _losses.mean_squared_error and not kw:
        return "mse", False
    if fn is _losses.sparse_categorical_crossentropy and kw.get("ignore_class") is None:
        return "sparse_cce", from_logits
    if fn is _losses.categorical_crossentropy and not kw.get("label_smoothing"):
        return "cce", from_logits
    return None


def _layer_chain(model: Any) -> list | None:
    """The layers of a `Sequential`, or of a Functional model that is a plain chain from one
    input to one output (no shared layers, no extra call arguments); None otherwise."""
    from tapeflow.keras.models.functional import Functional
    from tapeflow.keras.models.sequential import Sequential

    if type(model) is Sequential:
        return model.layers
    if type(model) is not Functional or len(model._graph_inputs) != 1 or len(model._graph_outputs) != 1:
        return None
    chain = []
    current = model._graph_inputs[0]
    for node in model._nodes:
        if len(node.inputs) != 1 or node.inputs[0] is not current or len(node.outputs) != 1:
            return None
        if getattr(node, "layer", None) is None:
            return None  # a raw op between layers: not a layer chain
        if node.kwargs or len(node.args) != 1 or len(node.layer._inbound_nodes) != 1:
            return None
        chain.append(node.layer)
        current = node.outputs[0]
    if current is not model._graph_outputs[0]:
        return None
    return chain


class FusedDenseStep:
    """Forward + loss + backward of a Flatten/Dense stack as array code (see module docstring).

    Build with `FusedDenseStep.plan(model, x_sample, y_sample)`, which returns None when the
    model or the loss is not supported. Calling the step with a batch `(x, y)` of arrays
    returns `(loss value, y_pred array, grads)`, with `grads` matching `self.variables`.
    """

    def __init__(self, layers: list, flatten_first: bool, loss_kind: str, from_logits: bool) -> None:
        self.layers = layers  # [(layer, activation name, kernel, bias, trainable)]
        self.flatten_first = flatten_first
        self.loss_kind = loss_kind
        self.from_logits = from_logits
        self.variables = []
        for _layer, _, kernel, bias, trainable in layers:
            if trainable:
                self.variables.append(kernel)
                if bias is not None:
                    self.variables.append(bias)

    @classmethod
    def plan(cls, model: Any, x: Any, y: Any) -> FusedDenseStep | None:
        """A fused step for `model` trained on arrays like `x` / `y`, or None if unsupported."""
        if model._trainer_attr("_run_eagerly"):
            return None
        if not isinstance(x, np.ndarray) or x.dtype.kind != "f" or not isinstance(y, np.ndarray):
            return None
        stack = _layer_chain(model)
        if not stack or model.activity_regularizer is not None or model._added_losses or model._regularized:
            return None
        flatten_first = False
        plan = []
        trainable_ids = {id(v) for v in model.trainable_variables}
        for i, layer in enumerate(stack):
            if layer.activity_regularizer is not None or layer._regularized or layer._added_losses:
                return None
            if type(layer) is _core.Flatten and i == 0:
                if layer.data_format == "channels_first" and x.ndim > 2:
                    return None
                flatten_first = True
                continue
            if type(layer) is not _core.Dense or not layer.built:
                return None
            act = _activation_name(layer)
            if act is None or (act == "softmax" and i != len(stack) - 1):
                return None
            kernel, bias = layer.kernel, layer.bias
            if type(kernel._value) is not np.ndarray or kernel._value.dtype != x.dtype:
                return None
            trainable = id(kernel) in trainable_ids
            if bias is not None and (id(bias) in trainable_ids) != trainable:
                return None
            plan.append((layer, act, kernel, bias, trainable))
        if not plan:
            return None
        features = int(np.prod(x.shape[1:])) if flatten_first else (x.shape[-1] if x.ndim == 2 else None)
        if features is None or features != plan[0][2]._value.shape[0]:
            return None  # the taped step raises the layer's own shape error
        kind = _loss_kind(model._compile_loss)
        if kind is None:
            return None
        loss_kind, from_logits = kind
        last_act = plan[-1][1]
        units = plan[-1][2]._value.shape[1]
        if loss_kind in ("sparse_cce", "cce"):
            if from_logits and last_act != "linear":
                return None
            if not from_logits and last_act != "softmax":
                return None
        elif last_act == "softmax":
            return None
        # Targets: shapes the losses accept, labels in range (checked once for all batches).
        if loss_kind == "sparse_cce":
            if y.dtype.kind not in "iu":
                return None
            if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
                return None
            if y.size and (int(y.min()) < 0 or int(y.max()) >= units):
                return None  # the taped step raises the out-of-range error
        else:
            if y.dtype != x.dtype:
                return None
            if loss_kind == "cce" and (y.ndim != 2 or y.shape[1] != units):
                return None
            if loss_kind == "mse" and not (y.shape[1:] == (units,) or (y.ndim == 1 and units == 1)):
                return None
        return cls(plan, flatten_first, loss_kind, from_logits)

    def __call__(self, x: Any, y: Any) -> tuple:
        n = x.shape[0]
        h = x.reshape(n, -1) if self.flatten_first else x
        inputs = []
        outputs = []
        z = h
        # 1. Forward: activation(h @ kernel + bias), as tapeflow.ops.dense computes it.
        for _, act, kernel, bias, _ in self.layers:
            inputs.append(h)
            z = h @ kernel._value
            if bias is not None:
                z += bias._value
            if act == "relu":
                np.maximum(z, 0, out=z)
            elif act == "sigmoid":
                # NOTE: 0.5 * tanh(0.5 z) + 0.5 is the logistic function without exp overflow.
                z *= 0.5
                np.tanh(z, out=z)
                z *= 0.5
                z += 0.5
            elif act == "tanh":
                np.tanh(z, out=z)
            outputs.append(z)
            h = z
        # 2. Loss and its gradient with respect to the last layer's pre-activation (or output).
        kind = self.loss_kind
        last_act = self.layers[-1][1]
        dtype = z.dtype
        if kind == "mse":
            y_pred = z
            yt = y.reshape(z.shape) if y.shape != z.shape else y
            d = y_pred - yt
            loss = float(np.square(d).sum()) / d.size
            g = d * dtype.type(2.0 / d.size)
            dz_last = None
        else:
            logits = z
            log_probs = _log_softmax_array(logits, -1)  # the taped step's arithmetic exactly
            probs = np.exp(log_probs)
            if kind == "sparse_cce":
                labels = y.reshape(-1).astype(np.int64, copy=False)
                rows = np.arange(n)
                per_sample = -log_probs[rows, labels]
                dz = probs
                dz[rows, labels] -= 1
            else:
                per_sample = -(y * log_probs).sum(axis=-1)
                dz = probs * y.sum(axis=-1, keepdims=True) - y
            loss = float(per_sample.sum()) / n
            dz *= dtype.type(1.0 / n)
            dz_last = dz
            y_pred = np.exp(log_probs) if last_act == "softmax" else logits
            g = None
        # 3. Backward through the stack: dz from the activation, then kernel / bias / input grads.
        grads: list = []
        for i in range(len(self.layers) - 1, -1, -1):
            _, act, kernel, bias, trainable = self.layers[i]
            out = outputs[i]
            if i == len(self.layers) - 1 and dz_last is not None:
                dz = dz_last
            elif act == "relu":
                dz = g * (out > 0)
            elif act == "sigmoid":
                dz = g * (out * (1 - out))
            elif act == "tanh":
                dz = g * (1 - out * out)
            else:
                dz = g
            if trainable:
                if bias is not None:
                    grads.append(dz.sum(axis=0))
                grads.append(inputs[i].T @ dz)
            if i:
                g = dz @ kernel._value.T
        grads.reverse()
        return loss, y_pred, grads
