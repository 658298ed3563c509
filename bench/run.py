"""Run every benchmark and print one table: `python -m bench` (or `python bench/run.py`).

Each benchmark runs in its own interpreter (no shared caches or thread pools) and writes
bench/results/<name>.json; this script then merges them into bench/results/summary.{json,md}.
`--only name1,name2` runs a subset; `--quick` passes --quick to benchmarks that accept it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
BENCHMARKS = [
    "startup",
    "op_overhead",
    "function_call",
    "gemm",
    "mlp_step",
    "xor_fit",
    "fashion_mlp_epoch",
    "quickstart_mlp_epoch",
    "mnist_rmsprop_epoch",
    "conv_ops",
    "cnn_step",
    "lstm_step",
    "predict_throughput",
    "everyday",
    "gpu_steps",  # prints a line and measures nothing without CuPy and a CUDA device
]


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or BENCHMARKS
    RESULTS.mkdir(parents=True, exist_ok=True)
    failures = []
    started = time.time()
    for name in names:
        if not (ROOT / "bench" / f"{name}.py").exists():
            print(f"-- {name}: no such benchmark, skipped")
            continue
        print(f"\n-- running bench.{name}", flush=True)
        proc = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=ROOT)
        if proc.returncode:
            failures.append(name)
    tables = []
    for path in sorted(RESULTS.glob("*.json")):
        if path.stem == "summary":
            continue
        data = json.loads(path.read_text())
        if (
            "rows" in data
            and data.get("time")
            and time.mktime(time.strptime(data["time"], "%Y-%m-%dT%H:%M:%S")) >= started - 1
        ):
            tables.append(data)
    lines = [
        "| benchmark | case | tapeflow | peer | peer time | ratio (tapeflow/peer) |",
        "|---|---|---|---|---|---|",
    ]
    for t in tables:
        for r in t["rows"]:
            for p in t["peers"]:
                if r.get(p):
                    lines.append(
                        f"| {t['title']} | {r['name']} | {_fmt(r['tapeflow'])} | {p} | {_fmt(r[p])} | "
                        f"{r[f'ratio_{p}']:.2f}x |"
                    )
            if not any(r.get(p) for p in t["peers"]):
                lines.append(f"| {t['title']} | {r['name']} | {_fmt(r['tapeflow'])} | - | - | - |")
    env = tables[0]["environment"] if tables else {}
    md = "\n".join(lines) + "\n\n" + "\n".join(f"- {t['title']}: {n}" for t in tables for n in t["notes"])
    md += f"\n\nMachine: {env.get('platform')}, {env.get('cpus')} CPUs, python {env.get('python')}"
    md += f", numpy {env.get('numpy')}"
    md += f", OPENBLAS_CORETYPE={env.get('OPENBLAS_CORETYPE')}. Command: `python -m bench`\n"
    (RESULTS / "summary.md").write_text(md)
    (RESULTS / "summary.json").write_text(json.dumps(tables, indent=2))
    print("\n" + md)
    if failures:
        print(f"failed benchmarks: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def _fmt(s: float | None) -> str:
    from bench.common import fmt_time

    return fmt_time(s)


if __name__ == "__main__":
    sys.exit(main())
