"""Build tapeflow/keras/datasets/data/mnist_embedded.npz: a stratified subset of MNIST's test split.

Usage:
    python tools/make_embedded_mnist.py [--source DIR] [--train 5000] [--test 1000] [--seed 2024]

DIR holds the canonical `t10k-images-idx3-ubyte.gz` / `t10k-labels-idx1-ubyte.gz` (default:
`$TAPEFLOW_DATA_DIR/mnist`). The files are checked against their published SHA-256 first. The
subset draws the same share of every digit as the full test split (stratified), then splits it,
again stratified, into a train and a test part. The original row numbers are stored too
(`index_train`, `index_test`), so anyone can check the subset against the published files.
The output is deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository root

from tapeflow.keras.datasets import mnist  # noqa: E402
from tapeflow.keras.datasets._common import idx_pair  # noqa: E402
from tapeflow.keras.utils.file_utils import datasets_dir, validate_file  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   "tapeflow", "keras", "datasets", "data", "mnist_embedded.npz")


def stratified_take(labels: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Row numbers of `count` rows holding each class in proportion to `labels` (sorted)."""
    classes, sizes = np.unique(labels, return_counts=True)
    quota = np.floor(sizes * count / len(labels)).astype(int)
    # Hand out the rounding remainder to the classes with the largest fractional parts.
    rest = count - quota.sum()
    frac = sizes * count / len(labels) - quota
    quota[np.argsort(-frac, kind="stable")[:rest]] += 1
    picks = [rng.choice(np.flatnonzero(labels == c), size=q, replace=False)
             for c, q in zip(classes, quota, strict=True)]
    return np.sort(np.concatenate(picks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=os.path.join(datasets_dir(), "mnist"))
    parser.add_argument("--train", type=int, default=5000)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args()

    paths = {}
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        paths[name] = os.path.join(args.source, name)
        if not validate_file(paths[name], mnist.IDX_SHA256[name]):
            raise SystemExit(f"{paths[name]} does not match the published SHA-256; refusing to use it.")
    x, y = idx_pair(paths["t10k-images-idx3-ubyte.gz"], paths["t10k-labels-idx1-ubyte.gz"], (28, 28))

    rng = np.random.default_rng(args.seed)
    subset = stratified_take(y, args.train + args.test, rng)
    test_pos = stratified_take(y[subset], args.test, rng)
    is_test = np.zeros(len(subset), dtype=bool)
    is_test[test_pos] = True
    index_train, index_test = subset[~is_test], subset[is_test]
    # Shuffle the training rows once so a plain `fit` without shuffling still sees mixed classes.
    index_train = index_train[rng.permutation(len(index_train))]

    arrays = {
        "x_train": x[index_train], "y_train": y[index_train],
        "x_test": x[index_test], "y_test": y[index_test],
        "index_train": index_train.astype(np.uint16), "index_test": index_test.astype(np.uint16),
    }
    # Deterministic bytes: fixed member order and timestamps, maximum deflate level.
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with zipfile.ZipFile(args.out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for key, value in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(value), allow_pickle=False)
            zf.writestr(info, buffer.getvalue(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    counts = np.bincount(arrays["y_train"], minlength=10), np.bincount(arrays["y_test"], minlength=10)
    print(f"wrote {args.out}: {os.path.getsize(args.out)} bytes; "
          f"train {len(index_train)} per class {counts[0].tolist()}, test {len(index_test)} per class "
          f"{counts[1].tolist()}")


if __name__ == "__main__":
    main()
