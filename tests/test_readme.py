"""The README's Python listings run as printed (a README that rots is the first bug users meet)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_tour_runs_and_prints_what_its_comments_say():
    tour = next(b for b in _python_blocks() if "GradientTape" in b and "model.fit" in b)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(tour, "README tour", "exec"), {"__name__": "readme_tour"})  # noqa: S102
    lines = out.getvalue().splitlines()
    assert lines[0] == "tf.Tensor(8.0, shape=(), dtype=float32)"
    loss, acc = eval(next(line for line in lines if line.startswith("[")))  # noqa: S307
    assert acc > 0.85 and loss < 0.6


def test_the_compatibility_imports_resolve():
    block = next(b for b in _python_blocks() if "import tapeflow.compat.v1 as tf" in b)
    for line in block.splitlines():
        statement = line.split("#")[0].strip()
        if statement:
            exec(statement, {})  # noqa: S102


def test_the_tf_function_listing_runs_and_prints_what_it_says():
    block = next(b for b in _python_blocks() if "@tf.function" in b and "train_step" in b)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README tf.function", "exec"), {"__name__": "readme_function"})  # noqa: S102
    lines = out.getvalue().splitlines()
    assert lines[0] == 'tracing with Tensor("x:0", shape=(2, 2), dtype=float32)'
    assert lines[-1] == "1 0.0382"
