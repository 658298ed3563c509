"""keras.distillation: distillation losses and the Distiller model."""

from __future__ import annotations

import numpy as np
import pytest

from tapeflow import keras
from tapeflow.keras import distillation as dist


def _model(units: int, name: str) -> keras.Model:
    inputs = keras.Input((8,))
    hidden = keras.layers.Dense(units, activation="relu", name=f"{name}_hidden")(inputs)
    return keras.Model(inputs, keras.layers.Dense(3, name=f"{name}_logits")(hidden), name=name)


def _data() -> tuple:
    rng = np.random.default_rng(0)
    return rng.standard_normal((64, 8)).astype("float32"), rng.integers(0, 3, 64)


def test_distiller_trains_the_student_and_logs_its_parts() -> None:
    keras.utils.set_random_seed(0)
    x, y = _data()
    teacher, student = _model(32, "teacher"), _model(8, "student")
    before = [w.copy() for w in teacher.get_weights()]
    distiller = dist.Distiller(teacher, student,
                               [dist.LogitsDistillation(temperature=2.0),
                                dist.FeatureDistillation(teacher_layer_name="teacher_logits",
                                                         student_layer_name="student_logits")],
                               distillation_loss_weights=[1.0, 0.5], student_loss_weight=0.3)
    distiller.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = distiller.fit(x, y, epochs=4, verbose=0)
    assert {"loss", "student_loss", "distillation_loss", "total_loss"} <= set(history.history)
    assert history.history["total_loss"][-1] < history.history["total_loss"][0]
    assert all(np.array_equal(a, b) for a, b in zip(before, teacher.get_weights(), strict=True))  # frozen
    np.testing.assert_allclose(distiller.predict(x[:4], verbose=0), student.predict(x[:4], verbose=0), rtol=1e-6)


def test_argument_checks() -> None:
    teacher, student = _model(4, "t"), _model(4, "s")
    with pytest.raises(ValueError, match="between 0.0 and 1.0"):
        dist.Distiller(teacher, student, dist.LogitsDistillation(), student_loss_weight=2.0)
    with pytest.raises(ValueError, match="cannot be `None`"):
        dist.Distiller(teacher, student, None)
    with pytest.raises(ValueError, match="In teacher model"):
        dist.Distiller(teacher, student, dist.FeatureDistillation(teacher_layer_name="nope"))
    with pytest.raises(ValueError, match="temperature must be positive"):
        dist.LogitsDistillation(temperature=0.0)
    other = keras.Sequential([keras.Input((8,)), keras.layers.Dense(5)])
    with pytest.raises(ValueError, match="incompatible"):
        dist.Distiller(teacher, other, dist.LogitsDistillation())


@pytest.mark.oracle
def test_losses_match_keras() -> None:
    pytest.importorskip("tensorflow")
    k = pytest.importorskip("keras")
    rng = np.random.default_rng(1)
    teacher, student = rng.standard_normal((5, 4)).astype("float32"), rng.standard_normal((5, 4)).astype("float32")
    for temperature in (1.0, 3.0):
        for ours_loss, their_loss in (("kl_divergence", "kl_divergence"),
                                      (keras.losses.KLDivergence(), k.losses.KLDivergence())):
            ours = dist.LogitsDistillation(temperature, ours_loss).compute_loss(teacher, student)
            theirs = k.distillation.LogitsDistillation(temperature, their_loss).compute_loss(teacher, student)
            np.testing.assert_allclose(float(ours), float(theirs), rtol=1e-5)
    ours = dist.FeatureDistillation(loss="mae").compute_loss(teacher, student)
    theirs = k.distillation.FeatureDistillation(loss="mae").compute_loss(teacher, student)
    np.testing.assert_allclose(float(ours), float(theirs), rtol=1e-6)
