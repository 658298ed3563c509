"""Convolution and pooling ops, forward and forward+backward, against PyTorch (and TF eager).

The key shapes are the seed-003 CNN's at batch 100 (NHWC, float32):
  conv1  100x28x28x1  -> 5x5x32 SAME   (filter gradient only: the input is data)
  pool1  100x28x28x32 -> 2x2 stride 2
  conv2  100x14x14x32 -> 5x5x64 SAME   (input and filter gradients)
  pool2  100x14x14x64 -> 2x2 stride 2
plus the whole conv stack (conv1, relu, pool1, conv2, relu, pool2) and a few other common shapes
that exercise the algorithm choice (3x3 convs, strided, 1x1, depthwise). Peers run the same op
on the same data: torch (NCHW), torch_cl (channels_last memory format), tensorflow (TF eager,
NHWC). "alg" tables time tapeflow's algorithms forced one by one.

Run:  python -m bench.conv_ops [--quick] [--no-tf] [--no-alg] [--malloc-tuning] [--stat min]
Ratios are tapeflow / peer (below 1.0: tapeflow is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tapeflow as tf  # noqa: E402
from bench.common import Table, peer_available, timeit  # noqa: E402
from tapeflow.ops import conv_algorithms as conv_ops  # noqa: E402
from tapeflow.ops.conv_geometry import geometry  # noqa: E402

RNG = np.random.default_rng(0)


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape, dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# The cases: (name, kind, shapes, options)
# ---------------------------------------------------------------------------------------------

def conv_case(name: str, x_shape: tuple, k: int, cout: int, stride: int = 1, padding: str = "SAME",
              input_grad: bool = True, depthwise: bool = False) -> dict:
    cin = x_shape[-1]
    w_shape = (k, k, cin, 1) if depthwise else (k, k, cin, cout)
    return {"name": name, "kind": "dwconv" if depthwise else "conv", "x": randn(*x_shape),
            "w": randn(*w_shape) * 0.1, "stride": stride, "padding": padding,
            "input_grad": input_grad}


def pool_case(name: str, x_shape: tuple, k: int = 2, stride: int = 2, padding: str = "VALID",
              kind: str = "max") -> dict:
    return {"name": name, "kind": kind + "pool", "x": randn(*x_shape), "k": k, "stride": stride,
            "padding": padding, "input_grad": True}


KEY_CASES = [
    conv_case("conv1 28x28x1->32 5x5", (100, 28, 28, 1), 5, 32, input_grad=False),
    pool_case("maxpool1 28x28x32 2x2", (100, 28, 28, 32)),
    conv_case("conv2 14x14x32->64 5x5", (100, 14, 14, 32), 5, 64),
    pool_case("maxpool2 14x14x64 2x2", (100, 14, 14, 64)),
]

OTHER_CASES = [
    conv_case("3x3 32x32x64->64 b32", (32, 32, 32, 64), 3, 64),
    conv_case("3x3 s2 32x32x64->128 b32", (32, 32, 32, 64), 3, 128, stride=2),
    conv_case("1x1 16x16x128->64 b32", (32, 16, 16, 128), 1, 64),
    conv_case("3x3 28x28x1->32 b100", (100, 28, 28, 1), 3, 32, input_grad=False),
    conv_case("depthwise 3x3 32x32x64 b32", (32, 32, 32, 64), 3, 64, depthwise=True),
    pool_case("maxpool 3x3 s2 SAME 32x32x64", (32, 32, 32, 64), 3, 2, "SAME"),
    pool_case("avgpool 2x2 28x28x32", (100, 28, 28, 32), kind="avg"),
]


# ---------------------------------------------------------------------------------------------
# Runners: return (forward fn, forward+backward fn) for each library
# ---------------------------------------------------------------------------------------------

def tapeflow_fns(c: dict, m: object = tf) -> tuple:
    """The same code serves tapeflow and TF eager (`m` is the module)."""
    x = m.constant(c["x"])
    kind = c["kind"]
    if kind in ("conv", "dwconv"):
        w = m.Variable(c["w"])
        if kind == "conv":
            def f(x):
                return m.nn.conv2d(x, w, c["stride"], c["padding"])
        else:
            def f(x):
                return m.nn.depthwise_conv2d(x, w, [1, c["stride"], c["stride"], 1], c["padding"])
        sources = [x, w] if c["input_grad"] else [w]
    else:
        pool = m.nn.max_pool2d if kind == "maxpool" else m.nn.avg_pool2d

        def f(x):
            return pool(x, c["k"], c["stride"], c["padding"])
        sources = [x]
    y0 = f(x)
    dy = m.constant(randn(*y0.shape))

    def fwd():
        return f(x)

    def fwd_bwd():
        with m.GradientTape() as tape:
            if c["input_grad"]:
                tape.watch(x)
            y = f(x)
        return tape.gradient(y, sources, output_gradients=dy)

    return fwd, fwd_bwd


def torch_fns(c: dict, channels_last: bool) -> tuple:
    import torch

    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.from_numpy(c["x"]).permute(0, 3, 1, 2).contiguous(memory_format=fmt)
    kind = c["kind"]
    if kind in ("conv", "dwconv"):
        w = torch.from_numpy(c["w"]).permute(3, 2, 0, 1)
        cin = c["x"].shape[-1]
        if kind == "dwconv":  # (k, k, C, 1) -> (C, 1, k, k), groups=C
            w = torch.from_numpy(c["w"]).permute(2, 3, 0, 1)
        w = w.contiguous(memory_format=fmt).requires_grad_()
        k = c["w"].shape[0]
        pad = (k - 1) // 2 if c["padding"] == "SAME" else 0
        groups = cin if kind == "dwconv" else 1
        if c["padding"] == "SAME" and (k % 2 == 0 or c["stride"] > 1):
            pad = k // 2  # same output size here (benchmark shapes are even, padding at the end)

        def f(x):
            return torch.nn.functional.conv2d(x, w, stride=c["stride"], padding=pad, groups=groups)
        params = [w]
    else:
        k, s = c["k"], c["stride"]
        pad = k // 2 if c["padding"] == "SAME" else 0
        if kind == "maxpool":
            def f(x):
                return torch.nn.functional.max_pool2d(x, k, s, pad)
        else:
            def f(x):
                return torch.nn.functional.avg_pool2d(x, k, s, pad)
        params = []
    with torch.no_grad():
        y0 = f(x)
    dy = torch.from_numpy(randn(*y0.shape)).contiguous(memory_format=fmt)
    xg = x.detach().clone().requires_grad_(c["input_grad"])

    def fwd():
        with torch.no_grad():
            return f(x)

    def fwd_bwd():
        for p in params:
            p.grad = None
        xg.grad = None
        y = f(xg)
        y.backward(dy)

    return fwd, fwd_bwd


def cnn_stack_fns(m: object) -> tuple:
    """conv1 + relu + pool1 + conv2 + relu + pool2, forward+backward (the step's conv part)."""
    x = m.constant(randn(100, 28, 28, 1))
    w1 = m.Variable(randn(5, 5, 1, 32) * 0.1)
    w2 = m.Variable(randn(5, 5, 32, 64) * 0.05)
    dy = m.constant(randn(100, 7, 7, 64))

    def step():
        with m.GradientTape() as tape:
            h = m.nn.max_pool2d(m.nn.relu(m.nn.conv2d(x, w1, 1, "SAME")), 2, 2, "VALID")
            y = m.nn.max_pool2d(m.nn.relu(m.nn.conv2d(h, w2, 1, "SAME")), 2, 2, "VALID")
        return tape.gradient(y, [w1, w2], output_gradients=dy)

    return step


def torch_stack_fn(channels_last: bool) -> object:
    import torch

    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.from_numpy(randn(100, 28, 28, 1)).permute(0, 3, 1, 2).contiguous(memory_format=fmt)
    w1 = torch.from_numpy(randn(32, 1, 5, 5) * 0.1).contiguous(memory_format=fmt).requires_grad_()
    w2 = torch.from_numpy(randn(64, 32, 5, 5) * 0.05).contiguous(memory_format=fmt).requires_grad_()
    dy = torch.from_numpy(randn(100, 64, 7, 7)).contiguous(memory_format=fmt)
    F = torch.nn.functional

    def step():
        w1.grad = w2.grad = None
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, padding=2)), 2)
        y = F.max_pool2d(F.relu(F.conv2d(h, w2, padding=2)), 2)
        y.backward(dy)

    return step


# ---------------------------------------------------------------------------------------------
# Each library runs in its own process: the thread pools of torch, TF and OpenBLAS spin after
# their work and would steal the 2 cores from whichever library is timed next.
# ---------------------------------------------------------------------------------------------

def tune_malloc() -> None:
    """The engine's allocator setting (tapeflow applies it on import unless disabled), applied
    explicitly so the peers' processes get it too with --malloc-tuning."""
    from tapeflow.backend import tune_malloc as _tune

    _tune()


def measure(lib: str, cases: list, repeat: int, stat: str = "median") -> dict:
    """{row name: seconds} for one library: "tapeflow", "torch", "torch_cl", "tensorflow",
    or "alg:<name>" (tapeflow with that algorithm forced)."""
    def t(fn: object) -> float:
        if stat == "min":  # best single call of many: robust when other processes share the CPU
            return timeit(fn, number=1, repeat=max(20, 4 * repeat), warmup=2, stat="min")
        return timeit(fn, repeat=repeat, warmup=2, min_round_s=0.2, stat=stat)

    out: dict = {}
    if lib.startswith("alg:"):
        conv_ops.ALGORITHM = lib[4:]
        lib_fns = tapeflow_fns
        cases = [c for c in cases if c["kind"] == "conv"]
    elif lib == "tapeflow":
        lib_fns = tapeflow_fns
    elif lib == "tensorflow":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tfm

        def lib_fns(c: dict) -> tuple:
            return tapeflow_fns(c, tfm)
    else:
        import torch

        if os.environ.get("OMP_NUM_THREADS"):
            torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

        def lib_fns(c: dict) -> tuple:
            return torch_fns(c, lib == "torch_cl")
    for c in cases:
        fns = lib_fns(c)
        out[f"{c['name']} fwd"] = t(fns[0])
        out[f"{c['name']} fwd+bwd"] = t(fns[1])
    if lib in ("tapeflow", "tensorflow"):
        out[STACK] = t(cnn_stack_fns(tf if lib == "tapeflow" else tfm))
    elif lib in ("torch", "torch_cl"):
        out[STACK] = t(torch_stack_fn(lib == "torch_cl"))
    return out


STACK = "seed-003 conv stack fwd+bwd"


def run_worker(lib: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, "-m", "bench.conv_ops", "--worker", lib]
    if args.quick:
        cmd.append("--quick")
    if args.malloc_tuning:
        cmd.append("--malloc-tuning")
    cmd += ["--stat", args.stat]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if args.threads:
        n = str(args.threads)
        env.update(OPENBLAS_NUM_THREADS=n, OMP_NUM_THREADS=n, MKL_NUM_THREADS=n,
                   TF_NUM_INTRAOP_THREADS=n, TF_NUM_INTEROP_THREADS="1")
    res = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        print(f"[{lib}] failed:\n{res.stderr[-2000:]}", file=sys.stderr)
        return {}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="key shapes only, fewer repeats")
    ap.add_argument("--no-tf", action="store_true", help="skip the TensorFlow peer")
    ap.add_argument("--no-alg", action="store_true", help="skip the forced-algorithm table")
    ap.add_argument("--malloc-tuning", action="store_true",
                    help="keep freed memory in glibc's heap (mallopt) in every process, to show "
                         "what fresh-page faults cost")
    ap.add_argument("--stat", default="median", choices=("median", "min"))
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS/OpenMP threads in every library (default: the libraries' own)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    repeat = 5 if args.quick else 9
    cases = KEY_CASES + ([] if args.quick else OTHER_CASES)
    if args.worker:
        if args.malloc_tuning:
            tune_malloc()
        print(json.dumps(measure(args.worker, cases, repeat, args.stat)))
        return

    have_torch = peer_available("torch")
    have_tf = not args.no_tf and peer_available("tensorflow")
    peers = tuple(p for p, ok in (("torch", have_torch), ("torch_cl", have_torch),
                                  ("tensorflow", have_tf)) if ok)
    results = {lib: run_worker(lib, args) for lib in ("tapeflow",) + peers}
    table = Table("conv_ops", peers=peers)
    for name in results["tapeflow"]:
        table.add(name, results["tapeflow"][name],
                  **{p: results[p].get(name) for p in peers})
    table.note("algorithm: auto; one process per library; "
               f"{args.stat} of rounds; malloc tuning: {'on' if args.malloc_tuning else 'off'}; "
               f"threads: {args.threads or 'library default'}")
    table.report()
    if args.no_alg:
        return

    forced = {a: run_worker(f"alg:{a}", args) for a in ("fft", "im2col")}
    alg = Table("conv_ops_algorithms", peers=("im2col",))
    for c in cases:
        if c["kind"] != "conv":
            continue
        g = geometry("", c["x"].shape[1:3], c["w"].shape[:2], (c["stride"],) * 2, (1, 1),
                              c["padding"])
        auto = conv_ops.choose_algorithm(np, g, c["x"].shape[0], c["x"].shape[-1],
                                         c["w"].shape[-1], 1, 4)
        for mode in ("fwd", "fwd+bwd"):
            name = f"{c['name']} {mode}"
            alg.add(f"{name} (auto: {auto})", forced["fft"].get(name),
                    im2col=forced["im2col"].get(name))
    alg.note("tapeflow column = FFT forced; ratio below 1 means FFT beats im2col")
    alg.report()


if __name__ == "__main__":
    main()
