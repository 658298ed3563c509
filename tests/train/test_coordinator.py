"""tf.train.Coordinator: the same thread scenarios under Tapeflow's and TF's."""

from __future__ import annotations

import threading
import time

import pytest

import tapeflow as tf


def _scenarios(mod):
    out = []
    # 1. workers stop when one requests it; join returns cleanly
    coord = mod.train.Coordinator()
    counts = [0, 0, 0]

    def work(i):
        while not coord.should_stop():
            counts[i] += 1
            if i == 0 and counts[i] >= 5:
                coord.request_stop()
            time.sleep(0.001)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    coord.join(threads)
    out.append((coord.should_stop(), coord.joined, counts[0]))
    # 2. an exception inside stop_on_exception is re-raised by join (the first one only)
    coord = mod.train.Coordinator()

    def fail(msg):
        with coord.stop_on_exception():
            raise ValueError(msg)

    t1 = threading.Thread(target=fail, args=("first",))
    t1.start()
    t1.join()
    t2 = threading.Thread(target=fail, args=("second",))
    t2.start()
    t2.join()
    try:
        coord.join([t1, t2])
        out.append("no error")
    except ValueError as e:
        out.append(str(e))
    # 3. OutOfRangeError is a clean stop
    coord = mod.train.Coordinator()
    try:
        raise mod.errors.OutOfRangeError(None, None, "done")
    except mod.errors.OutOfRangeError as e:
        coord.request_stop(e)
    coord.join([])
    out.append(coord.should_stop())
    # 4. clear_stop, wait_for_stop timeout, raise_requested_exception
    coord.clear_stop()
    out.append((coord.should_stop(), coord.wait_for_stop(0.01)))
    try:
        raise KeyError("k")
    except KeyError as e:  # TF reads the exception from sys.exc_info(), so it is reported while handled
        coord.request_stop(e)
    try:
        coord.raise_requested_exception()
    except KeyError as e:
        out.append(repr(e))
    # 5. a live thread after the grace period
    coord = mod.train.Coordinator()
    ev = threading.Event()
    t = threading.Thread(target=ev.wait)
    t.start()
    coord.request_stop()
    try:
        coord.join([t], stop_grace_period_secs=0.05)
        out.append("joined")
    except RuntimeError as e:
        out.append(str(e).split(":")[0])
    ev.set()
    t.join()
    return out


@pytest.mark.oracle
def test_same_behaviour_as_tf():
    ttf = pytest.importorskip("tensorflow")
    ours = _scenarios(tf)
    assert ours == _scenarios(ttf)
    assert ours[1] == "first" and ours[-1] == "Coordinator stopped with threads still running"
