"""Optimisation passes over a traced graph, run once per concrete function before it is lowered.

Each pass rewrites nodes in place into an equivalent graph (same values, same gradients of any
order) and returns how many rewrites it made, so tests can check that it fired. Dead-code
elimination (`executor.prune_dead_nodes`) runs after them and drops what a rewrite disconnected.
Constant folding needs no pass: an op whose inputs are all known values runs while tracing, so
the graph holds its result as a constant (variables are read on every call, never folded).
`plan_buffer_reuse` runs last, on the pruned nodes, when the array executor lowers them.
"""

from __future__ import annotations

import copy
from typing import Any

from tapeflow.tensor import Tensor


def _consumers(nodes: list, outputs: list) -> dict:
    """id(graph tensor) -> number of reads (node inputs, plus one per appearance as an output)."""
    uses: dict = {}
    for node in nodes:
        for x in node.inputs:
            uses[id(x)] = uses.get(id(x), 0) + 1
    for t in outputs:
        if isinstance(t, Tensor):
            uses[id(t)] = uses.get(id(t), 0) + 1
    return uses


def _replace_function(node: Any, fn: Any, inputs: list) -> None:
    node.function = fn
    node.inputs = list(inputs)
    node.op = lambda *xs: copy.copy(fn)(*xs)


def fold_relu_into_max_pool(nodes: list, outputs: list) -> int:
    """Skip a relu's gradient mask where a max-pool's gradient feeds it alone.

    Pattern: `dh = MaxPoolBackprop(h, y, dy)` read only by the relu's gradient with the mask
    `h > 0` — `SelectGrad("positive")(h, dh)` after `tf.nn.relu`, or a fused convolution's
    `ConvBackprop(activation="relu")(dh, x, w, h)`. The pool sends gradient only to each
    window's maximum, where h equals the pooled y, so the mask there is (y > 0): the pool's
    gradient takes `positive_only` (a mask over the small pooled tensor) and the relu's mask
    over the large h is dropped (the SelectGrad's readers read dh, unless its result is itself a
    returned value; the convolution's gradient becomes linear).
    """
    from tapeflow.ops.conv_primitives import ConvBackprop
    from tapeflow.ops.elementwise import SelectGrad
    from tapeflow.ops.pool import MaxPoolBackprop

    uses = _consumers(nodes, outputs)
    returned = {id(t) for t in outputs if isinstance(t, Tensor)}
    pools = {}
    for node in nodes:
        fn = getattr(node, "function", None)
        if type(fn) is MaxPoolBackprop and not fn.positive_only and uses.get(id(node.outputs[0])) == 1:
            pools[id(node.outputs[0])] = node
    folded = 0
    renamed: dict = {}
    for node in nodes:
        if renamed:
            node.inputs = [renamed.get(id(x), x) for x in node.inputs]
        fn = getattr(node, "function", None)
        if type(fn) is SelectGrad and fn.test == "positive" and not fn.params and len(node.inputs) == 2:
            h, dh = node.inputs
            pool = pools.get(id(dh))
            if pool is None or pool.inputs[0] is not h or id(node.outputs[0]) in returned:
                continue
            renamed[id(node.outputs[0])] = dh
        elif type(fn) is ConvBackprop and fn.activation == "relu":
            dh, x, w, h = node.inputs
            pool = pools.get(id(dh))
            if pool is None or pool.inputs[0] is not h:
                continue
            linear = copy.copy(fn)
            linear.activation = "linear"
            _replace_function(node, linear, [dh, x, w])
        else:
            continue
        positive = copy.copy(pool.function)
        positive.positive_only = True
        _replace_function(pool, positive, pool.inputs)
        del pools[id(dh)]
        folded += 1
    return folded


def drop_unused_reserves(nodes: list, outputs: list) -> int:
    """Run a primitive without its reserve space where no node reads it.

    A primitive with a `reserve` flag (the fused RNN sequences) writes, in its last output,
    what its gradient primitive reads (the backward multipliers of every time step). In a
    graph where nothing reads that output — inference, or a loss nobody differentiates —
    computing it is wasted work: the node's function becomes a copy with `reserve` off,
    whose last output is an empty array.
    """
    uses = _consumers(nodes, outputs)
    dropped = 0
    for node in nodes:
        fn = getattr(node, "function", None)
        if getattr(fn, "reserve", False) is True and not uses.get(id(node.outputs[-1])):
            lean = copy.copy(fn)
            lean.reserve = False
            _replace_function(node, lean, node.inputs)
            dropped += 1
    return dropped


def fuse_bias_activation(nodes: list, outputs: list) -> int:
    """`relu(x @ w + b)` (or tanh, or no activation) as one fused Dense primitive; a relu, tanh
    or sigmoid that alone reads a linear Dense primitive joins it (Keras's Dense keeps its
    sigmoid separate so that cross-entropy can find the logits; a graph that never asks for
    them fuses it here).

    Pattern: a 2-D `MatMul(x, w)` without transposes whose product only an `Add` with a 1-D
    bias reads, optionally followed by a relu, tanh or sigmoid that alone reads the sum. The last node
    becomes `ops.dense.Dense(activation)(x, w, b)` with the same output, which adds the bias
    and applies the activation in place on the product: two fewer arrays and passes. Values
    are bit for bit the same (the same product, sum and activation). The unfused nodes are left
    for dead-code elimination; gradients already built at trace time read only x, w and the
    activation's output, so they are unchanged.
    """
    from tapeflow.ops.dense import Dense
    from tapeflow.ops.elementwise import Add, Relu, Sigmoid, Tanh
    from tapeflow.ops.linalg import MatMul

    activations = {Relu: "relu", Tanh: "tanh", Sigmoid: "sigmoid"}

    uses = _consumers(nodes, outputs)
    returned = {id(t) for t in outputs if isinstance(t, Tensor)}
    producer = {id(o): n for n in nodes for o in n.outputs}
    activated = set()  # ids of sums that an activation alone reads (fused from the activation)
    for n in nodes:
        if type(getattr(n, "function", None)) in activations:
            activated.add(id(n.inputs[0]))

    def sole_reader(t: Any) -> bool:
        return uses.get(id(t)) == 1 and id(t) not in returned

    def product(add: Any) -> tuple | None:
        """(x, w, b) when `add` is Add(x @ w, b) as the pattern asks."""
        for m, b in (add.inputs, add.inputs[::-1]):
            mm = producer.get(id(m))
            fn = getattr(mm, "function", None)
            if type(fn) is not MatMul or fn.transpose_a or fn.transpose_b or not sole_reader(m):
                continue
            x, w = mm.inputs
            if any(t.shape.rank is None for t in (x, w, b)):
                continue
            shapes = [tuple(t.shape) for t in (x, w, b)]
            if (len(shapes[0]) == 2 and len(shapes[1]) == 2 and shapes[2] == shapes[1][1:]
                    and None not in shapes[0] + shapes[1] and x.dtype == w.dtype == b.dtype
                    and x.dtype.is_floating):
                return x, w, b
        return None

    fused = 0
    done: set = set()
    for node in nodes:
        fn = getattr(node, "function", None)
        activation = activations.get(type(fn))
        if activation is not None:
            add = producer.get(id(node.inputs[0]))
            linear = getattr(add, "function", None)
            if type(linear) is Dense and linear.activation == "linear" and sole_reader(node.inputs[0]):
                _replace_function(node, Dense(activation, linear.has_bias), list(add.inputs))
                fused += 1
                continue
            if type(getattr(add, "function", None)) is not Add or not sole_reader(node.inputs[0]):
                continue
        elif type(fn) is Add and not (id(node.outputs[0]) in activated and sole_reader(node.outputs[0])):
            add, activation = node, "linear"
        else:
            continue
        if id(add) in done:
            continue
        operands = product(add)
        if operands is None:
            continue
        _replace_function(node, Dense(activation, True), list(operands))
        done.add(id(add))
        fused += 1
    return fused


def _known_shape(t: Any) -> tuple | None:
    """A graph tensor's static shape when every dimension is known, else None."""
    shape = getattr(t, "shape", None)
    if shape is None or getattr(shape, "dims", ()) is None:
        return None
    shape = tuple(shape)
    return None if None in shape else shape


# Smallest buffer (elements) worth handing on: below it NumPy's allocator is cheaper than the
# keyword-argument call of a ufunc with `out=` (XOR-sized steps got slower with reuse).
REUSE_MIN_ELEMENTS = 1 << 14


def plan_buffer_reuse(nodes: list, outputs: list) -> dict:
    """Where a primitive may write its output into an input's buffer: {node index: input index}.

    For the array executor, over the pruned nodes in run order. An input's buffer is handed on
    when (1) a node of this graph made it with a primitive whose outputs are fresh arrays, so no
    variable, argument, constant or view shares it; (2) every node that reads it is such a
    primitive too, so no reader kept a view or a reference; (3) this node is its last reader
    and no output returns it; (4) it has this node's output shape (fully known, rank >= 1:
    rank-0 results may be NumPy scalars) and dtype, and at least REUSE_MIN_ELEMENTS elements;
    (5) the node's primitive has `forward_into`.
    The values are the same as without reuse (the same ufuncs, into existing memory); it saves
    an allocation and the first-touch of fresh pages per reused buffer.
    """
    last_read: dict = {}
    only_fresh_readers: dict = {}
    for k, node in enumerate(nodes):
        fresh = getattr(getattr(node, "function", None), "fresh_outputs", False)
        for x in node.inputs:
            last_read[id(x)] = k
            only_fresh_readers[id(x)] = only_fresh_readers.get(id(x), True) and fresh
    returned = {id(t) for t in outputs if isinstance(t, Tensor)}
    made_fresh: set = set()
    plan: dict = {}
    for k, node in enumerate(nodes):
        fn = getattr(node, "function", None)
        if fn is None:
            continue
        if fn.forward_into is not None and len(node.outputs) == 1:
            out = node.outputs[0]
            shape = _known_shape(out)
            size = 1
            for d in shape or ():
                size *= d
            if shape and size >= REUSE_MIN_ELEMENTS:
                for i, x in enumerate(node.inputs):
                    if (id(x) in made_fresh and last_read[id(x)] == k and only_fresh_readers[id(x)]
                            and id(x) not in returned and x.dtype == out.dtype
                            and _known_shape(x) == shape):
                        plan[k] = i
                        made_fresh.discard(id(x))
                        break
        if fn.fresh_outputs:
            made_fresh.update(id(o) for o in node.outputs)
    return plan


def use_stand_ins(nodes: list, outputs: list) -> int:
    """Swap a node's primitive for its `stand_in` where every reader of its output accepts it.

    A node gets `stand_in = (function, accepts)` (`accepts(reader node) -> bool`) from whoever
    decided the value is not needed as computed: tf.distribute, for a weight gradient
    x^T @ dy that the workers all-reduce from x and dy (`distribute.overlap.
    ExchangedWeightGradient`: the optimizer update receives the reduced gradient, so the local
    product is never read). Any other reader (a clipping op, a returned gradient) keeps the
    primitive; so does a returned output.
    """
    readers: dict = {}
    for node in nodes:
        for x in node.inputs:
            readers.setdefault(id(x), []).append(node)
    returned = {id(t) for t in outputs if isinstance(t, Tensor)}
    swapped = 0
    for node in nodes:
        stand_in = getattr(node, "stand_in", None)
        if stand_in is None or len(node.outputs) != 1 or id(node.outputs[0]) in returned:
            continue
        fn, accepts = stand_in
        if all(accepts(reader) for reader in readers.get(id(node.outputs[0]), [])):
            _replace_function(node, fn, node.inputs)
            swapped += 1
    return swapped


def optimize(nodes: list, outputs: list) -> dict:
    """Run every pass; returns {pass name: rewrites made}."""
    return {"use_stand_ins": use_stand_ins(nodes, outputs),
            "fold_relu_into_max_pool": fold_relu_into_max_pool(nodes, outputs),
            "drop_unused_reserves": drop_unused_reserves(nodes, outputs),
            "fuse_bias_activation": fuse_bias_activation(nodes, outputs)}
