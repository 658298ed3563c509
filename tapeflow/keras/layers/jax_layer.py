"""`JaxLayer` and `FlaxLayer`: JAX functions and Flax Linen modules as Keras layers on the engine.

The params and state pytrees become Tapeflow Variables (params trainable, state not). One call of
`call_fn` is one differentiable primitive: jax runs it on the engine's arrays (`jnp.asarray`) and
`jax.vjp` gives the gradients for the inputs and the params; the state `call_fn` returns is
assigned to the state variables after the call, as Keras does.

JAX (and Flax for `FlaxLayer`) is optional: `pip install "tapeflow[jax]"`.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from tapeflow.autodiff import function as _function
from tapeflow.errors import InvalidArgumentError
from tapeflow.keras.layers.base import Layer
from tapeflow.ops import random as _engine_random
from tapeflow.tensor import Tensor, Variable

_CALL_ARGUMENTS = {"params", "state", "rng", "inputs", "training"}
_INIT_ARGUMENTS = {"rng", "inputs", "training"}


def _import_jax() -> Any:
    try:
        import jax
    except ImportError as e:
        raise ImportError('JaxLayer needs JAX, which is not installed: pip install "tapeflow[jax]".') from e
    return jax


def _numpy(x: Any) -> np.ndarray:
    """A writable NumPy copy of a jax array (jax's own buffers are read-only)."""
    return np.array(x, copy=True)


def _key(seed: Any) -> Any:
    """A raw jax PRNG key (uint32[2]) from a [seed, counter] pair, as Keras's JAX backend uses."""
    import jax.numpy as jnp

    return jnp.asarray(np.asarray(seed, dtype=np.int64).astype(np.uint32))


class _JaxCall(_function.Function):
    """One call of `call_fn`: input leaves and param leaves in, the prediction's leaves out."""

    def __init__(self, layer: JaxLayer, inputs_tree: Any, n_inputs: int, training: bool, rng: Any) -> None:
        self.layer = layer
        self.inputs_tree = inputs_tree
        self.n_inputs = n_inputs
        self.training = training
        self.rng = rng
        self.vjp_fn = None
        self.out_tree = None
        self.new_state = None

    def forward(self, *arrays: Any) -> Any:
        layer = self.layer
        jax = layer._jax
        for a in arrays:
            if not isinstance(a, np.ndarray):
                raise InvalidArgumentError(
                    f"{type(layer).__name__} '{layer.name}' runs jax on the host's arrays; received an array "
                    f"of type {type(a).__name__} (GPU arrays are not passed to jax)."
                )
        xs = [jax.numpy.asarray(a) for a in arrays[: self.n_inputs]]
        ps = [jax.numpy.asarray(a) for a in arrays[self.n_inputs:]]

        def run(xs: list, ps: list) -> tuple:
            inputs = jax.tree_util.tree_unflatten(self.inputs_tree, xs)
            result = layer.call_fn(*layer._call_args(inputs, ps, self.rng, self.training))
            if layer.call_fn_has_state:
                prediction, new_state = result
                return prediction, new_state
            return result, None

        if _function.recording_tapes:
            out, self.vjp_fn, self.new_state = jax.vjp(run, xs, ps, has_aux=True)
        else:
            out, self.new_state = run(xs, ps)
        leaves, self.out_tree = jax.tree_util.tree_flatten(out)
        self.n_outputs = len(leaves)
        if not leaves:
            raise ValueError(f"{type(layer).__name__} '{layer.name}': call_fn returned no arrays.")
        results = [_numpy(o) for o in leaves]
        return results[0] if len(results) == 1 else tuple(results)

    def backward(self, *dys: Tensor) -> tuple:
        dys = tuple(Tensor(np.zeros(o._value.shape, o._value.dtype)) if d is None else d
                    for d, o in zip(dys, self.outputs, strict=True))
        vjp = _JaxVJP(self)
        grads = vjp(*dys, *self.inputs)
        grads = (grads,) if isinstance(grads, Tensor) else grads
        it = iter(grads)
        return tuple(next(it) if i in vjp.wanted else None for i in range(len(self.inputs)))


class _JaxVJP(_function.Function):
    """The gradients of a `_JaxCall` from its `jax.vjp` closure: output gradients (and, to keep the
    link for outer tapes, the call's inputs) in, one gradient per wanted input out."""

    def __init__(self, call: _JaxCall) -> None:
        self.call = call
        self.wanted = [i for i, (need, x) in enumerate(zip(call.needs_input_grad, call.inputs, strict=True))
                       if need and x._value.dtype.kind == "f"]
        self.n_outputs = max(len(self.wanted), 1)

    def forward(self, *arrays: Any) -> Any:
        call = self.call
        jax = call.layer._jax
        cotangents = []
        for o, d in zip(call.outputs, arrays[: len(call.outputs)], strict=True):
            if o._value.dtype.kind in "fc":
                cotangents.append(jax.numpy.asarray(d, dtype=o._value.dtype))
            else:
                cotangents.append(np.zeros(o._value.shape, dtype=jax.dtypes.float0))
        gx, gp = call.vjp_fn(jax.tree_util.tree_unflatten(call.out_tree, cotangents))
        flat = list(gx) + list(gp)
        results = [_numpy(flat[i]) for i in self.wanted]
        if not results:
            return np.zeros((), np.float32)
        return results[0] if len(results) == 1 else tuple(results)

    def backward(self, *dys: Tensor) -> tuple:
        raise InvalidArgumentError(
            f"{type(self.call.layer).__name__} '{self.call.layer.name}': gradients of gradients (nested "
            "GradientTapes over the layer) are not supported: jax.vjp computes the layer's gradient "
            "outside Tapeflow's tape."
        )


class JaxLayer(Layer):
    """A layer whose computation is a JAX function, trained by the engine.

    `call_fn` and `init_fn` follow Keras's conventions: their parameters are recognised by name.
    `call_fn` takes `inputs` and any of `params`, `state`, `rng`, `training`, and returns the
    prediction, or `(prediction, new_state)` when it takes `state`. `init_fn` takes `inputs` and
    any of `rng`, `training` (called with ones of the input shape, unknown dimensions 1, and
    `training=True`) and returns `params`, or `(params, state)` when `call_fn` takes `state`.
    Array leaves of `params` become trainable variables, those of `state` non-trainable ones.
    `rng` is a raw jax key (uint32[2]) drawn from a `keras.random.SeedGenerator(seed)` in
    training calls and None otherwise; `init_fn`'s key comes from the global random stream.

    Args:
        call_fn: the forward function.
        init_fn: builds params (and state) on the first call when `params` and `state` are None.
        params: a pytree of initial params (arrays or Python scalars).
        state: a pytree of initial state.
        seed: seed of the call rng's generator.

    Not supported: `native_serialization_platforms` (Keras's jax2tf conversion on the TensorFlow
    backend; Tapeflow runs jax directly), GPU arrays, gradients of gradients, and configs for
    functions that are not registered Keras objects.

    Example:
        >>> def call_fn(params, inputs):
        ...     return inputs @ params["w"]
        >>> layer = keras.layers.JaxLayer(call_fn, params={"w": np.ones((3, 2), "float32")})
        >>> layer(np.ones((4, 3), "float32")).shape
        TensorShape([4, 2])
    """

    def __init__(self, call_fn: Any, init_fn: Any = None, params: Any = None, state: Any = None,
                 seed: int | None = None, native_serialization_platforms: Any = None, **kwargs: Any) -> None:
        jax = _import_jax()
        if native_serialization_platforms is not None:
            raise ValueError(
                f"{type(self).__name__}: native_serialization_platforms configures Keras's jax2tf conversion "
                f"on the TensorFlow backend; Tapeflow runs jax directly. Received {native_serialization_platforms!r}."
            )
        super().__init__(**kwargs)
        self._jax = jax
        self._traceable_ops = False  # one lifted node in tf.function: jax runs on real arrays
        self.call_fn = call_fn
        self.init_fn = init_fn
        self.seed = seed
        self.params = None
        self.state = None
        self._create_variables(params, trainable=True)
        self._create_variables(state, trainable=False)
        if self.params is not None or self.state is not None:
            self.built = True
        self.call_fn_arguments = _validate_signature(call_fn, "call_fn", _CALL_ARGUMENTS, "inputs")
        self.call_fn_has_params = "params" in self.call_fn_arguments
        self.call_fn_has_state = "state" in self.call_fn_arguments
        if "rng" in self.call_fn_arguments:
            from tapeflow.keras.random import SeedGenerator

            self.seed_generator = SeedGenerator(seed)
        else:
            self.seed_generator = None
        if init_fn is None and params is None and state is None and (
                self.call_fn_has_params or self.call_fn_has_state):
            raise ValueError(
                "`init_fn`, `params` and `state` cannot all be `None` when `call_fn` takes a `params` or a "
                "`state` argument."
            )
        if init_fn is not None:
            self.init_fn_arguments = _validate_signature(init_fn, "init_fn", _INIT_ARGUMENTS, "inputs")

    # -- variables ---------------------------------------------------------------------------
    def _create_variables(self, values: Any, trainable: bool) -> None:
        """Replace the array and scalar leaves of `values` by variables of this layer."""
        jax = self._jax

        def create(path: tuple, value: Any) -> Any:
            if isinstance(value, (np.ndarray, np.generic, jax.Array, Tensor)):
                array = np.array(value.numpy() if isinstance(value, Tensor) else value)
            elif isinstance(value, (bool, int, float)):
                array = np.array(value)
            else:
                return value
            if array.dtype.kind == "f":
                array = array.astype(self._np_dtype)
            elif array.dtype == np.int64 and isinstance(value, int) and not isinstance(value, bool):
                array = array.astype(np.int32)
            name = "_".join(str(getattr(k, "key", getattr(k, "idx", getattr(k, "name", k)))) for k in path)
            var = Variable(array, trainable=trainable, name=name or "variable")
            var._name = name or "variable"
            var._path = f"{self.name}/{var._name}"
            var._keras_owned = True
            self._weights_own.append(var)
            return var

        tree = jax.tree_util.tree_map_with_path(create, values)
        if trainable:
            self.params = tree
        else:
            self.state = tree

    def _variable_leaves(self, tree: Any) -> list:
        return [v for v in self._jax.tree_util.tree_leaves(tree) if isinstance(v, Variable)]

    def _call_args(self, inputs: Any, param_values: list, rng: Any, training: bool) -> list:
        """`call_fn`'s arguments in its order; `param_values` replace the param variables' values."""
        jax = self._jax
        values = iter(param_values)

        def param(v: Any) -> Any:
            return next(values) if isinstance(v, Variable) else v

        def state(v: Any) -> Any:
            return jax.numpy.asarray(v._value) if isinstance(v, Variable) else v

        args = []
        for name in self.call_fn_arguments:
            if name == "params":
                args.append(jax.tree_util.tree_map(param, self.params))
            elif name == "state":
                args.append(jax.tree_util.tree_map(state, self.state))
            elif name == "rng":
                args.append(rng)
            elif name == "inputs":
                args.append(inputs)
            else:
                args.append(training)
        return args

    # -- build and call ----------------------------------------------------------------------
    def _init_rng(self) -> Any:
        return _key(_engine_random._host_rng(None).integers(0, 2**31 - 1, size=2))

    def _call_rng(self, training: bool) -> Any:
        if not training:
            return None
        return _key(self.seed_generator.next()._value)

    def build(self, input_shape: Any) -> None:
        if self.params is None and self.state is None and (self.call_fn_has_params or self.call_fn_has_state):
            self._initialize_weights(input_shape)
        self.built = True

    def _initialize_weights(self, input_shape: Any) -> None:
        jax = self._jax

        def is_shape(s: Any) -> bool:
            return hasattr(s, "as_list") or (isinstance(s, (tuple, list)) and all(
                d is None or isinstance(d, (int, np.integer)) for d in s))

        def ones(shape: Any) -> Any:
            dims = shape.as_list() if hasattr(shape, "as_list") else list(shape)
            return jax.numpy.ones([1 if d is None else int(d) for d in dims])

        inputs = jax.tree_util.tree_map(ones, input_shape, is_leaf=is_shape)
        args = []
        for name in self.init_fn_arguments:
            if name == "rng":
                args.append(self._init_rng())
            elif name == "inputs":
                args.append(inputs)
            else:
                args.append(True)
        result = self.init_fn(*args)
        params, state = result if self.call_fn_has_state else (result, None)
        self._create_variables(params, trainable=True)
        self._create_variables(state, trainable=False)

    def call(self, inputs: Any, training: bool | None = False) -> Any:
        jax = self._jax
        training = bool(training)
        leaves, tree = jax.tree_util.tree_flatten(inputs)
        tensors = [x if isinstance(x, Tensor) else Tensor(np.asarray(x)) for x in leaves]
        params = [v for v in self._variable_leaves(self.params)]
        fn = _JaxCall(self, tree, len(tensors), training, self._call_rng(training))
        out = fn(*tensors, *params)
        outs = [out] if isinstance(out, Tensor) else list(out)
        if self.call_fn_has_state:
            self._assign_state(fn.new_state)
        return jax.tree_util.tree_unflatten(fn.out_tree, outs)

    def _assign_state(self, new_state: Any) -> None:
        def assign(value: Any, variable: Any) -> None:
            if not isinstance(variable, Variable):
                raise ValueError(
                    "Structure mismatch: the structure of the state returned by `call` does not match the "
                    "structure of the state at initialization time."
                )
            variable.assign(_numpy(value).astype(variable._value.dtype))

        self._jax.tree_util.tree_map(assign, new_state, self.state)

    # -- config ------------------------------------------------------------------------------
    def get_config(self) -> dict:
        from tapeflow.keras.saving import serialization

        config = super().get_config()
        config["call_fn"] = serialization.serialize_keras_object(self.call_fn)
        config["init_fn"] = serialization.serialize_keras_object(self.init_fn)
        config["native_serialization_platforms"] = None
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> JaxLayer:
        from tapeflow.keras.saving import serialization

        config = dict(config)
        for key in ("call_fn", "init_fn"):
            config[key] = serialization.deserialize_keras_object(config[key], custom_objects)
        return cls(**config)


class FlaxLayer(JaxLayer):
    """A Flax Linen module as a layer: `module.init` builds the variables, `module.apply` calls it.

    The "params" collection becomes trainable variables and every other collection (BatchNorm's
    "batch_stats", ...) non-trainable state, updated from `apply`'s mutable output after each
    call. When `method` (or `module.__call__`) takes `training`, it is passed. Training calls get
    `rngs={"dropout": key}`; `init` gets `{"params": key, "dropout": key}`.

    Args:
        module: a `flax.linen.Module`.
        method: the method to call instead of `__call__` (a bound method or a function).
        variables: initial variables (`module.init`'s output); otherwise built on the first call.

    Example:
        >>> layer = keras.layers.FlaxLayer(flax.linen.Dense(4))
        >>> layer(np.ones((2, 3), "float32")).shape
        TensorShape([2, 4])
    """

    def __init__(self, module: Any, method: Any = None, variables: Any = None, **kwargs: Any) -> None:
        try:
            from flax.linen import DenyList
        except ImportError as e:
            raise ImportError('FlaxLayer needs Flax, which is not installed: pip install "tapeflow[jax]".') from e
        self.module = module
        self.method = method
        mutable = DenyList(["params"])

        def apply_with_training(params: Any, state: Any, rng: Any, inputs: Any, training: Any) -> Any:
            return self.module.apply(_merge(params, state), inputs, rngs=rng, method=self.method,
                                     mutable=mutable, training=training)

        def apply_without_training(params: Any, state: Any, rng: Any, inputs: Any) -> Any:
            return self.module.apply(_merge(params, state), inputs, rngs=rng, method=self.method, mutable=mutable)

        def init_with_training(rng: Any, inputs: Any, training: Any) -> Any:
            return _split(self.module.init(rng, inputs, method=self.method, training=training))

        def init_without_training(rng: Any, inputs: Any) -> Any:
            return _split(self.module.init(rng, inputs, method=self.method))

        if "training" in inspect.signature(method or module.__call__).parameters:
            call_fn, init_fn = apply_with_training, init_with_training
        else:
            call_fn, init_fn = apply_without_training, init_without_training
        params, state = _split(variables)
        super().__init__(call_fn=call_fn, init_fn=init_fn, params=params, state=state, **kwargs)

    def _init_rng(self) -> Any:
        return {"params": super()._init_rng(), "dropout": super()._init_rng()}

    def _call_rng(self, training: bool) -> Any:
        return {"dropout": _key(self.seed_generator.next()._value)} if training else {}

    def get_config(self) -> dict:
        raise ValueError(
            f"FlaxLayer '{self.name}' cannot be serialized: its Flax module is a Python object that Tapeflow "
            "does not pickle. Rebuild the layer in code and move its state with save_weights/load_weights."
        )


def _merge(params: Any, state: Any) -> dict:
    """Flax's variables dict from Keras's (params, state) split."""
    if params:
        return {**params, **state} if state else params
    return state or {}


def _split(variables: Any) -> tuple:
    """Keras's (params, state) split of Flax variables: the "params" collection and the others."""
    if variables is None:
        return None, None
    if "params" not in variables:
        return {}, variables
    if len(variables) == 1:
        return variables, {}
    return {"params": variables["params"]}, {k: v for k, v in variables.items() if k != "params"}


def _validate_signature(fn: Any, fn_name: str, allowed: set, required: str) -> list:
    parameters = inspect.signature(fn).parameters
    if required not in parameters:
        raise ValueError(f"Missing required argument in `{fn_name}`: `{required}`")
    names = []
    for parameter in parameters.values():
        if parameter.name not in allowed:
            raise ValueError(
                f"Unsupported argument in `{fn_name}`: `{parameter.name}`, supported arguments are "
                f"`{'`, `'.join(sorted(allowed))}`"
            )
        names.append(parameter.name)
    return names
