"""`RNN`: run a recurrent cell over the time axis (masks, initial / stateful states, fused path)."""

from __future__ import annotations

from typing import Any

import tapeflow as tf
from tapeflow import nest
from tapeflow.keras.layers.base import InputSpec, Layer
from tapeflow.keras.layers.rnn._serialization import deserialize_layer, serialize_layer
from tapeflow.keras.layers.rnn.dropout_cell import DropoutRNNCell
from tapeflow.keras.layers.rnn.stacked_cells import StackedRNNCells
from tapeflow.tensor import Tensor


class RNN(Layer):
    """Base class of recurrent layers: applies `cell` to each time step of a sequence.

    Args:
        cell: an RNN cell (a layer with `call(inputs, states)` returning `(output, new_states)`,
            and `state_size`), or a list of cells (stacked into `StackedRNNCells`).
        return_sequences: return the output of every step (batch, time, units) instead of the
            last output (batch, units).
        return_state: also return the final states (`[output, *states]`).
        go_backwards: process the sequence from its end and return the reversed sequence.
        stateful: reuse the final states of a batch as the initial states of the next (the batch
            size must be fixed); `reset_state()` zeroes them.
        unroll: accepted for compatibility (the loop over time is always a Python loop).
        zero_output_for_mask: masked steps output zeros instead of the previous output.

    Call arguments:
        sequences: (batch, time, features).
        initial_state: a tensor or list of tensors, one per state, each (batch, state_size).
        mask: (batch, time) bool; False steps are skipped (states and output carried over).
        training: whether dropout is active.

    The built-in cells (SimpleRNNCell, LSTMCell, GRUCell) run the whole sequence as one fused
    op (`tapeflow.ops.rnn`) when their activations allow it and recurrent dropout is off.

    Example:
        >>> layer = keras.layers.RNN(keras.layers.LSTMCell(4), return_sequences=True)
        >>> layer(np.zeros((32, 10, 8), "float32")).shape
        TensorShape([32, 10, 4])
    """

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not hasattr(cell, "call"):
            raise ValueError(f"Argument `cell` should have a `call` method. Received: cell={cell}")
        if not hasattr(cell, "state_size"):
            raise ValueError(
                "The RNN cell should have a `state_size` attribute (single integer or list of "
                f"integers, one integer per RNN state). Received: cell={cell}"
            )
        super().__init__(**kwargs)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.supports_masking = True
        self.input_spec = None
        self._carried: _CarriedStates | None = None
        self._expected_batch_size: int | None = None
        state_size = cell.state_size
        if not isinstance(state_size, (list, tuple, int)):
            raise ValueError("state_size must be an integer, or a list/tuple of integers (one per state).")

    @property
    def state_size(self) -> list:
        size = self.cell.state_size
        return [size] if isinstance(size, int) else list(size)

    @property
    def single_state(self) -> bool:
        return isinstance(self.cell.state_size, int)

    # -- shapes -----------------------------------------------------------------------------
    def compute_output_shape(self, sequences_shape: Any, initial_state_shape: Any = None) -> Any:
        sequences_shape = tuple(sequences_shape)
        batch, length = sequences_shape[0], sequences_shape[1]
        states_shape: list = []
        for size in self.state_size:
            if isinstance(size, int):
                states_shape.append((batch, size))
            else:
                states_shape.extend((batch, s) for s in size)
        output_size = getattr(self.cell, "output_size", None)
        if output_size is None:
            output_size = self.state_size[0]
        output_shape = (batch, length, output_size) if self.return_sequences else (batch, output_size)
        if self.return_state:
            return [output_shape, *states_shape]
        return output_shape

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(nest.flatten(self.state_size))
        return output_mask

    # -- build / states ---------------------------------------------------------------------
    def build(self, sequences_shape: Any, initial_state_shape: Any = None) -> None:
        sequences_shape = tuple(sequences_shape)
        if len(sequences_shape) < 3:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expected input of rank 3 (batch, time, features), "
                f"received shape {sequences_shape}."
            )
        step_shape = (sequences_shape[0],) + sequences_shape[2:]
        if sequences_shape[-1] is not None:
            # After build, a different feature size is reported naming the layer and both sizes.
            ndim = self.input_spec.ndim if self.input_spec is not None else None
            self.input_spec = InputSpec(ndim=ndim, min_ndim=None if ndim else 3,
                                        axes={-1: int(sequences_shape[-1])})
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell.build(tf.TensorShape(step_shape))
            self.cell.built = True
        if self.stateful:
            if sequences_shape[0] is None:
                raise ValueError(
                    "When using `stateful=True` in a RNN, the batch size must be static. Found dynamic "
                    f"batch size: sequence.shape={sequences_shape}"
                )
            self._expected_batch_size = int(sequences_shape[0])
            if self._carried is None:
                self._carried = _CarriedStates(self.get_initial_state(self._expected_batch_size))
        self.built = True

    def get_initial_state(self, batch_size: int | None) -> list:
        """The cell's initial states for `batch_size` (zeros unless the cell says otherwise)."""
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            state = fn(batch_size=batch_size)
            return list(state) if isinstance(state, (list, tuple)) else [state]
        dtype = getattr(self.cell, "compute_dtype", self.compute_dtype)
        return [tf.zeros((batch_size, d), dtype=dtype) for d in self.state_size]

    @property
    def states(self) -> list | None:
        """The carried states of a stateful layer, non-trainable variables as in Keras 3 (None
        otherwise); a traced call reads and assigns them, so exported graphs carry them too."""
        return None if self._carried is None else self._carried.variables

    def reset_state(self, states: Any = None) -> None:
        """Zero the carried states of a stateful layer (or set them to `states`)."""
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        if self._expected_batch_size is None or self._carried is None:
            return
        if states is None:
            self._carried.assign(self.get_initial_state(self._expected_batch_size))
            return
        current = nest.flatten(self._carried.variables)
        given = nest.flatten(states if isinstance(states, (list, tuple)) else [states])
        if len(given) != len(current):
            raise ValueError(f"Layer {self.name!r} expects {len(current)} states, received {len(given)}.")
        values = []
        for cur, new in zip(current, given, strict=True):
            t = tf.constant(new.numpy() if isinstance(new, Tensor) else new, dtype=cur.dtype)
            if tuple(t.shape) != tuple(cur.shape):
                raise ValueError(
                    f"Layer {self.name!r}: state shape {tuple(cur.shape)} is incompatible with the "
                    f"received value of shape {tuple(t.shape)}."
                )
            values.append(t)
        self._carried.assign(nest.pack_sequence_as(self._carried.variables, values))

    def reset_states(self, states: Any = None) -> None:
        """Alias of `reset_state` (tf.keras 2's name)."""
        self.reset_state(states)

    def _normalize_initial_state(self, initial_state: Any) -> list:
        if isinstance(initial_state, Tensor) or not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        initial_state = list(initial_state)
        cell = self.cell
        dtype = getattr(cell, "compute_dtype", self.compute_dtype)
        if isinstance(cell, StackedRNNCells) and len(initial_state) != len(cell.cells):
            # A flat list of every cell's states: regroup per cell.
            grouped, flat = [], list(initial_state)
            for size in cell.state_size:
                n = 1 if isinstance(size, int) else len(size)
                part, flat = flat[:n], flat[n:]
                grouped.append(part[0] if isinstance(size, int) else part)
            initial_state = grouped
        n_expected = len(nest.flatten(self.state_size))
        n_given = len(nest.flatten(initial_state))
        if n_given != n_expected:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects {n_expected} initial state tensor(s), "
                f"received {n_given}."
            )

        def convert(s: Any) -> Tensor:
            t = s if isinstance(s, Tensor) else tf.convert_to_tensor(s)
            if t.dtype != tf.as_dtype(dtype):
                t = tf.cast(t, dtype)
            return t

        return nest.map_structure(convert, initial_state)

    # -- call -------------------------------------------------------------------------------
    def call(self, sequences: Tensor, initial_state: Any = None, mask: Any = None,
             training: Any = None) -> Any:
        # 1. Inputs: float sequences, a bool (batch, time) mask.
        if sequences.dtype != tf.as_dtype(self.compute_dtype) and not sequences.dtype.is_floating:
            sequences = tf.cast(sequences, self.compute_dtype)
        rank = getattr(self, "sequence_rank", 3)
        if sequences.ndim != rank:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expected input of rank {rank} (batch, time, "
                f"{'features' if rank == 3 else '...'}), received shape {tuple(sequences.shape)}."
            )
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is not None:
            if not isinstance(mask, Tensor):
                mask = tf.convert_to_tensor(mask)
            if mask.dtype != tf.bool:
                mask = tf.cast(mask, "bool")
            if mask.ndim == 3:
                mask = tf.reduce_any(mask, axis=-1)
        # An unknown batch (a trace with input_signature [None, ...]) is read when the graph
        # runs, as Keras does with ops.shape(sequences)[0].
        batch = sequences.shape[0]
        batch = tf.shape(sequences)[0] if batch is None else int(batch)
        # 2. Initial states: given, carried (stateful), or the cell's zeros.
        if initial_state is None:
            if self.stateful:
                if self._carried is None:
                    self._expected_batch_size = batch
                    with tf.init_scope():
                        self._carried = _CarriedStates(self.get_initial_state(batch))
                initial_state = self._carried.variables
            else:
                initial_state = self.get_initial_state(batch)
        initial_state = self._normalize_initial_state(initial_state)
        if self.stateful and self._expected_batch_size is not None and batch != self._expected_batch_size:
            raise ValueError(
                "If an RNN is stateful, the batch size of the input sequences must be the same as the "
                f"batch size of the initial state.\n- Expected batch size: {self._expected_batch_size}\n"
                f"- Received batch size: {batch}"
            )
        # 3. The whole sequence: one fused op for the built-in cells, else a loop over time steps.
        try:
            result = None
            fused = getattr(self.cell, "_fused_sequence", None)
            if fused is not None:
                fused_args = (self, sequences, initial_state, mask, training)
                # The fused op reads the cell's weights without calling the cell: cast them here.
                cast = getattr(self.cell, "_mixed", False) and self.cell.autocast
                result = self.cell._autocast_call(fused, fused_args, {}) if cast else fused(*fused_args)
            if result is None:
                result = self._loop(sequences, initial_state, mask, training)
        finally:
            _reset_dropout_masks(self.cell)
        output, states = result
        # 4. Stateful layers keep the final states (assigned: no gradient history).
        if self.stateful:
            self._carried.assign(states)
        if self.return_state:
            return [output, *states]
        return output

    def _loop(self, sequences: Tensor, states: list, mask: Tensor | None, training: Any) -> tuple:
        """Apply the cell step by step (Keras's masking semantics), with Tensor ops."""
        cell = self.cell
        kwargs = {}
        if isinstance(cell, Layer):
            if _accepts(cell, "training"):
                kwargs["training"] = training
        call = cell if callable(cell) else cell.call
        if sequences.shape[1] is None:
            return self._while_loop(call, kwargs, sequences, states, mask)
        steps = tf.unstack(sequences, axis=1)
        T = len(steps)
        order = range(T - 1, -1, -1) if self.go_backwards else range(T)
        outputs: list = []
        prev = None
        for t in order:
            out, new_states = call(steps[t], states, **kwargs)
            if not isinstance(new_states, (list, tuple)):
                new_states = [new_states]
            new_states = list(new_states)
            if mask is not None:
                m = mask[:, t:t + 1]
                if prev is None:
                    prev = tf.zeros_like(out)
                out = tf.where(_expand(m, out), out, tf.zeros_like(out) if self.zero_output_for_mask else prev)
                flat_new = [tf.where(_expand(m, n), n, o)
                            for n, o in zip(nest.flatten(new_states), nest.flatten(states), strict=True)]
                new_states = nest.pack_sequence_as(states, flat_new)
                prev = out
            if self.return_sequences:
                outputs.append(out)
            else:
                outputs = [out]
            states = new_states
        output = tf.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return output, list(states)

    def _while_loop(self, call: Any, kwargs: dict, sequences: Tensor, states: list,
                    mask: Tensor | None) -> tuple:
        """`_loop` for a trace whose time axis is unknown (input_signature [None, None, F]):
        step 0 runs before a `tf.while_loop` over the others (so the output's shape and the
        cells' dropout masks are known before the loop), outputs gathered along the time axis."""
        length = tf.shape(sequences)[1]

        def step(t: Tensor, prev: Any, states: Any) -> tuple:
            index = length - 1 - t if self.go_backwards else t
            out, new_states = call(tf.gather(sequences, index, axis=1), states, **kwargs)
            new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
            if mask is not None:
                m = tf.expand_dims(tf.gather(mask, index, axis=1), 1)
                if prev is None:
                    prev = tf.zeros_like(out)
                out = tf.where(_expand(m, out), out, tf.zeros_like(out) if self.zero_output_for_mask else prev)
                flat_new = [tf.where(_expand(m, n), n, o)
                            for n, o in zip(nest.flatten(new_states), nest.flatten(states), strict=True)]
                new_states = nest.pack_sequence_as(states, flat_new)
            return out, new_states

        out, states = step(tf.constant(0), None, states)
        seq = tf.expand_dims(out, 1) if self.return_sequences else out

        def body(t: Tensor, out: Tensor, seq: Tensor, states: list) -> tuple:
            out, states = step(t, out, states)
            seq = tf.concat([seq, tf.expand_dims(out, 1)], axis=1) if self.return_sequences else out
            return t + 1, out, seq, states

        invariants = [tf.TensorShape([]), tf.TensorShape(out.shape), tf.TensorShape(seq.shape),
                      nest.map_structure(lambda s: tf.TensorShape(s.shape), states)]
        if self.return_sequences:
            invariants[2] = tf.TensorShape([out.shape[0], None, *out.shape[1:]])
        _, out, seq, states = tf.while_loop(lambda t, *_: t < length, body, [tf.constant(1), out, seq, states],
                                            shape_invariants=invariants)
        return (seq if self.return_sequences else out), list(states)

    # -- config -----------------------------------------------------------------------------
    def get_config(self) -> dict:
        config = super().get_config()
        config.update({
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
            "cell": serialize_layer(self.cell),
        })
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> RNN:
        config = dict(config)
        cell = deserialize_layer(config.pop("cell"), custom_objects)
        return cls(cell, **config)


class _CarriedStates:
    """A stateful layer's states: non-trainable variables in the initial states' structure,
    held outside the layer's weights (as Keras 3's are not weights)."""

    def __init__(self, initial: Any) -> None:
        self.variables = nest.map_structure(
            lambda s: tf.Variable(s, trainable=False, name="rnn_state"), initial)

    def assign(self, values: Any) -> None:
        for v, s in zip(nest.flatten(self.variables), nest.flatten(values), strict=True):
            v.assign(s)


# The cell arguments that SimpleRNN / LSTM / GRU expose as their own attributes and config.
CELL_ATTRIBUTES = (
    "units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias", "reset_after",
    "kernel_initializer", "recurrent_initializer", "bias_initializer", "kernel_regularizer",
    "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint",
    "bias_constraint", "dropout", "recurrent_dropout", "seed",
)


def cell_attribute(layer: RNN, name: str) -> Any:
    """Read a cell argument (`layer.units`, `layer.dropout`, ...) through the layer."""
    if name in CELL_ATTRIBUTES:
        cell = layer.__dict__.get("cell")
        if cell is not None and hasattr(cell, name):
            return getattr(cell, name)
    raise AttributeError(f"{type(layer).__name__!r} object has no attribute {name!r}")


def cell_layer_config(layer: RNN) -> dict:
    """The config of SimpleRNN / LSTM / GRU: RNN's without the cell, plus the cell's arguments."""
    config = RNN.get_config(layer)
    del config["cell"]
    cell_config = layer.cell.get_config()
    for key in ("name", "trainable", "dtype", "batch_input_shape"):
        cell_config.pop(key, None)
    from tapeflow.keras import regularizers

    config["activity_regularizer"] = regularizers.serialize(layer.activity_regularizer)
    config.update(cell_config)
    return config


def _expand(m: Tensor, like: Tensor) -> Tensor:
    """A (batch, 1) mask broadcastable against `like` (batch, ...)."""
    while m.ndim < like.ndim:
        m = tf.expand_dims(m, -1)
    return m


def _accepts(layer: Layer, arg: str) -> bool:
    import inspect

    try:
        params = inspect.signature(type(layer).call).parameters
    except (TypeError, ValueError):
        return False
    return arg in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _reset_dropout_masks(cell: Any) -> None:
    if isinstance(cell, DropoutRNNCell):
        cell.reset_dropout_mask()
        cell.reset_recurrent_dropout_mask()
    if isinstance(cell, StackedRNNCells):
        for c in cell.cells:
            _reset_dropout_masks(c)
