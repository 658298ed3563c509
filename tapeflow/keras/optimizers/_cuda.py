"""Fused CuPy kernels for optimizer updates on GPU variables.

An update written with array operators launches one kernel per operator (about a dozen for
Adam), and on a GPU each launch costs more host time than the arithmetic of a typical layer's
weights. One elementwise kernel per variable does the same float32 arithmetic in the same order.
Only used for CuPy arrays; built on first use.
"""

from __future__ import annotations

from typing import Any

_KERNELS: dict = {}

_ADAM = """
    m = m + (g - m) * c1;
    v = v + (g * g - v) * c2;
    {vhat}
    w = w - (m * alpha) / (sqrt({den}) + eps);
"""


def adam_kernel(cupy: Any, amsgrad: bool) -> Any:
    """w, m, v (and vhat) updated in place from g; scalars c1 = 1 - beta_1, c2 = 1 - beta_2."""
    key = ("adam", amsgrad)
    k = _KERNELS.get(key)
    if k is None:
        outs = "T w, T m, T v" + (", T vhat" if amsgrad else "")
        body = _ADAM.format(vhat="vhat = max(vhat, v);" if amsgrad else "", den="vhat" if amsgrad else "v")
        k = _KERNELS[key] = cupy.ElementwiseKernel(
            "T g, T c1, T c2, T alpha, T eps", outs, body, "tapeflow_adam" + ("_amsgrad" if amsgrad else ""))
    return k
