"""The op-test table: one `OpCase` per differentiable op and variant, checked in float64.

Each case names a function of float tensors, the shapes (and value domain) of its inputs, and
whether second-order gradients (nested tapes) are checked too. Test modules build lists of cases
and parametrise one test over them:

    CASES = [OpCase("add/broadcast", tf.add, [(3, 1, 4), (2, 4)]), ...]

    @pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
    def test_gradients(case):
        run_case(case)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tapeflow.testing.gradcheck import check_gradients, check_second_order

# Value domains: how each input of a case is drawn.
DOMAINS: dict[str, Callable[[np.random.Generator, tuple], np.ndarray]] = {
    "normal": lambda rng, s: rng.standard_normal(s),
    # |x| in [0.5, 2] with random sign: away from kinks at 0 (abs, relu, sign, ...).
    "nonzero": lambda rng, s: rng.uniform(0.5, 2.0, s) * rng.choice([-1.0, 1.0], s),
    "positive": lambda rng, s: rng.uniform(0.5, 2.0, s),
    "unit": lambda rng, s: rng.uniform(-0.9, 0.9, s),
    "prob": lambda rng, s: rng.dirichlet(np.ones(s[-1]), s[:-1]) if s else rng.uniform(0.1, 0.9, s),
    "distinct": lambda rng, s: (rng.permutation(int(np.prod(s))).reshape(s) * 0.37 + rng.uniform(0, 0.1, s)),
}


@dataclass
class OpCase:
    """One gradient check: `fn(*inputs)` with float64 inputs of `shapes` drawn from `domain`.

    Args:
        name: test id, "op/variant".
        fn: function of Tensors returning a Tensor or a list/tuple of Tensors.
        shapes: one shape per input, or explicit arrays.
        domain: a key of `DOMAINS`, or one key per input.
        second_order: also check the gradient of the gradient through nested tapes.
        rtol, atol: tolerances of the comparison.
    """

    name: str
    fn: Callable
    shapes: Sequence[Any]
    domain: str | Sequence[str] = "normal"
    second_order: bool = True
    rtol: float = 1e-5
    atol: float = 1e-6

    def inputs(self, seed: int = 0) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        domains = [self.domain] * len(self.shapes) if isinstance(self.domain, str) else list(self.domain)
        out = []
        for s, d in zip(self.shapes, domains, strict=False):
            if isinstance(s, np.ndarray):
                out.append(s.astype(np.float64))
            else:
                out.append(np.asarray(DOMAINS[d](rng, tuple(s)), dtype=np.float64))
        return out

    def __repr__(self) -> str:
        return f"OpCase({self.name})"


def run_case(case: OpCase, seed: int = 0, second_order: bool | None = None) -> None:
    """Check first-order (and, if the case asks, second-order) gradients of `case`."""
    xs = case.inputs(seed)
    check_gradients(case.fn, xs, rtol=case.rtol, atol=case.atol)
    if case.second_order if second_order is None else second_order:
        check_second_order(case.fn, xs, rtol=max(case.rtol, 1e-4), atol=max(case.atol, 1e-5))
