"""Coverage floors for the non-tensor namespaces (tools/tf_api_coverage.py's EXTENDED list) that
reached them, so a regression shows up: the share of TF 2.21's public names that exist here."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
from tf_api_coverage import coverage  # noqa: E402

FLOORS = {"quantization": 0.9, "saved_model": 0.9, "data": 0.9, "mlir.experimental": 1.0, "security": 1.0,
          "compat.v1": 0.7, "compat.v1.math": 0.9, "compat.v1.linalg": 0.9, "compat.v1.io": 0.9,
          "compat.v1.signal": 1.0, "compat.v1.image": 0.8, "compat.v1.random": 0.8,
          "feature_column": 1.0, "compat.v1.feature_column": 1.0}


@pytest.mark.oracle
@pytest.mark.parametrize("namespace", sorted(FLOORS))
def test_extended_namespace_floor(namespace):
    pytest.importorskip("tensorflow")
    theirs, missing = coverage(namespace)
    share = 1 - len(missing) / len(theirs)
    assert share >= FLOORS[namespace], f"tf.{namespace}: {share:.0%}; missing: {sorted(missing)}"


@pytest.mark.oracle
def test_raw_ops_count():
    pytest.importorskip("tensorflow")
    theirs, missing = coverage("raw_ops")
    assert len(theirs) - len(missing) >= 282
