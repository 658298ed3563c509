"""List, per public TF namespace, the names TensorFlow 2.21 has and Tapeflow lacks.

Usage: PYTHONPATH=. python tools/tf_api_coverage.py [--missing] [namespace ...]
Needs TensorFlow installed (the reference). Deprecated or out-of-scope namespaces (feature_column,
lite, tpu, xla, compat) are skipped; submodules of a namespace are counted as names of it.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

NAMESPACES = ["", "math", "nn", "linalg", "dtypes", "random", "signal", "sparse", "ragged", "strings", "image",
              "io", "config", "experimental", "types", "errors", "debugging", "bitwise", "audio",
              "experimental.numpy"]
SKIPPED = {"feature_column", "lite", "tpu", "xla", "compat"}


def _resolve(root: object, path: str) -> object | None:
    for part in path.split(".") if path else []:
        root = getattr(root, part, None)
        if root is None:
            return None
    return root


def coverage(namespace: str) -> tuple[set[str], set[str]]:
    """(TF's public names, the ones Tapeflow lacks) of tf.<namespace>."""
    import tensorflow as ttf

    import tapeflow as tf

    theirs = {n for n in dir(_resolve(ttf, namespace)) if not n.startswith("_")}
    if namespace == "":
        theirs -= SKIPPED
    ours = _resolve(tf, namespace)
    missing = {n for n in theirs if ours is None or not hasattr(ours, n)}
    return theirs, missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("namespaces", nargs="*", default=NAMESPACES)
    parser.add_argument("--missing", action="store_true", help="print the missing names")
    args = parser.parse_args(argv)
    total_theirs = total_missing = 0
    for ns in args.namespaces:
        theirs, missing = coverage(ns)
        total_theirs += len(theirs)
        total_missing += len(missing)
        have = len(theirs) - len(missing)
        print(f"tf.{ns or '*':<20} {have:4d}/{len(theirs):<4d} {have / max(len(theirs), 1):6.1%}")
        if args.missing and missing:
            print("    missing: " + ", ".join(sorted(missing)))
    have = total_theirs - total_missing
    print(f"{'total':<23} {have:4d}/{total_theirs:<4d} {have / max(total_theirs, 1):6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
