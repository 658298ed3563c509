"""keras.utils.FeatureSpace: structured-data preprocessing."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras


def _data() -> dict:
    return {"age": np.array([20.0, 35.0, 50.0, 65.0], "float32"), "city": np.array(["a", "b", "a", "c"]),
            "kids": np.array([0, 1, 2, 1], "int32"), "score": np.array([0.1, 0.5, 0.9, 0.3], "float32")}


def test_concat_encoding_after_adapt() -> None:
    from tapeflow.keras.utils.feature_space import FeatureSpace

    space = FeatureSpace({"age": "float_normalized", "city": "string_categorical", "kids": "integer_categorical",
                          "score": FeatureSpace.float_discretized(num_bins=3)}, crosses=[("city", "kids")],
                         crossing_dim=8)
    with pytest.raises(ValueError, match="adapt"):
        space(_data())
    space.adapt(tf.data.Dataset.from_tensor_slices(_data()))
    out = space(_data())
    # age 1 + city 4 (3 + OOV) + city_X_kids 8 + kids 4 (3 + OOV) + score 3
    assert tuple(out.shape) == (4, 20) and out.dtype == tf.float32
    np.testing.assert_allclose(out.numpy()[:, 0].mean(), 0.0, atol=1e-5)  # normalized age
    np.testing.assert_array_equal(out.numpy()[:, 1:5].sum(axis=1), 1.0)  # one-hot city
    single = space({"age": 20.0, "city": "a", "kids": 0, "score": 0.1})
    np.testing.assert_allclose(single.numpy(), out.numpy()[0], rtol=1e-6)


def test_dict_mode_and_errors() -> None:
    from tapeflow.keras.utils.feature_space import FeatureSpace

    space = FeatureSpace({"age": "float", "city": FeatureSpace.string_hashed(num_bins=4, output_mode="int")},
                         output_mode="dict")
    out = space(_data())
    assert tuple(out["age"].shape) == (4, 1) and out["city"].dtype.is_integer
    with pytest.raises(ValueError, match="Invalid feature type"):
        FeatureSpace({"age": "floaty"})
    with pytest.raises(ValueError, match="not been encoded"):
        FeatureSpace({"city": FeatureSpace.string_hashed(num_bins=4, output_mode="int")})(_data())
    with pytest.raises(ValueError, match="called with a dict"):
        space([1.0])


def test_encoded_features_build_a_functional_model() -> None:
    from tapeflow.keras.utils.feature_space import FeatureSpace

    space = FeatureSpace({"age": "float_normalized", "city": "string_categorical",
                          "score": FeatureSpace.float_discretized(num_bins=3)})
    space.adapt(_data())
    encoded = space.get_encoded_features()
    assert tuple(encoded.shape) == (None, 8)
    model = keras.Model(space.get_inputs(), keras.layers.Dense(1)(encoded))
    columns = {k: np.asarray(v).reshape(-1, 1) for k, v in _data().items() if k != "kids"}
    np.testing.assert_allclose(model(columns).numpy(), model.layers[-1](space(_data())).numpy(), rtol=1e-6)
