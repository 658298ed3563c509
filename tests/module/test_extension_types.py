"""tf.experimental.ExtensionType and the dispatch_for_* decorators, against TensorFlow.

(No `from __future__ import annotations` here: field annotations must be evaluable objects, as
the classes are defined inside functions.)"""

from typing import Mapping, Optional, Tuple  # noqa: UP035 - the spellings TF's guide uses

import pytest

import tapeflow as tf


def _masked(mod):
    class MaskedTensor(mod.experimental.ExtensionType):
        values: mod.Tensor
        mask: mod.Tensor
        name: str = "m"

        def __validate__(self):
            self.values.shape.assert_is_compatible_with(self.mask.shape)

    return MaskedTensor


def _script(mod):
    """The extension-type guide's basics; returns printable results."""
    MaskedTensor = _masked(mod)  # noqa: N806
    out = []
    mt = MaskedTensor([1, 2, 3], [True, False, True])
    out += [repr(mt), repr(mt._type_spec), MaskedTensor.Spec.__name__]
    out.append(bool(mt == MaskedTensor([1, 2, 3], [True, False, True])))
    out.append(mt == MaskedTensor([1, 2], [True, False]))
    for bad in (lambda: setattr(mt, "values", 3), lambda: MaskedTensor([1, 2, 3], [True, False]),
                lambda: MaskedTensor(values=[1], mask=[True], name=3)):
        try:
            bad()
        except (AttributeError, ValueError, TypeError) as e:
            out.append(f"{type(e).__name__}: {e}")
    out.append(sorted(mod.experimental.extension_type.as_dict(mt)))

    @mod.experimental.dispatch_for_unary_elementwise_apis(MaskedTensor)
    def unary(api_func, x):
        return MaskedTensor(api_func(x.values), x.mask)

    @mod.experimental.dispatch_for_binary_elementwise_apis(MaskedTensor, MaskedTensor)
    def binary(api_func, x, y):
        return MaskedTensor(api_func(x.values, y.values), x.mask & y.mask)

    @mod.experimental.dispatch_for_api(mod.reshape, {"tensor": MaskedTensor})
    def reshape(tensor, shape, name=None):
        return MaskedTensor(mod.reshape(tensor.values, shape), mod.reshape(tensor.mask, shape))

    out += [repr(mod.abs(MaskedTensor([-1.0, 2.0], [True, False]))),
            repr(mod.math.round(MaskedTensor([-1.4, 2.6], [True, False]))),
            repr(mod.cast(MaskedTensor([-1.4, 2.6], [True, False]), mod.int32)),
            repr(mod.add(mt, mt)), repr(mod.math.maximum(mt, mt)), repr(mod.reshape(mt, [3, 1]))]
    for target in (unary, binary, reshape):
        mod.experimental.unregister_dispatch_for(target)
    try:
        mod.experimental.unregister_dispatch_for(unary)
    except ValueError:
        out.append("unregistered twice")
    return out


@pytest.mark.oracle
def test_extension_type_and_dispatch_match_tensorflow():
    real = pytest.importorskip("tensorflow")
    assert _script(tf) == _script(real)


def test_fields_defaults_custom_init_and_specs():
    class P(tf.experimental.ExtensionType):
        xs: Tuple[tf.Tensor, ...]  # noqa: UP006
        meta: Mapping[str, int]
        opt: Optional[tf.Tensor] = None  # noqa: UP045
        dt: tf.DType = tf.float32

    p = P([1, [2, 3]], {"a": 1})
    assert isinstance(p.xs, tuple) and p.xs[1].shape == (2,) and p.meta["a"] == 1 and p.opt is None
    with pytest.raises(TypeError):
        p.meta["b"] = 2
    with pytest.raises(TypeError, match="missing required field 'meta'"):
        P([1])

    class M(tf.experimental.ExtensionType):
        values: tf.Tensor
        mask: tf.Tensor

        def __init__(self, values, mask=None):
            self.values = values
            self.mask = tf.ones_like(values, tf.bool) if mask is None else mask

    class Sub(M):
        pass

    m = Sub([1.0, 2.0])
    assert m.mask.numpy().tolist() == [True, True]
    spec = m._type_spec
    assert spec == Sub.Spec.from_value(Sub([3.0, 4.0])) and spec.is_compatible_with(m)
    assert spec._batch(4).values == tf.TensorSpec([4, 2], tf.float32)
    assert spec._batch(4)._unbatch() == spec
    enc = tf.experimental.ExtensionTypeBatchEncoder()
    assert bool(enc.decode(spec, enc.encode(spec, m)) == m)
    assert issubclass(tf.experimental.BatchableExtensionType, tf.experimental.ExtensionType)
    with pytest.raises(TypeError, match="unhashable"):
        hash(m)
