"""Shared fixtures: real-data location, optional oracles, devices."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
if "TAPEFLOW_DATA_DIR" not in os.environ and _SHARED.is_dir():
    os.environ["TAPEFLOW_DATA_DIR"] = str(_SHARED)


def data_dir() -> Path | None:
    d = os.environ.get("TAPEFLOW_DATA_DIR")
    return Path(d) if d and Path(d).is_dir() else None


@pytest.fixture
def mnist_dir() -> Path:
    d = data_dir()
    if d is None or not (d / "mnist" / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("real MNIST not available (set TAPEFLOW_DATA_DIR)")
    return d


@pytest.fixture
def fashion_mnist_dir() -> Path:
    d = data_dir()
    if d is None or not (d / "fashion-mnist" / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("real Fashion-MNIST not available (set TAPEFLOW_DATA_DIR)")
    return d


@pytest.fixture(autouse=True)
def _reset_seed():
    import tapeflow as tf

    tf.random.set_seed(None)
    yield
