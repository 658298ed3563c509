"""Fused recurrent sequences: a whole SimpleRNN / LSTM / GRU pass over time as one primitive.

A recurrent layer built from Tensor ops costs about ten ops per time step forward and twenty
backward, each with its Python dispatch and tape record; for 28 steps that is ~850 ops per
training step. Here one `Function` runs the whole sequence:

* forward: a loop over time does one GEMM per step (LSTM / SimpleRNN: [W; b; R]^T @ [x; 1; h]
  gives the pre-activations directly; GRU: the input projection of all steps is one GEMM up
  front) and a few in-place ufuncs, writing into preallocated buffers. Each step also stores
  the multipliers its backward step needs (activation derivatives times their partners),
  computed while the step's values are in cache, in the op's last output: the reserve space
  (as TF's CudnnRNN), one byte array that also holds the inputs and states in the kernels'
  layout. An eager call no tape records, and a graph whose reserve nobody reads (inference),
  run without it (`Function.reserve`, `tracing.passes.drop_unused_reserves`);
* backward (backpropagation through time) is its own primitive, `RecurrenceGrad`, reading the
  reserve: the loop over time does one GEMM and a few ufuncs per step, and the kernel, bias and
  recurrent-kernel gradients come from one GEMM over the whole sequence ([x; 1; h]^T dZ).

Arrays are feature-major inside ((units, batch) per step, so each gate is one contiguous
block); work buffers private to a call come from a small pool (`_POOL`) and go back to it when
the call is done: fresh multi-megabyte arrays cost page faults on every call.

The gradient of `RecurrenceGrad` (higher-order gradients) differentiates the sequence's
gradient written with Tensor ops (`reference` under a nested tape), so every derivative stays
differentiable. The same reference implementation is the test oracle of the fused kernels.

Only the time loop is a Python loop; everything inside a step is vectorised over the batch.
Shapes: x (batch, time, features), states (batch, units), kernel (features, gates * units),
recurrent_kernel (units, gates * units), mask (batch, time) bool. Gate orders are Keras's:
LSTM i, f, c, o; GRU z, r, h.
"""

from __future__ import annotations

import copy
from typing import Any

from tapeflow import backend
from tapeflow.autodiff.function import Function, formula_vjp
from tapeflow.backend import kernels
from tapeflow.errors import InvalidArgumentError
from tapeflow.ops import elementwise as ew
from tapeflow.ops import linalg as la
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor

# Activations the fused kernels know (their derivative is a function of their output).
ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear", "hard_sigmoid")


# ---------------------------------------------------------------------------------------------
# Work-buffer pool
# ---------------------------------------------------------------------------------------------

class _BufferPool:
    """Recycled work arrays keyed by (array module, shape, dtype).

    Only arrays that nothing else references are given back: buffers private to one call, and
    a call's saved buffers once its backward pass has run.
    """

    def __init__(self, per_key: int = 4) -> None:
        self.per_key = per_key
        self.free: dict = {}

    def take(self, xp: Any, shape: tuple, dtype: Any) -> Any:
        stack = self.free.get((id(xp), shape, str(dtype)))
        if stack:
            return stack.pop()
        return xp.empty(shape, dtype=dtype)

    def give(self, *arrays: Any) -> None:
        for a in arrays:
            if a is None:
                continue
            key = (id(backend.get_xp(a)), a.shape, str(a.dtype))
            stack = self.free.setdefault(key, [])
            if len(stack) < self.per_key:
                stack.append(a)

    def clear(self) -> None:
        self.free.clear()


_POOL = _BufferPool()


# ---------------------------------------------------------------------------------------------
# Activations on arrays (in place) and their derivatives from the output
# ---------------------------------------------------------------------------------------------

def _act_(name: str, a: Any, xp: Any) -> None:
    """Apply activation `name` to the array (view) `a` in place."""
    if name == "tanh":
        xp.tanh(a, out=a)
    elif name == "sigmoid":
        # NOTE: 0.5 * tanh(0.5 z) + 0.5 is the logistic function without exp overflow.
        a *= 0.5
        xp.tanh(a, out=a)
        a *= 0.5
        a += 0.5
    elif name == "relu":
        xp.maximum(a, 0, out=a)
    elif name == "hard_sigmoid":
        a += 3.0
        xp.clip(a, 0.0, 6.0, out=a)
        a /= 6.0
    elif name != "linear":
        raise ValueError(f"unsupported activation {name!r}")


def _dact_(name: str, y: Any, out: Any, xp: Any) -> None:
    """out = the activation's derivative at the point where it output `y`."""
    if name == "tanh":
        xp.multiply(y, y, out=out)
        xp.subtract(1, out, out=out)
    elif name == "sigmoid":
        xp.subtract(1, y, out=out)
        out *= y
    elif name == "relu":
        xp.greater(y, 0, out=out)
    elif name == "hard_sigmoid":
        xp.logical_and(y > 0, y < 1, out=out)
        out /= 6.0
    else:
        out[...] = 1


def _act_tensor(name: str, x: Tensor) -> Tensor:
    """The activation as Tensor ops (for the differentiable reference)."""
    if name == "tanh":
        return ew.tanh(x)
    if name == "sigmoid":
        return ew.sigmoid(x)
    if name == "relu":
        return ew.relu(x)
    if name == "hard_sigmoid":
        return ew.divide(ew.clip_by_value(ew.add(x, 3.0), 0.0, 6.0), 6.0)
    return x


def _stacked_transposed(xp: Any, parts: list, dtype: Any) -> Any:
    """[p_0; p_1; ...]^T written in one pass: (G, rows) from parts of shape (rows_i, G), bias
    vectors (G,) as one row, or None (a row of zeros, for a missing bias)."""
    G = next(p.shape[-1] for p in parts if p is not None)
    rows = [1 if p is None or p.ndim == 1 else p.shape[0] for p in parts]
    out = xp.empty((G, sum(rows)), dtype=dtype)
    at = 0
    for p, n in zip(parts, rows, strict=True):
        if p is None:
            out[:, at] = 0
        elif p.ndim == 1:
            out[:, at] = p
        else:
            out[:, at:at + n] = p.T
        at += n
    return out


# ---------------------------------------------------------------------------------------------
# The shared sequence machinery
# ---------------------------------------------------------------------------------------------

class _Recurrence(Function):
    """Base of the fused sequence primitives.

    Inputs: x, *initial_states, kernel, recurrent_kernel, [bias], [mask].
    Outputs: output (the sequence (batch, time, units) or the last step (batch, units)), the
    final states, then the reserve space (uint8, read by `RecurrenceGrad`; empty when
    `reserve` is false).
    Masked steps keep the previous states; their output is the previous output (or zeros with
    `zero_output_for_mask`), as in Keras. With `go_backwards` the sequence is read from its end
    and the output sequence is in that (reversed) order.

    Layout: the kernels work feature-major — every per-step array is (features, batch), so each
    gate is one contiguous block — and keep inputs, a row of ones and states in one buffer
    XH (F + 1 + U, T + 1, B): rows [0, F) hold x, row F ones, rows F+1.. the hidden state, time
    column s the values entering step s. The per-step GEMMs read their operands in place
    (XH[:, s]), and the backward pass gets dW, db and dR from one GEMM (XH @ dZ^T).

    Subclasses implement `_saved_shapes` (what the reserve holds besides XH), `_loop` (the
    forward time loop, storing backward multipliers in `self._saved` when there is a reserve)
    and `_backward_arrays` (run by `RecurrenceGrad` on views of the reserve).
    """

    n_states = 1
    gates = 1

    def __init__(self, activation: str, recurrent_activation: str, has_bias: bool, has_mask: bool,
                 go_backwards: bool, return_sequences: bool, zero_output_for_mask: bool) -> None:
        self.activation = activation
        self.recurrent_activation = recurrent_activation
        self.has_bias = has_bias
        self.has_mask = has_mask
        self.go_backwards = go_backwards
        self.return_sequences = return_sequences
        self.zero_output_for_mask = zero_output_for_mask
        self.n_outputs = 2 + self.n_states
        self.reserve = True
        self._saved: dict | None = None

    def _reserve_layout(self, T: int, F: int, U: int, B: int, itemsize: int) -> tuple:
        """(total bytes, {name: (byte offset, shape)}) of the reserve space, XH first."""
        shapes = {"XH": (F + 1 + U, T + 1, B), **self._saved_shapes(T, U, B)}
        layout, offset = {}, 0
        for name, shape in shapes.items():
            layout[name] = (offset, shape)
            n = itemsize
            for d in shape:
                n *= d
            offset += -(-n // 64) * 64  # each array 64-byte aligned
        return offset, layout

    @staticmethod
    def _views(reserve: Any, layout: dict, dtype: Any) -> dict:
        """The reserve's arrays, as views of its bytes."""
        out = {}
        for name, (offset, shape) in layout.items():
            n = 1
            for d in shape:
                n *= d
            nbytes = n * dtype.itemsize
            out[name] = reserve[offset:offset + nbytes].view(dtype).reshape(shape)
        return out

    # -- argument unpacking -----------------------------------------------------------------
    def _split(self, args: tuple) -> tuple:
        n = self.n_states
        x = args[0]
        states = args[1:1 + n]
        kernel, recurrent_kernel = args[1 + n], args[2 + n]
        bias = args[3 + n] if self.has_bias else None
        mask = args[-1] if self.has_mask else None
        return x, states, kernel, recurrent_kernel, bias, mask

    # -- forward ----------------------------------------------------------------------------
    def forward(self, *args: Any) -> tuple:
        x, states, kernel, recurrent_kernel, bias, mask = self._split(args)
        xp = backend.get_xp(x)
        B, T, F = x.shape
        U = recurrent_kernel.shape[0]
        dt = x.dtype
        pool = _POOL
        self._F, self._U = F, U
        # 1. XH: inputs (processing order), ones, initial state. In the reserve when there is
        #    one; else the call's own array when the output sequence is a view of it, or pooled.
        keep = self.return_sequences and mask is None
        shape = (F + 1 + U, T + 1, B)
        if self.reserve:
            nbytes, layout = self._reserve_layout(T, F, U, B, dt.itemsize)
            reserve = xp.empty(nbytes, dtype=xp.uint8)
            views = self._views(reserve, layout, dt)
            XH = views.pop("XH")
            self._saved = views
        else:
            reserve = xp.empty(0, dtype=xp.uint8)
            XH = xp.empty(shape, dtype=dt) if keep else pool.take(xp, shape, dt)
            self._saved = None
        self._fill_inputs(xp, XH, x, states[0])
        M = self._processing_mask(xp, mask)
        # 2. The time loop. HN[s] (masked calls): the cell's raw new state at step s.
        HN = pool.take(xp, (T, U, B), dt) if M is not None else None
        finals = self._loop(xp, XH, HN, states, kernel, recurrent_kernel, bias, M)
        # 3. Outputs: the sequence or the last step, and the final states, (batch, ...) again.
        H = XH[F + 1:]
        if M is None:
            seq = H[:, 1:]
        else:
            seq = self._masked_outputs(xp, HN, M)
        y = seq.transpose(2, 1, 0) if self.return_sequences else seq[:, T - 1].T.copy()
        out = (y, H[:, T].T.copy(), *[f.T.copy() for f in finals], reserve)
        if not self.reserve and not keep:
            pool.give(XH)
        pool.give(HN)
        self._saved = None
        return out

    def _fill_inputs(self, xp: Any, XH: Any, x: Any, h0: Any) -> None:
        F = x.shape[2]
        T = x.shape[1]
        xt = x.transpose(2, 1, 0)  # (F, T, B)
        XH[:F, :T] = xt[:, ::-1] if self.go_backwards else xt
        XH[F] = 1
        XH[F + 1:, 0] = h0.T

    def _processing_mask(self, xp: Any, mask: Any) -> Any:
        """The mask in processing order, M (T, 1, B) bool, or None."""
        if mask is None:
            return None
        M = mask.T[::-1] if self.go_backwards else mask.T
        return xp.ascontiguousarray(M, dtype=bool)[:, None, :]

    def _masked_outputs(self, xp: Any, HN: Any, M: Any) -> Any:
        """The output sequence (U, T, B) of a masked call: a masked step outputs the previous
        output (or zeros), an unmasked one the cell's new state."""
        T, U, B = HN.shape
        out = xp.empty((U, T, B), dtype=HN.dtype)
        prev = xp.zeros((U, B), dtype=HN.dtype)
        for s in range(T):
            o = out[:, s]
            if self.zero_output_for_mask:
                xp.multiply(HN[s], M[s], out=o)
            else:
                xp.copyto(o, prev)
                xp.copyto(o, HN[s], where=M[s])
                prev = o
        return out

    @staticmethod
    def _carry(xp: Any, M: Any, s: int, new: Any, prev: Any, dest: Any) -> None:
        """dest = new where the step is unmasked, else prev."""
        xp.copyto(dest, prev)
        xp.copyto(dest, new, where=M[s])

    def _project_inputs(self, xp: Any, XH: Any, WbT: Any) -> Any:
        """A (G, T, B): the input projection [W; b]^T @ [x; 1] of every step, one GEMM."""
        K, T1, B = XH.shape
        F = self._F
        T = T1 - 1
        G = WbT.shape[0]
        A = _POOL.take(xp, (G, T, B), XH.dtype)
        xp.matmul(WbT, XH[:F + 1, :T].reshape(F + 1, T * B), out=A.reshape(G, T * B))
        return A

    # -- backward ---------------------------------------------------------------------------
    def backward(self, *dys: Tensor) -> tuple:
        n_in = len(self.inputs)
        wants = tuple(self.needs_input_grad[:n_in - (1 if self.has_mask else 0)])
        grad = RecurrenceGrad(self, wants)
        outs = grad(*self.inputs, self.outputs[-1], *dys[:-1])
        outs = list(outs) if isinstance(outs, tuple) else [outs]
        grads = [outs.pop(0) if w else None for w in wants]
        return (*grads, None) if self.has_mask else tuple(grads)

    def _restore(self, xp: Any, args: tuple, reserve: Any) -> None:
        """Set up the attributes `_backward_arrays` reads, from the inputs and the reserve."""
        x, states, kernel, recurrent_kernel, bias, mask = self._split(args)
        B, T, F = x.shape
        U = recurrent_kernel.shape[0]
        self._F, self._U = F, U
        _, layout = self._reserve_layout(T, F, U, B, x.dtype.itemsize)
        views = self._views(reserve, layout, x.dtype)
        self._XH = views.pop("XH")
        self._saved = views
        self._M = self._processing_mask(xp, mask)
        self._weights(xp, kernel, recurrent_kernel)

    def _weights(self, xp: Any, kernel: Any, recurrent_kernel: Any) -> None:
        """The kernels as `_backward_arrays` reads them (`_W`, `_R`, `_scale`)."""
        self._W, self._R, self._scale = kernel, recurrent_kernel, None

    def _seed_grads(self, xp: Any, dy: Any, dhT: Any) -> tuple:
        """(dh, dout, dseq), feature-major: the gradient entering the last state (U, B), the
        gradient of the last output when it is separate from the state (masked), and the
        per-step output gradients (T, U, B) in processing order (or None). dh is a new array
        (the loops write into it; with one row or unit dhT.T would be a view of the caller's)."""
        dh = dhT.T.copy()
        dout = None
        dseq = None
        if self.return_sequences:
            dseq = xp.ascontiguousarray(dy.transpose(1, 2, 0))
        elif self._M is None:
            dh += dy.T
        else:
            dout = xp.ascontiguousarray(dy.T)
        return dh, dout, dseq

    def _step_grads(self, s: int, dh: Any, dout: Any, dseq: Any) -> tuple:
        """(dh_new, dh_pass, dout) for step s: the gradient into the cell's new state, the part
        that skips the cell (masked steps), and the gradient left for the previous output."""
        g_out = None
        if dseq is not None:
            g_out = dseq[s] if dout is None else dseq[s] + dout
        elif dout is not None:
            g_out = dout
        M = self._M
        if M is None:
            return (dh if g_out is None else dh + g_out), None, None
        m = M[s]
        total = dh if g_out is None else dh + g_out
        dh_new = total * m
        dh_pass = dh - dh * m
        dout = None
        if g_out is not None and not self.zero_output_for_mask:
            dout = g_out - g_out * m
        return dh_new, dh_pass, dout

    def _dx(self, xp: Any, W: Any, dZ2: Any, T: int, B: int) -> Any:
        """dL/dx (B, T, F) from the input-projection gradients dZ2 (G, T * B)."""
        F = W.shape[0]
        dX = (W @ dZ2).reshape(F, T, B)
        if self.go_backwards:
            dX = dX[:, ::-1]
        return dX.transpose(2, 1, 0)


# ---------------------------------------------------------------------------------------------
# SimpleRNN
# ---------------------------------------------------------------------------------------------

class SimpleRNNSequence(_Recurrence):
    """h_t = activation(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel) over a whole sequence."""

    n_states = 1
    gates = 1

    def _saved_shapes(self, T: int, U: int, B: int) -> dict:
        return {"D": (T, U, B)}

    def _loop(self, xp: Any, XH: Any, HN: Any, states: tuple, W: Any, R: Any, b: Any, M: Any) -> list:
        F, U = self._F, self._U
        T, B = XH.shape[1] - 1, XH.shape[2]
        dt = XH.dtype
        act = self.activation
        saved = self._saved
        pool = _POOL
        # One GEMM per step: [W; b; R]^T @ [x_s; 1; h_s].
        WbRT = _stacked_transposed(xp, [W, b, R], XH.dtype)
        D = saved["D"] if saved is not None else None
        z = pool.take(xp, (U, B), dt)
        H = XH[F + 1:]
        for s in range(T):
            xp.matmul(WbRT, XH[:, s], out=z)
            _act_(act, z, xp)
            if D is not None:
                _dact_(act, z, D[s], xp)
            if M is None:
                H[:, s + 1] = z
            else:
                xp.copyto(HN[s], z)
                self._carry(xp, M, s, z, H[:, s], H[:, s + 1])
        pool.give(z)
        return []

    def _backward_arrays(self, dys: list) -> tuple:
        dy, dhT = dys
        XH, D, W, R = self._XH, self._saved["D"], self._W, self._R
        xp = backend.get_xp(XH)
        T, U, B = D.shape
        K = XH.shape[0]
        dZ = _POOL.take(xp, (U, T, B), D.dtype)
        dh, dout, dseq = self._seed_grads(xp, dy, dhT)
        needs = self.needs_input_grad
        for s in range(T - 1, -1, -1):
            dh_new, dh_pass, dout = self._step_grads(s, dh, dout, dseq)
            dz = dZ[:, s]
            xp.multiply(dh_new, D[s], out=dz)
            if s == 0 and not needs[1]:
                break  # the gradient of the initial state: not wanted
            dh = R @ dz
            if dh_pass is not None:
                dh += dh_pass
        dZ2 = dZ.reshape(U, T * B)
        dK = XH[:, :T].reshape(K, T * B) @ dZ2.T  # rows: dW (F), db (1), dR (U)
        F = self._F
        grads = [self._dx(xp, W, dZ2, T, B) if needs[0] else None, dh.T.copy() if needs[1] else None,
                 dK[:F] if needs[2] else None, dK[F + 1:] if needs[3] else None]
        if self.has_bias:
            grads.append(dK[F].copy() if needs[4] else None)
        if self.has_mask:
            grads.append(None)
        _POOL.give(dZ)
        return tuple(grads)

    def reference(self, *inputs: Tensor) -> tuple:
        x, states, kernel, recurrent_kernel, bias, mask = self._split(inputs)
        act = self.activation

        def step(x_t: Tensor, states: list) -> tuple:
            z = la.matmul(x_t, kernel) + la.matmul(states[0], recurrent_kernel)
            if bias is not None:
                z = z + bias
            h = _act_tensor(act, z)
            return h, [h]

        return _reference_loop(self, x, list(states), mask, step)


# ---------------------------------------------------------------------------------------------
# LSTM
# ---------------------------------------------------------------------------------------------

def _lstm_gate_rows(xp: Any, kernel: Any, recurrent_kernel: Any, bias: Any, halve: bool) -> Any:
    """[W; b; R]^T (4U, F + 1 + U), gate rows in the forward kernel's internal order (o, i, f, c),
    written in one pass from Keras's (i, f, c, o) columns; with `halve`, the sigmoid gates' rows
    (o, i, f) halved (the one-tanh sigmoid).

    With o first the three sigmoid gates (o, i, f) are one contiguous block, and the three gates
    that the cell-state gradient multiplies (i, f, c) are another.
    """
    F, G = kernel.shape
    U = G // 4
    U3 = 3 * U
    out = xp.empty((G, F + 1 + U), dtype=kernel.dtype)
    for rows, cols in ((slice(0, U), slice(U3, G)), (slice(U, G), slice(0, U3))):
        out[rows, :F] = kernel[:, cols].T
        out[rows, F] = 0 if bias is None else bias[cols]
        out[rows, F + 1:] = recurrent_kernel[:, cols].T
    if halve:
        out[:U3] *= 0.5
    return out


class LSTMSequence(_Recurrence):
    """LSTM over a whole sequence; Keras's cell: c = f*c + i*act(zc), h = o*act(c)."""

    n_states = 2
    gates = 4

    def _saved_shapes(self, T: int, U: int, B: int) -> dict:
        return {"F": (T, U, B), "D": (T, 4 * U, B), "P": (T, U, B)}

    def _loop(self, xp: Any, XH: Any, HN: Any, states: tuple, kernel: Any, recurrent_kernel: Any,
              bias: Any, M: Any) -> list:
        F, U = self._F, self._U
        T, B = XH.shape[1] - 1, XH.shape[2]
        G, U3 = 4 * U, 3 * U
        dt = XH.dtype
        act, rec = self.activation, self.recurrent_activation
        fast_sigmoid = rec == "sigmoid"
        one_tanh = fast_sigmoid and act == "tanh"
        saved = self._saved
        save = saved is not None
        pool = _POOL
        # One GEMM per step gives the gate pre-activations: [W; b; R]^T @ [x_s; 1; h_s].
        # NOTE: sigmoid(z) = 0.5 tanh(z / 2) + 0.5; halving the sigmoid gates' rows of the
        # weights once (exact in binary floating point) leaves one tanh per step, and
        # sigmoid'(z) = (1 - tanh(z / 2)^2) / 4: the backward pass folds the 1/4 into its GEMMs.
        WbRT = _lstm_gate_rows(xp, kernel, recurrent_kernel, bias, halve=fast_sigmoid)
        H = XH[F + 1:]
        c = xp.ascontiguousarray(states[1].T)
        cbuf = (xp.empty((U, B), dtype=dt), xp.empty((U, B), dtype=dt))
        tmpu = pool.take(xp, (U, B), dt)
        tc = pool.take(xp, (U, B), dt)
        # z: one step's gates (G, B), internal order, reused by every step so that it stays in
        # cache (a (T, G, B) array written once per step costs more than the step's pointwise
        # work); the backward pass reads only the forget gates of the activations (F).
        z = pool.take(xp, (G, B), dt)
        if save:
            Fg = saved["F"]
            # D: per-step multipliers of the pre-activation gradients (internal order o, i, f, c):
            #    dZ_o = dh * [act(c) o'],  dZ_{i,f,c} = dc * [c~ i', c_prev f', i c~'];
            # P = o act'(c): the path from h to c.
            D, P = saved["D"], saved["P"]
        fused = one_tanh and M is None and xp is not backend.host
        for s in range(T):
            xp.matmul(WbRT, XH[:, s], out=z)
            if fused:  # one kernel for the step's pointwise work (GPU: launches dominate)
                cn = cbuf[s % 2]
                blocks = (z[:U], z[U:2 * U], z[2 * U:U3], z[U3:], cn, H[:, s + 1])
                if save:
                    d4 = D[s].reshape(4, U, B)
                    kernels.lstm_step(xp, True)(c, *blocks, d4[0], d4[1], d4[2], d4[3], P[s])
                    xp.copyto(Fg[s], z[2 * U:U3])
                else:
                    kernels.lstm_step(xp, False)(c, *blocks)
                c = cn
                continue
            sg = z[:U3]
            if one_tanh:
                xp.tanh(z, out=z)
                if save:
                    _dact_("tanh", z, D[s], xp)
            else:
                if fast_sigmoid:
                    xp.tanh(sg, out=sg)
                    if save:
                        _dact_("tanh", sg, D[s, :U3], xp)
                else:
                    _act_(rec, sg, xp)
                    if save:
                        _dact_(rec, sg, D[s, :U3], xp)
                _act_(act, z[U3:], xp)
                if save:
                    _dact_(act, z[U3:], D[s, U3:], xp)
            if fast_sigmoid:
                sg *= 0.5
                sg += 0.5
            o, i, f, g = z[:U], z[U:2 * U], z[2 * U:U3], z[U3:]
            if save:
                xp.copyto(Fg[s], f)
            cn = cbuf[s % 2]
            xp.multiply(f, c, out=cn)
            xp.multiply(i, g, out=tmpu)
            cn += tmpu
            if act == "tanh":
                xp.tanh(cn, out=tc)
            else:
                xp.copyto(tc, cn)
                _act_(act, tc, xp)
            hn = H[:, s + 1] if M is None else HN[s]
            xp.multiply(o, tc, out=hn)
            if save:
                d4 = D[s].reshape(4, U, B)
                d4[0] *= tc
                d4[1] *= g
                d4[2] *= c
                d4[3] *= i
                p = P[s]
                _dact_(act, tc, p, xp)
                p *= o
            if M is not None:
                self._carry(xp, M, s, hn, H[:, s], H[:, s + 1])
                xp.copyto(cn, c, where=~M[s])
            c = cn
        pool.give(z, tmpu, tc)
        return [c]

    def _weights(self, xp: Any, kernel: Any, recurrent_kernel: Any) -> None:
        # The backward pass keeps Keras's gate order (i, f, c, o): dZ's rows, and so the weight
        # gradients of its one GEMM, come out in the weights' own order.
        self._W, self._R = kernel, recurrent_kernel
        self._scale = None
        if self.recurrent_activation == "sigmoid":
            U = recurrent_kernel.shape[0]
            self._scale = xp.full(4 * U, 0.25, dtype=recurrent_kernel.dtype)
            self._scale[2 * U:3 * U] = 1

    def _backward_arrays(self, dys: list) -> tuple:
        dy, dhT, dcT = dys
        XH, W, R, scale = self._XH, self._W, self._R, self._scale
        Fg, D, P = self._saved["F"], self._saved["D"], self._saved["P"]
        xp = backend.get_xp(XH)
        T, U, B = P.shape
        G, K, F = 4 * U, XH.shape[0], self._F
        # With the sigmoid trick the stored multipliers are 4x the true ones on the sigmoid
        # gates: dZ' = dZ / scale, and (R * scale) @ dZ' = R @ dZ.
        Rsc = R * scale if scale is not None else R
        D4 = D.reshape(T, 4, U, B)  # internal order (o, i, f, c)
        dZ = _POOL.take(xp, (G, T, B), D.dtype)  # Keras order (i, f, c, o)
        dh, dout, dseq = self._seed_grads(xp, dy, dhT)
        dc = dcT.T.copy()
        dct = _POOL.take(xp, (U, B), D.dtype)
        M = self._M
        fused = M is None and xp is not backend.host
        needs = self.needs_input_grad
        for s in range(T - 1, -1, -1):
            dh_new, dh_pass, dout = self._step_grads(s, dh, dout, dseq)
            dz = dZ[:, s]
            dz4 = dz.reshape(4, U, B)
            if fused:
                dc_new = xp.empty_like(dc)
                kernels.lstm_step_grad(xp)(dh_new, P[s], dc, D4[s, 0], D4[s, 1], D4[s, 2], D4[s, 3],
                                           Fg[s], dz4[3], dz4[0], dz4[1], dz4[2], dc_new)
                dc = dc_new
                dh = Rsc @ dz
                continue
            xp.multiply(dh_new, P[s], out=dct)
            if M is None:
                dct += dc
            else:
                dc_new = dc * M[s]
                dc_pass = dc - dc_new
                dct += dc_new
            xp.multiply(dh_new, D4[s, 0], out=dz4[3])
            xp.multiply(dct, D4[s, 1:], out=dz4[:3])
            if s == 0 and not (needs[1] or needs[2]):
                break  # the gradients of the initial states: not wanted
            if M is None:
                xp.multiply(dct, Fg[s], out=dc)  # dc: this call's own array
            else:
                dc = dct * Fg[s]
            if dh_pass is None and dh_new is dh:
                xp.matmul(Rsc, dz, out=dh)  # dh: read above for the last time this step
            else:
                dh = Rsc @ dz
            if dh_pass is not None:
                dh += dh_pass
                dc += dc_pass
        _POOL.give(dct)
        # Weight, bias and input gradients over the whole sequence, in Keras's gate order.
        dZ2 = dZ.reshape(G, T * B)
        dK = XH[:, :T].reshape(K, T * B) @ dZ2.T  # rows: dW (F), db (1), dR (U)
        if scale is not None:
            dK *= scale
        grads = [self._dx(xp, W * scale if scale is not None else W, dZ2, T, B) if needs[0] else None,
                 dh.T.copy() if needs[1] else None, dc.T.copy() if needs[2] else None,
                 dK[:F] if needs[3] else None, dK[F + 1:] if needs[4] else None]
        if self.has_bias:
            grads.append(dK[F].copy() if needs[5] else None)
        if self.has_mask:
            grads.append(None)
        _POOL.give(dZ)
        return tuple(grads)

    def reference(self, *inputs: Tensor) -> tuple:
        x, states, kernel, recurrent_kernel, bias, mask = self._split(inputs)
        act, rec = self.activation, self.recurrent_activation
        U = recurrent_kernel.shape[0]

        def step(x_t: Tensor, states: list) -> tuple:
            h, c = states
            z = la.matmul(x_t, kernel) + la.matmul(h, recurrent_kernel)
            if bias is not None:
                z = z + bias
            i = _act_tensor(rec, z[:, :U])
            f = _act_tensor(rec, z[:, U:2 * U])
            g = _act_tensor(act, z[:, 2 * U:3 * U])
            o = _act_tensor(rec, z[:, 3 * U:])
            c = f * c + i * g
            h = o * _act_tensor(act, c)
            return h, [h, c]

        return _reference_loop(self, x, list(states), mask, step)


# ---------------------------------------------------------------------------------------------
# GRU
# ---------------------------------------------------------------------------------------------

class GRUSequence(_Recurrence):
    """GRU over a whole sequence; Keras's cell with gates z, r, h.

    reset_after=True (Keras 3's default, cuDNN-compatible): hh = act(x_h + r * (h @ R_h + b_rh)),
    bias (2, 3U) = [input bias, recurrent bias]. reset_after=False: hh = act(x_h + (r * h) @ R_h),
    bias (3U,). Then h = z * h_prev + (1 - z) * hh.
    """

    n_states = 1
    gates = 3

    def __init__(self, activation: str, recurrent_activation: str, has_bias: bool, has_mask: bool,
                 go_backwards: bool, return_sequences: bool, zero_output_for_mask: bool,
                 reset_after: bool = True) -> None:
        super().__init__(activation, recurrent_activation, has_bias, has_mask, go_backwards,
                         return_sequences, zero_output_for_mask)
        self.reset_after = reset_after

    def _saved_shapes(self, T: int, U: int, B: int) -> dict:
        shapes = {"Z": (T, 2 * U, B), "D": (T, 3 * U, B)}
        if not self.reset_after:
            shapes["RHS"] = (U, T, B)
        return shapes

    def _loop(self, xp: Any, XH: Any, HN: Any, states: tuple, W: Any, R: Any, bias: Any, M: Any) -> list:
        F, U = self._F, self._U
        T, B = XH.shape[1] - 1, XH.shape[2]
        G, U2 = 3 * U, 2 * U
        dt = XH.dtype
        act, rec = self.activation, self.recurrent_activation
        fast_sigmoid = rec == "sigmoid"
        ra = self.reset_after
        saved = self._saved
        save = saved is not None
        pool = _POOL
        b_in = b_rec = None
        if bias is not None:
            b_in, b_rec = (bias[0], bias[1]) if ra else (bias, None)
        # The GEMMs' weights, transposed, written once: [W; b_in]^T (G, F + 1), and [b_rh; R]^T
        # (G, U + 1) reading the rows [1; h] of XH (reset-after) or R^T (G, U).
        WbT = _stacked_transposed(xp, [W, b_in], dt)
        RbT = _stacked_transposed(xp, [b_rec, R] if ra else [R], dt)
        if fast_sigmoid:
            # NOTE: as in the LSTM, halve the sigmoid gates' rows once: one tanh per step.
            WbT[:U2] *= 0.5
            RbT[:U2] *= 0.5
        A = self._project_inputs(xp, XH, WbT)
        RT_zr, RT_h = RbT[:U2], RbT[U2:]  # (contiguous row blocks)
        H = XH[F + 1:]
        rec_rows = XH[F:] if ra else H  # [1; h] or h
        tmp = pool.take(xp, (G if ra else U2, B), dt)
        tmpu = pool.take(xp, (U, B), dt)
        tmpu2 = pool.take(xp, (U, B), dt)
        # Z: the gates z, r of every step (what the backward pass reads); the candidate hh lives
        # in one reused buffer (it stays in cache), as do z, r without a reserve.
        Z = saved["Z"] if save else None
        zr = pool.take(xp, (U2, B), dt) if Z is None else None
        hh = pool.take(xp, (U, B), dt)
        if save:
            # D: per-step multipliers (z, r, h blocks): Dz = z' (h_prev - hh),
            # Dr = r' (h_prev @ R_h + b_rh) [reset_after] or r' h_prev, Dh = act'(hh) (1 - z).
            D = saved["D"]
            RHS = None if ra else saved["RHS"]  # r * h_prev per step
        for s in range(T):
            z = zr if Z is None else Z[s]
            hp = H[:, s]
            if ra:
                xp.matmul(RbT, rec_rows[:, s], out=tmp)
            else:
                xp.matmul(RT_zr, hp, out=tmp)
            sg = z[:U2]
            xp.add(A[:U2, s], tmp[:U2], out=sg)
            if fast_sigmoid:
                xp.tanh(sg, out=sg)
                if save:
                    _dact_("tanh", sg, D[s, :U2], xp)
                sg *= 0.5
                sg += 0.5
            else:
                _act_(rec, sg, xp)
                if save:
                    _dact_(rec, sg, D[s, :U2], xp)
            zg, r = z[:U], z[U:U2]
            if ra:
                rh_lin = tmp[U2:]
                if save:
                    D[s, U:U2] *= rh_lin
                xp.multiply(r, rh_lin, out=hh)
            else:
                rhp = RHS[:, s] if save else tmpu2
                xp.multiply(r, hp, out=rhp)
                xp.matmul(RT_h, rhp, out=hh)
                if save:
                    D[s, U:U2] *= hp
            hh += A[U2:, s]
            _act_(act, hh, xp)
            xp.subtract(hp, hh, out=tmpu)  # h_prev - hh
            if save:
                d = D[s]
                _dact_(act, hh, d[U2:], xp)
                xp.subtract(1, zg, out=tmpu2)
                d[U2:] *= tmpu2
                d[:U] *= tmpu
            tmpu *= zg
            hn = H[:, s + 1] if M is None else HN[s]
            xp.add(hh, tmpu, out=hn)  # h = hh + z (h_prev - hh)
            if M is not None:
                self._carry(xp, M, s, hn, hp, H[:, s + 1])
        pool.give(A, tmp, tmpu, tmpu2, zr, hh)
        return []

    def _weights(self, xp: Any, kernel: Any, recurrent_kernel: Any) -> None:
        self._W, self._R = kernel, recurrent_kernel
        self._scale = _sigmoid_scale(xp, self.recurrent_activation, 3, 2, recurrent_kernel)

    def _backward_arrays(self, dys: list) -> tuple:
        dy, dhT = dys
        XH, W, R, scale = self._XH, self._W, self._R, self._scale
        Z, D = self._saved["Z"], self._saved["D"]
        RHS = self._saved.get("RHS")
        xp = backend.get_xp(XH)
        T, G, B = D.shape
        U, F = G // 3, self._F
        U2 = 2 * U
        ra = self.reset_after
        # Stored multipliers of the sigmoid gates are 4x the true ones: dZ' = dZ / scale.
        Rsc = R * scale if scale is not None else R
        if not ra:
            R_zr, R_h = xp.ascontiguousarray(Rsc[:, :U2]), xp.ascontiguousarray(R[:, U2:])
        dG = _POOL.take(xp, (G, T, B), Z.dtype)  # grads of the input projection (pre-activation)
        dRZ = _POOL.take(xp, (G, T, B), Z.dtype) if ra else None  # grads of [b_rh; R]^T [1; h]
        dh, dout, dseq = self._seed_grads(xp, dy, dhT)
        needs = self.needs_input_grad
        for s in range(T - 1, -1, -1):
            dh_new, dh_pass, dout = self._step_grads(s, dh, dout, dseq)
            tail = s == 0 and not needs[1]  # the initial state's gradient: not wanted
            d = D[s]
            zg, r = Z[s, :U], Z[s, U:U2]
            dg = dG[:, s]
            dhh = dg[U2:]
            xp.multiply(dh_new, d[:U], out=dg[:U])
            xp.multiply(dh_new, d[U2:], out=dhh)
            if ra:
                xp.multiply(dhh, d[U:U2], out=dg[U:U2])
                drz = dRZ[:, s]
                drz[:U2] = dg[:U2]
                xp.multiply(dhh, r, out=drz[U2:])
                if tail:
                    break
                dh = Rsc @ drz
            else:
                drh = R_h @ dhh  # grad of r * h_prev
                xp.multiply(drh, d[U:U2], out=dg[U:U2])
                if tail:
                    break
                dh = R_zr @ dg[:U2]
                drh *= r
                dh += drh
            dh_new *= zg
            dh += dh_new
            if dh_pass is not None:
                dh += dh_pass
        # Whole-sequence weight gradients: [dW; db_in] from the rows [x; 1], and the recurrent
        # kernel (with db_rh, reset_after) from the rows [1; h].
        dG2 = dG.reshape(G, T * B)
        XH2 = XH[:, :T].reshape(XH.shape[0], T * B)
        dWb = XH2[:F + 1] @ dG2.T
        if ra:
            dRb = XH2[F:] @ dRZ.reshape(G, T * B).T  # rows: db_rh (1), dR (U)
        else:
            dRb = xp.concatenate([XH2[F + 1:] @ dG2[:U2].T, RHS.reshape(U, T * B) @ dG2[U2:].T], axis=1)
        if scale is not None:
            dWb *= scale
            dRb *= scale
        dR = dRb[1:] if ra else dRb
        grads = [self._dx(xp, W * scale if scale is not None else W, dG2, T, B) if needs[0] else None,
                 dh.T.copy() if needs[1] else None, dWb[:F] if needs[2] else None,
                 dR if needs[3] else None]
        if self.has_bias:
            db = None
            if needs[4]:
                db = xp.stack([dWb[F], dRb[0]]) if ra else dWb[F].copy()
            grads.append(db)
        if self.has_mask:
            grads.append(None)
        _POOL.give(dG, dRZ)
        return tuple(grads)

    def reference(self, *inputs: Tensor) -> tuple:
        x, states, kernel, recurrent_kernel, bias, mask = self._split(inputs)
        act, rec = self.activation, self.recurrent_activation
        U = recurrent_kernel.shape[0]
        if bias is not None and self.reset_after:
            b_in, b_rec = bias[0], bias[1]
        else:
            b_in, b_rec = bias, None

        def step(x_t: Tensor, states: list) -> tuple:
            h = states[0]
            xz = la.matmul(x_t, kernel)
            if b_in is not None:
                xz = xz + b_in
            if self.reset_after:
                rz = la.matmul(h, recurrent_kernel)
                if b_rec is not None:
                    rz = rz + b_rec
            else:
                rz = la.matmul(h, recurrent_kernel[:, :2 * U])
            z = _act_tensor(rec, xz[:, :U] + rz[:, :U])
            r = _act_tensor(rec, xz[:, U:2 * U] + rz[:, U:2 * U])
            if self.reset_after:
                rh = r * rz[:, 2 * U:]
            else:
                rh = la.matmul(r * h, recurrent_kernel[:, 2 * U:])
            hh = _act_tensor(act, xz[:, 2 * U:] + rh)
            h = z * h + (1 - z) * hh
            return h, [h]

        return _reference_loop(self, x, list(states), mask, step)


def _sigmoid_scale(xp: Any, recurrent_activation: str, gates: int, sigmoid_gates: int, R: Any) -> Any:
    """With the one-tanh sigmoid trick the stored multipliers of the sigmoid gates are 4x the
    true ones: the per-gate-column factor (gates * units,) that corrects the gradients, or None."""
    if recurrent_activation != "sigmoid":
        return None
    U = R.shape[0]
    scale = xp.ones(gates * U, dtype=R.dtype)
    scale[:sigmoid_gates * U] = 0.25
    return scale


class RecurrenceGrad(Function):
    """The gradients of a fused sequence from its inputs, its reserve space and the gradients
    of its outputs (y, final states): the wanted ones of (x, *initial states, kernel,
    recurrent_kernel, [bias]), in that order (`wants` says which). An empty reserve (the
    sequence ran without one) is recomputed.

    Its own gradient (higher order) differentiates the same gradient computed with Tensor ops:
    the sequence's `reference` under a nested tape.
    """

    def __init__(self, cell: _Recurrence, wants: tuple) -> None:
        self.cell = cell
        self.wants = tuple(wants)
        self.n_outputs = sum(self.wants)
        self.n_inputs = len(wants) + (1 if cell.has_mask else 0)

    @property
    def name(self) -> str:
        return type(self.cell).__name__ + "Grad"

    def forward(self, *args: Any) -> Any:
        n = self.n_inputs
        inputs, reserve, dys = args[:n], args[n], list(args[n + 1:])
        cell = copy.copy(self.cell)
        if reserve.size == 0:
            # The sequence ran without it (a graph pass found no reader, and a tape recorded the
            # replay): run it again to get one.
            cell.reserve = True
            reserve = cell.forward(*inputs)[-1]
        cell._restore(backend.get_xp(inputs[0]), inputs, reserve)
        cell.needs_input_grad = self.wants + ((False,) if cell.has_mask else ())
        grads = cell._backward_arrays(dys)
        outs = tuple(g for g, w in zip(grads, self.wants, strict=False) if w)
        return outs[0] if len(outs) == 1 else outs

    def backward(self, *douts: Tensor) -> tuple:
        return formula_vjp(self, self.formula, list(douts))

    def formula(self, *args: Tensor) -> tuple:
        """`forward` with Tensor ops: the gradient of the sequence's `reference`."""
        from tapeflow.autodiff.tape import GradientTape

        n = self.n_inputs
        inputs, dys = args[:n], list(args[n + 1:])
        sources = [x for x, w in zip(inputs, self.wants, strict=False) if w]
        with GradientTape() as tape:
            for x in sources:
                tape.watch(x)
            outs = self.cell.reference(*inputs)
        return tuple(tape.gradient(list(outs), sources, output_gradients=dys))


def _reference_loop(fn: _Recurrence, x: Tensor, states: list, mask: Tensor | None, step: Any) -> tuple:
    """The sequence loop of the references: Keras's masking and go_backwards, with Tensor ops."""
    T = x.shape[1]
    order = range(T - 1, -1, -1) if fn.go_backwards else range(T)
    outputs = []
    prev = None
    for t in order:
        out, new_states = step(x[:, t], states)
        if mask is not None:
            m = mv.expand_dims(mask[:, t], 1)
            if prev is None:
                prev = ew.zeros_like_t(out)
            out = ew.where(m, out, ew.zeros_like_t(out) if fn.zero_output_for_mask else prev)
            new_states = [ew.where(m, n, p) for n, p in zip(new_states, states, strict=True)]
            prev = out
        outputs.append(out)
        states = new_states
    y = mv.stack(outputs, axis=1) if fn.return_sequences else outputs[-1]
    return (y, *states)


# ---------------------------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------------------------

def _check(op: str, x: Tensor, states: list, kernel: Tensor, recurrent_kernel: Tensor,
           bias: Tensor | None, mask: Tensor | None, gates: int, bias_shape: tuple) -> None:
    xv = x._value
    if xv is None:
        return
    if xv.ndim != 3:
        raise InvalidArgumentError(
            f"{op}: expected inputs of rank 3 (batch, time, features), received shape {tuple(xv.shape)}.")
    B, T, F = xv.shape
    if T == 0:
        raise InvalidArgumentError(f"{op}: the input sequence has no time steps (shape {tuple(xv.shape)}).")
    U = recurrent_kernel.shape[0]
    if tuple(recurrent_kernel.shape) != (U, gates * U):
        raise InvalidArgumentError(
            f"{op}: expected recurrent_kernel of shape {(U, gates * U)}, received "
            f"{tuple(recurrent_kernel.shape)}.")
    if tuple(kernel.shape) != (F, gates * U):
        raise InvalidArgumentError(
            f"{op}: expected kernel of shape {(F, gates * U)} for inputs with {F} features, received "
            f"{tuple(kernel.shape)}.")
    if bias is not None and tuple(bias.shape) != bias_shape:
        raise InvalidArgumentError(
            f"{op}: expected bias of shape {bias_shape}, received {tuple(bias.shape)}.")
    for st in states:
        if tuple(st.shape) != (B, U):
            raise InvalidArgumentError(
                f"{op}: expected initial states of shape {(B, U)}, received {tuple(st.shape)}.")
    if mask is not None and tuple(mask.shape) != (B, T):
        raise InvalidArgumentError(f"{op}: expected a mask of shape {(B, T)}, received {tuple(mask.shape)}.")
    dts = {t.dtype for t in [x, kernel, recurrent_kernel, *states] + ([bias] if bias is not None else [])}
    if len(dts) != 1:
        raise InvalidArgumentError(
            f"{op}: inputs, states and weights must share one dtype, received {sorted(d.name for d in dts)}.")


def _run(fn: _Recurrence, x: Tensor, states: list, kernel: Tensor, recurrent_kernel: Tensor,
         bias: Tensor | None, mask: Tensor | None) -> tuple:
    """The sequence's outputs and final states (its reserve space is the gradient's business)."""
    args = [x, *states, kernel, recurrent_kernel]
    if bias is not None:
        args.append(bias)
    if mask is not None:
        if mask.dtype.name != "bool":
            mask = ew.cast(mask, "bool")
        args.append(mask)
    return fn(*args)[:-1]


def _name(activation: str, op: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"{op}: activation must be one of {ACTIVATIONS}, received {activation!r}.")
    return activation


def simple_rnn(x: Tensor, h0: Tensor, kernel: Tensor, recurrent_kernel: Tensor, bias: Tensor | None = None,
               mask: Tensor | None = None, *, activation: str = "tanh", go_backwards: bool = False,
               return_sequences: bool = False, zero_output_for_mask: bool = False) -> tuple:
    """A SimpleRNN over a whole sequence as one differentiable op.

    Args:
        x: inputs (batch, time, features).
        h0: initial state (batch, units).
        kernel: (features, units); recurrent_kernel: (units, units); bias: (units,) or None.
        mask: optional (batch, time) bool; masked steps keep the previous state and output.
        activation: one of ACTIVATIONS.
        go_backwards: read the sequence from its end (the output sequence is reversed).
        return_sequences: output every step (batch, time, units) instead of the last (batch, units).
        zero_output_for_mask: masked steps output zeros instead of the previous output.

    Returns:
        (output, h_final).
    """
    _check("SimpleRNN", x, [h0], kernel, recurrent_kernel, bias, mask, 1, (recurrent_kernel.shape[0],))
    fn = SimpleRNNSequence(_name(activation, "SimpleRNN"), "linear", bias is not None, mask is not None,
                           go_backwards, return_sequences, zero_output_for_mask)
    return _run(fn, x, [h0], kernel, recurrent_kernel, bias, mask)


def lstm(x: Tensor, h0: Tensor, c0: Tensor, kernel: Tensor, recurrent_kernel: Tensor,
         bias: Tensor | None = None, mask: Tensor | None = None, *, activation: str = "tanh",
         recurrent_activation: str = "sigmoid", go_backwards: bool = False,
         return_sequences: bool = False, zero_output_for_mask: bool = False) -> tuple:
    """An LSTM over a whole sequence as one differentiable op (Keras's weights and gate order).

    Args:
        x: inputs (batch, time, features).
        h0, c0: initial hidden and cell states (batch, units).
        kernel: (features, 4 units); recurrent_kernel: (units, 4 units); bias: (4 units,) or None;
            gates in the order i, f, c, o.
        mask, activation, recurrent_activation, go_backwards, return_sequences,
            zero_output_for_mask: as in `simple_rnn`.

    Returns:
        (output, h_final, c_final).

    Example:
        >>> y, h, c = lstm(x, h0, c0, kernel, recurrent_kernel, bias)
    """
    U = recurrent_kernel.shape[0]
    _check("LSTM", x, [h0, c0], kernel, recurrent_kernel, bias, mask, 4, (4 * U,))
    fn = LSTMSequence(_name(activation, "LSTM"), _name(recurrent_activation, "LSTM"), bias is not None,
                      mask is not None, go_backwards, return_sequences, zero_output_for_mask)
    return _run(fn, x, [h0, c0], kernel, recurrent_kernel, bias, mask)


def gru(x: Tensor, h0: Tensor, kernel: Tensor, recurrent_kernel: Tensor, bias: Tensor | None = None,
        mask: Tensor | None = None, *, activation: str = "tanh", recurrent_activation: str = "sigmoid",
        reset_after: bool = True, go_backwards: bool = False, return_sequences: bool = False,
        zero_output_for_mask: bool = False) -> tuple:
    """A GRU over a whole sequence as one differentiable op (Keras's weights and gate order).

    Args:
        x: inputs (batch, time, features).
        h0: initial state (batch, units).
        kernel: (features, 3 units); recurrent_kernel: (units, 3 units); gates z, r, h.
        bias: (2, 3 units) [input bias, recurrent bias] when reset_after, else (3 units,); or None.
        reset_after: apply the reset gate after the recurrent matmul (Keras 3's default).
        mask, activation, recurrent_activation, go_backwards, return_sequences,
            zero_output_for_mask: as in `simple_rnn`.

    Returns:
        (output, h_final).
    """
    U = recurrent_kernel.shape[0]
    _check("GRU", x, [h0], kernel, recurrent_kernel, bias, mask, 3, (2, 3 * U) if reset_after else (3 * U,))
    fn = GRUSequence(_name(activation, "GRU"), _name(recurrent_activation, "GRU"), bias is not None,
                     mask is not None, go_backwards, return_sequences, zero_output_for_mask, reset_after)
    return _run(fn, x, [h0], kernel, recurrent_kernel, bias, mask)
