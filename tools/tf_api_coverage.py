"""List, per public TF namespace, the names TensorFlow 2.21 has and Tapeflow lacks.

Usage: PYTHONPATH=. python tools/tf_api_coverage.py [--missing] [--core | --extended] [namespace ...]
Needs TensorFlow installed (the reference). `CORE` are the tensor namespaces of issue 15 (their
total is the figure the issue's 90% bar is about); `EXTENDED` are the other public modules a user
touches (training, data, saving, TF 1 compatibility, quantization, raw ops, ...). tf.keras is
Keras's, not TF's, and is never counted; lite, tpu and xla are out of scope. Submodules of a
namespace are counted as names of it. A namespace TensorFlow itself cannot load (tf.compat.v1.layers
needs Keras 2 internals) is reported and skipped.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CORE = ["", "math", "nn", "linalg", "dtypes", "random", "signal", "sparse", "ragged", "strings", "image",
        "io", "config", "experimental", "types", "errors", "debugging", "bitwise", "audio",
        "experimental.numpy"]
EXTENDED = [
    "train", "train.experimental", "summary", "summary.experimental", "data", "data.experimental",
    "saved_model", "saved_model.experimental", "lookup", "lookup.experimental", "autograph",
    "autograph.experimental", "test", "queue", "sysconfig", "version", "nest", "sets", "autodiff",
    "nn.experimental", "math.special", "linalg.experimental", "random.experimental", "dtypes.experimental",
    "config.experimental", "config.optimizer", "config.threading", "io.gfile", "types.experimental",
    "experimental.dlpack", "experimental.extension_type", "experimental.numpy.random", "debugging.experimental",
    "profiler.experimental", "graph_util", "distribute", "distribute.experimental",
    "distribute.cluster_resolver", "feature_column", "quantization", "quantization.experimental",
    "mlir.experimental", "security", "tools", "experimental.dtensor", "raw_ops",
    "compat", "compat.v1", "compat.v1.nn", "compat.v1.train", "compat.v1.layers", "compat.v1.losses",
    "compat.v1.metrics", "compat.v1.summary", "compat.v1.math", "compat.v1.linalg", "compat.v1.random",
    "compat.v1.initializers", "compat.v1.data", "compat.v1.data.experimental", "compat.v1.io",
    "compat.v1.logging", "compat.v1.image", "compat.v1.strings", "compat.v1.sparse", "compat.v1.saved_model",
"compat.v1.debugging", "compat.v1.errors", "compat.v1.dtypes", "compat.v1.nest",
    "compat.v1.distribute", "compat.v1.lookup", "compat.v1.test", "compat.v1.gfile", "compat.v1.config",
    "compat.v1.quantization", "compat.v1.signal", "compat.v1.bitwise", "compat.v1.sets", "compat.v1.audio",
    "compat.v1.queue", "compat.v1.autograph", "compat.v1.ragged", "compat.v1.spectral", "compat.v1.manip",
    "compat.v1.sysconfig", "compat.v1.version", "compat.v1.feature_column",
]
# Top-level names that are not TF's tensor API (Keras, out-of-scope runtimes); `compat` and the
# other modules of EXTENDED are counted there, not as one name each of tf.*.
SKIPPED = {"feature_column", "lite", "tpu", "xla", "compat", "keras"}  # feature_column: EXTENDED
NEVER = {"keras"}  # Keras's modules inside TF's namespaces (tf.compat.v1.keras, ...)


def _resolve(root: object, path: str) -> object | None:
    for part in path.split(".") if path else []:
        root = getattr(root, part, None)
        if root is None:
            return None
    return root


def coverage(namespace: str) -> tuple[set[str], set[str]] | None:
    """(TF's public names, the ones Tapeflow lacks) of tf.<namespace>; None if TF cannot load it."""
    import tensorflow as ttf

    import tapeflow as tf

    try:
        module = _resolve(ttf, namespace)
        theirs = {n for n in dir(module) if not n.startswith("_")} - NEVER if module is not None else None
    except ImportError:
        return None
    if theirs is None:
        return None
    if namespace == "":
        theirs -= SKIPPED
    ours = _resolve(tf, namespace)
    missing = {n for n in theirs if ours is None or not hasattr(ours, n)}
    return theirs, missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("namespaces", nargs="*")
    parser.add_argument("--missing", action="store_true", help="print the missing names")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--core", action="store_true", help="only the tensor namespaces (CORE)")
    group.add_argument("--extended", action="store_true", help="only the other modules (EXTENDED)")
    args = parser.parse_args(argv)
    groups = ([("selected", args.namespaces)] if args.namespaces else
              [("core", CORE)] if args.core else [("extended", EXTENDED)] if args.extended else
              [("core", CORE), ("extended", EXTENDED)])
    grand_theirs = grand_missing = 0
    for label, namespaces in groups:
        total_theirs = total_missing = 0
        for ns in namespaces:
            result = coverage(ns)
            if result is None:
                print(f"tf.{ns:<28} (TensorFlow cannot load it here; skipped)")
                continue
            theirs, missing = result
            total_theirs += len(theirs)
            total_missing += len(missing)
            have = len(theirs) - len(missing)
            print(f"tf.{ns or '*':<28} {have:4d}/{len(theirs):<4d} {have / max(len(theirs), 1):6.1%}")
            if args.missing and missing:
                print("    missing: " + ", ".join(sorted(missing)))
        have = total_theirs - total_missing
        print(f"{'total ' + label:<31} {have:4d}/{total_theirs:<4d} {have / max(total_theirs, 1):6.1%}")
        grand_theirs += total_theirs
        grand_missing += total_missing
    if len(groups) > 1:
        have = grand_theirs - grand_missing
        print(f"{'total':<31} {have:4d}/{grand_theirs:<4d} {have / max(grand_theirs, 1):6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
