"""Reusable checks for a Keras layer: shapes, weights, config round trip, a training step, gradients.

Usage from a test module in this folder (pytest puts the folder on sys.path):

    from layer_check import check_layer, check_layer_gradients

    def test_conv2d_contract():
        check_layer(lambda: keras.layers.Conv2D(4, 3), (2, 6, 6, 3),
                    expected_output_shape=(2, 4, 4, 4), expected_weight_shapes=[(3, 3, 3, 4), (4,)])

`check_layer` returns the (built, called) layer so a test can make further assertions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow import keras
from tapeflow.testing import check_gradients


def _shape(t: Any) -> tuple:
    return tuple(t.shape)


def _as_tuple_shape(s: Any) -> tuple:
    return tuple(None if d is None else int(d) for d in s)


def _make_input(input_shape: tuple, input_dtype: str, rng: np.random.Generator) -> np.ndarray:
    if np.dtype(input_dtype).kind in "iu":
        return rng.integers(0, 5, size=input_shape).astype(input_dtype)
    return rng.standard_normal(input_shape).astype(input_dtype)


def check_layer(
    layer_factory: Callable[[], Any],
    input_shape: Sequence[int],
    *,
    expected_output_shape: Sequence[int | None] | None = None,
    expected_weight_shapes: Sequence[Sequence[int]] | None = None,
    expected_num_trainable: int | None = None,
    expected_num_non_trainable: int | None = None,
    input_data: Any = None,
    input_dtype: str = "float32",
    call_kwargs: dict | None = None,
    check_symbolic: bool = True,
    check_config: bool = True,
    check_training: bool = True,
    deterministic: bool = True,
    seed: int = 0,
) -> Any:
    """Check a layer's contract and return the built layer.

    1. Eager call: the output shape equals `expected_output_shape` (when given) and
       `layer.compute_output_shape(input_shape)`.
    2. Symbolic call on `keras.Input` with an unknown batch axis: the symbolic output shape
       agrees with the eager one on every known axis.
    3. Weights: the shapes in Keras's order (`expected_weight_shapes`) and the trainable /
       non-trainable counts.
    4. Config: `get_config()` is JSON-serialisable; `from_config` rebuilds a layer whose config is
       the same and which, given the same weights, gives the same inference output.
    5. One training step: a GradientTape through the layer (training=True) gives a finite
       gradient for every trainable weight (and for a float input); one small SGD step on the
       weights lowers a fixed random linear loss (when `deterministic`).

    Args:
        layer_factory: zero-argument callable returning a fresh, unbuilt layer.
        input_shape: full input shape including the batch axis.
        input_data: the input array (default: standard normal of `input_shape`).
        call_kwargs: extra keyword arguments for the layer call.
        deterministic: whether two training-mode calls give the same output (False for dropout).

    Returns:
        The layer built and called by step 1.
    """
    rng = np.random.default_rng(seed)
    call_kwargs = dict(call_kwargs or {})
    input_shape = tuple(int(d) for d in input_shape)
    x = np.asarray(input_data) if input_data is not None else _make_input(input_shape, input_dtype, rng)
    input_shape = tuple(x.shape)

    # 1. Eager call and compute_output_shape.
    layer = layer_factory()
    y = layer(x, **call_kwargs)
    name = f"{type(layer).__name__} '{layer.name}'"
    out_shape = _shape(y)
    if expected_output_shape is not None:
        assert out_shape == _as_tuple_shape(expected_output_shape), (
            f"{name}: eager output shape {out_shape}, expected {tuple(expected_output_shape)}"
        )
    computed = _as_tuple_shape(layer.compute_output_shape(input_shape))
    assert computed == out_shape, (
        f"{name}: compute_output_shape({input_shape}) = {computed}, but the eager output has "
        f"shape {out_shape}"
    )
    assert np.all(np.isfinite(np.asarray(y.numpy(), dtype=np.float64))), f"{name}: non-finite output"

    # 2. Symbolic call with an unknown batch size.
    if check_symbolic:
        sym_layer = layer_factory()
        inp = keras.Input(batch_shape=(None,) + input_shape[1:], dtype=str(x.dtype))
        sym_out = sym_layer(inp, **call_kwargs)
        sym_shape = _shape(sym_out)
        assert len(sym_shape) == len(out_shape), (
            f"{name}: symbolic output rank {len(sym_shape)} ({sym_shape}), eager {out_shape}"
        )
        assert sym_shape[0] is None or sym_shape[0] == out_shape[0], (
            f"{name}: symbolic batch axis {sym_shape[0]}, expected None"
        )
        for i, (s, e) in enumerate(zip(sym_shape[1:], out_shape[1:], strict=True), start=1):
            assert s is None or s == e, (
                f"{name}: symbolic output shape {sym_shape}, eager {out_shape} (axis {i})"
            )
        model = keras.Model(inp, sym_out)
        replay = model(x, training=False)
        assert _shape(replay) == out_shape, (
            f"{name}: Functional replay shape {_shape(replay)}, eager {out_shape}"
        )

    # 3. Weights.
    weights = layer.weights
    if expected_weight_shapes is not None:
        got = [tuple(w.shape) for w in weights]
        want = [tuple(int(d) for d in s) for s in expected_weight_shapes]
        assert got == want, f"{name}: weight shapes {got}, expected {want}"
    if expected_num_trainable is not None:
        assert len(layer.trainable_weights) == expected_num_trainable, (
            f"{name}: {len(layer.trainable_weights)} trainable weights, expected {expected_num_trainable}"
        )
    if expected_num_non_trainable is not None:
        assert len(layer.non_trainable_weights) == expected_num_non_trainable, (
            f"{name}: {len(layer.non_trainable_weights)} non-trainable weights, expected "
            f"{expected_num_non_trainable}"
        )

    # 4. Config round trip.
    if check_config:
        config = layer.get_config()
        text = json.dumps(config, sort_keys=True)
        clone = type(layer).from_config(json.loads(text))
        clone_text = json.dumps(clone.get_config(), sort_keys=True)
        assert clone_text == text, f"{name}: config changed in a round trip:\n{text}\n{clone_text}"
        y_ref = layer(x, training=False, **call_kwargs)
        y_clone = clone(x, training=False, **call_kwargs)
        if weights:
            clone.set_weights(layer.get_weights())
            y_clone = clone(x, training=False, **call_kwargs)
        assert _shape(y_clone) == _shape(y_ref), f"{name}: clone output shape {_shape(y_clone)}"
        if deterministic:
            np.testing.assert_allclose(
                y_clone.numpy(),
                y_ref.numpy(),
                rtol=1e-5,
                atol=1e-6,
                err_msg=f"{name}: clone with the same weights differs",
            )

    # 5. One training step.
    if check_training:
        _check_training_step(layer, x, call_kwargs, deterministic, rng, name)
    return layer


def _check_training_step(
    layer: Any, x: np.ndarray, call_kwargs: dict, deterministic: bool, rng: np.random.Generator, name: str
) -> None:
    xt = tf.constant(x)
    float_input = x.dtype.kind == "f"
    trainable = layer.trainable_weights
    y0 = layer(xt, training=True, **call_kwargs)
    r = tf.constant(rng.standard_normal(_shape(y0)).astype(y0.numpy().dtype))

    def loss_fn() -> Any:
        return tf.reduce_sum(layer(xt, training=True, **call_kwargs) * r)

    with tf.GradientTape() as tape:
        if float_input:
            tape.watch(xt)
        loss = loss_fn()
    sources = list(trainable) + ([xt] if float_input else [])
    grads = tape.gradient(loss, sources) if sources else []
    for w, g in zip(sources, grads, strict=True):
        label = getattr(w, "name", "input") if w is not xt else "input"
        assert g is not None, f"{name}: no gradient for {label}"
        assert tuple(g.shape) == tuple(w.shape), (
            f"{name}: gradient shape {tuple(g.shape)} for {label} of shape {tuple(w.shape)}"
        )
        assert np.all(np.isfinite(g.numpy())), f"{name}: non-finite gradient for {label}"
    if not trainable or not deterministic:
        return
    weight_grads = grads[: len(trainable)]
    norm2 = sum(float(np.sum(np.square(g.numpy().astype(np.float64)))) for g in weight_grads)
    if norm2 == 0.0:
        raise AssertionError(f"{name}: all weight gradients are zero")
    before = float(loss)
    # NOTE: a step of lr * g lowers a linear-in-output loss by about lr * |g|^2; the step is scaled
    # so that decrease is about 1% of |loss| (+1), small enough for the first-order term to win.
    lr = 0.01 * (abs(before) + 1.0) / norm2
    saved = [w.numpy() for w in trainable]
    for w, g in zip(trainable, weight_grads, strict=True):
        w.assign_sub(tf.cast(g * lr, w.dtype))
    after = float(loss_fn())
    for w, v in zip(trainable, saved, strict=True):
        w.assign(v)
    assert after < before, f"{name}: one SGD step did not lower the loss ({before} -> {after})"


def check_layer_gradients(
    layer: Any,
    x: Any,
    *,
    training: bool | None = None,
    call_kwargs: dict | None = None,
    wrt_input: bool = True,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> None:
    """Numerical float64 gradient check of `layer(x)` with respect to its input and trainable weights.

    `layer` must be float64 (`dtype="float64"`) and is built here if needed. Each trainable weight
    is swapped, for the duration of the check, for the Tensor that `check_gradients` perturbs: the
    layer must read its weights from attributes (as all built-in layers do).
    """
    call_kwargs = dict(call_kwargs or {})
    if training is not None:
        call_kwargs["training"] = training
    x = tf.constant(np.asarray(x, dtype=np.float64))
    if not layer.built:
        layer(x, **call_kwargs)
    assert layer.dtype == "float64", f"check_layer_gradients needs a float64 layer, got {layer.dtype}"
    weights = list(layer.trainable_weights)
    # Find the attribute (on the layer or a sub-layer) holding each trainable weight.
    slots = []
    owners = [layer] + list(layer._flat_layers())
    for w in weights:
        for owner in owners:
            key = next((k for k, v in owner.__dict__.items() if v is w), None)
            if key is not None:
                slots.append((owner, key))
                break
        else:
            raise AssertionError(f"weight {w.name} of {layer.name} is not held in an attribute")

    def fn(xv: Any, *ws: Any) -> Any:
        for (owner, key), wv in zip(slots, ws, strict=True):
            object.__setattr__(owner, key, wv)
        try:
            return layer(xv, **call_kwargs)
        finally:
            for (owner, key), w in zip(slots, weights, strict=True):
                object.__setattr__(owner, key, w)

    check_gradients(
        fn,
        [x] + [w.numpy() for w in weights],
        eps=eps,
        rtol=rtol,
        atol=atol,
        differentiable=[wrt_input] + [True] * len(weights),
    )


def check_against_keras(
    make_ours: Callable[[], Any],
    make_theirs: Callable[[], Any],
    x: Any,
    *,
    training: bool = False,
    call_kwargs: dict | None = None,
    perturb_weights: float = 0.2,
    atol: float = 1e-5,
    rtol: float = 1e-5,
    grad_tol: float = 1e-4,
    seed: int = 0,
) -> tuple[Any, Any]:
    """Compare a layer with its tf.keras counterpart: outputs, gradients and weights after one call.

    Both layers are built on `x`; Keras's weights, moved by up to `perturb_weights` (uniform noise,
    so zero biases and unit scales are not special), are copied into ours with `set_weights`.
    Then each runs once under its own GradientTape with `training`, and the outputs, the
    gradients of `sum(output * r)` (fixed random `r`) with respect to the input and every
    trainable weight, and all weights afterwards (e.g. BatchNormalization's moving statistics)
    must match. Gradients are compared relative to their largest entry (`grad_tol`).

    Returns:
        (ours, theirs), the two layers.
    """
    import tensorflow as ktf  # the caller skips the test when TensorFlow is absent

    rng = np.random.default_rng(seed)
    call_kwargs = dict(call_kwargs or {})
    x = np.asarray(x)
    theirs = make_theirs()
    theirs(x, training=False, **call_kwargs)
    ours = make_ours()
    ours(x, training=False, **call_kwargs)
    weights = [
        w + rng.uniform(-perturb_weights, perturb_weights, w.shape).astype(w.dtype) if perturb_weights else w
        for w in theirs.get_weights()
    ]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    name = type(ours).__name__
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights], (
        f"{name}: weight shapes {[tuple(w.shape) for w in ours.weights]} vs Keras "
        f"{[tuple(w.shape) for w in theirs.weights]}"
    )

    float_input = x.dtype.kind == "f"
    xt_theirs = ktf.constant(x)
    with ktf.GradientTape() as tape:
        if float_input:
            tape.watch(xt_theirs)
        y_theirs = theirs(xt_theirs, training=training, **call_kwargs)
        r = rng.standard_normal(tuple(y_theirs.shape)).astype(y_theirs.dtype.as_numpy_dtype)
        loss = ktf.reduce_sum(y_theirs * r)
    sources_theirs = ([xt_theirs] if float_input else []) + list(theirs.trainable_weights)
    g_theirs = tape.gradient(loss, sources_theirs)

    xt = tf.constant(x)
    with tf.GradientTape() as tape2:
        if float_input:
            tape2.watch(xt)
        y_ours = ours(xt, training=training, **call_kwargs)
        loss2 = tf.reduce_sum(y_ours * tf.constant(r))
    sources = ([xt] if float_input else []) + list(ours.trainable_weights)
    g_ours = tape2.gradient(loss2, sources)

    np.testing.assert_allclose(
        y_ours.numpy(),
        y_theirs.numpy(),
        rtol=rtol,
        atol=atol,
        err_msg=f"{name}: output differs from Keras (training={training})",
    )
    assert len(g_ours) == len(g_theirs), f"{name}: {len(g_ours)} gradients vs Keras {len(g_theirs)}"
    labels = (["input"] if float_input else []) + [w.name for w in ours.trainable_weights]
    for label, a, b in zip(labels, g_ours, g_theirs, strict=True):
        assert (a is None) == (b is None), (
            f"{name}: gradient for {label}: ours {a is not None}, Keras {b is not None}"
        )
        if a is None:
            continue
        b = b.numpy()
        scale = max(1.0, float(np.max(np.abs(b))))
        np.testing.assert_allclose(
            a.numpy() / scale,
            b / scale,
            rtol=0,
            atol=grad_tol,
            err_msg=f"{name}: gradient for {label} differs from Keras (training={training})",
        )
    for w_o, w_t in zip(ours.weights, theirs.weights, strict=True):
        np.testing.assert_allclose(
            w_o.numpy(),
            w_t.numpy(),
            rtol=1e-5,
            atol=1e-6,
            err_msg=f"{name}: weight {w_o.name} differs from Keras after the call",
        )
    return ours, theirs
