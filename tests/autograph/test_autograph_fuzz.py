"""Random small programs (nested if/elif/else, for/while with break/continue/else, try/finally,
early returns, and/or/not, conditional expressions) on Python ints: the converted function returns
what the original returns, for several inputs."""

from __future__ import annotations

import random
import textwrap

import pytest

from tapeflow.autograph import convert

VARS = ("a", "b", "c")


class _Program:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.loop_id = 0

    def expr(self) -> str:
        r = self.rng
        choice = r.randrange(6)
        if choice == 0:
            return str(r.randrange(-3, 4))
        if choice == 1:
            return r.choice(VARS)
        if choice == 2:
            return f"({r.choice(VARS)} {r.choice('+-*')} {r.randrange(1, 3)})"
        if choice == 3:
            return f"({self.cond()} and {r.choice(VARS)} or {r.randrange(3)})"
        if choice == 4:
            return f"({r.choice(VARS)} if {self.cond()} else {r.randrange(-2, 3)})"
        return f"(not {r.choice(VARS)})"

    def cond(self) -> str:
        r = self.rng
        return f"{r.choice(VARS)} {r.choice(['<', '>', '==', '!=', '<=', '>='])} {r.randrange(-2, 5)}"

    def block(self, depth: int, in_loop: bool) -> list[str]:
        lines: list[str] = []
        for _ in range(self.rng.randrange(1, 4)):
            lines += self.stmt(depth, in_loop)
        return lines

    def stmt(self, depth: int, in_loop: bool) -> list[str]:
        r = self.rng
        kinds = ["assign", "assign", "aug"]
        if depth < 3:
            kinds += ["if", "for", "while", "try", "forlist"]
        if in_loop:
            kinds += ["break", "continue"]
        kinds += ["return"] if r.random() < 0.3 else []
        kind = r.choice(kinds)
        ind = lambda lines: ["    " + x for x in lines]  # noqa: E731
        if kind == "assign":
            return [f"{r.choice(VARS)} = {self.expr()}"]
        if kind == "aug":
            return [f"{r.choice(VARS)} += {r.randrange(1, 3)}"]
        if kind == "break":
            return [f"if {self.cond()}:", "    break"]
        if kind == "continue":
            return [f"if {self.cond()}:", "    continue"]
        if kind == "return":
            return [f"return ({self.expr()}, a, b, c)"]
        if kind == "if":
            out = [f"if {self.cond()}:", *ind(self.block(depth + 1, in_loop))]
            if r.random() < 0.4:
                out += [f"elif {self.cond()}:", *ind(self.block(depth + 1, in_loop))]
            if r.random() < 0.6:
                out += ["else:", *ind(self.block(depth + 1, in_loop))]
            return out
        if kind == "try":
            out = ["try:", *ind(self.block(depth + 1, in_loop))]
            if r.random() < 0.5:
                out += ["except ZeroDivisionError:", *ind(self.block(depth + 1, in_loop))]
            return out + ["finally:", f"    c = c + {r.randrange(1, 3)}"]
        self.loop_id += 1
        if kind == "forlist":
            out = [f"for i{self.loop_id}, v{self.loop_id} in enumerate([a, b, {r.randrange(3)}]):",
                   f"    a = a + v{self.loop_id} - i{self.loop_id}", *ind(self.block(depth + 1, True))]
        elif kind == "for":
            out = [f"for i{self.loop_id} in range({r.randrange(0, 4)}):", *ind(self.block(depth + 1, True))]
        else:
            guard = f"g{self.loop_id}"
            out = [f"{guard} = 0", f"while {guard} < {r.randrange(0, 4)} and {self.cond()}:",
                   f"    {guard} += 1", *ind(self.block(depth + 1, True))]
        if r.random() < 0.3:
            out += ["else:", *ind(self.block(depth + 1, in_loop))]
        return out

    def source(self, name: str) -> str:
        body = ["a, b, c = x, y, 0", *self.block(0, False), "return (None, a, b, c)"]
        return f"def {name}(x, y):\n" + textwrap.indent("\n".join(body), "    ") + "\n"


@pytest.mark.parametrize("seed", range(60))
def test_random_program(seed, tmp_path):
    source = _Program(seed).source(f"program_{seed}")
    path = tmp_path / f"program_{seed}.py"
    path.write_text(source)
    namespace: dict = {}
    exec(compile(source, str(path), "exec"), namespace)  # a real file, so the source is readable
    original = namespace[f"program_{seed}"]
    converted = convert(original)
    assert converted is not original, source
    for x, y in [(0, 0), (1, -1), (3, 2), (-2, 4)]:
        assert converted(x, y) == original(x, y), f"{source}\nx={x}, y={y}"


def _plain(value):
    """Results as nested tuples of Python numbers (tensors, NumPy and Python scalars alike)."""
    import numpy as np

    if isinstance(value, (tuple, list)):
        return tuple(_plain(v) for v in value)
    if value is None:
        return None
    return float(np.asarray(value))


@pytest.mark.parametrize("seed", range(20))
def test_random_program_traced(seed, tmp_path):
    """SYMBOLIC PATH: traced with tensor inputs, a random program gives the eager result, or
    fails with one of AutoGraph's errors (these programs mix bools and ints, and break on
    tensors inside Python loops)."""
    import tapeflow as tf

    source = _Program(seed).source(f"program_{seed}")
    path = tmp_path / f"program_{seed}.py"
    path.write_text(source)
    namespace: dict = {}
    exec(compile(source, str(path), "exec"), namespace)
    original = namespace[f"program_{seed}"]
    traced = tf.function(original)
    for x, y in [(0, 0), (1, -1), (3, 2), (-2, 4)]:
        try:
            expected = _plain(original(tf.constant(x), tf.constant(y)))
        except Exception:  # the program fails eagerly too (e.g. `not` of a non-bool tensor)
            continue
        try:
            got = _plain(traced(tf.constant(x), tf.constant(y)))
        except (ValueError, TypeError, NotImplementedError):
            return
        assert got == expected, f"{source}\nx={x}, y={y}"
