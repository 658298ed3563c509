"""How much of TF 2.21's public API each namespace this area owns provides (against TF's dir()).

Names other areas own (strings/io, image, sparse/ragged, distribute) are left out of the counts.
`tools/tf_api_coverage.py --missing` lists the names each namespace still lacks.
"""

from __future__ import annotations

import pytest

import tapeflow as tf

OTHERS = {"": {"RaggedTensor", "RaggedTensorSpec", "SparseTensor", "SparseTensorSpec", "as_string", "image", "io",
               "ragged", "ragged_fill_empty_rows", "ragged_fill_empty_rows_grad", "sparse", "strings", "distribute"}}
# namespace -> the fraction of TF's public names that must exist here
BARS = {"math": 0.9, "random": 0.9, "signal": 0.9, "bitwise": 0.9, "debugging": 0.9, "errors": 0.9,
        "experimental.numpy": 0.9, "": 0.9, "linalg": 0.9, "nn": 0.9, "dtypes": 0.9}


def _resolve(root, path):
    for part in path.split(".") if path else []:
        root = getattr(root, part)
    return root


@pytest.mark.oracle
@pytest.mark.parametrize("namespace", sorted(BARS))
def test_namespace_coverage(namespace):
    ttf = pytest.importorskip("tensorflow")
    theirs = {n for n in dir(_resolve(ttf, namespace)) if not n.startswith("_")} - OTHERS.get(namespace, set())
    ours = _resolve(tf, namespace)
    present = {n for n in theirs if hasattr(ours, n)}
    share = len(present) / len(theirs)
    assert share >= BARS[namespace], (f"tf.{namespace}: {len(present)}/{len(theirs)} = {share:.0%}; missing: "
                                      f"{sorted(theirs - present)}")
