"""`tf.autodiff.ForwardAccumulator`: Jacobian-vector products (forward-mode results) on the tape.

Tapeflow's engine is reverse-mode only. The accumulator records what runs inside its `with`
block on a persistent tape watching the primals, and `jvp(y)` computes J·t with two
reverse passes ("double VJP"): g(u) = Jᵀu is linear in u, so J·t = d/du <Jᵀu, t>. The second
pass differentiates the first, so every op's backward must itself be differentiable — which
the engine guarantees for higher-order gradients. Nested under or around `GradientTape`s it
gives Hessian-vector products, as in TF.
"""

from __future__ import annotations

from typing import Any


class ForwardAccumulator:
    """Computes Jacobian-vector products of what runs inside it (`tf.autodiff.ForwardAccumulator`).

    Args:
        primals: a tensor or variable, or a nested structure of them, to differentiate against.
        tangents: the direction: the same structure, each with its primal's shape.

    Example:
        >>> x = tf.constant([1.0, 2.0])
        >>> with tf.autodiff.ForwardAccumulator(primals=x, tangents=tf.constant([1.0, 0.0])) as acc:
        ...     y = x * x
        >>> acc.jvp(y)                                   # d(x*x)/dx[0] = [2., 0.]
    """

    def __init__(self, primals: Any, tangents: Any) -> None:
        from tapeflow import nest
        from tapeflow.autodiff.tape import GradientTape
        from tapeflow.tensor import Tensor, convert_to_tensor

        flat_primals = nest.flatten(primals)
        flat_tangents = nest.flatten(tangents)
        if len(flat_primals) != len(flat_tangents):
            raise ValueError(f"primals and tangents must have the same structure; got {len(flat_primals)} "
                             f"primals and {len(flat_tangents)} tangents.")
        self._primals = []
        self._tangents = []
        for p, t in zip(flat_primals, flat_tangents, strict=True):
            if not isinstance(p, Tensor):
                raise TypeError(f"ForwardAccumulator primals must be tensors or variables, got {p!r}")
            if not p.dtype.is_floating:
                raise ValueError(f"ForwardAccumulator primals must be floating point, got dtype {p.dtype.name}")
            t = convert_to_tensor(t, dtype=p.dtype)
            if tuple(t.shape) != tuple(p.shape):
                raise ValueError(f"Tangent shape {tuple(t.shape)} does not match primal shape {tuple(p.shape)}.")
            self._primals.append(p)
            self._tangents.append(t)
        self._tape = GradientTape(persistent=True)
        self._tape.watch(self._primals)

    def __enter__(self) -> ForwardAccumulator:
        self._tape.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._tape.__exit__(*exc)

    def jvp(self, primals: Any, unconnected_gradients: Any = "none") -> Any:
        """The Jacobian-vector product of each tensor in `primals` (computed inside the block).

        Returns:
            The same structure: J·tangents for each tensor; None (or zeros with
            `unconnected_gradients="zero"`) where it does not depend on the accumulator's primals.
        """
        from tapeflow import nest

        mode = getattr(unconnected_gradients, "value", unconnected_gradients)
        if mode not in ("none", "zero"):
            raise ValueError(f"unconnected_gradients must be 'none' or 'zero', received {unconnected_gradients!r}.")
        return nest.map_structure(lambda y: self._jvp_one(y, mode), primals)

    def _jvp_one(self, y: Any, mode: str) -> Any:
        import tapeflow as tf
        from tapeflow.autodiff.tape import GradientTape

        for p, t in zip(self._primals, self._tangents, strict=True):
            if y is p:
                return t
        zero = tf.zeros_like(y) if mode == "zero" else None
        if not y.dtype.is_floating:
            return zero
        u = tf.zeros_like(y)
        with GradientTape() as outer:
            outer.watch(u)
            grads = self._tape.gradient(y, self._primals, output_gradients=u)
            terms = [tf.reduce_sum(g * t) for g, t in zip(grads, self._tangents, strict=True) if g is not None]
            if not terms:
                return zero
            total = tf.add_n(terms)
        result = outer.gradient(total, u)
        if result is None:
            return tf.zeros_like(y)  # connected, but the Jacobian is zero
        return result
