"""Every example runs to completion in its --quick mode."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
NEEDS_FASHION = {"fashion_mnist_mlp.py"}


def test_every_example_is_listed_in_the_readme() -> None:
    readme = (EXAMPLES / "README.md").read_text()
    assert SCRIPTS, "no examples found"
    for name in SCRIPTS:
        assert f"`{name}`" in readme, f"{name} is missing from examples/README.md"


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs_quick(script: str, tmp_path: Path) -> None:
    if script in NEEDS_FASHION:
        data = os.environ.get("TAPEFLOW_DATA_DIR")
        if not data or not (Path(data) / "fashion-mnist").is_dir():
            pytest.skip("Fashion-MNIST not in the dataset cache")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    if script == "gradient_tape_loop.py":  # as on a fresh machine: no dataset cache (issue 18)
        env["TAPEFLOW_DATA_DIR"] = env["KERAS_HOME"] = str(tmp_path)
    proc = subprocess.run([sys.executable, script, "--quick"], cwd=EXAMPLES, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    assert proc.stdout.strip(), f"{script} printed nothing"
    if script == "gradient_tape_loop.py":  # it learns from the shipped subset too (issue 18)
        accuracy = float(re.search(r"test accuracy: ([\d.]+)%", proc.stdout).group(1))
        assert accuracy >= 50.0, proc.stdout
