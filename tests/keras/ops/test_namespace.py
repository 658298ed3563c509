"""Every name of Keras 3's keras.ops (and its submodules) exists, with Keras's parameter names."""

from __future__ import annotations

import inspect

import pytest

from tapeflow.keras import ops

# Tapeflow's documented differences from the Keras list: none today.
MISSING: set = set()


def _public(module) -> list:
    return sorted(n for n in dir(module) if not n.startswith("_"))


@pytest.mark.oracle
@pytest.mark.parametrize("sub", ["", "numpy", "nn", "image", "linalg"])
def test_every_keras_ops_name_exists_with_keras_parameters(kops, sub):
    theirs = getattr(kops, sub) if sub else kops
    ours = getattr(ops, sub) if sub else ops
    missing = [n for n in _public(theirs) if not hasattr(ours, n)]
    assert set(missing) <= MISSING, f"missing from keras.ops{'.' + sub if sub else ''}: {missing}"
    mismatched = []
    for name in _public(theirs):
        fn, mine = getattr(theirs, name), getattr(ours, name, None)
        if inspect.ismodule(fn) or mine is None:
            continue
        want = list(inspect.signature(fn).parameters)
        got = list(inspect.signature(mine).parameters)
        if want != got:
            mismatched.append(f"{name}: {got} vs Keras {want}")
    assert not mismatched, "\n".join(mismatched)


def test_submodules_are_the_public_lists():
    assert ops.numpy.sum is ops.sum and ops.nn.conv is ops.conv and ops.linalg.qr is ops.qr
    assert ops.image.resize.__module__ == "tapeflow.keras.ops.image"
