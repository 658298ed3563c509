"""The models people actually train (issue 17): Tapeflow vs PyTorch vs Keras, each library in
its own process, rounds rotating the order.

Workloads (train steps through each library's usual path: Keras/Tapeflow `fit`, a PyTorch loop;
then `predict` throughput on the same model):
  convnet     keras.io MNIST convnet: Conv2D 32 3x3 relu, MaxPool, Conv2D 64 3x3 relu, MaxPool,
              Flatten, Dropout 0.5, Dense 10 softmax; Adam; batch 128; 28x28x1
  cifar_cnn   TF "Convolutional Neural Network" tutorial: Conv 32-64-64 3x3 relu (pools between),
              Flatten, Dense 64 relu, Dense 10 logits; Adam; batch 32; 32x32x3
  resnet      two residual blocks (Conv 3x3 + BatchNorm + relu, twice, plus the skip) on a 3x3
              stem, GlobalAveragePooling, Dense 10; Adam; batch 32; 32x32x3
  mobilenet   three depthwise-separable blocks (DepthwiseConv 3x3 + BN + relu, Conv 1x1 + BN +
              relu) after a strided stem; GAP, Dense 10; Adam; batch 32; 32x32x3
  text        Embedding(10000, 16) + GlobalAveragePooling1D + Dense 16 relu + Dense 1 (logits);
              binary cross-entropy; Adam; batch 32; length 256
  lstm        LSTM(128) on MNIST rows (28 steps of 28) + Dense 10 logits; Adam; batch 64
  mlp         TF quickstart MLP: Flatten, Dense 128 relu, Dropout 0.2, Dense 10 logits; batch 32
Data are random with the workload's shapes (the timing does not depend on the values).

Each process trains `--steps` steps after a warm-up (tracing, allocation), `--rounds` times, and
reports its best round per step, then the best predict time per sample and its peak RSS. With
`--contend`, one extra process keeps one core busy for the whole run (issue 17's busy machine).

Run:  python -m bench.everyday [--workloads convnet,lstm] [--rounds 3] [--steps 20] [--contend]
      [--libs tapeflow,torch,keras] [--blas-threads N] [--cpu-time]
With --cpu-time each process reports its CPU time (time.process_time) instead of wall time: the
figure to compare on a machine loaded by other jobs, for one library against itself (e.g. two
commits, `--libs tapeflow --blas-threads 1`); peers' multi-threaded CPU time is not their speed.
Target (issue 17): tapeflow <= 0.8x the faster of PyTorch and Keras on every workload; under
--contend at most 2x its quiet time and still the fastest.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np

from bench.common import Table, peer_available

WORKLOADS = {  # name: (input shape, batch, classes or 1 for a binary logit, integer inputs)
    "convnet": ((28, 28, 1), 128, 10, False),
    "cifar_cnn": ((32, 32, 3), 32, 10, False),
    "resnet": ((32, 32, 3), 32, 10, False),
    "mobilenet": ((32, 32, 3), 32, 10, False),
    "text": ((256,), 32, 1, True),
    "lstm": ((28, 28), 64, 10, False),
    "mlp": ((28, 28), 32, 10, False),
}
PREDICT_BATCHES = 8
CLOCK = time.perf_counter  # time.process_time with --cpu-time


def make_data(name: str, steps: int) -> tuple:
    shape, batch, classes, integer = WORKLOADS[name]
    rng = np.random.default_rng(0)
    n = batch * steps
    x = rng.integers(0, 10000, (n, *shape)) if integer else rng.random((n, *shape), dtype=np.float32)
    y = rng.integers(0, 2, (n, 1)).astype("float32") if classes == 1 else rng.integers(0, classes, n)
    return x, y


# -- Keras API (Tapeflow and Keras) ------------------------------------------------------------
def keras_model(k: Any, name: str) -> Any:
    L = k.layers
    shape, _, classes, _ = WORKLOADS[name]
    if name == "convnet":
        layers = [L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2), L.Conv2D(64, 3, activation="relu"),
                  L.MaxPooling2D(2), L.Flatten(), L.Dropout(0.5), L.Dense(10, activation="softmax")]
        model = k.Sequential([k.Input(shape), *layers])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    if name == "cifar_cnn":
        layers = [L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2), L.Conv2D(64, 3, activation="relu"),
                  L.MaxPooling2D(2), L.Conv2D(64, 3, activation="relu"), L.Flatten(),
                  L.Dense(64, activation="relu"), L.Dense(10)]
        model = k.Sequential([k.Input(shape), *layers])
    elif name in ("resnet", "mobilenet"):
        inputs = k.Input(shape)
        h = L.Conv2D(32, 3, strides=1 if name == "resnet" else 2, padding="same", use_bias=False)(inputs)
        h = L.ReLU()(L.BatchNormalization()(h))
        for _ in range(2 if name == "resnet" else 3):
            if name == "resnet":
                r = L.ReLU()(L.BatchNormalization()(L.Conv2D(32, 3, padding="same", use_bias=False)(h)))
                r = L.BatchNormalization()(L.Conv2D(32, 3, padding="same", use_bias=False)(r))
                h = L.ReLU()(L.Add()([h, r]))
            else:
                h = L.ReLU()(L.BatchNormalization()(L.DepthwiseConv2D(3, padding="same", use_bias=False)(h)))
                h = L.ReLU()(L.BatchNormalization()(L.Conv2D(32, 1, use_bias=False)(h)))
        outputs = L.Dense(10)(L.GlobalAveragePooling2D()(h))
        model = k.Model(inputs, outputs)
    elif name == "text":
        model = k.Sequential([k.Input(shape, dtype="int32"), L.Embedding(10000, 16), L.GlobalAveragePooling1D(),
                              L.Dense(16, activation="relu"), L.Dense(1)])
        model.compile(optimizer="adam", loss=k.losses.BinaryCrossentropy(from_logits=True), metrics=["accuracy"])
        return model
    elif name == "lstm":
        model = k.Sequential([k.Input(shape), L.LSTM(128), L.Dense(10)])
    else:
        model = k.Sequential([k.Input(shape), L.Flatten(), L.Dense(128, activation="relu"), L.Dropout(0.2),
                              L.Dense(10)])
    model.compile(optimizer="adam", loss=k.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def run_keras_api(lib: str, name: str, steps: int, rounds: int) -> dict:
    if lib == "keras":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras as k
    else:
        from tapeflow import keras as k
    k.utils.set_random_seed(0)
    _, batch, _, _ = WORKLOADS[name]
    x, y = make_data(name, steps)
    model = keras_model(k, name)
    model.fit(x[: 2 * batch], y[: 2 * batch], batch_size=batch, epochs=2, verbose=0)  # trace, allocate
    best = float("inf")
    for _ in range(rounds):
        t0 = CLOCK()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
        best = min(best, (CLOCK() - t0) / steps)
    xp = x[: PREDICT_BATCHES * batch]
    model.predict(xp[:batch], batch_size=batch, verbose=0)
    pbest = float("inf")
    for _ in range(rounds):
        t0 = CLOCK()
        model.predict(xp, batch_size=batch, verbose=0)
        pbest = min(pbest, (CLOCK() - t0) / len(xp))
    return {"step": best, "predict": pbest}


# -- PyTorch -------------------------------------------------------------------------------------
def torch_model(name: str) -> tuple:
    import torch
    from torch import nn

    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                                      nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32))

        def forward(self, h: Any) -> Any:
            return torch.relu(h + self.body(h))

    class LastStep(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(28, 128, batch_first=True)
            self.out = nn.Linear(128, 10)

        def forward(self, x: Any) -> Any:
            return self.out(self.lstm(x)[0][:, -1])

    class Text(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.Embedding(10000, 16)
            self.head = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))

        def forward(self, x: Any) -> Any:
            return self.head(self.emb(x).mean(1))

    if name == "convnet":
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10))
    elif name == "cifar_cnn":
        model = nn.Sequential(nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
                              nn.Linear(1024, 64), nn.ReLU(), nn.Linear(64, 10))
    elif name == "resnet":
        model = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                              Residual(), Residual(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
    elif name == "mobilenet":
        blocks = []
        for _ in range(3):
            blocks += [nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                       nn.Conv2d(32, 32, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU()]
        model = nn.Sequential(nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                              *blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
    elif name == "text":
        model = Text()
    elif name == "lstm":
        model = LastStep()
    else:
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
    loss = nn.BCEWithLogitsLoss() if name == "text" else nn.CrossEntropyLoss()
    return model, loss


def run_torch(name: str, steps: int, rounds: int) -> dict:
    import torch

    torch.manual_seed(0)
    _, batch, _, integer = WORKLOADS[name]
    x, y = make_data(name, steps)
    channels_first = x.ndim == 4
    tx = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if channels_first else x)
    ty = torch.from_numpy(y)
    model, loss_fn = torch_model(name)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def epoch(n: int) -> None:
        model.train()
        for i in range(n):
            xb, yb = tx[i * batch:(i + 1) * batch], ty[i * batch:(i + 1) * batch]
            opt.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            (out.argmax(1) == yb).float().mean().item() if name != "text" else loss.item()  # the metric fit reports

    epoch(2)
    best = float("inf")
    for _ in range(rounds):
        t0 = CLOCK()
        epoch(steps)
        best = min(best, (CLOCK() - t0) / steps)
    xp = tx[: PREDICT_BATCHES * batch]
    model.eval()
    pbest = float("inf")
    with torch.no_grad():
        for _ in range(rounds):
            t0 = CLOCK()
            for i in range(PREDICT_BATCHES):
                model(xp[i * batch:(i + 1) * batch]).numpy()
            pbest = min(pbest, (CLOCK() - t0) / len(xp))
    return {"step": best, "predict": pbest}


# -- the runner ----------------------------------------------------------------------------------
def worker(lib: str, name: str, steps: int, rounds: int, blas_threads: int | None = None,
           cpu_time: bool = False) -> None:
    global CLOCK
    np.seterr(all="ignore")
    if cpu_time:
        CLOCK = time.process_time
    if blas_threads is not None and lib == "tapeflow":
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=blas_threads, user_api="blas")
    result = run_torch(name, steps, rounds) if lib == "torch" else run_keras_api(lib, name, steps, rounds)
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result), flush=True)


def spawn(lib: str, name: str, steps: int, rounds: int, blas_threads: int | None = None,
          cpu_time: bool = False) -> dict | None:
    cmd = [sys.executable, "-m", "bench.everyday", "--worker", lib, "--workloads", name,
           "--steps", str(steps), "--rounds", str(rounds)]
    if blas_threads is not None:
        cmd += ["--blas-threads", str(blas_threads)]
    if cpu_time:
        cmd.append("--cpu-time")
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    print(f"{lib} {name} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--libs", default="tapeflow,torch,keras")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2, help="processes per library (order rotated)")
    parser.add_argument("--contend", action="store_true", help="keep one core busy during the run")
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="limit Tapeflow's BLAS threads (threadpoolctl) in its worker processes")
    parser.add_argument("--cpu-time", action="store_true",
                        help="report each process's CPU time instead of wall time (loaded machines)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    names = args.workloads.split(",")
    for n in names:
        if n not in WORKLOADS:
            parser.error(f"unknown workload {n!r}; choose from {', '.join(WORKLOADS)}")
    if args.worker:
        worker(args.worker, names[0], args.steps, args.rounds, args.blas_threads, args.cpu_time)
        return
    libs = [lib for lib in args.libs.split(",")
            if lib == "tapeflow" or (lib == "torch" and peer_available("torch"))
            or (lib == "keras" and peer_available("keras") and peer_available("tensorflow"))]
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.contend else None
    table = Table("everyday" + ("_contend" if args.contend else ""), peers=("torch", "keras"))
    try:
        for name in names:
            best: dict = {}
            for r in range(args.repeats):
                order = libs[r % len(libs):] + libs[: r % len(libs)]
                for lib in order:
                    res = spawn(lib, name, args.steps, args.rounds, args.blas_threads, args.cpu_time)
                    if res is None:
                        continue
                    old = best.get(lib)
                    best[lib] = res if old is None else {k: min(old[k], res[k]) for k in res}
            if "tapeflow" not in best:
                continue
            get = {lib: best.get(lib, {}) for lib in ("torch", "keras")}
            table.add(f"{name} train step", best["tapeflow"]["step"], torch=get["torch"].get("step"),
                      keras=get["keras"].get("step"))
            table.add(f"{name} predict / sample", best["tapeflow"]["predict"], torch=get["torch"].get("predict"),
                      keras=get["keras"].get("predict"))
            peers = [v["step"] for lib, v in best.items() if lib != "tapeflow"]
            if peers:
                ratio = best["tapeflow"]["step"] / min(peers)
                table.note(f"{name}: train step {ratio:.2f}x the faster peer "
                           f"({'MET' if ratio <= 0.8 else 'NOT MET'} <= 0.8x); peak RSS "
                           + ", ".join(f"{lib} {v['rss_mb']:.0f} MB" for lib, v in best.items()))
    finally:
        if hog is not None:
            hog.kill()
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    table.note(f"load average {load_avg:.2f}" + ("; one core kept busy (--contend)" if args.contend else "")
               + ("; CPU time per process (--cpu-time)" if args.cpu_time else ""))
    table.report()


if __name__ == "__main__":
    main()
