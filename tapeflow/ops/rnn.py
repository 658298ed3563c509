"""Fused recurrent sequences: a whole SimpleRNN / LSTM / GRU pass over time as one primitive.

A recurrent layer built from Tensor ops costs about ten ops per time step forward and twenty
backward, each with its Python dispatch and tape record; for 28 steps that is ~850 ops per
training step. Here one `Function` runs the whole sequence:

* forward: one GEMM projects the inputs of every time step (`x @ kernel + bias`), then a loop
  over time does one GEMM with the recurrent kernel plus a few in-place ufuncs per step, writing
  into preallocated time-major buffers;
* backward (backpropagation through time): the activation derivatives of all steps are formed
  at once, the loop over time does one GEMM and a few ufuncs per step, and the weight gradients
  are three GEMMs over the whole sequence (`x^T dZ`, `h_prev^T dZ`).

When a tape records the backward pass (higher-order gradients), the backward re-runs the
sequence with Tensor ops (`reference`) under a nested tape, so every derivative stays
differentiable. The same reference implementation is the test oracle of the fused kernels.

Only the time loop is a Python loop; everything inside a step is vectorised over the batch.
Shapes: x (batch, time, features), states (batch, units), kernel (features, gates * units),
recurrent_kernel (units, gates * units), mask (batch, time) bool. Gate orders are Keras's:
LSTM i, f, c, o; GRU z, r, h.
"""

from __future__ import annotations

from typing import Any

from tapeflow import backend
from tapeflow.autodiff import function as _fn
from tapeflow.autodiff.function import Function
from tapeflow.errors import InvalidArgumentError
from tapeflow.ops import elementwise as ew
from tapeflow.ops import linalg as la
from tapeflow.ops import movement as mv
from tapeflow.tensor import Tensor

# Activations the fused kernels know (their derivative is a function of their output).
ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear", "hard_sigmoid")


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


def _dact(name: str, y: Any, xp: Any) -> Any:
    """The activation's derivative at the point where it output `y` (a new array)."""
    if name == "tanh":
        d = y * y
        xp.subtract(1, d, out=d)
        return d
    if name == "sigmoid":
        d = 1 - y
        d *= y
        return d
    if name == "relu":
        return (y > 0).astype(y.dtype)
    if name == "hard_sigmoid":
        d = ((y > 0) & (y < 1)).astype(y.dtype)
        d /= 6.0
        return d
    return xp.ones_like(y)


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


# ---------------------------------------------------------------------------------------------
# The shared sequence machinery
# ---------------------------------------------------------------------------------------------

class _Recurrence(Function):
    """Base of the fused sequence primitives.

    Inputs: x, *initial_states, kernel, recurrent_kernel, [bias], [mask].
    Outputs: output (the sequence (batch, time, units) or the last step (batch, units)), then
    the final states.
    Masked steps keep the previous states; their output is the previous output (or zeros with
    `zero_output_for_mask`), as in Keras. With `go_backwards` the sequence is read from its end
    and the output sequence is in that (reversed) order.
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
        self.n_outputs = 1 + self.n_states

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
        # 1. Time-major inputs in processing order, one contiguous copy: X (T, B, F).
        X = x.transpose(1, 0, 2)
        if self.go_backwards:
            X = X[::-1]
        X = xp.ascontiguousarray(X)
        # 2. The mask, time-major in processing order, (T, B, 1) bool.
        M = None
        if mask is not None:
            M = mask.T
            if self.go_backwards:
                M = M[::-1]
            M = xp.ascontiguousarray(M).astype(bool)[:, :, None]
        self._X = X
        self._M = M
        return self._run(xp, X, states, kernel, recurrent_kernel, bias, M)

    def _outputs(self, xp: Any, H: Any, HN: Any, M: Any) -> Any:
        """The output sequence (T, B, U) in processing order from carried / raw hidden states.

        Without a mask the output of step s is the new state H[s + 1]. With one, a masked step
        outputs the previous output (or zeros).
        """
        if M is None:
            return H[1:]
        T = HN.shape[0]
        out = xp.empty_like(HN)
        prev = xp.zeros_like(HN[0])
        for s in range(T):
            if self.zero_output_for_mask:
                xp.multiply(HN[s], M[s], out=out[s])
            else:
                xp.copyto(out[s], prev)
                xp.copyto(out[s], HN[s], where=M[s])
                prev = out[s]
        return out

    def _package(self, seq: Any, final_states: list) -> tuple:
        y = seq.transpose(1, 0, 2) if self.return_sequences else seq[-1]
        return (y, *final_states)

    # -- backward ---------------------------------------------------------------------------
    def backward(self, *dys: Tensor) -> tuple:
        if _fn.recording_tapes:
            return self._backward_by_reference(dys)
        arrays = [d._value for d in dys]
        grads = self._backward_arrays(arrays)
        return tuple(None if g is None else Tensor(g) for g in grads)

    def _backward_by_reference(self, dys: tuple) -> tuple:
        """Gradients as Tensor ops: re-run the sequence with `reference` under a nested tape."""
        from tapeflow.autodiff.tape import GradientTape

        needs = self.needs_input_grad
        sources = [x for x, n in zip(self.inputs, needs, strict=True) if n]
        with GradientTape() as tape:
            for s in sources:
                tape.watch(s)
            outs = self.reference(*self.inputs)
        grads = iter(tape.gradient(list(outs), sources, output_gradients=list(dys)))
        return tuple(next(grads) if n else None for n in needs)

    def _output_grads(self, xp: Any, dy: Any, T: int) -> Any:
        """dL/d(output of each step), (T, B, U) in processing order, or None for no sequence."""
        if self.return_sequences:
            return dy.transpose(1, 0, 2)
        return None

    def _mask_split(self, xp: Any, m: Any, dh: Any, g_out: Any) -> tuple:
        """For a masked step: (grad into the cell's new h, grad passed to the previous state,
        grad passed to the previous output)."""
        total = dh if g_out is None else dh + g_out
        dh_new = total * m
        dh_pass = dh - dh * m
        dout_pass = None
        if g_out is not None and not self.zero_output_for_mask:
            dout_pass = g_out - g_out * m
        return dh_new, dh_pass, dout_pass

    def _input_grads(self, xp: Any, dZ: Any, W: Any) -> tuple:
        """(dx, dkernel, dbias-of-inputs) from the pre-activation gradients dZ (T, B, G)."""
        needs = self.needs_input_grad
        T, B, G = dZ.shape
        dZ2 = dZ.reshape(T * B, G)
        X = self._X
        dx = None
        if needs[0]:
            dX = (dZ2 @ W.T).reshape(T, B, X.shape[2])
            if self.go_backwards:
                dX = dX[::-1]
            dx = dX.transpose(1, 0, 2)
        dW = X.reshape(T * B, X.shape[2]).T @ dZ2 if needs[1 + self.n_states] else None
        return dx, dW, dZ2


# ---------------------------------------------------------------------------------------------
# SimpleRNN
# ---------------------------------------------------------------------------------------------

class SimpleRNNSequence(_Recurrence):
    """h_t = activation(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel) over a whole sequence."""

    n_states = 1
    gates = 1

    def _run(self, xp: Any, X: Any, states: tuple, W: Any, R: Any, b: Any, M: Any) -> tuple:
        T, B, _ = X.shape
        U = R.shape[0]
        act = self.activation
        # H[0] is the initial state; H[s + 1] the state after step s. Raw (unmasked) new states
        # go straight into H when there is no mask.
        H = xp.empty((T + 1, B, U), dtype=X.dtype)
        H[0] = states[0]
        Z = (X.reshape(T * B, -1) @ W).reshape(T, B, U)
        if b is not None:
            Z += b
        tmp = xp.empty((B, U), dtype=X.dtype)
        for s in range(T):
            z = Z[s]
            xp.matmul(H[s], R, out=tmp)
            z += tmp
            _act_(act, z, xp)
            if M is None:
                H[s + 1] = z
            else:
                xp.copyto(H[s + 1], H[s])
                xp.copyto(H[s + 1], z, where=M[s])
        self._H, self._A, self._W, self._R = H, Z, W, R
        seq = self._outputs(xp, H, Z, M)
        return self._package(seq, [H[T]])

    def _backward_arrays(self, dys: list) -> tuple:
        dy, dhT = dys
        H, A, W, R, M = self._H, self._A, self._W, self._R, self._M
        xp = backend.get_xp(H)
        T, B, U = A.shape
        D = _dact(self.activation, A, xp)  # (T, B, U)
        dZ = xp.empty_like(A)
        dseq = self._output_grads(xp, dy, T)
        dh = dhT.copy()
        dout = None
        if dseq is None:
            if M is None:
                dh += dy
            else:
                dout = dy.copy()
        RT = xp.ascontiguousarray(R.T)
        for s in range(T - 1, -1, -1):
            g_out = None
            if dseq is not None:
                g_out = dseq[s] if dout is None else dseq[s] + dout
            elif dout is not None:
                g_out = dout
            if M is None:
                dh_new = dh if g_out is None else dh + g_out
                dh_pass = None
            else:
                dh_new, dh_pass, dout = self._mask_split(xp, M[s], dh, g_out)
            dz = dZ[s]
            xp.multiply(dh_new, D[s], out=dz)
            dh = dz @ RT
            if dh_pass is not None:
                dh += dh_pass
        needs = self.needs_input_grad
        dx, dW, dZ2 = self._input_grads(xp, dZ, W)
        dR = H[:-1].reshape(T * B, U).T @ dZ2 if needs[3] else None
        grads = [dx, dh if needs[1] else None, dW, dR]
        if self.has_bias:
            grads.append(dZ2.sum(axis=0) if needs[4] else None)
        if self.has_mask:
            grads.append(None)
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

def _lstm_internal(a: Any, xp: Any, axis: int = -1) -> Any:
    """Keras gate order (i, f, c, o) -> the kernel's internal order (o, i, f, c): a copy.

    With o first the three sigmoid gates (o, i, f) are one contiguous block, and the three gates
    that the cell-state gradient multiplies (i, f, c) are another.
    """
    U = a.shape[axis] // 4
    if axis == -1 or axis == a.ndim - 1:
        return xp.concatenate([a[..., 3 * U:], a[..., :3 * U]], axis=-1)
    raise ValueError(axis)


def _lstm_keras(a: Any, xp: Any) -> Any:
    """Internal gate order (o, i, f, c) -> Keras's (i, f, c, o) on the last axis."""
    U = a.shape[-1] // 4
    return xp.concatenate([a[..., U:], a[..., :U]], axis=-1)


class LSTMSequence(_Recurrence):
    """LSTM over a whole sequence; Keras's cell: c = f*c + i*act(zc), h = o*act(c)."""

    n_states = 2
    gates = 4

    def _run(self, xp: Any, X: Any, states: tuple, kernel: Any, recurrent_kernel: Any, bias: Any,
             M: Any) -> tuple:
        T, B, _ = X.shape
        U = recurrent_kernel.shape[0]
        U3 = 3 * U
        act, rec = self.activation, self.recurrent_activation
        dt = X.dtype
        W = _lstm_internal(kernel, xp)
        R = _lstm_internal(recurrent_kernel, xp)
        b = _lstm_internal(bias, xp) if bias is not None else None
        Ws, Rs, bs = W, R, b
        fast_sigmoid = rec == "sigmoid"
        if fast_sigmoid:
            # NOTE: sigmoid(z) = 0.5 tanh(z / 2) + 0.5; halving the sigmoid gates' columns of the
            # (copied) weights once (exact in binary floating point) leaves one tanh per step.
            Ws, Rs = W.copy(), R.copy()
            Ws[:, :U3] *= 0.5
            Rs[:, :U3] *= 0.5
            if b is not None:
                bs = b.copy()
                bs[:U3] *= 0.5
        # A: gate pre-activations, then (in place) activations, (T, B, 4U) internal order.
        A = (X.reshape(T * B, -1) @ Ws).reshape(T, B, 4 * U)
        if bs is not None:
            A += bs
        H = xp.empty((T + 1, B, U), dtype=dt)
        C = xp.empty((T + 1, B, U), dtype=dt)
        H[0] = states[0]
        C[0] = states[1]
        TC = xp.empty((T, B, U), dtype=dt)  # act(c_new)
        masked = M is not None
        HN = xp.empty((T, B, U), dtype=dt) if masked else None
        CN = xp.empty((B, U), dtype=dt) if masked else None
        tmp = xp.empty((B, 4 * U), dtype=dt)
        tmpu = xp.empty((B, U), dtype=dt)
        one_tanh = fast_sigmoid and act == "tanh"
        for s in range(T):
            z = A[s]
            xp.matmul(H[s], Rs, out=tmp)
            z += tmp
            sg = z[:, :U3]
            if one_tanh:
                xp.tanh(z, out=z)
            else:
                if fast_sigmoid:
                    xp.tanh(sg, out=sg)
                else:
                    _act_(rec, sg, xp)
                _act_(act, z[:, U3:], xp)
            if fast_sigmoid:
                sg *= 0.5
                sg += 0.5
            o, i, f, g = z[:, :U], z[:, U:2 * U], z[:, 2 * U:U3], z[:, U3:]
            cn = CN if masked else C[s + 1]
            xp.multiply(f, C[s], out=cn)
            xp.multiply(i, g, out=tmpu)
            cn += tmpu
            tc = TC[s]
            if act == "tanh":
                xp.tanh(cn, out=tc)
            else:
                xp.copyto(tc, cn)
                _act_(act, tc, xp)
            hn = HN[s] if masked else H[s + 1]
            xp.multiply(o, tc, out=hn)
            if masked:
                m = M[s]
                xp.copyto(H[s + 1], H[s])
                xp.copyto(H[s + 1], hn, where=m)
                xp.copyto(C[s + 1], C[s])
                xp.copyto(C[s + 1], cn, where=m)
        self._H, self._C, self._TC, self._A, self._W, self._R = H, C, TC, A, W, R
        seq = self._outputs(xp, H, HN, M)
        return self._package(seq, [H[T], C[T]])

    def _backward_arrays(self, dys: list) -> tuple:
        dy, dhT, dcT = dys
        H, C, TC, A, W, R, M = self._H, self._C, self._TC, self._A, self._W, self._R, self._M
        xp = backend.get_xp(H)
        T, B, U = TC.shape
        U3 = 3 * U
        act, rec = self.activation, self.recurrent_activation
        # 1. Per-step multipliers of all steps at once, (T, B, 4, U) in internal order o, i, f, c:
        #    dZ_o = dh * act(c) * o',  dZ_{i,f,c} = dc * (c~ * i', c_prev * f', i * c~').
        A4 = A.reshape(T, B, 4, U)
        D = xp.empty_like(A)
        D[..., :U3] = _dact(rec, A[..., :U3], xp)
        D[..., U3:] = _dact(act, A[..., U3:], xp)
        D4 = D.reshape(T, B, 4, U)
        D4[:, :, 0] *= TC
        D4[:, :, 1] *= A4[:, :, 3]
        D4[:, :, 2] *= C[:-1]
        D4[:, :, 3] *= A4[:, :, 1]
        P = _dact(act, TC, xp)  # dc += dh * o * act'(c)
        P *= A4[:, :, 0]
        # 2. Backpropagation through time.
        dZ = xp.empty((T, B, 4, U), dtype=A.dtype)
        dseq = self._output_grads(xp, dy, T)
        dh = dhT.copy()
        dc = dcT.copy()
        dout = None
        if dseq is None:
            if M is None:
                dh += dy
            else:
                dout = dy.copy()
        RT = xp.ascontiguousarray(R.T)
        for s in range(T - 1, -1, -1):
            g_out = None
            if dseq is not None:
                g_out = dseq[s] if dout is None else dseq[s] + dout
            elif dout is not None:
                g_out = dout
            if M is None:
                dh_new = dh if g_out is None else dh + g_out
                dc_new = dc
                dh_pass = dc_pass = None
            else:
                m = M[s]
                dh_new, dh_pass, dout = self._mask_split(xp, m, dh, g_out)
                dc_new = dc * m
                dc_pass = dc - dc_new
            dct = dh_new * P[s]
            dct += dc_new
            dz = dZ[s]
            xp.multiply(dh_new, D4[s, :, 0], out=dz[:, 0])
            xp.multiply(dct[:, None, :], D4[s, :, 1:], out=dz[:, 1:])
            dc = dct * A4[s, :, 2]
            dh = dz.reshape(B, 4 * U) @ RT
            if dh_pass is not None:
                dh += dh_pass
                dc += dc_pass
        # 3. Weight and input gradients over the whole sequence, back in Keras's gate order.
        needs = self.needs_input_grad
        dZ = dZ.reshape(T, B, 4 * U)
        dx, dW, dZ2 = self._input_grads(xp, dZ, W)
        dR = H[:-1].reshape(T * B, U).T @ dZ2 if needs[4] else None
        grads = [dx, dh if needs[1] else None, dc if needs[2] else None,
                 None if dW is None else _lstm_keras(dW, xp),
                 None if dR is None else _lstm_keras(dR, xp)]
        if self.has_bias:
            grads.append(_lstm_keras(dZ2.sum(axis=0), xp) if needs[5] else None)
        if self.has_mask:
            grads.append(None)
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

    def _biases(self, bias: Any) -> tuple:
        if bias is None:
            return None, None
        if self.reset_after:
            return bias[0], bias[1]
        return bias, None

    def _run(self, xp: Any, X: Any, states: tuple, W: Any, R: Any, bias: Any, M: Any) -> tuple:
        T, B, _ = X.shape
        U = R.shape[0]
        U2 = 2 * U
        dt = X.dtype
        act, rec = self.activation, self.recurrent_activation
        b_in, b_rec = self._biases(bias)
        fast_sigmoid = rec == "sigmoid"
        Ws, Rs, bis, brs = W, R, b_in, b_rec
        if fast_sigmoid:
            # NOTE: as in the LSTM, halve the sigmoid gates' columns once: one tanh per step.
            Ws, Rs = W.copy(), R.copy()
            Ws[:, :U2] *= 0.5
            Rs[:, :U2] *= 0.5
            if b_in is not None:
                bis = b_in.copy()
                bis[:U2] *= 0.5
            if b_rec is not None:
                brs = b_rec.copy()
                brs[:U2] *= 0.5
        A = (X.reshape(T * B, -1) @ Ws).reshape(T, B, 3 * U)
        if bis is not None:
            A += bis
        H = xp.empty((T + 1, B, U), dtype=dt)
        H[0] = states[0]
        masked = M is not None
        HN = xp.empty((T, B, U), dtype=dt) if masked else None
        # RH: reset_after: the recurrent projection h @ R_h + b_rh of each step;
        # otherwise the reset state r * h_prev of each step.
        RH = xp.empty((T, B, U), dtype=dt)
        tmp = xp.empty((B, 3 * U if self.reset_after else U2), dtype=dt)
        tmpu = xp.empty((B, U), dtype=dt)
        Rs_zr = Rs[:, :U2]
        Rs_h = Rs[:, U2:]
        for s in range(T):
            a = A[s]
            hp = H[s]
            if self.reset_after:
                xp.matmul(hp, Rs, out=tmp)
                if brs is not None:
                    tmp += brs
                a[:, :U2] += tmp[:, :U2]
            else:
                xp.matmul(hp, Rs_zr, out=tmp)
                a[:, :U2] += tmp
            sg = a[:, :U2]
            if fast_sigmoid:
                xp.tanh(sg, out=sg)
                sg *= 0.5
                sg += 0.5
            else:
                _act_(rec, sg, xp)
            zg, r, hh = a[:, :U], a[:, U:U2], a[:, U2:]
            if self.reset_after:
                xp.copyto(RH[s], tmp[:, U2:])
                xp.multiply(r, RH[s], out=tmpu)
            else:
                xp.multiply(r, hp, out=RH[s])
                xp.matmul(RH[s], Rs_h, out=tmpu)
            hh += tmpu
            _act_(act, hh, xp)
            hn = HN[s] if masked else H[s + 1]
            # h = hh + z * (h_prev - hh)
            xp.subtract(hp, hh, out=tmpu)
            tmpu *= zg
            xp.add(hh, tmpu, out=hn)
            if masked:
                xp.copyto(H[s + 1], hp)
                xp.copyto(H[s + 1], hn, where=M[s])
        self._H, self._A, self._RH, self._W, self._R = H, A, RH, W, R
        seq = self._outputs(xp, H, HN, M)
        return self._package(seq, [H[T]])

    def _backward_arrays(self, dys: list) -> tuple:
        dy, dhT = dys
        H, A, RH, W, R, M = self._H, self._A, self._RH, self._W, self._R, self._M
        xp = backend.get_xp(H)
        T, B, U = RH.shape
        U2 = 2 * U
        act, rec = self.activation, self.recurrent_activation
        ra = self.reset_after
        zg, r, hh = A[..., :U], A[..., U:U2], A[..., U2:]
        # 1. Multipliers of all steps at once (derivatives w.r.t. pre-activations):
        #    dz = dh * (h_prev - hh) * z';  dhh = dh * (1 - z) * act'(hh);
        #    reset_after: dr = dhh * RH * r';  otherwise dr = d(r h) * h_prev * r'.
        Dsig = _dact(rec, A[..., :U2], xp)
        Dz = H[:-1] - hh
        Dz *= Dsig[..., :U]
        Dh = _dact(act, hh, xp)
        Dh *= 1 - zg
        Dr = Dsig[..., U:]
        Dr *= RH if ra else H[:-1]
        # 2. Backpropagation through time. dG: pre-activation grads of the input projection;
        #    dRZ: grads of the recurrent projection (reset_after: all three gates).
        dG = xp.empty((T, B, 3 * U), dtype=A.dtype)
        dRZ = xp.empty((T, B, 3 * U), dtype=A.dtype) if ra else None
        dRH = None if ra else xp.empty((T, B, U), dtype=A.dtype)  # grads of r * h_prev
        dseq = self._output_grads(xp, dy, T)
        dh = dhT.copy()
        dout = None
        if dseq is None:
            if M is None:
                dh += dy
            else:
                dout = dy.copy()
        RT = xp.ascontiguousarray(R.T)
        RT_zr = xp.ascontiguousarray(R[:, :U2].T)
        RT_h = xp.ascontiguousarray(R[:, U2:].T)
        for s in range(T - 1, -1, -1):
            g_out = None
            if dseq is not None:
                g_out = dseq[s] if dout is None else dseq[s] + dout
            elif dout is not None:
                g_out = dout
            if M is None:
                dh_new = dh if g_out is None else dh + g_out
                dh_pass = None
            else:
                dh_new, dh_pass, dout = self._mask_split(xp, M[s], dh, g_out)
            dg = dG[s]
            dz, dr, dhh = dg[:, :U], dg[:, U:U2], dg[:, U2:]
            xp.multiply(dh_new, Dz[s], out=dz)
            xp.multiply(dh_new, Dh[s], out=dhh)
            if ra:
                xp.multiply(dhh, Dr[s], out=dr)
                drz = dRZ[s]
                drz[:, :U2] = dg[:, :U2]
                xp.multiply(dhh, r[s], out=drz[:, U2:])
                dh = drz @ RT
            else:
                drh = dRH[s]
                xp.matmul(dhh, RT_h, out=drh)
                xp.multiply(drh, Dr[s], out=dr)
                dh = dg[:, :U2] @ RT_zr
                drh_r = drh * r[s]
                dh += drh_r
            dh += dh_new * zg[s]
            if dh_pass is not None:
                dh += dh_pass
        # 3. Whole-sequence weight gradients.
        needs = self.needs_input_grad
        dx, dW, dG2 = self._input_grads(xp, dG, W)
        Hp = H[:-1].reshape(T * B, U)
        dR = None
        if needs[3]:
            if ra:
                dR = Hp.T @ dRZ.reshape(T * B, 3 * U)
            else:
                dR = xp.concatenate([Hp.T @ dG2[:, :U2],
                                     RH.reshape(T * B, U).T @ dG2[:, U2:]], axis=1)
        grads = [dx, dh if needs[1] else None, dW, dR]
        if self.has_bias:
            db = None
            if needs[4]:
                db_in = dG2.sum(axis=0)
                db = xp.stack([db_in, dRZ.reshape(T * B, 3 * U).sum(axis=0)]) if ra else db_in
            grads.append(db)
        if self.has_mask:
            grads.append(None)
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
    args = [x, *states, kernel, recurrent_kernel]
    if bias is not None:
        args.append(bias)
    if mask is not None:
        if mask.dtype.name != "bool":
            mask = ew.cast(mask, "bool")
        args.append(mask)
    return fn(*args)


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
