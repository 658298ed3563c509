"""`keras.utils.Progbar`: the Keras progress bar (live bar, one line per epoch, or silent)."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable

from tapeflow.keras.utils.io_utils import print_msg

__all__ = ["Progbar"]


def _stdout_is_terminal() -> bool:
    out = sys.stdout
    try:
        return bool(out.isatty())
    except (AttributeError, ValueError):
        return False


def _dynamic_display() -> bool:
    """Whether the bar is redrawn in place with a carriage return.

    Keras 3 redraws in place on every POSIX system, terminal or not (so `verbose=1` output
    matches it byte for byte, colours aside); elsewhere only on a terminal, in a notebook or an
    IDE console, and each update goes on a new line.
    """
    return (os.name == "posix" or _stdout_is_terminal() or "ipykernel" in sys.modules
            or "PYCHARM_HOSTED" in os.environ)


def _format_value(avg: float) -> str:
    return f" {avg:.4f}" if abs(avg) > 1e-3 else f" {avg:.4e}"


class Progbar:
    """Displays a progress bar.

    Metrics named in `stateful_metrics` are shown as given; the others are averaged over the
    steps seen so far (weighted by the number of steps each value covers).

    Args:
        target: total number of steps expected, None if unknown.
        width: width of the bar in characters.
        verbose: 0 (silent), 1 (live bar), 2 (one line when the target is reached).
        interval: minimum seconds between two redraws of the live bar.
        stateful_metrics: names of metrics shown as-is instead of averaged.
        unit_name: display name of a step ("step" or "sample").
        stateless_metrics: names of metrics to average (the others shown as-is); give at most
            one of `stateful_metrics` and `stateless_metrics`.

    Example:
        >>> bar = keras.utils.Progbar(10)
        >>> for i in range(10):
        ...     bar.update(i + 1, [("loss", 0.5)])
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1, interval: float = 0.05,
                 stateful_metrics: Iterable[str] | None = None, unit_name: str = "step",
                 stateless_metrics: Iterable[str] | None = None) -> None:
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Progbar: give only one of `stateful_metrics` or `stateless_metrics`, received both."
            )
        self.target = target
        self.width = int(width)
        self.verbose = verbose
        self.interval = float(interval)
        self.unit_name = unit_name
        if stateless_metrics is not None:
            self.stateful_metrics: set | None = None
            self.stateless_metrics: set | None = set(stateless_metrics)
        else:
            self.stateful_metrics = set(stateful_metrics or ())
            self.stateless_metrics = None
        self._dynamic = _dynamic_display()
        self._colors = _stdout_is_terminal() or "ipykernel" in sys.modules  # Jupyter shows ANSI colours
        self._seen_so_far = 0
        self._values: dict[str, list] = {}
        self._values_order: list[str] = []
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step: float | None = None
        self._prev_total_width = 0

    def due(self, now: float | None = None) -> bool:
        """Whether a non-final `update` would redraw now (the live bar's interval has passed)."""
        if self.verbose != 1:
            return False
        return (time.time() if now is None else now) - self._last_update >= self.interval

    def update(self, current: int, values: list | None = None, finalize: bool | None = None) -> None:
        """Move the bar to step `current`.

        Args:
            current: index of the current step (1-based count of finished steps).
            values: list of `(name, value)` pairs for the last step.
            finalize: whether this is the last update; default `current >= target`.
        """
        if finalize is None:
            finalize = False if self.target is None else current >= self.target
        self._record(current, values or [], finalize)
        now = time.time()
        time_per_unit = self._step_duration(current, now)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._draw_live(current, now, time_per_unit, finalize)
        elif self.verbose == 2 and finalize and self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            line = f"{current:{digits}d}/{self.target} - {now - self._start:.0f}s -"
            line += self._format_time(time_per_unit)
            line += self._metrics_text()
            print_msg(line)
        self._last_update = now

    def add(self, n: int, values: list | None = None) -> None:
        """Advance the bar by `n` steps."""
        self.update(self._seen_so_far + n, values)

    # -- internals ----------------------------------------------------------------------------
    def _record(self, current: int, values: list, finalize: bool) -> None:
        for k, v in values:
            if k not in self._values:
                self._values_order.append(k)
            if self.stateful_metrics is not None:
                stateless = k not in self.stateful_metrics
            else:
                stateless = k in self.stateless_metrics
            if stateless and not finalize:
                base = max(current - self._seen_so_far, 1)
                entry = self._values.get(k)
                if entry is None:
                    self._values[k] = [v * base, base]
                else:
                    entry[0] += v * base
                    entry[1] += base
            else:
                self._values[k] = [v, 1]
        self._seen_so_far = current

    def _metrics_text(self) -> str:
        out = []
        for k in self._values_order:
            total, count = self._values[k]
            try:
                avg = float(total) / max(1, count)
            except (TypeError, ValueError):
                out.append(f" - {k}: {total}")
                continue
            out.append(f" - {k}:{_format_value(avg)}")
        return "".join(out)

    def _draw_live(self, current: int, now: float, time_per_unit: float, finalize: bool) -> None:
        colors = self._colors
        if self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            count = f"{current:{digits}d}/{self.target}"
            done = min(int(self.width * current / self.target), self.width)
            plain_bar = f"{count} " + "━" * self.width
            if colors:
                bar = f"\x1b[1m{count}\x1b[0m "
                if done > 0:
                    bar += f"\x1b[32m{'━' * done}\x1b[0m"
                bar += f"\x1b[37m{'━' * (self.width - done)}\x1b[0m"
            else:
                bar = plain_bar
        else:
            bar = plain_bar = f"{current:7d}/Unknown"
        if self.target is not None and self.target > 0 and not finalize:
            eta = time_per_unit * (self.target - current)
            if eta > 3600:
                eta_text = f"{int(eta // 3600)}:{int((eta % 3600) // 60):02d}:{int(eta % 60):02d}"
            elif eta > 60:
                eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}"
            else:
                eta_text = f"{int(eta)}s"
        else:
            eta_text = f"{now - self._start:.0f}s"
        tail = self._format_time(time_per_unit) + self._metrics_text()
        total_width = len(plain_bar) + 1 + len(eta_text) + len(tail)
        eta_shown = f"\x1b[1m{eta_text}\x1b[0m" if colors else eta_text
        message = ("\b" * self._prev_total_width + "\r") if self._dynamic else "\n"
        message += f"{bar} {eta_shown}{tail}"
        if self._prev_total_width > total_width:
            message += " " * (self._prev_total_width - total_width)
        if finalize:
            message += "\n"
        print_msg(message, line_break=False)
        self._prev_total_width = total_width

    def _format_time(self, time_per_unit: float) -> str:
        unit = self.unit_name
        if time_per_unit >= 1 or time_per_unit == 0:
            return f" {time_per_unit:.0f}s/{unit}"
        if time_per_unit >= 1e-3:
            return f" {time_per_unit * 1e3:.0f}ms/{unit}"
        return f" {time_per_unit * 1e6:.0f}us/{unit}"

    def _step_duration(self, current: int, now: float) -> float:
        """Seconds per step, ignoring the (slow, warming-up) first step once there are more."""
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per = (now - self._time_after_first_step) / (current - 1)
        else:
            per = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per

    def __repr__(self) -> str:
        return f"<Progbar target={self.target} verbose={self.verbose}>"
