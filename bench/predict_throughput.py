"""Inference throughput: `predict` on 10,000 samples for an MLP and a CNN, vs Keras and PyTorch.

    python -m bench.predict_throughput [--samples N]

The MLP is 784-512(relu)-10(softmax); the CNN is the seed-003 network (conv 5x5x32 same relu,
max-pool 2, conv 5x5x64 same relu, max-pool 2, dense 1024 relu, dense 10). Batch size 32
(Keras's default for predict) and 256.
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from bench.common import Table, compare, peer_available


def _tapeflow_models():
    import tapeflow as tf
    from tapeflow import keras
    from tapeflow.keras import layers

    tf.keras.utils.set_random_seed(0)
    mlp = keras.Sequential(
        [keras.Input((784,)), layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax")]
    )
    cnn = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(1024, activation="relu"),
            layers.Dense(10),
        ]
    )
    return mlp, cnn


def _keras_models(mlp_w, cnn_w):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    mlp = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    cnn = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 5, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(64, 5, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(1024, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    mlp.set_weights(mlp_w)
    cnn.set_weights(cnn_w)
    return mlp, cnn


def _torch_models(mlp_w, cnn_w):
    import torch
    from torch import nn

    torch.set_num_threads(os.cpu_count() or 1)

    class CNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.c1 = nn.Conv2d(1, 32, 5, padding=2)
            self.c2 = nn.Conv2d(32, 64, 5, padding=2)
            self.f1 = nn.Linear(3136, 1024)
            self.f2 = nn.Linear(1024, 10)

        def forward(self, x):
            x = torch.max_pool2d(torch.relu(self.c1(x)), 2)
            x = torch.max_pool2d(torch.relu(self.c2(x)), 2)
            x = torch.relu(self.f1(x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)))
            return self.f2(x)

    mlp = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10), nn.Softmax(-1))
    cnn = CNN()
    with torch.no_grad():
        mlp[0].weight.copy_(torch.tensor(mlp_w[0].T))
        mlp[0].bias.copy_(torch.tensor(mlp_w[1]))
        mlp[2].weight.copy_(torch.tensor(mlp_w[2].T))
        mlp[2].bias.copy_(torch.tensor(mlp_w[3]))
        cnn.c1.weight.copy_(torch.tensor(cnn_w[0].transpose(3, 2, 0, 1)))
        cnn.c1.bias.copy_(torch.tensor(cnn_w[1]))
        cnn.c2.weight.copy_(torch.tensor(cnn_w[2].transpose(3, 2, 0, 1)))
        cnn.c2.bias.copy_(torch.tensor(cnn_w[3]))
        cnn.f1.weight.copy_(torch.tensor(cnn_w[4].T))
        cnn.f1.bias.copy_(torch.tensor(cnn_w[5]))
        cnn.f2.weight.copy_(torch.tensor(cnn_w[6].T))
        cnn.f2.bias.copy_(torch.tensor(cnn_w[7]))
    mlp.eval()
    cnn.eval()
    return mlp, cnn


def _torch_predict(model, x, batch_size):
    import torch

    with torch.inference_mode():
        return np.concatenate(
            [model(torch.from_numpy(x[i : i + batch_size])).numpy() for i in range(0, len(x), batch_size)]
        )


def main(argv: list | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x_img = rng.random((args.samples, 28, 28, 1), dtype=np.float32)
    x_flat = x_img.reshape(args.samples, 784)
    mlp, cnn = _tapeflow_models()
    peers = tuple(p for p, mod in (("keras", "tensorflow"), ("torch", "torch")) if peer_available(mod))
    k = _keras_models(mlp.get_weights(), cnn.get_weights()) if "keras" in peers else None
    t = _torch_models(mlp.get_weights(), cnn.get_weights()) if "torch" in peers else None
    if t is not None:
        x_nchw = np.ascontiguousarray(x_img.transpose(0, 3, 1, 2))
        assert np.allclose(
            _torch_predict(t[1], x_nchw[:64], 64), cnn.predict(x_img[:64], verbose=0), atol=1e-3
        )
    table = Table("predict_throughput", peers=peers)
    for label, model_i, x in (("MLP", 0, x_flat), ("CNN", 1, x_img)):
        for bs in (32, 256):
            fns = {
                "tapeflow": lambda m=(mlp, cnn)[model_i], x=x, bs=bs: m.predict(x, batch_size=bs, verbose=0)
            }
            if k is not None:
                fns["keras"] = lambda m=k[model_i], x=x, bs=bs: m.predict(x, batch_size=bs, verbose=0)
            if t is not None:
                xt = x if model_i == 0 else x_nchw
                fns["torch"] = lambda m=t[model_i], x=xt, bs=bs: _torch_predict(m, x, bs)
            times = compare(fns, number=1, repeat=args.repeat, warmup=1)
            row = table.add(
                f"{label} predict {args.samples} samples, batch {bs}",
                times["tapeflow"],
                **{p: times.get(p) for p in peers},
            )
            row["samples_per_s"] = args.samples / times["tapeflow"]
    table.note("Times are per full predict() call; target: ahead of both peers (ratio < 1).")
    table.report()


if __name__ == "__main__":
    main()
