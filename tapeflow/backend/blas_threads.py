"""BLAS threads that fit the cores other processes leave free (issue 17's busy machine).

OpenBLAS starts one thread per core and spins them in lock step inside each GEMM: when another
process keeps a core busy, the thread that shares that core is descheduled and the others wait
for it, so a step can take several times its quiet time. While Keras `fit`/`evaluate`/`predict`
run, `BlasThreadPolicy.maybe_adapt` looks (at most once a second) at how much CPU the rest of
the machine used since the last look — /proc/stat's busy time minus this process's own — and
sets the BLAS thread count to the cores left free (at least 1, at most the library's default).

The policy is off when the user fixed the count (`tf.config.threading.
set_intra_op_parallelism_threads`), when `TAPEFLOW_ADAPTIVE_THREADS=0`, on systems without
/proc/stat, and without threadpoolctl (the optional package that changes the count).
"""

from __future__ import annotations

import os
import time
from typing import Any

CHECK_EVERY_S = 1.0


def _proc_stat_busy() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat's first line."""
    try:
        with open("/proc/stat", "rb") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != b"cpu":
        return None
    ticks = [int(v) for v in fields[1:]]
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    total = sum(ticks[:8])  # guest time is already counted in user
    return (total - idle) / hz, total / hz


def _own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def threads_for(others_busy_cores: float, cores: int, default: int) -> int:
    """BLAS threads for `cores` cores of which other processes keep `others_busy_cores` busy:
    the free cores, rounded (a core busy 30% of the time still counts as free), within
    [1, default]."""
    free = cores - others_busy_cores
    return max(1, min(default, int(free + 0.7)))


class BlasThreadPolicy:
    """Samples the machine's CPU use and adapts the BLAS thread count (see the module docstring)."""

    def __init__(self) -> None:
        self.enabled = os.environ.get("TAPEFLOW_ADAPTIVE_THREADS", "1") != "0"
        self._last: tuple | None = None
        self._next_check = 0.0
        self._default: int | None = None
        self.current: int | None = None
        self._controller: Any = None
        try:
            self.cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            self.cores = os.cpu_count() or 1

    def _active(self) -> bool:
        if not self.enabled or self.cores < 2:
            return False
        from tapeflow import config

        if config.threading.get_intra_op_parallelism_threads():
            return False  # the user's own choice wins
        if self._controller is None:
            try:
                import threadpoolctl
            except ImportError:
                self.enabled = False
                return False
            self._controller = threadpoolctl
            blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
            if not blas:
                self.enabled = False
                return False
            self._default = max(i["num_threads"] for i in blas)
            self.current = self._default
        return self._default is not None and self._default > 1

    def maybe_adapt(self) -> int | None:
        """Check the machine if a second has passed; returns the thread count set, if any."""
        now = time.monotonic()
        if now < self._next_check:
            return None
        self._next_check = now + CHECK_EVERY_S
        if not self._active():
            return None
        sample = _proc_stat_busy()
        if sample is None:
            self.enabled = False
            return None
        own = _own_cpu_seconds()
        last, self._last = self._last, (now, sample[0], own)
        if last is None:
            return None
        wall = now - last[0]
        if wall <= 0:
            return None
        others = max(0.0, ((sample[0] - last[1]) - (own - last[2])) / wall)
        wanted = threads_for(others, self.cores, self._default)
        if wanted != self.current:
            self._controller.threadpool_limits(limits=wanted, user_api="blas")
            self.current = wanted
            return wanted
        return None

    def restore(self) -> None:
        """Back to the library's default (when the user takes control)."""
        if self._controller is not None and self._default is not None and self.current != self._default:
            self._controller.threadpool_limits(limits=self._default, user_api="blas")
            self.current = self._default


policy = BlasThreadPolicy()
