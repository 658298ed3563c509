"""Shared benchmark helpers: robust timing, one results table, JSON + Markdown output.

Usage::

    from bench.common import compare, timeit, Table

    table = Table("op_overhead", peers=("numpy", "torch"))
    table.add("add 4 f32", tapeflow=timeit(lambda: tf.add(a, b)), numpy=timeit(lambda: a_np + b_np))
    table.report()          # prints, and writes bench/results/op_overhead.{json,md}

Times are seconds per call: `timeit` takes the median (or best) of ``repeat`` rounds of
``number`` calls each, after ``warmup`` calls; `compare` times several callables in interleaved
rounds (robust ratios on a shared machine) and takes the best round. The table prints them in
the most readable unit and gives each peer's ratio ``tapeflow / peer`` (below 1.0 means tapeflow
is faster).
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def timeit(
    fn: Callable[[], Any],
    *,
    number: int | None = None,
    repeat: int = 7,
    warmup: int = 3,
    min_round_s: float = 0.05,
    stat: str = "median",
) -> float:
    """Seconds per call of ``fn``.

    Args:
        fn: zero-argument callable to time.
        number: calls per round; when None it is chosen so one round lasts ``min_round_s``.
        repeat: rounds; the statistic is taken over rounds.
        warmup: untimed calls first (caches, allocator, lazy imports).
        min_round_s: target duration of one round when ``number`` is None.
        stat: "median" (default) or "min" (best-of-N).

    Returns:
        seconds per call.
    """
    for _ in range(warmup):
        fn()
    if number is None:
        number = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            dt = time.perf_counter() - t0
            if dt >= min_round_s or number >= 1 << 24:
                break
            number = max(number * 2, int(number * min_round_s / max(dt, 1e-9) * 1.1))
    rounds = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            rounds.append((time.perf_counter() - t0) / number)
    finally:
        if gc_was_enabled:
            gc.enable()
    if stat == "min":
        return min(rounds)
    if stat != "median":
        raise ValueError(f"timeit: stat must be 'median' or 'min', received {stat!r}")
    return statistics.median(rounds)


def compare(
    fns: dict[str, Callable[[], Any]],
    *,
    number: int | None = None,
    repeat: int = 15,
    warmup: int = 3,
    min_round_s: float = 0.05,
    stat: str = "min",
    clock: str = "wall",
    settle_s: float = 0.15,
) -> dict[str, float]:
    """Seconds per call of each of `fns`, timed in interleaved, rotated rounds (A B C, B C A,
    C A B, ...), each round after `settle_s` of untimed calls of the same callable.

    Interleaving puts every implementation through the same machine conditions, so ratios
    stay meaningful when other processes share the CPU; "min" (best-of-N, the default) is the
    statistic least disturbed by such noise, "median" the alternative.

    NOTE: an implementation disturbs the one timed after it: OpenBLAS's worker threads spin
    for up to 2**28 cycles (~0.1 s) after a GEMM and PyTorch's OpenMP workers for a while after
    its ops, on the core the next implementation's threads need; caches hold the previous
    data. Measured on the 2-core dev machine: the NumPy MLP step timed right after PyTorch's
    ran 1.47 ms (best of 15) against 1.27 ms after its own. Settling calls longer than that
    spin, and rotating which implementation leads each round, keep that out of the ratios.

    Args:
        fns: name -> zero-argument callable.
        number: calls per round for every callable; None picks, per callable, enough calls for
            one round to last about `min_round_s`.
        repeat: rounds per callable.
        warmup: untimed calls of each callable first.
        min_round_s: target round duration when `number` is None.
        stat: "min" or "median" over the rounds.
        clock: "wall" (time.perf_counter) or "cpu" (time.process_time: this process's CPU
            time, which excludes time spent waiting for a busy CPU; use it for single-threaded
            comparisons on a loaded machine).
        settle_s: seconds of untimed calls before each round (at least one call; 0: none).

    Returns:
        name -> seconds per call.
    """
    numbers = {}
    for name, fn in fns.items():
        for _ in range(warmup):
            fn()
        n = number
        if n is None:
            n = 1
            while True:
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                dt = time.perf_counter() - t0
                if dt >= min_round_s or n >= 1 << 24:
                    break
                n = max(n * 2, int(n * min_round_s / max(dt, 1e-9) * 1.1))
        numbers[name] = n
    if clock not in ("wall", "cpu"):
        raise ValueError(f"compare: clock must be 'wall' or 'cpu', received {clock!r}")
    now = time.perf_counter if clock == "wall" else time.process_time
    rounds: dict[str, list[float]] = {name: [] for name in fns}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        names = list(fns)
        for r in range(repeat):
            for name in names[r % len(names):] + names[: r % len(names)]:
                fn, n = fns[name], numbers[name]
                if settle_s > 0:
                    t_end = time.perf_counter() + settle_s
                    fn()
                    while time.perf_counter() < t_end:
                        fn()
                t0 = now()
                for _ in range(n):
                    fn()
                rounds[name].append((now() - t0) / n)
    finally:
        if gc_was_enabled:
            gc.enable()
    if stat not in ("min", "median"):
        raise ValueError(f"compare: stat must be 'min' or 'median', received {stat!r}")
    pick = min if stat == "min" else statistics.median
    return {name: pick(r) for name, r in rounds.items()}


def torch_epoch_times(model: Any, opt: Any, x: Any, y: Any, batch: int, epochs: int) -> list[float]:
    """Seconds per epoch of the usual PyTorch loop (shuffled minibatches, cross-entropy, and the
    per-batch loss and accuracy bookkeeping that Keras's fit also does)."""
    import torch

    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    n = len(x)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        total = correct = 0.0
        for start in range(0, n, batch):
            idx = perm[start:start + batch]
            xb, yb = xt[idx], yt[idx]
            opt.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
        times.append(time.perf_counter() - t0)
    return times


def fmt_time(seconds: float | None) -> str:
    """Human-readable duration: ns / us / ms / s."""
    if seconds is None:
        return "-"
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"


def peer_available(module: str) -> bool:
    """Whether an optional peer library (torch, tensorflow, keras) can be imported."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


def environment() -> dict[str, Any]:
    """Machine / library facts recorded next to every result table."""
    import numpy as np

    env: dict[str, Any] = {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "argv": " ".join(sys.argv),
    }
    for mod in ("torch", "tensorflow", "keras"):
        if mod in sys.modules:
            env[mod] = getattr(sys.modules[mod], "__version__", "?")
    return env


class Table:
    """One benchmark result table: rows of tapeflow time vs peer times, with ratios.

    Args:
        title: name of the benchmark; also the results file stem (``bench/results/<title>.json``).
        peers: peer column names in display order (e.g. ``("numpy", "torch", "keras")``).
    """

    def __init__(self, title: str, peers: Sequence[str] = ("numpy", "torch", "keras")) -> None:
        self.title = title
        self.peers = tuple(peers)
        self.rows: list[dict[str, Any]] = []
        self.notes: list[str] = []

    def add(self, name: str, tapeflow: float | None, note: str = "", **peer_times: float | None) -> dict:
        """Add a row. ``peer_times`` maps peer name -> seconds (None or missing = not run)."""
        unknown = set(peer_times) - set(self.peers)
        if unknown:
            raise ValueError(f"Table.add: unknown peers {sorted(unknown)}; table peers are {self.peers}")
        row: dict[str, Any] = {"name": name, "tapeflow": tapeflow}
        for p in self.peers:
            t = peer_times.get(p)
            row[p] = t
            row[f"ratio_{p}"] = (tapeflow / t) if (tapeflow is not None and t) else None
        row["note"] = note
        self.rows.append(row)
        return row

    def note(self, text: str) -> None:
        """Attach a free-text line (target verdicts, settings) printed under the table."""
        self.notes.append(text)

    # -- rendering ---------------------------------------------------------------------------
    def _cells(self) -> tuple[list[str], list[list[str]]]:
        head = ["name", "tapeflow"]
        for p in self.peers:
            head += [p, f"tf/{p}"]
        body = []
        for r in self.rows:
            line = [r["name"], fmt_time(r["tapeflow"])]
            for p in self.peers:
                ratio = r[f"ratio_{p}"]
                line += [fmt_time(r[p]), "-" if ratio is None else f"{ratio:.2f}x"]
            body.append(line)
        return head, body

    def to_text(self) -> str:
        head, body = self._cells()
        widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
        out = [f"== {self.title} =="]
        out.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
        out.append("  ".join("-" * w for w in widths))
        for line in body:
            out.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
        out += self.notes
        return "\n".join(out)

    def to_markdown(self) -> str:
        head, body = self._cells()
        out = [f"### {self.title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(line) + " |" for line in body]
        if self.notes:
            out.append("")
            out += [f"- {n}" for n in self.notes]
        env = environment()
        out += ["", f"Command: `{env['argv']}`; python {env['python']}, numpy {env['numpy']}, "
                f"cpus {env['cpus']}, OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}, "
                f"OPENBLAS_L2_SIZE={env['OPENBLAS_L2_SIZE']}"]
        return "\n".join(out) + "\n"

    def to_json(self) -> str:
        return json.dumps(
            {"title": self.title, "peers": list(self.peers), "rows": self.rows, "notes": self.notes,
             "environment": environment(), "time": time.strftime("%Y-%m-%dT%H:%M:%S")},
            indent=2,
        )

    def report(self, out_dir: Path | str | None = None, stem: str | None = None) -> Path:
        """Print the table and write ``<stem>.json`` and ``<stem>.md`` into ``bench/results/``."""
        print(self.to_text(), flush=True)
        d = Path(out_dir) if out_dir is not None else RESULTS_DIR
        d.mkdir(parents=True, exist_ok=True)
        stem = stem or self.title
        (d / f"{stem}.json").write_text(self.to_json())
        (d / f"{stem}.md").write_text(self.to_markdown())
        return d / f"{stem}.md"
