"""TensorFlow's profile file (`<host>.xplane.pb`, an XSpace protobuf), written by hand.

The XSpace holds one plane "/host:CPU" with a line per thread and an event per recorded span
(name, start, duration, stats), plus the "Task Environment" plane with the profile's start and
stop times, as TF's profiler writes them; TensorBoard's profile plugin reads it. Only the
protobuf wire format is needed (varints and length-delimited fields), so there is no protobuf
dependency.
"""

from __future__ import annotations

import struct
from typing import Any

from tapeflow.io.wire import length_delimited as _bytes
from tapeflow.io.wire import tag, write_varint


def _int(field: int, value: int) -> bytes:
    return tag(field, 0) + write_varint(int(value))


def _str(field: int, value: str) -> bytes:
    return _bytes(field, value.encode("utf-8"))


def _double(field: int, value: float) -> bytes:
    return tag(field, 1) + struct.pack("<d", float(value))


class _Interner:
    """Metadata ids by name (XEventMetadata / XStatMetadata maps), from 1 as TF numbers them."""

    def __init__(self) -> None:
        self.ids: dict = {}

    def __call__(self, name: str) -> int:
        if name not in self.ids:
            self.ids[name] = len(self.ids) + 1
        return self.ids[name]


def _stat(stat_ids: _Interner, name: str, value: Any) -> bytes:
    body = _int(1, stat_ids(name))
    if isinstance(value, bool):
        body += _int(4, int(value))
    elif isinstance(value, int):
        body += _int(4, value)
    elif isinstance(value, float):
        body += _double(2, value)
    else:
        body += _str(5, str(value))
    return body


def encode_xspace(events: list, hostname: str, start_ns: int, stop_ns: int) -> bytes:
    """The XSpace bytes for `events`: (thread id, thread name, name, start ns, end ns, stats dict),
    times on the wall clock (ns since the epoch)."""
    event_ids, stat_ids = _Interner(), _Interner()
    lines: dict = {}
    for tid, tname, name, t0, t1, stats in events:
        lines.setdefault((tid, tname), []).append((name, t0, t1, stats))
    plane = _int(1, 0) + _str(2, "/host:CPU")
    for (tid, tname), evs in lines.items():
        base = min(t0 for _, t0, _, _ in evs)
        line = _int(1, tid) + _str(2, tname) + _int(3, base) + _str(11, tname)
        for name, t0, t1, stats in evs:
            ev = _int(1, event_ids(name)) + _int(2, (t0 - base) * 1000) + _int(3, max(0, t1 - t0) * 1000)
            for k, v in stats.items():
                ev += _bytes(4, _stat(stat_ids, k, v))
            line += _bytes(4, ev)
        plane += _bytes(3, line)
    for name, i in event_ids.ids.items():
        plane += _bytes(4, _int(1, i) + _bytes(2, _int(1, i) + _str(2, name)))
    for name, i in stat_ids.ids.items():
        plane += _bytes(5, _int(1, i) + _bytes(2, _int(1, i) + _str(2, name)))
    env_ids = _Interner()
    env = _int(1, 0) + _str(2, "Task Environment")
    env += _bytes(6, _stat(env_ids, "profile_start_time", start_ns))
    env += _bytes(6, _stat(env_ids, "profile_stop_time", stop_ns))
    for name, i in env_ids.ids.items():
        env += _bytes(5, _int(1, i) + _bytes(2, _int(1, i) + _str(2, name)))
    return _bytes(1, plane) + _bytes(1, env) + _str(4, hostname)
