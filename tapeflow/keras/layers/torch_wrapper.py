"""`TorchModuleWrapper`: a PyTorch `nn.Module` as a Keras layer, run by torch on the engine's arrays.

The module's parameters and buffers become Tapeflow Variables (parameters trainable as their
`requires_grad`, buffers such as BatchNorm's running statistics non-trainable); before each call
the module's tensors are re-pointed at the variables' arrays (`torch.from_numpy`, no copy), so
optimizer updates and `assign` made by Tapeflow are what torch computes with, and the in-place
updates torch makes (running statistics) land in the variables. One call of the module is one
differentiable primitive: torch runs the forward pass, and `torch.autograd.grad` on the graph it
recorded gives the gradients for the inputs and the parameters.

PyTorch is optional: `pip install "tapeflow[torch]"`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.autodiff import function as _function
from tapeflow.errors import InvalidArgumentError
from tapeflow.keras.layers.base import Layer
from tapeflow.tensor import Tensor, Variable

_SERIALIZATION_MESSAGE = (
    "TorchModuleWrapper cannot be serialized: Keras stores the torch module with torch.save, "
    "which needs pickle, and Tapeflow never pickles or unpickles. Rebuild the module in code, wrap "
    "it again, and move its state with save_weights/load_weights."
)


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as e:
        raise ImportError(
            'TorchModuleWrapper needs PyTorch, which is not installed: pip install "tapeflow[torch]".'
        ) from e
    return torch


def _torch_view(torch: Any, array: Any, what: str) -> Any:
    """A CPU torch tensor sharing `array`'s memory (a copy only for read-only or reversed arrays)."""
    if not isinstance(array, np.ndarray):
        raise InvalidArgumentError(
            f"TorchModuleWrapper runs the module with torch on CPU; {what} is on "
            f"{backend.device_name(array)}. Run the layer outside tf.device('GPU') or move the data to CPU."
        )
    if not array.flags.writeable or any(s < 0 for s in array.strides):
        array = array.copy()
    return torch.from_numpy(array)


class _TorchModuleCall(_function.Function):
    """One call of the wrapped module: inputs and trainable parameters in, the module's outputs out."""

    def __init__(self, layer: TorchModuleWrapper, n_inputs: int, kwargs: dict) -> None:
        self.layer = layer
        self.n_inputs = n_inputs
        self.kwargs = kwargs
        self.graph: tuple | None = None
        self.single = True
        self.as_list = False

    def forward(self, *arrays: Any) -> Any:
        layer = self.layer
        torch = layer._torch
        record = bool(_function.recording_tapes)
        layer._bind_variables(params=arrays[self.n_inputs:])
        inputs = []
        for i, a in enumerate(arrays[: self.n_inputs]):
            t = _torch_view(torch, a, f"input {i}")
            if record and t.is_floating_point():
                t.requires_grad_(True)
            inputs.append(t)
        with torch.set_grad_enabled(record):
            out = layer.module(*inputs, **self.kwargs)
        self.single = isinstance(out, torch.Tensor)
        self.as_list = isinstance(out, list)
        outs = (out,) if self.single else tuple(out) if isinstance(out, (tuple, list)) else None
        if outs is None or not all(isinstance(o, torch.Tensor) for o in outs):
            raise TypeError(
                f"TorchModuleWrapper '{layer.name}': the module must return a torch.Tensor or a tuple/list "
                f"of them, received {type(out).__name__}."
            )
        if record:
            self.graph = (inputs, outs)
        self.n_outputs = len(outs)
        results = [o.detach().numpy().copy() for o in outs]
        return results[0] if len(results) == 1 else tuple(results)

    def backward(self, *dys: Tensor) -> tuple:
        dys = tuple(Tensor(np.zeros(o._value.shape, o._value.dtype)) if d is None else d
                    for d, o in zip(dys, self.outputs, strict=True))
        vjp = _TorchVJP(self)
        grads = vjp(*dys, *self.inputs)
        grads = (grads,) if isinstance(grads, Tensor) else grads
        it = iter(grads)
        return tuple(next(it) if i in vjp.wanted else None for i in range(len(self.inputs)))


class _TorchVJP(_function.Function):
    """The gradients of a `_TorchModuleCall` from torch.autograd: output gradients (and, to keep
    the link for outer tapes, the call's inputs) in, one gradient per wanted input out."""

    def __init__(self, call: _TorchModuleCall) -> None:
        self.call = call
        inputs, _ = call.graph
        leaves = list(inputs) + call.layer._trainable_torch_params()
        self.wanted = [i for i, (need, t) in enumerate(zip(call.needs_input_grad, leaves, strict=True))
                       if need and t.requires_grad]
        self.leaves = [leaves[i] for i in self.wanted]
        self.n_outputs = max(len(self.wanted), 1)

    def forward(self, *arrays: Any) -> Any:
        torch = self.call.layer._torch
        _, outs = self.call.graph
        dys = arrays[: len(outs)]
        pairs = [(o, torch.from_numpy(np.array(d, dtype=d.dtype))) for o, d in zip(outs, dys, strict=True)
                 if o.requires_grad]
        if not self.leaves or not pairs:
            grads = [None] * len(self.leaves)
        else:
            grads = torch.autograd.grad([o for o, _ in pairs], self.leaves, [g for _, g in pairs],
                                        retain_graph=True, allow_unused=True)
        results = [np.zeros(tuple(t.shape), np.dtype(str(t.dtype).replace("torch.", ""))) if g is None
                   else g.numpy().copy() for g, t in zip(grads, self.leaves, strict=True)]
        if not results:
            return np.zeros((), np.float32)
        return results[0] if len(results) == 1 else tuple(results)

    def backward(self, *dys: Tensor) -> tuple:
        raise InvalidArgumentError(
            f"TorchModuleWrapper '{self.call.layer.name}': gradients of gradients (nested GradientTapes "
            "over the layer) are not supported: torch.autograd computes the layer's gradient outside "
            "Tapeflow's tape."
        )


class TorchModuleWrapper(Layer):
    """Wrap a `torch.nn.Module` so that it trains and saves as a Keras layer on the engine.

    The module's parameters become the layer's variables (trainable as `requires_grad`) and its
    buffers (BatchNorm's running statistics) non-trainable variables; torch computes with those
    variables' arrays directly. `call(*args, training=None, **kwargs)` puts the module in
    `eval()` mode when `training` is False and `train()` mode otherwise (as Keras does), converts
    the tensor arguments to CPU torch tensors, and passes `kwargs` through. Gradients with respect
    to the inputs and the parameters come from torch.autograd.

    Args:
        module: a `torch.nn.Module` on CPU (a lazy module must have been called once).
        name: the layer's name.
        output_shape: the output shape, used by `compute_output_shape` (otherwise the module is run
            on stand-in values to find it).

    Returns (call): a Tensor, or a tuple/list of Tensors when the module returns one.

    Not supported: modules on CUDA or other devices, engine inputs on GPU, gradients of gradients,
    and `get_config` (the module cannot be serialized without pickle; rebuild it in code and use
    `save_weights`/`load_weights`).

    Example:
        >>> layer = keras.layers.TorchModuleWrapper(torch.nn.Linear(4, 2))
        >>> layer(np.ones((3, 4), "float32")).shape
        TensorShape([3, 2])
    """

    def __init__(self, module: Any, name: str | None = None, output_shape: Any = None, **kwargs: Any) -> None:
        torch = _import_torch()
        if not isinstance(module, torch.nn.Module):
            raise ValueError(f"TorchModuleWrapper expects a torch.nn.Module, received {type(module).__name__}.")
        if isinstance(module, torch.nn.modules.lazy.LazyModuleMixin) and module.has_uninitialized_params():
            raise ValueError(
                "LazyModules are not supported unless they are already initialized. "
                f"Received uninitialized LazyModule: module={module}"
            )
        tensors = list(module.named_parameters()) + list(module.named_buffers())
        devices = sorted({str(t.device) for _, t in tensors if t.device.type != "cpu"})
        if devices:
            raise ValueError(
                f"TorchModuleWrapper runs torch on CPU with the engine's arrays; the module has tensors on "
                f"{', '.join(devices)}. Move it with module.cpu() first."
            )
        if "dtype" not in kwargs:
            floating = [p for _, p in tensors if p.is_floating_point()]
            if floating:
                kwargs["dtype"] = str(floating[0].dtype).replace("torch.", "")
        super().__init__(name=name, **kwargs)
        self._torch = torch
        self._traceable_ops = False  # one lifted node in tf.function: torch runs on real arrays
        self.module = module
        self._output_shape_arg = None if output_shape is None else tuple(output_shape)
        self._params: list = []  # (owner module, attribute, torch parameter, Variable)
        self._buffers: list = []  # (owner module, attribute, Variable)
        owners = dict(module.named_modules())
        for key, p in module.named_parameters():
            owner, attr = _split(owners, key)
            var = self._variable_from(key, p, trainable=p.requires_grad)
            self._params.append((owner, attr, p, var))
        for key, b in module.named_buffers():
            owner, attr = _split(owners, key)
            self._buffers.append((owner, attr, self._variable_from(key, b, trainable=False)))
        self._bind_variables()
        self.built = True

    def _variable_from(self, key: str, tensor: Any, trainable: bool) -> Variable:
        value = tensor.detach().numpy().copy()
        var = Variable(value, trainable=trainable, name=key)
        var._name = key
        var._path = f"{self.name}/{key}"
        var._keras_owned = True
        self._weights_own.append(var)
        return var

    def _trainable_torch_params(self) -> list:
        return [p for _, _, p, var in self._params if var.trainable]

    def _bind_variables(self, params: tuple | None = None) -> None:
        """Point the module's parameters and buffers at the variables' arrays (no copy)."""
        torch = self._torch
        trainable = iter(params) if params is not None else None
        for _, _, p, var in self._params:
            array = next(trainable) if trainable is not None and var.trainable else var._value
            view = _torch_view(torch, array, f"variable {var.name}")
            if p.data.data_ptr() != view.data_ptr() or p.data.shape != view.shape:
                p.data = view
        for owner, attr, var in self._buffers:
            buf = owner._buffers.get(attr)
            view = _torch_view(torch, var._value, f"variable {var.name}")
            if buf is None or buf.data_ptr() != view.data_ptr() or buf.shape != view.shape:
                owner._buffers[attr] = view

    def parameters(self, recurse: bool = True) -> Any:
        """The wrapped module's parameters (torch's iterator), as Keras's wrapper offers."""
        return self.module.parameters(recurse=recurse)

    def call(self, *args: Any, training: bool | None = None, **kwargs: Any) -> Any:
        for k, v in kwargs.items():
            if isinstance(v, Tensor):
                raise ValueError(
                    f"TorchModuleWrapper '{self.name}': pass tensors positionally; keyword argument {k!r} "
                    "is a Tensor (keyword arguments go to the module unchanged)."
                )
        if training is False:
            self.module.eval()
        else:
            self.module.train()
        inputs = [a if isinstance(a, Tensor) else Tensor(np.asarray(a)) for a in args]
        params = [var for _, _, _, var in self._params if var.trainable]
        fn = _TorchModuleCall(self, len(inputs), kwargs)
        out = fn(*inputs, *params)
        if fn.single:
            return out
        outs = (out,) if isinstance(out, Tensor) else out
        return list(outs) if fn.as_list else tuple(outs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self._output_shape_arg is None:
            return super().compute_output_shape(input_shape)  # then found by running the layer
        return self._output_shape_arg

    def save_own_variables(self, store: dict) -> None:
        """Write the module's `state_dict` (parameters and buffers) into `store`, as Keras does."""
        self._bind_variables()
        for key, value in self.module.state_dict().items():
            store[key] = value.detach().numpy().copy()

    def load_own_variables(self, store: dict) -> None:
        """Load a `state_dict` from `store` into the module (and so into the variables)."""
        torch = self._torch
        self._bind_variables()
        state = {(k.decode() if isinstance(k, bytes) else k): torch.from_numpy(np.array(store[k]))
                 for k in store.keys()}
        self.module.load_state_dict(state)

    def get_config(self) -> dict:
        raise ValueError(_SERIALIZATION_MESSAGE)

    @classmethod
    def from_config(cls, config: dict) -> TorchModuleWrapper:
        raise ValueError(_SERIALIZATION_MESSAGE)


def _split(owners: dict, key: str) -> tuple:
    prefix, _, attr = key.rpartition(".")
    return owners[prefix], attr
