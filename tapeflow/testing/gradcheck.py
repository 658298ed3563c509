"""Compare tape gradients with float64 central differences along random directions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow.autodiff.tape import GradientTape
from tapeflow.ops import elementwise as ew
from tapeflow.ops import reduce as rd
from tapeflow.tensor import Tensor


def _as_float64(x: Any) -> Tensor:
    """`x` as a float64 tensor; host values go to the current default device (`tf.device`)."""
    if isinstance(x, Tensor):
        return Tensor(backend.get_xp(x._value).asarray(x._value, dtype=np.float64))
    return Tensor(backend.asarray(np.asarray(x), np.float64))


def _scalarize(out: Any, weights: list | None, rng: np.random.Generator) -> tuple[Tensor, list]:
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    outs = [o for o in outs if o is not None]
    if weights is None:
        weights = [Tensor(backend.asarray(rng.standard_normal(o._value.shape), np.float64,
                                          backend.get_xp(o._value))) for o in outs]
    total = None
    for o, w in zip(outs, weights, strict=False):
        o64 = o if o._value.dtype == np.float64 else ew.cast(o, "float64")
        term = rd.reduce_sum(ew.multiply(o64, w))
        total = term if total is None else ew.add(total, term)
    return total, weights


def numerical_directional_derivative(f: Callable, xs: list, i: int, u: Any, eps: float) -> float:
    """(f(x_i + eps u) - f(x_i - eps u)) / (2 eps), with the other inputs fixed."""
    def at(sign: float) -> float:
        moved = list(xs)
        moved[i] = Tensor(xs[i]._value + sign * eps * u)
        return float(backend.to_numpy(f(moved)._value))

    return (at(1.0) - at(-1.0)) / (2 * eps)


def check_gradients(
    fn: Callable,
    inputs: Sequence[Any],
    *,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    directions: int = 3,
    seed: int = 0,
    differentiable: Sequence[bool] | None = None,
) -> None:
    """Assert the tape's gradient of `fn` matches central differences in float64.

    `fn(*tensors)` may return a tensor or a list; it is reduced to a scalar with fixed random
    weights. For each differentiable input, `directions` random unit directions are compared.

    Raises:
        AssertionError: naming the input, the analytic and the numerical derivative.
    """
    rng = np.random.default_rng(seed)
    xs = [_as_float64(x) for x in inputs]
    if differentiable is None:
        differentiable = [True] * len(xs)
    with GradientTape(persistent=True) as tape:
        for x, d in zip(xs, differentiable, strict=False):
            if d:
                tape.watch(x)
        y, weights = _scalarize(fn(*xs), None, rng)
    grads = tape.gradient(y, [x for x, d in zip(xs, differentiable, strict=False) if d])
    del tape

    def f(moved: list) -> Tensor:
        return _scalarize(fn(*moved), weights, rng)[0]

    k = 0
    for i, (x, d) in enumerate(zip(xs, differentiable, strict=False)):
        if not d:
            continue
        g = grads[k]
        k += 1
        xp = backend.get_xp(x._value)
        g_arr = xp.zeros_like(x._value) if g is None else g._value
        if g is not None and tuple(g._value.shape) != tuple(x._value.shape):
            raise AssertionError(
                f"input {i}: gradient shape {tuple(g._value.shape)} != input shape {tuple(x._value.shape)}"
            )
        for _ in range(directions):
            u = backend.asarray(rng.standard_normal(x._value.shape), np.float64, xp)
            norm = float(backend.to_numpy(xp.sqrt((u * u).sum()))) or 1.0
            u = u / norm
            analytic = float(backend.to_numpy((g_arr * u).sum()))
            numeric = numerical_directional_derivative(f, xs, i, u, eps)
            if not abs(analytic - numeric) <= atol + rtol * max(abs(analytic), abs(numeric)):
                raise AssertionError(
                    f"gradient mismatch for input {i} (shape {tuple(x._value.shape)}): "
                    f"analytic {analytic:.10g} vs numerical {numeric:.10g}"
                )


def check_second_order(fn: Callable, inputs: Sequence[Any], **kwargs: Any) -> None:
    """Check the gradient of the gradient (nested tapes) against central differences.

    Differentiates h(x) = <grad f(x), w> for fixed random w, where grad f comes from an inner
    tape recorded by the outer one.
    """
    rng = np.random.default_rng(kwargs.pop("seed", 1))
    xs = [_as_float64(x) for x in inputs]
    weights: list = []
    ws: list = []

    def h(*args: Tensor) -> Tensor:
        with GradientTape() as inner:
            for a in args:
                inner.watch(a)
            out = fn(*args)
            if not weights:
                _, w = _scalarize(out, None, rng)
                weights.extend(w)
            y, _ = _scalarize(out, weights, rng)
        gs = inner.gradient(y, list(args))
        if not ws:
            ws.extend(Tensor(backend.asarray(rng.standard_normal(a._value.shape), np.float64,
                                             backend.get_xp(a._value))) for a in args)
        total = None
        for g, w in zip(gs, ws, strict=False):
            if g is None:
                continue
            term = rd.reduce_sum(ew.multiply(g, w))
            total = term if total is None else ew.add(total, term)
        if total is None:
            raise AssertionError("check_second_order: fn has no first-order gradient")
        return total

    check_gradients(h, xs, **kwargs)
