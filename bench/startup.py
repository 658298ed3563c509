"""`import` time and installed size of Tapeflow next to TensorFlow and PyTorch.

    python -m bench.startup

Import time is the best of 5 fresh interpreters (`python -c "import X"`), minus the bare
interpreter's start-up. Installed size counts the package's files (no caches), and for the peers
their site-packages folders.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

from bench.common import Table, peer_available


def import_seconds(module: str, runs: int = 5) -> float:
    def once(code: str) -> float:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        return time.perf_counter() - t

    base = min(once("pass") for _ in range(runs))
    return max(min(once(f"import {module}") for _ in range(runs)) - base, 0.0)


def package_bytes(module: str) -> int:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return 0
    root = Path(next(iter(spec.submodule_search_locations)))
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def main() -> None:
    peers = tuple(p for p, mod in (("tensorflow", "tensorflow"), ("torch", "torch")) if peer_available(mod))
    table = Table("startup", peers=peers)
    table.add("import time", import_seconds("tapeflow"), **{p: import_seconds(p) for p in peers})
    table.note("import targets: tapeflow < 0.3 s (TensorFlow 1.7 s, PyTorch 0.9 s on the reference machine)")
    sizes = {name: package_bytes(name) for name in ("tapeflow", "numpy", *peers)}
    table.note(
        "installed size (package files): " + ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in sizes.items())
    )
    table.report()


if __name__ == "__main__":
    main()
