"""Fused CuPy elementwise kernels for the GPU hot paths (optimizer updates, LSTM steps).

Written with array operators, such an update launches one kernel per operator; on a GPU each
launch costs more host time than the arithmetic of a typical layer. One elementwise kernel does
the same float arithmetic in one launch. Only used with CuPy arrays; compiled on first use.
"""

from __future__ import annotations

from typing import Any

_KERNELS: dict = {}


def _kernel(cupy: Any, key: str, params: str, outs: str, body: str) -> Any:
    k = _KERNELS.get(key)
    if k is None:
        k = _KERNELS[key] = cupy.ElementwiseKernel(params, outs, body, "tapeflow_" + key)
    return k


def adam(cupy: Any, amsgrad: bool) -> Any:
    """Adam in place: (g, c1 = 1 - beta_1, c2 = 1 - beta_2, alpha, eps, w, m, v[, vhat])."""
    den = "vhat" if amsgrad else "v"
    body = f"""
        m = m + (g - m) * c1;
        v = v + (g * g - v) * c2;
        {"vhat = max(vhat, v);" if amsgrad else ""}
        w = w - (m * alpha) / (sqrt({den}) + eps);
    """
    outs = "T w, T m, T v" + (", T vhat" if amsgrad else "")
    return _kernel(cupy, "adam_amsgrad" if amsgrad else "adam", "T g, T c1, T c2, T alpha, T eps", outs, body)


def lstm_step(cupy: Any, save: bool) -> Any:
    """One LSTM step after its gate GEMM (tanh activations, sigmoid gates by the half-tanh trick).

    In: the previous cell state c. In/out: the gate blocks zo, zi, zf, zg (pre-activations in,
    activations out; the sigmoid gates' pre-activations already halved). Out: the new cell state
    cn, the output h and, with `save`, the backward multipliers do_, di, df, dg and p (as
    `LSTMSequence._loop` computes them with separate ops).
    """
    body = """
        T to = tanh(zo), ti = tanh(zi), tf = tanh(zf), tg = tanh(zg);
        T go = to * (T)0.5 + (T)0.5, gi = ti * (T)0.5 + (T)0.5, gf = tf * (T)0.5 + (T)0.5;
        T c_new = gf * c + gi * tg;
        T tc = tanh(c_new);
        cn = c_new;
        h = go * tc;
        zo = go; zi = gi; zf = gf; zg = tg;
    """
    outs = "T zo, T zi, T zf, T zg, T cn, T h"
    if save:
        body += """
        do_ = ((T)1 - to * to) * tc;
        di = ((T)1 - ti * ti) * tg;
        df = ((T)1 - tf * tf) * c;
        dg = ((T)1 - tg * tg) * gi;
        p = ((T)1 - tc * tc) * go;
        """
        outs += ", T do_, T di, T df, T dg, T p"
    return _kernel(cupy, "lstm_step_save" if save else "lstm_step", "T c", outs, body)


def lstm_step_grad(cupy: Any) -> Any:
    """One LSTM backward step: from dh_new, p, the incoming dc, the multipliers do_, di, df, dg
    and the forget gate f: the pre-activation gradients dzo, dzi, dzf, dzg and the new dc."""
    body = """
        T dct = dh * p + dc_in;
        dzo = dh * do_;
        dzi = dct * di;
        dzf = dct * df;
        dzg = dct * dg;
        dc = dct * f;
    """
    return _kernel(cupy, "lstm_step_grad", "T dh, T p, T dc_in, T do_, T di, T df, T dg, T f",
                   "T dzo, T dzi, T dzf, T dzg, T dc", body)
