"""Shared fixtures: real-data location, optional oracles, devices."""

from __future__ import annotations

import os
from pathlib import Path

# NOTE: with `pytest -n 2` on a 2-core machine, two workers each running a multi-threaded
# OpenBLAS oversubscribe the cores, and OpenBLAS's spinning threads then slow GEMMs down by
# an order of magnitude. One BLAS thread per worker keeps every core busy without contention.
# (numpy is not imported yet when pytest loads this file in a worker.)
if os.environ.get("PYTEST_XDIST_WORKER"):
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

# The adaptive BLAS thread policy (tapeflow/backend/blas_threads.py) would change thread counts
# mid-test with the machine's load; tests that exercise it turn it on themselves.
os.environ.setdefault("TAPEFLOW_ADAPTIVE_THREADS", "0")

import pytest  # noqa: E402

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


@pytest.fixture(autouse=True)
def _no_tape_left_recording_or_trace_left_open():
    """A test must not leave a tape recording or a tf.function trace open for the next ones."""
    yield
    from tapeflow.autodiff.function import recording_tapes
    from tapeflow.tracing import state

    leaked = (list(recording_tapes), list(state.graphs))
    recording_tapes.clear()
    state.graphs.clear()
    assert leaked == ([], []), f"left recording / open: {leaked}"
