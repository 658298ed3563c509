"""TF1 variables: `tf.Variable`, `get_variable`, variable scopes, collections, initializers.

A compat.v1 `Variable` is a symbolic tensor (so every op applied to it, operators included,
becomes a graph node) that reads a real engine `tapeflow.Variable` when the graph runs. The
engine variable is created, with its initial value, when the graph is built;
`global_variables_initializer()` re-assigns the initial values (re-sampling random ones),
which is what TF1 programs expect when they run it first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from tapeflow import dtypes as _dt
from tapeflow import graph
from tapeflow.compat.v1.graph import Graph, GraphKeys, get_default_graph
from tapeflow.compat.v1.operations import AssignOp, Operation
from tapeflow.compat.v1.placeholders import shape_text
from tapeflow.graph import SymbolicTensor
from tapeflow.tensor import Tensor, TensorShape, convert_to_tensor
from tapeflow.tensor import Variable as EngineVariable


class _ReadNode(graph.Node):
    """Reading a variable: its value is the engine variable itself (so tapes can watch it)."""

    def __init__(self, variable: EngineVariable) -> None:
        super().__init__(self._read, [], name=variable.name)
        self.variable = variable

    def _read(self) -> EngineVariable:
        return self.variable


def _evaluate_constant(t: Tensor, what: str) -> Tensor:
    """The value of a symbolic tensor that needs no feed (random ops, ops on other variables)."""
    if t._value is not None:
        return t
    try:
        return graph.evaluate([t], {})[0]
    except Exception as e:
        raise ValueError(f"{what}: the initial value cannot be computed without a feed ({e}).") from e


class Variable(SymbolicTensor):
    """A TF1 graph variable (`tf.Variable`): ops on it build graph nodes; runs read its value.

    Args:
        initial_value: a tensor, array, Python value, or a callable returning one. Symbolic
            initial values (`tf.random_normal(...)`) are computed now and again by the
            initializer.
        trainable: add to `TRAINABLE_VARIABLES` (optimizers train it by default).
        collections: the collections to add it to (default `[GLOBAL_VARIABLES]`).
        name: the name (made unique; `:0` appended like TF).
        dtype: convert the initial value to this dtype.
        constraint: optional projection applied after optimizer updates.

    Example:
        >>> W = tf.Variable(tf.zeros([784, 10]))
        >>> y = tf.matmul(x, W)             # a graph node
        >>> sess.run(tf.global_variables_initializer())
    """

    __slots__ = ("_variable", "_init", "_graph")

    def _checkpoint_as(self) -> EngineVariable:
        """What tf.train.Checkpoint saves and restores for this variable: its value's variable."""
        return self._variable

    def __init__(self, initial_value: Any = None, trainable: bool | None = None, collections: Any = None,
                 validate_shape: bool = True, caching_device: Any = None, name: str | None = None,
                 variable_def: Any = None, dtype: Any = None, expected_shape: Any = None,
                 import_scope: Any = None, constraint: Any = None, use_resource: Any = None,
                 synchronization: Any = None, aggregation: Any = None, shape: Any = None) -> None:
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        g = get_default_graph()
        unique = g.unique_name(name or "Variable")
        if callable(initial_value) and not isinstance(initial_value, Tensor):
            initial_value = initial_value()
        init: Any
        if isinstance(initial_value, Tensor) and initial_value._value is None:
            init = initial_value
            value = _evaluate_constant(initial_value, f"Variable {unique!r}")
        else:
            value = convert_to_tensor(initial_value, dtype=None)
            init = value
        if dtype is not None and _dt.as_dtype(dtype) != value.dtype:
            from tapeflow.ops.elementwise import cast

            value = cast(value, dtype)
            if init is not None and init._value is not None:
                init = value
        trainable = True if trainable is None else bool(trainable)
        var = EngineVariable(value, trainable=trainable, name=unique, constraint=constraint)
        self._setup(var, g, init)
        if collections is None:
            collections = [GraphKeys.GLOBAL_VARIABLES]
        collections = list(collections)
        if trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
            collections.append(GraphKeys.TRAINABLE_VARIABLES)
        for c in collections:
            g.add_to_collection(c, self)

    def _setup(self, var: EngineVariable, g: Graph, init: Any) -> None:
        node = _ReadNode(var)
        SymbolicTensor.__init__(self, tuple(var._value.shape), var.dtype, node, 0, var.name)
        node.outputs = [self]
        self._variable = var
        self._init = init
        self._graph = g

    @classmethod
    def _wrap(cls, var: EngineVariable, name: str, init: Any, g: Graph | None = None) -> Variable:
        """A compat variable around an existing engine variable (a Keras layer's weight)."""
        obj = cls.__new__(cls)
        obj._setup(var, g or get_default_graph(), init)
        obj.name = name
        return obj

    # -- TF1 Variable API ---------------------------------------------------------------------
    @property
    def trainable(self) -> bool:
        return self._variable.trainable

    @property
    def graph(self) -> Graph:
        return self._graph

    @property
    def initial_value(self) -> Tensor:
        init = self._init
        return init() if callable(init) and not isinstance(init, Tensor) else init

    @property
    def initializer(self) -> Operation:
        """An operation that (re-)assigns the initial value."""
        return InitializerOp([self], name=self.name.split(":")[0] + "/Assign")

    @property
    def constraint(self) -> Any:
        return self._variable.constraint

    def eval(self, session: Any = None) -> Any:  # type: ignore[override]
        """The current value, read through `session` (default: the default session)."""
        return SymbolicTensor.eval(self, None, session)

    def numpy(self) -> Any:
        """The current value (a copy)."""
        return self._variable.numpy()

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        return self._variable.__array__(dtype, copy)

    def value(self) -> Variable:
        return self

    def read_value(self) -> Variable:
        return self

    def initialized_value(self) -> Variable:
        return self

    def get_shape(self) -> TensorShape:
        return self.shape

    def set_shape(self, shape: Any) -> None:
        if not self.shape.is_compatible_with(shape):
            raise ValueError(
                f"Variable {self.name}: shape {tuple(self.shape)} is not compatible with {shape}."
            )

    def assign(self, value: Any, use_locking: Any = None, name: str | None = None,
               read_value: bool = True) -> AssignOp:
        """An operation setting the variable to `value` when run."""
        return AssignOp(self, value, "assign", name)

    def assign_add(self, delta: Any, use_locking: Any = None, name: str | None = None,
                   read_value: bool = True) -> AssignOp:
        """An operation adding `delta` when run."""
        return AssignOp(self, delta, "assign_add", name)

    def assign_sub(self, delta: Any, use_locking: Any = None, name: str | None = None,
                   read_value: bool = True) -> AssignOp:
        """An operation subtracting `delta` when run."""
        return AssignOp(self, delta, "assign_sub", name)

    def load(self, value: Any, session: Any = None) -> None:
        """Assign `value` now (no graph operation)."""
        self._variable.assign(value)

    def __repr__(self) -> str:
        return (f"<tf.Variable '{self.name}' shape={shape_text(self.shape)} "
                f"dtype={self.dtype.name}_ref>")

    __str__ = __repr__


def wrap_layer_weights(layer: Any, g: Graph | None = None) -> list:
    """Register a Keras layer's weights in the graph's variable collections (once each).

    Returns:
        The compat variables wrapping `layer.weights`.
    """
    g = g or get_default_graph()
    wrapped = g.__dict__.setdefault("_wrapped_weights", {})
    trainable = {id(w) for w in layer.trainable_weights}
    out = []
    for w in layer.weights:
        gv = wrapped.get(id(w))
        if gv is None:
            path = getattr(w, "_path", None) or w.name.split(":")[0]
            gv = Variable._wrap(w, f"{path}:0", Tensor(w._value.copy()), g)
            wrapped[id(w)] = gv
            g.add_to_collection(GraphKeys.GLOBAL_VARIABLES, gv)
            if id(w) in trainable:
                g.add_to_collection(GraphKeys.TRAINABLE_VARIABLES, gv)
            else:
                g.add_to_collection(GraphKeys.MOVING_AVERAGE_VARIABLES, gv)
        out.append(gv)
    return out


# -- collections ----------------------------------------------------------------------------------

def global_variables(scope: str | None = None) -> list:
    """Every variable of the default graph (`GLOBAL_VARIABLES`), optionally filtered by scope."""
    return get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


all_variables = global_variables


def trainable_variables(scope: str | None = None) -> list:
    """The variables optimizers train by default (`TRAINABLE_VARIABLES`)."""
    return get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def local_variables(scope: str | None = None) -> list:
    return get_default_graph().get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def model_variables(scope: str | None = None) -> list:
    return get_default_graph().get_collection(GraphKeys.MODEL_VARIABLES, scope)


def moving_average_variables(scope: str | None = None) -> list:
    return get_default_graph().get_collection(GraphKeys.MOVING_AVERAGE_VARIABLES, scope)


# -- initializers ---------------------------------------------------------------------------------

class InitializerOp(Operation):
    """Assigns each variable its initial value (symbolic initial values are recomputed)."""

    type = "Init"

    def __init__(self, var_list: list, name: str = "init") -> None:
        super().__init__(name)
        self.var_list = list(var_list)

    def _execute(self, values: dict) -> None:
        symbolic = [v for v in self.var_list if isinstance(v._init, Tensor) and v._init._value is None]
        computed = {}
        if symbolic:
            outs = graph.evaluate([v._init for v in symbolic], {})
            computed = {id(v): o for v, o in zip(symbolic, outs, strict=False)}
        for v in self.var_list:
            value = computed.get(id(v))
            if value is None:
                value = v.initial_value
            v._variable.assign(value)


def variables_initializer(var_list: list, name: str = "init") -> Operation:
    """An operation that initialises the variables in `var_list`."""
    for v in var_list:
        if not isinstance(v, Variable):
            raise TypeError(f"variables_initializer: expected compat.v1 variables, received {v!r}.")
    return InitializerOp(var_list, name)


def global_variables_initializer() -> Operation:
    """An operation that initialises every global variable of the default graph."""
    return InitializerOp(global_variables(), "init")


initialize_all_variables = global_variables_initializer


def local_variables_initializer() -> Operation:
    """An operation that initialises the local variables (usually none)."""
    return InitializerOp(local_variables(), "init_local")


initialize_local_variables = local_variables_initializer


# -- variable scopes and get_variable ------------------------------------------------------------

class _AutoReuse:
    def __repr__(self) -> str:
        return "AUTO_REUSE"


AUTO_REUSE = _AutoReuse()


class VariableScope:
    """A variable scope: a name prefix, a reuse mode and defaults for `get_variable`."""

    def __init__(self, reuse: Any, name: str = "", initializer: Any = None, regularizer: Any = None,
                 dtype: Any = None, constraint: Any = None) -> None:
        self._name = name
        self._reuse = reuse
        self.initializer = initializer
        self.regularizer = regularizer
        self.dtype = dtype
        self.constraint = constraint

    @property
    def name(self) -> str:
        return self._name

    @property
    def original_name_scope(self) -> str:
        return self._name + "/" if self._name else ""

    @property
    def reuse(self) -> Any:
        return self._reuse

    def reuse_variables(self) -> None:
        """Reuse variables from now on in this scope."""
        self._reuse = True

    def set_initializer(self, initializer: Any) -> None:
        self.initializer = initializer

    def set_regularizer(self, regularizer: Any) -> None:
        self.regularizer = regularizer

    def get_variable(self, name: str, *args: Any, **kwargs: Any) -> Variable:
        return get_variable(name, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<VariableScope {self._name!r} reuse={self._reuse}>"


def get_variable_scope() -> VariableScope:
    """The innermost variable scope of the default graph."""
    g = get_default_graph()
    if not g._variable_scopes:
        g._variable_scopes.append(VariableScope(False))
    return g._variable_scopes[-1]


@contextlib.contextmanager
def variable_scope(name_or_scope: Any = None, default_name: str | None = None, values: Any = None,
                   initializer: Any = None, regularizer: Any = None, caching_device: Any = None,
                   partitioner: Any = None, custom_getter: Any = None, reuse: Any = None,
                   dtype: Any = None, use_resource: Any = None, constraint: Any = None,
                   auxiliary_name_scope: bool = True) -> Iterator[VariableScope]:
    """Prefix variable (and layer) names with a scope; control `get_variable` reuse.

    Args:
        name_or_scope: the scope name, or a `VariableScope` to re-enter.
        default_name: used (made unique) when `name_or_scope` is None.
        initializer, regularizer, dtype, constraint: defaults for `get_variable` inside.
        reuse: True (variables must exist), `AUTO_REUSE` (create or reuse), or None
            (inherit the enclosing scope's mode).
    """
    g = get_default_graph()
    parent = get_variable_scope()
    if isinstance(name_or_scope, VariableScope):
        full = name_or_scope.name
        inherited = name_or_scope
    else:
        if name_or_scope is None:
            if default_name is None:
                raise TypeError("variable_scope: if `name_or_scope` is None, `default_name` is required.")
            counts = g.__dict__.setdefault("_scope_counts", {})
            base = f"{parent.name}/{default_name}" if parent.name else default_name
            n = counts.get(base, 0)
            counts[base] = n + 1
            local = default_name if n == 0 else f"{default_name}_{n}"
        else:
            local = str(name_or_scope)
        full = f"{parent.name}/{local}" if parent.name else local
        inherited = parent
    if reuse is None or reuse is False:
        reuse_mode = parent.reuse if reuse is None else False
        if parent.reuse is True or parent.reuse is AUTO_REUSE:
            reuse_mode = parent.reuse
    else:
        reuse_mode = reuse
    scope = VariableScope(
        reuse_mode, full,
        initializer=initializer if initializer is not None else inherited.initializer,
        regularizer=regularizer if regularizer is not None else inherited.regularizer,
        dtype=dtype if dtype is not None else inherited.dtype,
        constraint=constraint if constraint is not None else inherited.constraint,
    )
    g._variable_scopes.append(scope)
    saved_ns = g._name_scope
    if auxiliary_name_scope:
        g._name_scope = [full]
    try:
        yield scope
    finally:
        g._name_scope = saved_ns
        g._variable_scopes.remove(scope)


def _initializer_for(initializer: Any, shape: tuple | None, dtype: _dt.DType) -> tuple[Callable | Tensor,
                                                                                       tuple]:
    """(a thunk or constant giving the initial value, its shape)."""
    if isinstance(initializer, Tensor) or (initializer is not None and not callable(initializer)):
        value = convert_to_tensor(initializer)
        if value._value is None:
            value = _evaluate_constant(value, "get_variable")
        if shape is not None and tuple(value.shape) != tuple(shape):
            raise ValueError(
                f"get_variable: the initializer's shape {tuple(value.shape)} does not match the "
                f"requested shape {tuple(shape)}."
            )
        if value.dtype != dtype and dtype.is_floating and value.dtype.is_floating:
            from tapeflow.ops.elementwise import cast

            value = cast(value, dtype)
        return value, tuple(value.shape)
    if shape is None:
        raise ValueError("get_variable: the shape of a new variable must be known (pass `shape`).")
    if initializer is None:
        from tapeflow.compat.v1 import initializers

        initializer = (initializers.glorot_uniform_initializer() if dtype.is_floating
                       else initializers.zeros_initializer())
    if isinstance(initializer, type):
        initializer = initializer()

    def thunk() -> Tensor:
        value = initializer(shape, dtype=dtype)
        value = convert_to_tensor(value)
        if value._value is None:
            value = _evaluate_constant(value, "get_variable")
        return value

    return thunk, shape


def get_variable(name: str, shape: Any = None, dtype: Any = None, initializer: Any = None,
                 regularizer: Any = None, trainable: bool | None = None, collections: Any = None,
                 caching_device: Any = None, partitioner: Any = None, validate_shape: bool = True,
                 use_resource: Any = None, custom_getter: Any = None, constraint: Any = None,
                 synchronization: Any = None, aggregation: Any = None) -> Variable:
    """Create a variable named `scope/name`, or reuse it in a reusing scope (`tf.get_variable`).

    Args:
        name: the name inside the current variable scope.
        shape: the shape (required unless `initializer` is a constant).
        dtype: default float32 (or the scope's dtype).
        initializer: an initializer (default: the scope's, else Glorot uniform for floats and
            zeros otherwise) or a constant value.
        regularizer: optional function of the variable whose result is added to
            `REGULARIZATION_LOSSES`.
        trainable: add to `TRAINABLE_VARIABLES` (default True).

    Returns:
        The new or reused `Variable`.

    Raises:
        ValueError: the variable exists and the scope does not reuse, or it does not exist and
            the scope requires reuse, or the shape differs from the existing variable's.
    """
    g = get_default_graph()
    scope = get_variable_scope()
    full = f"{scope.name}/{name}" if scope.name else name
    existing = g._variables_by_name.get(full)
    reuse = scope.reuse
    if existing is not None:
        if reuse is True or reuse is AUTO_REUSE:
            if shape is not None and not TensorShape(shape).is_compatible_with(existing.shape):
                raise ValueError(
                    f"Trying to share variable {full}, but specified shape {tuple(TensorShape(shape))} "
                    f"and found shape {tuple(existing.shape)}."
                )
            return existing
        raise ValueError(
            f"Variable {full} already exists, disallowed. Did you mean to set reuse=True or "
            "reuse=tf.AUTO_REUSE in VarScope?"
        )
    if reuse is True:
        raise ValueError(
            f"Variable {full} does not exist, or was not created with tf.get_variable(). Did you mean "
            "to set reuse=tf.AUTO_REUSE in VarScope?"
        )
    dt = _dt.as_dtype(dtype or scope.dtype or _dt.float32)
    shape_t = None if shape is None else tuple(TensorShape(shape))
    init, _ = _initializer_for(initializer if initializer is not None else scope.initializer, shape_t, dt)
    value = init() if callable(init) else init
    saved = g._name_scope
    g._name_scope = []
    try:
        v = Variable(value, trainable=trainable, collections=collections, name=full, dtype=dt,
                     constraint=constraint if constraint is not None else scope.constraint)
    finally:
        g._name_scope = saved
    v._init = init
    g._variables_by_name[full] = v
    reg = regularizer if regularizer is not None else scope.regularizer
    if reg is not None:
        from tapeflow.compat.v1.lift import graph_call

        penalty = graph_call(reg, (v,), name=f"{full}/Regularizer")
        if penalty is not None:
            g.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, penalty)
    return v
