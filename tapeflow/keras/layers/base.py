"""`Layer`: the base of every Keras layer and model — build once, call, track weights.

A layer stores configuration in `__init__`, creates weights in `build(input_shape)` with
`add_weight`, and computes in `call(inputs, training=None, mask=None)`. `__call__` converts
inputs, builds on first use, and either computes eagerly or, for symbolic inputs
(`keras.Input`), records a node of the Functional graph.
"""

from __future__ import annotations

import functools
import inspect
import re
import threading
import warnings
from typing import Any

import tapeflow as tf
from tapeflow import graph, nest, tracking
from tapeflow.dispatch import CompositeTensor
from tapeflow.dtypes import is_real_float_np
from tapeflow.graph import SymbolicTensor
from tapeflow.keras import backend
from tapeflow.module import Module
from tapeflow.tensor import Tensor, TensorShape, Variable
from tapeflow.tracing import func_graph as _func_graph
from tapeflow.tracing import state as _trace_state

KerasTensor = SymbolicTensor


def _snake_case(name: str) -> str:
    s = re.sub(r"\W+", "", name)
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", s)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


class _CallContext(threading.local):
    """The `training` flag of the outermost layer call, inherited by nested calls."""

    def __init__(self) -> None:
        self.training: bool | None = None
        self.depth = 0
        self.losses_added = False
        self.op_layers: list = []  # inside tf.function: the layers being traced op by op


_context = _CallContext()


def _other_tensors(args: tuple, kwargs: dict) -> bool:
    """Whether a call has tensor arguments besides its first (mask and training aside)."""
    rest = (args[1:], {k: v for k, v in kwargs.items() if k not in ("mask", "training")})
    return any(isinstance(t, Tensor) for t in nest.flatten(rest))


def _call_signature_info(cls: type) -> tuple[bool, bool, bool]:
    """(accepts training, accepts mask, accepts **kwargs) for `cls.call`, cached per class."""
    info = _SIGNATURES.get(cls)
    if info is None:
        params = inspect.signature(cls.call).parameters
        var_kw = any(p.kind is p.VAR_KEYWORD for p in params.values())
        info = ("training" in params, "mask" in params, var_kw)
        _SIGNATURES[cls] = info
    return info


_SIGNATURES: dict = {}


class InputSpec:
    """Constraints on a layer's input: `ndim`, `min_ndim`, `max_ndim`, `axes` {axis: size}."""

    def __init__(
        self,
        dtype: Any = None,
        shape: Any = None,
        ndim: int | None = None,
        max_ndim: int | None = None,
        min_ndim: int | None = None,
        axes: dict | None = None,
        allow_last_axis_squeeze: bool = False,
        name: str | None = None,
    ) -> None:
        self.dtype = dtype
        self.shape = shape
        self.ndim = len(shape) if shape is not None else ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.axes = axes or {}
        self.name = name


def check_input_spec(layer: Layer, spec: InputSpec, shape: tuple) -> None:
    rank = len(shape)
    kind = type(layer).__name__
    if spec.ndim is not None and rank != spec.ndim:
        raise ValueError(
            f'Input 0 of layer "{layer.name}" ({kind}) is incompatible with the layer: expected '
            f"ndim={spec.ndim}, found ndim={rank}. Full shape received: {tuple(shape)}"
        )
    if spec.min_ndim is not None and rank < spec.min_ndim:
        raise ValueError(
            f'Input 0 of layer "{layer.name}" ({kind}) is incompatible with the layer: expected '
            f"min_ndim={spec.min_ndim}, found ndim={rank}. Full shape received: {tuple(shape)}"
        )
    if spec.max_ndim is not None and rank > spec.max_ndim:
        raise ValueError(
            f'Input 0 of layer "{layer.name}" ({kind}) is incompatible with the layer: expected '
            f"max_ndim={spec.max_ndim}, found ndim={rank}. Full shape received: {tuple(shape)}"
        )
    for axis, size in spec.axes.items():
        if size is None:
            continue
        if -rank <= axis < rank:
            got = shape[axis]
            if got is not None and got != size:
                raise ValueError(
                    f'Input 0 of layer "{layer.name}" ({kind}) is incompatible with the layer: '
                    f"expected axis {axis} of input shape to have value {size}, but received input "
                    f"with shape {tuple(shape)}"
                )


class LayerNode(graph.Node):
    """A layer call in a Functional graph; replays `layer(*args, **kwargs)` on real values."""

    def __init__(self, layer: Layer, args: tuple, kwargs: dict) -> None:
        flat_inputs = [t for t in nest.flatten((args, kwargs)) if isinstance(t, SymbolicTensor)]
        super().__init__(self._run, flat_inputs, name=layer.name)
        self.layer = layer
        self.args = args
        self.kwargs = kwargs

    def _run(self, *values: Tensor) -> Any:
        it = iter(values)
        flat = [
            next(it) if isinstance(t, SymbolicTensor) else t for t in nest.flatten((self.args, self.kwargs))
        ]
        args, kwargs = nest.pack_sequence_as((self.args, self.kwargs), flat)
        return self.layer(*args, **kwargs)

    def run(self, values: list) -> list:
        out = self._run(*values)
        return nest.flatten(out)


class Layer(Module):
    """Base class of layers: configuration in `__init__`, weights in `build`, math in `call`.

    Args:
        trainable: whether the layer's weights are updated by training.
        name: unique name; by default the snake-cased class name (`dense`, `dense_1`, ...).
        dtype: the dtype of weights and computations (default `keras.backend.floatx()`).
        input_shape / input_dim / batch_input_shape / batch_size: on a model's first layer,
            the shape of one input sample (Sequential builds the model from it).

    Example:
        >>> class Linear(keras.layers.Layer):
        ...     def __init__(self, units):
        ...         super().__init__()
        ...         self.units = units
        ...     def build(self, input_shape):
        ...         self.w = self.add_weight(shape=(input_shape[-1], self.units))
        ...     def call(self, x):
        ...         return tf.matmul(x, self.w)
    """

    # Whether `__call__` casts floating inputs to the compute dtype (with `autocast`); Functional and
    # Sequential models pass inputs on as they are and let each layer cast, as in Keras.
    _convert_input_args = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and callable(build) and not getattr(build, "_records_build", False):
            cls.build = _recording_build(build)

    def __new__(cls, *args: Any, **kwargs: Any) -> Layer:
        obj = object.__new__(cls)
        d = obj.__dict__
        d["_weights_own"] = []
        d["_regularized"] = []
        d["_added_losses"] = []
        d["built"] = False
        d["_inbound_nodes"] = []
        d["_trainable"] = True
        d["_init_done"] = False
        d["_checked_shape"] = None
        d["_call_info"] = None
        d["_np_dtype"] = None
        d["_mixed"] = False
        d["_remat_mode"] = None
        d["_wrap_call"] = False
        d["activity_regularizer"] = None
        return obj

    def __init__(
        self,
        trainable: bool = True,
        name: str | None = None,
        dtype: Any = None,
        autocast: bool = True,
        input_shape: Any = None,
        input_dim: int | None = None,
        batch_input_shape: Any = None,
        batch_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("dynamic", None)
        activity_regularizer = kwargs.pop("activity_regularizer", None)
        kwargs.pop("weights", None)
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__ got unexpected keyword argument(s): {', '.join(sorted(kwargs))}"
            )
        self._trainable = bool(trainable)
        self.name = name if name is not None else backend.unique_name(_snake_case(type(self).__name__))
        from tapeflow.keras.core_api import current_remat_mode

        self._remat_mode = current_remat_mode()
        self._set_dtype_policy(dtype)
        self.autocast = autocast
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + tuple(input_shape)
        elif input_dim is not None:
            self._batch_input_shape = (batch_size, int(input_dim))
        else:
            self._batch_input_shape = None
        self.input_spec: InputSpec | None = None
        self.supports_masking = False
        from tapeflow.keras import regularizers as _reg

        self.activity_regularizer = (
            _reg.get(activity_regularizer) if activity_regularizer is not None else None
        )
        self._init_done = True

    # -- attributes and tracking ------------------------------------------------------------
    def _set_dtype_policy(self, dtype: Any) -> None:
        """Resolve `dtype` (None, a name, a config dict or a policy) to this layer's policy."""
        from tapeflow.keras import dtype_policies

        try:
            policy = dtype_policies.get(dtype)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{type(self).__name__} '{self.name}': invalid dtype={dtype!r}: {e}") from None
        if isinstance(policy, dtype_policies.DTypePolicyMap):
            policy = policy[self.name]
        if policy.quantization_mode is not None and not self._supports_quantized_policy(policy):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': the quantized dtype policy {policy.name!r} is not "
                f"supported: {type(self).__name__} has no quantized form in mode {policy.quantization_mode!r} "
                "(Keras quantizes Dense and EinsumDense in int8/int4/float8/gptq/awq, Embedding in int8/int4).")
        self._dtype_policy = policy
        self._dtype = policy.compute_dtype
        self._variable_dtype = policy.variable_dtype
        self._np_dtype = tf.as_dtype(self._dtype)._np
        # Variables are cast to the compute dtype when `call` reads them (see _autocast_call).
        self._mixed = self._dtype != self._variable_dtype
        self._wrap_call = self._mixed or self._remat_mode is not None

    def _supports_quantized_policy(self, policy: Any) -> bool:
        return False

    @property
    def quantization_mode(self) -> str | None:
        """The mode ("int8", "int4", "float8", "gptq", "awq") once `quantize` ran (or the policy
        says so), else None."""
        return self._dtype_policy.quantization_mode

    def quantize(self, mode: Any = None, type_check: bool = True, config: Any = None) -> None:
        """Quantize the layer's weights (Dense, EinsumDense and Embedding implement it, as in Keras)."""
        raise TypeError(f"Layer {type(self).__name__} does not have a `quantize` method implemented: Keras "
                        "quantizes Dense, EinsumDense and Embedding.")

    @property
    def dtype(self) -> str:
        """The dtype of the layer's weights (`dtype_policy.variable_dtype`)."""
        return self._variable_dtype

    @property
    def compute_dtype(self) -> str:
        """The dtype of the layer's computations; floating inputs are cast to it."""
        return self._dtype

    @property
    def variable_dtype(self) -> str:
        return self._variable_dtype

    @property
    def dtype_policy(self) -> Any:
        """The layer's `keras.DTypePolicy`."""
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value: Any) -> None:
        self._set_dtype_policy(value)

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        self._trainable = value
        for layer in self._flat_layers():
            layer._trainable = value

    def _tracked_values(self) -> list:
        """Layers and variables held in attributes (directly or in lists/tuples/dicts)."""
        out: list = []
        for key, v in self.__dict__.items():
            if key in _UNTRACKED:
                continue
            if isinstance(v, (Layer, Variable)):
                out.append(v)
            elif isinstance(v, (list, tuple)):
                _collect(v, out)
            elif isinstance(v, dict):
                _collect(list(v.values()), out)
        return out

    def _sublayers(self) -> list:
        seen: set = set()
        out = []
        for v in self._tracked_values():
            if isinstance(v, Layer) and id(v) not in seen and v is not self:
                seen.add(id(v))
                out.append(v)
        return out

    def _flat_layers(self) -> list:
        out = []
        seen: set = set()
        stack = list(reversed(self._sublayers()))
        while stack:
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            out.append(layer)
            stack.extend(reversed(layer._sublayers()))
        return out

    def _own_variables(self) -> list:
        own = list(self._weights_own)
        ids = {id(v) for v in own}
        extra = False
        for v in self._tracked_values():
            # Keras 3 tracks the keras.Variable objects a layer holds; a plain tf.Variable in an
            # attribute is no weight (checkpoints still save it, as TF's tracking does).
            if isinstance(v, Variable) and id(v) not in ids and (v._keras_owned or getattr(v, "_keras_var", False)):
                ids.add(id(v))
                own.append(v)
                extra = True
        if extra:
            # Keras's order: variables held in attributes count from when they were assigned,
            # among those made with add_weight (a variable made in __init__ comes before build's).
            seq = self.__dict__.get("_var_seq", {})
            last = len(seq)
            own.sort(key=lambda v: seq.get(id(v), last))
        return own

    @property
    def weights(self) -> list:
        """Own trainable, own non-trainable, then each sub-layer's weights (Keras's order). As in
        Keras 3, a weight counts by how it was created: freezing it later (LoRA's kernel) does not
        move it."""
        own = self._own_variables()
        made, frozen = self.__dict__.get("_var_seq", {}), self.__dict__.get("_created_frozen", ())

        def created_frozen(v: Variable) -> bool:
            return id(v) in frozen if id(v) in made else not v.trainable

        out = [v for v in own if not created_frozen(v)] + [v for v in own if created_frozen(v)]
        seen = {id(v) for v in out}
        for layer in self._sublayers():
            for w in layer.weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def trainable_weights(self) -> list:
        if not self._trainable:
            return []
        out = [v for v in self._own_variables() if v.trainable]
        seen = {id(v) for v in out}
        for layer in self._sublayers():
            for w in layer.trainable_weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def non_trainable_weights(self) -> list:
        if not self._trainable:
            return self.weights
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    variables = weights
    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    @property
    def layers(self) -> list:
        return self._sublayers()

    # -- weights ----------------------------------------------------------------------------
    def add_weight(self, *args: Any, **kwargs: Any) -> Variable:
        """Create a weight variable tracked by this layer.

        Accepts Keras 3's `add_weight(shape=None, initializer=None, dtype=None, trainable=True,
        regularizer=None, constraint=None, name=None)` and tf.keras 2's positional
        `add_weight(name, shape, dtype, initializer, regularizer, trainable, constraint)`.
        """
        if args:
            if isinstance(args[0], str):
                keys = ["name", "shape", "dtype", "initializer", "regularizer", "trainable", "constraint"]
            else:
                keys = [
                    "shape",
                    "initializer",
                    "dtype",
                    "trainable",
                    "autocast",
                    "regularizer",
                    "constraint",
                    "aggregation",
                    "overwrite_with_gradient",
                    "name",
                ]
            for k, v in zip(keys, args, strict=False):
                if k in kwargs:
                    raise TypeError(f"add_weight got multiple values for argument {k!r}")
                kwargs[k] = v
        name = kwargs.pop("name", None)
        shape = kwargs.pop("shape", None)
        dtype = kwargs.pop("dtype", None)
        initializer = kwargs.pop("initializer", None)
        regularizer = kwargs.pop("regularizer", None)
        trainable = kwargs.pop("trainable", True)
        constraint = kwargs.pop("constraint", None)
        autocast = kwargs.pop("autocast", True)
        kwargs.pop("aggregation", None)
        kwargs.pop("synchronization", None)
        kwargs.pop("use_resource", None)
        kwargs.pop("experimental_autocast", None)
        overwrite_with_gradient = bool(kwargs.pop("overwrite_with_gradient", False))
        if kwargs:
            raise TypeError(f"add_weight got unexpected keyword argument(s): {', '.join(sorted(kwargs))}")
        from tapeflow.keras import constraints as _con
        from tapeflow.keras import initializers as _init
        from tapeflow.keras import regularizers as _reg

        shape = () if shape is None else tuple(int(d) for d in shape)
        dtype = tf.as_dtype(dtype or self._variable_dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dtype.is_floating else "zeros"
        init = _init.get(initializer)
        value = init(shape, dtype=dtype) if callable(init) else init
        if not isinstance(value, Tensor):
            value = tf.constant(value, dtype=dtype)
        if tuple(value.shape) != shape:
            value = tf.broadcast_to(value, shape)
        if value.dtype != dtype:
            value = tf.cast(value, dtype)
        var_name = name or f"variable_{len(self._weights_own)}" if name is None else name
        var = Variable(value, trainable=bool(trainable) if trainable is not None else True, name=var_name)
        var._name = var_name
        var._path = f"{self.name}/{var_name}"
        var._keras_owned = True
        var.constraint = _con.get(constraint) if constraint is not None else None
        if overwrite_with_gradient:
            var.overwrite_with_gradient = True
        self._weights_own.append(var)
        seq = self.__dict__.setdefault("_var_seq", {})
        seq.setdefault(id(var), len(seq))
        if not var.trainable:
            self.__dict__.setdefault("_created_frozen", set()).add(id(var))
        if not autocast:
            self.__dict__.setdefault("_no_autocast", set()).add(id(var))
        if tracking._listeners:
            tracking.notify(self)
        if regularizer is not None:
            self._regularized.append((var, _reg.get(regularizer)))
        return var

    def get_weights(self) -> list:
        """The values of `weights` as NumPy arrays (copies)."""
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights: list) -> None:
        """Set `weights` from a list of arrays of the same shapes (Keras's order)."""
        params = self.weights
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(
                f"Layer {self.name!r} expected {len(params)} weights, but received {len(weights)} "
                f"input weights."
            )
        for p, w in zip(params, weights, strict=False):
            arr = w.numpy() if isinstance(w, Tensor) else w
            import numpy as np

            arr = np.asarray(arr)
            if tuple(arr.shape) != tuple(p.shape):
                raise ValueError(
                    f"Layer {self.name!r} weight shape {tuple(p.shape)} is not compatible with provided "
                    f"weight shape {tuple(arr.shape)}."
                )
        for p, w in zip(params, weights, strict=False):
            p.assign(tf.constant(w.numpy() if isinstance(w, Tensor) else w, dtype=p.dtype))

    def count_params(self) -> int:
        """Total number of scalars in the weights (the layer must be built)."""
        if not self.built:
            raise ValueError(
                f"You tried to call `count_params` on layer '{self.name}', but the layer isn't built. "
                "You can build it manually via: `layer.build(input_shape)`."
            )
        total = 0
        for w in self.weights:
            n = 1
            for d in w.shape:
                n *= d
            total += n
        return total

    # -- losses -----------------------------------------------------------------------------
    def add_loss(self, loss: Any) -> None:
        """Add a scalar loss (e.g. an activity penalty) to `losses` for this call.

        Inside a `keras.StatelessScope` the loss goes to the scope (kept when it collects losses).
        """
        from tapeflow.keras.core_api import current_stateless_scope

        scope = current_stateless_scope()
        if scope is not None:
            if scope.collect_losses:
                scope.add_loss(loss)
            return
        self._added_losses.append(loss)
        _context.losses_added = True

    @property
    def losses(self) -> list:
        """Regularization penalties of the weights plus losses added in the last call."""
        out = []
        for var, reg in self._regularized:
            out.append(reg(var))
        traced = [t for t in self._added_losses if isinstance(t, Tensor) and t._value is None]
        if traced:  # added by an op-level traced call: graph tensors
            out.extend(traced)
        elif self._added_losses and _trace_state.graphs and _trace_state.graphs[-1] is not None:
            # Inside tf.function after a lifted call: the losses it adds, read when the graph runs.
            def added() -> list:
                return list(self._added_losses)

            out.extend(_func_graph.lift_call(added, (), name="added_losses", stateful=False, probe=added))
        else:
            out.extend(self._added_losses)
        for layer in self._sublayers():
            out.extend(layer.losses)
        return out

    def _clear_losses(self) -> None:
        if self._added_losses:
            self._added_losses.clear()
        for layer in self._sublayers():
            layer._clear_losses()

    # -- build / call -----------------------------------------------------------------------
    def build(self, input_shape: Any) -> None:
        """Create the layer's weights for inputs of `input_shape` (override in subclasses)."""
        self.built = True

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """The layer's computation (override in subclasses)."""
        return inputs

    def _maybe_build(self, inputs: Any) -> None:
        if self.built:
            return
        shapes = nest.map_structure(lambda t: TensorShape(t.shape) if isinstance(
            t, (Tensor, CompositeTensor)) else None, inputs)
        if isinstance(shapes, list) and not isinstance(inputs, list):
            shapes = tuple(shapes)
        if self.input_spec is not None and isinstance(inputs, Tensor):
            check_input_spec(self, self.input_spec, tuple(inputs.shape))
        build = type(self).build
        if build is not Layer.build:
            self.build(shapes)
        self.built = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if "mask" in kwargs and not any(_call_signature_info(type(self))[1:]):
            # As Keras 3: an explicit mask (even None) reaches `call`, whose signature refuses it.
            raise TypeError(f"{type(self).__name__}.call() got an unexpected keyword argument 'mask' (layer "
                            f"'{self.name}' does not take a mask; a mask attached to its input by Embedding"
                            "(mask_zero=True) or Masking is handled without passing mask=).")
        if (_trace_state.graphs and _trace_state.graphs[-1] is not None and not _tracing_ops(self)
                and not _has_keras_tensor(args)):
            return _traced_call(self, args, kwargs)
        if not args:
            if "inputs" in kwargs:
                args = (kwargs.pop("inputs"),)
            else:
                raise TypeError(f"Layer {self.name!r} was called without inputs.")
        inputs = args[0]
        # 1. Convert inputs: arrays to tensors, floating inputs to the layer's dtype.
        if isinstance(inputs, Tensor):
            v = inputs._value
            if v is None:
                if not _tracing_ops(self):
                    return self._symbolic_call(args, kwargs)
                np_dtype = inputs.dtype._np
                if (self.autocast and is_real_float_np(np_dtype) and np_dtype != self._np_dtype
                        and self._convert_input_args):
                    inputs = tf.cast(inputs, self._np_dtype)
                    args = (inputs,) + args[1:]
            elif v.dtype != self._np_dtype and self.autocast and is_real_float_np(v.dtype) and self._convert_input_args:
                inputs = tf.cast(inputs, self._np_dtype)
                args = (inputs,) + args[1:]
        else:
            inputs = self._convert_inputs(inputs)
            args = (inputs,) + args[1:]
            # 2. Symbolic inputs: record a node of the Functional graph instead of computing.
            if _has_symbolic(inputs) and not _tracing_ops(self):
                return self._symbolic_call(args, kwargs)
        # 3. Build once; check the input spec when the input shape changes.
        if not self.built:
            self._maybe_build(inputs)
        if self.input_spec is not None and isinstance(inputs, Tensor):
            shape = inputs._value.shape if inputs._value is not None else tuple(inputs.shape)
            if shape != self._checked_shape:
                check_input_spec(self, self.input_spec, shape)
                self._checked_shape = shape
        # 4. Resolve `training` (explicit > outer call > None) and `mask`.
        info = self._call_info
        if info is None or info[3] is not type(self):
            info = _call_signature_info(type(self)) + (type(self),)
            self._call_info = info
        training = kwargs.pop("training", None)
        ctx = _context
        outer = ctx.training
        if training is None:
            training = outer
        if info[0] or info[2]:
            kwargs["training"] = training
        in_mask = None
        if info[1]:
            in_mask = kwargs.get("mask")
            if in_mask is None and isinstance(inputs, Tensor):
                in_mask = getattr(inputs, "_keras_mask", None)
                # As Keras 3: the mask is passed on only to a call with one tensor argument
                # (an RNN given initial states gets none).
                if in_mask is not None and not _other_tensors(args, kwargs):
                    kwargs["mask"] = in_mask
            elif (in_mask is None and isinstance(inputs, (list, tuple)) and inputs
                  and not _other_tensors(args, kwargs)):
                # As Keras 3: a list of tensors passes the list of their masks (Attention([q, v])).
                masks = [getattr(t, "_keras_mask", None) if isinstance(t, Tensor) else None for t in inputs]
                if any(m is not None for m in masks):
                    kwargs["mask"] = in_mask = masks
        # 5. Call, with this call's training flag visible to nested layers.
        ctx.training = training
        ctx.depth += 1
        try:
            if ctx.depth == 1 and ctx.losses_added:
                # A new top-level call: drop the losses that the previous call added anywhere.
                self._clear_losses()
                ctx.losses_added = False
            call = self.call
            if _context.op_layers and _context.op_layers[-1] is self:
                call = _autograph_call(call)  # a tensor `if` in a user's call becomes tf.cond
            outputs = call(*args, **kwargs) if not self._wrap_call else self._wrapped_call(call, args, kwargs)
        finally:
            ctx.depth -= 1
            ctx.training = outer
        # 6. Masks and activity regularization.
        self._warn_if_mask_dropped(inputs)
        if in_mask is None and isinstance(inputs, Tensor):
            in_mask = getattr(inputs, "_keras_mask", None)
        if in_mask is not None or type(self).compute_mask is not Layer.compute_mask:
            out_mask = self.compute_mask(inputs, in_mask)
            if isinstance(out_mask, (list, tuple)) and isinstance(outputs, Tensor):
                out_mask = out_mask[0] if out_mask else None  # Keras pairs masks with outputs in order
            if out_mask is not None and isinstance(outputs, Tensor):
                outputs._keras_mask = out_mask
            elif isinstance(out_mask, (list, tuple)) and isinstance(outputs, (list, tuple)):
                for out, m in zip(outputs, out_mask, strict=False):  # e.g. an RNN's output and states
                    if m is not None and isinstance(out, Tensor) and not isinstance(m, (list, tuple)):
                        out._keras_mask = m
        if self.activity_regularizer is not None:
            for o in nest.flatten(outputs):
                if isinstance(o, Tensor):
                    loss = self.activity_regularizer(o)
                    if o.ndim > 0:
                        # Normalised by the batch size, as Keras 3 does.
                        loss = tf.math.divide_no_nan(loss, tf.cast(o.shape[0], loss.dtype))
                    self.add_loss(loss)
        return outputs

    def _wrapped_call(self, call: Any, args: tuple, kwargs: dict) -> Any:
        """`call` under this layer's RematScope mode (recomputed in the backward pass) and
        mixed-precision autocast."""
        if self._remat_mode is not None:
            from tapeflow.keras.core_api import rematerialized

            call = rematerialized(self, call, args)
        if self._mixed and self.autocast:
            return self._autocast_call(call, args, kwargs)
        return call(*args, **kwargs)

    def _autocast_call(self, call: Any, args: tuple, kwargs: dict) -> Any:
        """`call` with this layer's floating variables read in the compute dtype (mixed precision).

        While `call` runs, each attribute (or list/tuple/dict item of an attribute) holding one of
        the layer's own float variables holds `tf.cast(variable, compute_dtype)` instead, so the
        layer computes in float16 and gradients reach the float32 variable through the cast.
        Variables made with `add_weight(autocast=False)` or `keras.Variable(..., autocast=False)` and
        sublayers' variables (each sublayer casts its own) are left alone. The attributes are
        restored when `call` returns.
        """
        from tapeflow.keras.variables import autocasts

        skip = self.__dict__.get("_no_autocast", ())
        compute = self._np_dtype
        casts = {id(v): v for v in self._own_variables()
                 if id(v) not in skip and autocasts(v) and v.dtype.is_floating and v.dtype._np != compute}
        if not casts:
            return call(*args, **kwargs)
        cast_of: dict = {}

        def swap(value: Any) -> Any:
            if isinstance(value, Variable):
                if id(value) not in casts:
                    return value
                if id(value) not in cast_of:
                    cast_of[id(value)] = tf.cast(value, compute)
                return cast_of[id(value)]
            if isinstance(value, (list, tuple)) and any(isinstance(v, Variable) and id(v) in casts for v in value):
                return type(value)(swap(v) for v in value) if type(value) in (list, tuple) else value
            if type(value) is dict and any(isinstance(v, Variable) and id(v) in casts for v in value.values()):
                return {k: swap(v) for k, v in value.items()}
            return value

        d = self.__dict__
        saved = {}
        for key, value in list(d.items()):
            if key in _UNTRACKED:
                continue
            new = swap(value)
            if new is not value:
                saved[key] = value
                d[key] = new
        try:
            return call(*args, **kwargs)
        finally:
            d.update(saved)

    def _convert_inputs(self, inputs: Any) -> Any:
        def conv(x: Any) -> Any:
            if x is None or isinstance(x, (str, bool)) or callable(x) and not hasattr(x, "__array__"):
                return x
            if isinstance(x, Tensor):
                v = x._value
                if (v is not None and v.dtype != self._np_dtype and self.autocast and is_real_float_np(v.dtype)
                        and self._convert_input_args):
                    return tf.cast(x, self._np_dtype)
                return x
            if isinstance(x, (int, float)):
                return x
            if isinstance(x, CompositeTensor):  # SparseTensor / RaggedTensor: kept, values autocast
                if (self.autocast and is_real_float_np(x.dtype._np) and x.dtype._np != self._np_dtype
                        and self._convert_input_args):
                    return tf.cast(x, self._np_dtype)
                return x
            t = tf.convert_to_tensor(x)
            if (t._value.dtype != self._np_dtype and self.autocast and is_real_float_np(t._value.dtype)
                    and self._convert_input_args):
                t = tf.cast(t, self._np_dtype)
            return t

        if isinstance(inputs, (list, tuple, dict)):
            return nest.map_structure(conv, inputs)
        return conv(inputs)

    def _symbolic_call(self, args: tuple, kwargs: dict) -> Any:
        inputs = args[0]
        if not self.built:
            shapes = nest.map_structure(
                lambda t: TensorShape(t.shape) if isinstance(t, Tensor) else None, inputs
            )
            if isinstance(inputs, Tensor) and self.input_spec is not None:
                check_input_spec(self, self.input_spec, tuple(inputs.shape))
            if type(self).build is not Layer.build:
                self.build(shapes)
            self.built = True
        elif isinstance(inputs, Tensor) and self.input_spec is not None:
            check_input_spec(self, self.input_spec, tuple(inputs.shape))
        kwargs = {k: v for k, v in kwargs.items() if k != "training"}
        specs, single = self._output_specs(args, kwargs)
        if single is None:
            return None
        structure = single if isinstance(single, dict) else None
        single = single is True
        node = LayerNode(self, args, kwargs)
        outs = []
        for i, (shape, dtype) in enumerate(specs):
            name = self.name if single else f"{self.name}/output_{i}"
            t = SymbolicTensor(shape, dtype, node, i, name=name)
            t._keras_history = (self, len(self._inbound_nodes), i)
            outs.append(t)
        node.outputs = outs
        self._inbound_nodes.append(node)
        self._symbolic_masks(inputs, outs, single)
        if structure is not None:  # a dict of outputs (MaxNumBoundingBoxes), as Keras's KerasTensors
            return nest.pack_sequence_as(structure, outs)
        return outs[0] if single else outs

    def _warn_if_mask_dropped(self, inputs: Any) -> None:
        """As Keras 3: a layer without mask support warns when its input carries a mask."""
        if self.supports_masking or getattr(self, "keras_class_name", None):
            return  # (the operation nodes of a loaded Keras file are not layers in Keras: no warning)
        items = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if any(getattr(t, "_keras_mask", None) is not None for t in items if isinstance(t, Tensor)):
            warnings.warn(f"Layer '{self.name}' (of type {type(self).__name__}) was passed an input with a mask "
                          "attached to it. However, this layer does not support masking and will therefore "
                          "destroy the mask information. Downstream layers will not see the mask.", stacklevel=3)

    def _symbolic_masks(self, inputs: Any, outs: list, single: bool) -> None:
        """Give symbolic outputs the `_keras_mask` that Keras's KerasTensors carry (what
        `compute_mask` makes of the inputs' symbolic mask), for code that inspects it. The
        Functional graph computes the masks it runs with on real values."""
        self._warn_if_mask_dropped(inputs)
        in_mask = getattr(inputs, "_keras_mask", None) if isinstance(inputs, Tensor) else None
        if in_mask is None and type(self).compute_mask is Layer.compute_mask:
            return
        try:
            out_mask = self.compute_mask(inputs, in_mask)
        except (TypeError, ValueError, NotImplementedError, AttributeError, IndexError):
            # NOTE: a compute_mask that needs real values; the attribute is for inspection only.
            return
        masks = [out_mask] if single else (list(out_mask) if isinstance(out_mask, (list, tuple)) else [])
        for out, m in zip(outs, masks, strict=False):
            if isinstance(m, Tensor):
                if isinstance(m, SymbolicTensor):
                    m._keras_tensor = True  # shows as the KerasTensor mask Keras attaches
                out._keras_mask = m

    def _output_specs(self, args: tuple, kwargs: dict) -> tuple[list, Any]:
        """[(shape, dtype), ...] of the (flattened) outputs for symbolic inputs, and whether there
        is one (True), several (False), none (None), or the outputs' structure when it is a dict."""
        inputs = args[0]
        try:
            shape_in = (
                nest.map_structure(lambda t: tuple(t.shape), inputs)
                if not isinstance(inputs, Tensor)
                else tuple(inputs.shape)
            )
            out_shape = self.compute_output_shape(shape_in)
        except NotImplementedError:
            out_shape = None
        if out_shape is not None and not isinstance(out_shape, dict):  # (a dict's dtypes may differ)
            dtype = self._dtype
            if isinstance(out_shape, list) or (
                isinstance(out_shape, tuple) and out_shape and isinstance(out_shape[0], (tuple, list))
            ):
                return [(tuple(s), dtype) for s in out_shape], False
            return [(tuple(out_shape), dtype)], True
        return self._infer_spec(args, kwargs)

    def _infer_spec(self, args: tuple, kwargs: dict) -> tuple[list, Any]:
        flat = [t for t in nest.flatten((args, kwargs)) if isinstance(t, SymbolicTensor)]
        single = [True]
        # The inputs' symbolic mask goes along (a stand-in value), so that a call that needs
        # its mask (Keras passes it to compute_output_spec too) runs.
        mask = getattr(args[0], "_keras_mask", None) if isinstance(args[0], SymbolicTensor) else None
        with_mask = isinstance(mask, SymbolicTensor) and "mask" not in kwargs
        if with_mask:
            flat.append(mask)

        def run(*values: Tensor) -> Any:
            it = iter(values)
            leaves = [next(it) if isinstance(t, SymbolicTensor) else t for t in nest.flatten((args, kwargs))]
            a, k = nest.pack_sequence_as((args, kwargs), leaves)
            if with_mask and isinstance(a[0], Tensor):
                a = (Tensor(a[0]._value), *a[1:])
                a[0]._keras_mask = tf.ones_like(values[-1])  # nothing masked: no 0/0 in the probe
            out = self(*a, training=False, **k)
            if out is None:  # a call that returns nothing (Keras returns None too)
                single[0] = None
                return []
            single[0] = out if isinstance(out, dict) else isinstance(out, Tensor)
            return nest.flatten(out)

        specs = graph.infer_output_specs(run, flat)
        return specs, single[0]

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Output shape for `input_shape` (override for speed; default runs the layer)."""
        raise NotImplementedError

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The output mask: passed through when the layer supports masking, else None."""
        return mask if self.supports_masking else None

    # -- config -----------------------------------------------------------------------------
    def get_config(self) -> dict:
        """JSON-able constructor arguments (subclasses extend it)."""
        from tapeflow.keras.dtype_policies import serialize

        config: dict = {"name": self.name, "trainable": self.trainable, "dtype": serialize(self._dtype_policy)}
        if self.activity_regularizer is not None:  # as Keras 3's Layer.get_config (Dense(activity_regularizer=))
            from tapeflow.keras import regularizers

            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict) -> Layer:
        """Recreate a layer from `get_config()`'s output."""
        return cls(**config)

    def save_own_variables(self, store: dict) -> None:
        """Keras's saving hook: write this layer's own variables into `store` as "0", "1", ...
        (the order of its `<path>/vars` group in a weights file). Override to save other state."""
        from tapeflow.keras.saving.keras_paths import own_in_keras_order

        for i, v in enumerate(own_in_keras_order(self)):
            store[f"{i}"] = v.numpy()

    def load_own_variables(self, store: dict) -> None:
        """Keras's loading hook: assign this layer's own variables from `store` (see
        `save_own_variables`); the number of entries must match."""
        from tapeflow.keras.saving.keras_paths import own_in_keras_order

        all_vars = own_in_keras_order(self)
        if len(store.keys()) != len(all_vars):
            if not all_vars and not self.built:
                raise ValueError(
                    f"Layer '{self.name}' was never built and thus it doesn't have any variables. However the "
                    f"weights file lists {len(store.keys())} variables for this layer. Implement "
                    "`build_from_config()` (and `get_build_config()`) to create its state when it is loaded.")
            raise ValueError(f"Layer '{self.name}' expected {len(all_vars)} variables, but received "
                             f"{len(store.keys())} variables during loading. Expected: {[v.name for v in all_vars]}")
        for i, v in enumerate(all_vars):
            v.assign(store[f"{i}"])

    def get_build_config(self) -> dict | None:
        """What `build` was called with, as Keras records it: `{"input_shape": shape}` for a
        one-argument `build`, else `{"shapes_dict": {argument: value}}`; None if not built so."""
        shape = getattr(self, "_build_input_shape", None)
        if shape is not None:
            return {"input_shape": shape}
        shapes = self.__dict__.get("_build_shapes_dict")
        if shapes:
            if len(shapes) == 1:
                return {"input_shape": next(iter(shapes.values()))}
            return {"shapes_dict": dict(shapes)}
        return None

    def build_from_config(self, config: dict) -> None:
        """Keras's loading hook: build from `get_build_config()`'s dict."""
        from tapeflow.keras.saving.serialization import _to_shape

        if not config:
            return
        if "input_shape" in config:
            self.build(_to_shape(config["input_shape"]) if config["input_shape"] is not None else None)
        elif "shapes_dict" in config:
            self.build(**config["shapes_dict"])
        self.built = True

    # -- functional helpers -----------------------------------------------------------------
    @property
    def input(self) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name!r} has never been called and thus has no defined input.")
        node = self._inbound_nodes[0]
        return node.args[0]

    @property
    def output(self) -> Any:
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name!r} has never been called and thus has no defined output.")
        outs = self._inbound_nodes[0].outputs
        return outs[0] if len(outs) == 1 else outs

    @property
    def input_shape(self) -> Any:
        inp = self.input
        return nest.map_structure(lambda t: tuple(t.shape), inp)

    @property
    def output_shape(self) -> Any:
        out = self.output
        return nest.map_structure(lambda t: tuple(t.shape), out)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "trainable" and not self.__dict__.get("_init_done", True):
            object.__setattr__(self, "_trainable", bool(value))
            return
        object.__setattr__(self, name, value)
        if isinstance(value, Variable):
            seq = self.__dict__.setdefault("_var_seq", {})
            seq.setdefault(id(value), len(seq))
        if tracking._listeners:  # a checkpoint restoration waits for this layer's weights
            tracking.notify(self)


_UNTRACKED = {
    "_inbound_nodes",
    "_weights_own",
    "_regularized",
    "_added_losses",
    "input_spec",
    "_outbound_nodes",
    "_keras_history",
    "_call_info",
    "optimizer",
    "compiled_loss",
    "compiled_metrics",
    "history",
    "_metrics_objs",
    "_train_state",
    "stop_training",
    "activity_regularizer",
    "_graph_outputs",
    "_graph_inputs",
    "_build_shapes_dict",
    "_in_build",
    "_var_seq",
}


# Not walked by Module or checkpoints; `_weights_own` is, so that weights held in no attribute are saved.
Layer._untracked_attributes = frozenset(_UNTRACKED - {"_weights_own"})


def _collect(seq: Any, out: list) -> None:
    for v in seq:
        if isinstance(v, (Layer, Variable)):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            _collect(v, out)
        elif isinstance(v, dict):
            _collect(list(v.values()), out)


def _autograph_call(call: Any) -> Any:
    from tapeflow.autograph import convert

    return convert(call)


def _recording_build(build: Any) -> Any:
    """`build` that records its arguments (`_build_shapes_dict`, read by `get_build_config`) and
    marks the layer built, as Keras's build wrapper does; a `super().build(...)` inside does not
    record again."""
    signature = inspect.signature(build)

    @functools.wraps(build)
    def wrapper(self: Layer, *args: Any, **kwargs: Any) -> Any:
        d = self.__dict__
        outer = not d.get("_in_build", False)
        d["_in_build"] = True
        try:
            out = build(self, *args, **kwargs)
        finally:
            if outer:
                d["_in_build"] = False
        if outer:
            try:
                bound = signature.bind(self, *args, **kwargs).arguments
            except TypeError:
                bound = {}
            d["_build_shapes_dict"] = {k: v for k, v in list(bound.items())[1:]}
            d["built"] = True
        return out

    wrapper._records_build = True
    return wrapper


def _tracing_ops(layer: Layer) -> bool:
    ops = _context.op_layers
    return bool(ops) and ops[-1] is layer


def _traced_call(layer: Layer, args: tuple, kwargs: dict) -> Any:
    """A layer called inside a tf.function trace.

    First the layer is traced op by op (its `call` on graph tensors): the graph then holds its
    primitives, which differentiate at trace time and replay on arrays. A layer that cannot be
    traced so (it reads values, updates state on arrays) is instead one node that calls it on
    real values at each replay; its outputs' shapes then come from an eager call on stand-in
    values with training=False, so that probe changes no state. The nodes of a failed op-level
    attempt are removed, and the layer is not tried op by op again.
    """
    graph = _trace_state.current()
    if layer.__dict__.get("_traceable_ops", True):
        start = len(graph.nodes)
        _context.op_layers.append(layer)
        try:
            return layer(*args, **kwargs)
        except Exception:
            del graph.nodes[start:]
            layer.__dict__["_traceable_ops"] = False
        finally:
            _context.op_layers.pop()

    def probe(*a: Any, **k: Any) -> Any:
        return layer(*a, **{**k, "training": False})

    if kwargs.get("training") is None and _context.training is not None:
        kwargs = {**kwargs, "training": _context.training}  # inherited now, not at replay
    call = layer.__call__
    if _context.depth > 0:
        # Called inside another layer's call: at replay it is a nested call too (it must not
        # start a new top-level call, which clears the losses the outer layers added).
        def call(*a: Any, **k: Any) -> Any:
            _context.depth += 1
            try:
                return layer(*a, **k)
            finally:
                _context.depth -= 1

    return _func_graph.lift_call(call, args, kwargs, name=layer.name, stateful=True,
                                 probe=probe, captured=lambda: layer.weights)


def _has_keras_tensor(x: Any) -> bool:
    """Whether `x` holds a Keras functional tensor (a model being built, e.g. a Sequential on its
    first call inside a trace): such a call builds the Functional graph, it is not traced."""
    if isinstance(x, Tensor):
        return x._value is None and type(x) is SymbolicTensor
    if isinstance(x, (list, tuple)):
        return any(_has_keras_tensor(v) for v in x)
    if isinstance(x, dict):
        return any(_has_keras_tensor(v) for v in x.values())
    return False


def _has_symbolic(x: Any) -> bool:
    if isinstance(x, Tensor):
        return x._value is None
    if isinstance(x, (list, tuple)):
        return any(_has_symbolic(v) for v in x)
    if isinstance(x, dict):
        return any(_has_symbolic(v) for v in x.values())
    return False
