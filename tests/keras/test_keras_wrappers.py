"""keras.wrappers: scikit-learn estimators around Keras models."""

from __future__ import annotations

import numpy as np
import pytest

from tapeflow import keras

sklearn = pytest.importorskip("sklearn")


def _data() -> tuple:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64") + (x[:, 2] > 1)
    return x, y


def _classifier(X, y, units=16):
    inputs = keras.Input((X.shape[1],))
    outputs = keras.layers.Dense(y.shape[1], activation="softmax")(keras.layers.Dense(units, activation="relu")(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def test_classifier_learns_and_decodes_labels() -> None:
    keras.utils.set_random_seed(0)
    x, y = _data()
    labels = np.array(["a", "b", "c"])[y]
    clf = keras.wrappers.SKLearnClassifier(_classifier, model_kwargs={"units": 32},
                                           fit_kwargs={"epochs": 40, "verbose": 0})
    clf.fit(x, labels)
    assert list(clf.classes_) == ["a", "b", "c"]
    assert set(clf.predict(x[:10])) <= {"a", "b", "c"}
    assert clf.score(x, labels) > 0.7
    assert len(clf.history_.history["loss"]) == 40
    with pytest.raises(ValueError, match="only one class"):
        keras.wrappers.SKLearnClassifier(_classifier).fit(x, np.zeros(len(x)))


def test_regressor_and_transformer_with_a_compiled_model() -> None:
    x, y = _data()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    reg = keras.wrappers.SKLearnRegressor(model, fit_kwargs={"epochs": 2, "verbose": 0})
    reg.fit(x, y.astype("float32"))
    assert reg.model_ is not model and reg.predict(x[:3]).shape == (3,)  # 1-D targets give 1-D predictions
    encoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    encoder.compile("sgd", "mse")
    transformer = keras.wrappers.SKLearnTransformer(encoder, fit_kwargs={"epochs": 1, "verbose": 0})
    assert transformer.fit_transform(x, y.astype("float32")).shape == (120, 2)
    clone = sklearn.base.clone(reg)
    assert isinstance(clone, keras.wrappers.SKLearnRegressor) and not hasattr(clone, "model_")
    uncompiled = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(RuntimeError, match="needs to be compiled"):
        keras.wrappers.SKLearnRegressor(uncompiled).fit(x, y.astype("float32"))


def test_works_in_a_pipeline() -> None:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = _data()
    pipe = make_pipeline(StandardScaler(), keras.wrappers.SKLearnClassifier(_classifier, fit_kwargs={"epochs": 2,
                                                                                                      "verbose": 0}))
    pipe.fit(x, y)
    assert pipe.predict(x[:4]).shape == (4,)
