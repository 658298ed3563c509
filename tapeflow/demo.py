"""`python -m tapeflow demo`: train a small CNN on real digits, report accuracy, plot the curves.

Works offline on a fresh machine with the MNIST subset shipped in the package, or on full
MNIST / Fashion-MNIST when they are in the dataset cache (`$TAPEFLOW_DATA_DIR` or
`~/.keras/datasets`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import numpy as np

from tapeflow import atomic_file as _atomic

DATASETS = ("auto", "embedded", "mnist", "fashion_mnist")


def load(dataset: str) -> tuple[str, tuple, tuple, list]:
    """(name, (x_train, y_train), (x_test, y_test), class names) as float32 images in [0, 1]."""
    from tapeflow.keras.datasets import fashion_mnist, mnist

    digits = [str(i) for i in range(10)]
    if dataset == "auto":
        dataset = "mnist" if mnist.is_cached() else "embedded"
    if dataset == "embedded":
        train, test = mnist.load_embedded()
        name, classes = "MNIST subset shipped with Tapeflow (5,000 train / 1,000 test)", digits
    elif dataset == "mnist":
        train, test = mnist.load_data()
        name, classes = "MNIST", digits
    else:
        train, test = fashion_mnist.load_data()
        name, classes = "Fashion-MNIST", list(fashion_mnist.CLASS_NAMES)

    def prep(split: tuple) -> tuple:
        x, y = split
        return (x.astype("float32") / 255.0)[..., None], y.astype("int64")

    return name, prep(train), prep(test), classes


def build_model(keras: Any) -> Any:
    """A small CNN: two conv/pool stages, dropout and a softmax classifier."""
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(10, activation="softmax"),
        ],
        name="demo_cnn",
    )


def confusion_summary(y_true: np.ndarray, y_pred: np.ndarray, classes: list) -> str:
    """Per-class accuracy and each class's most frequent confusion, as text lines."""
    n = len(classes)
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    width = max(len(c) for c in classes)
    lines = [f"{'class':<{width}}  accuracy  most often mistaken for"]
    for i, c in enumerate(classes):
        total = cm[i].sum()
        acc = cm[i, i] / total if total else float("nan")
        off = cm[i].copy()
        off[i] = 0
        j = int(off.argmax())
        confused = f"{classes[j]} ({off[j]}x)" if off[j] else "-"
        lines.append(f"{c:<{width}}  {acc:8.1%}  {confused}")
    return "\n".join(lines)


def plot_history(history: dict, path: str) -> str:
    """Write learning curves to `path` (PNG); returns a message for the user."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return (
            "Learning curves not drawn: matplotlib is not installed "
            "(pip install 'tapeflow[plot]' or pip install matplotlib)."
        )
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = range(1, len(history["loss"]) + 1)
    for ax, key in zip(axes, ("loss", "accuracy"), strict=False):
        ax.plot(epochs, history[key], "o-", label=f"training {key}")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], "s--", label=f"validation {key}")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = _atomic.temporary_path(path, ".png")
    try:
        fig.savefig(tmp, dpi=100)
        _atomic.commit(tmp, path)
    finally:
        plt.close(fig)
        _atomic.discard(tmp)
    return f"Learning curves: {path}"


def run(
    dataset: str = "auto",
    epochs: int = 3,
    batch_size: int = 64,
    out: str = "tapeflow-demo",
    seed: int = 0,
    limit: int | None = None,
    verbose: Any = "auto",
) -> dict:
    """Train, evaluate, save and plot; returns the test accuracy and output paths."""
    import tapeflow as tf

    keras = tf.keras
    keras.utils.set_random_seed(seed)
    name, (x_train, y_train), (x_test, y_test), classes = load(dataset)
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
        x_test, y_test = x_test[: max(limit // 5, 100)], y_test[: max(limit // 5, 100)]
    print(f"Dataset: {name}: {len(x_train)} training and {len(x_test)} test images")
    model = build_model(keras)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    start = time.perf_counter()
    history = model.fit(
        x_train, y_train, epochs=epochs, batch_size=batch_size, validation_split=0.1, verbose=verbose
    )
    seconds = time.perf_counter() - start
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    y_pred = model.predict(x_test, verbose=0).argmax(axis=1)
    print(f"\nTrained {epochs} epoch(s) in {seconds:.1f} s. Test accuracy: {acc:.2%} (loss {loss:.4f})\n")
    print(confusion_summary(y_test, y_pred, classes))
    os.makedirs(out, exist_ok=True)
    model_path = os.path.join(out, "demo_cnn.keras")
    model.save(model_path)
    print(f"\nModel saved: {model_path} (reload with keras.models.load_model)")
    print(plot_history(history.history, os.path.join(out, "learning_curves.png")))
    return {"accuracy": acc, "loss": loss, "model_path": model_path, "history": history.history}


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (`--epochs 0` would save an untrained model)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {value}")
    return value


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tapeflow demo", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        default="auto",
        help="auto = full MNIST when cached, else the embedded subset",
    )
    parser.add_argument("--epochs", type=_positive_int, default=3, help="training epochs")
    parser.add_argument("--batch-size", type=_positive_int, default=64, help="images per training step")
    parser.add_argument("--out", default="tapeflow-demo", help="folder for the model and the plot")
    parser.add_argument("--seed", type=int, default=0, help="random seed (weights and shuffling)")
    parser.add_argument("--limit", type=_positive_int, default=None,
                        help="use only this many training images")
    args = parser.parse_args(argv)
    try:
        run(args.dataset, args.epochs, args.batch_size, args.out, args.seed, args.limit)
    except Exception as e:  # noqa: BLE001 - a demo explains the failure instead of a traceback
        if os.environ.get("TAPEFLOW_DEBUG"):
            raise
        print(f"tapeflow demo failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0
