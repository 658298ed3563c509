"""`keras.utils.FeatureSpace`: one-line preprocessing of structured data (a dict of columns).

Each named feature is a `Feature` (a dtype, a preprocessing layer, an output mode): floats
(as they are, rescaled, normalized, discretized), integer or string categories (looked up or
hashed), and hashed crosses of several features. `adapt(dataset)` learns vocabularies and
statistics; calling the space on a dict of values gives one concatenated float vector per sample
(`output_mode="concat"`) or a dict of encoded features (`output_mode="dict"`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tapeflow as tf
from tapeflow.keras import backend
from tapeflow.keras.layers.base import Layer


def _auto_name(prefix: str) -> str:
    return backend.unique_name(prefix)


class Cross:
    """A hashed cross of `feature_names` into `crossing_dim` bins ("int" or "one_hot" output)."""

    def __init__(self, feature_names: Any, crossing_dim: int, output_mode: str = "one_hot") -> None:
        if output_mode not in {"int", "one_hot"}:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of {{'int', 'one_hot'}}. "
                             f"Received: output_mode={output_mode}")
        self.feature_names = tuple(feature_names)
        self.crossing_dim = crossing_dim
        self.output_mode = output_mode

    @property
    def name(self) -> str:
        return "_X_".join(self.feature_names)

    def get_config(self) -> dict:
        return {"feature_names": self.feature_names, "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config: dict) -> Cross:
        return cls(**config)


class Feature:
    """A feature: its input `dtype`, the `preprocessor` layer, and "int", "one_hot" or "float" output."""

    def __init__(self, dtype: str, preprocessor: Any, output_mode: str) -> None:
        if output_mode not in {"int", "one_hot", "float"}:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of {{'int', 'one_hot', "
                             f"'float'}}. Received: output_mode={output_mode}")
        self.dtype = dtype
        if isinstance(preprocessor, dict):
            from tapeflow.keras.saving.serialization import deserialize_keras_object

            preprocessor = deserialize_keras_object(preprocessor)
        self.preprocessor = preprocessor
        self.output_mode = output_mode

    def get_config(self) -> dict:
        from tapeflow.keras.saving.serialization import serialize_keras_object

        return {"dtype": self.dtype, "preprocessor": serialize_keras_object(self.preprocessor),
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config: dict) -> Feature:
        return cls(**config)


class _Identity(Layer):
    """The preprocessor of plain float features."""

    def call(self, x: Any) -> Any:
        return x


def _layers() -> Any:
    from tapeflow.keras import layers

    return layers


class FeatureSpace(Layer):
    """Preprocess and encode a dict of feature columns.

    Args:
        features: {name: Feature or one of "float", "float_normalized", "float_rescaled",
            "float_discretized", "integer_categorical", "string_categorical", "integer_hashed",
            "string_hashed"}.
        output_mode: "concat" (one float vector) or "dict".
        crosses: feature-name tuples (or `FeatureSpace.cross(...)`) to hash together.
        crossing_dim, hashing_dim, num_discretization_bins: sizes used by the string shortcuts.

    Example:
        >>> fs = keras.utils.FeatureSpace({"age": "float_normalized", "city": "string_categorical"})
        >>> fs.adapt(tf.data.Dataset.from_tensor_slices(data))
        >>> fs({"age": [33.0], "city": ["Paris"]})
    """

    @classmethod
    def cross(cls, feature_names: Any, crossing_dim: int, output_mode: str = "one_hot") -> Cross:
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype: str, preprocessor: Any, output_mode: str) -> Feature:
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name: str | None = None) -> Feature:
        name = name or _auto_name("float")
        return Feature("float32", _Identity(name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_rescaled(cls, scale: float = 1.0, offset: float = 0.0, name: str | None = None) -> Feature:
        name = name or _auto_name("float_rescaled")
        return Feature("float32", _layers().Rescaling(scale=scale, offset=offset, name=f"{name}_preprocessor"),
                       "float")

    @classmethod
    def float_normalized(cls, name: str | None = None) -> Feature:
        name = name or _auto_name("float_normalized")
        return Feature("float32", _layers().Normalization(axis=-1, name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_discretized(cls, num_bins: int, bin_boundaries: Any = None, output_mode: str = "one_hot",
                          name: str | None = None) -> Feature:
        name = name or _auto_name("float_discretized")
        layer = _layers().Discretization(num_bins=num_bins, bin_boundaries=bin_boundaries,
                                         name=f"{name}_preprocessor")
        return Feature("float32", layer, output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens: int | None = None, num_oov_indices: int = 1,
                            output_mode: str = "one_hot", name: str | None = None) -> Feature:
        name = name or _auto_name("integer_categorical")
        layer = _layers().IntegerLookup(name=f"{name}_preprocessor", max_tokens=max_tokens,
                                        num_oov_indices=num_oov_indices)
        return Feature("int32", layer, output_mode)

    @classmethod
    def string_categorical(cls, max_tokens: int | None = None, num_oov_indices: int = 1,
                           output_mode: str = "one_hot", name: str | None = None) -> Feature:
        name = name or _auto_name("string_categorical")
        layer = _layers().StringLookup(name=f"{name}_preprocessor", max_tokens=max_tokens,
                                       num_oov_indices=num_oov_indices)
        return Feature("string", layer, output_mode)

    @classmethod
    def string_hashed(cls, num_bins: int, output_mode: str = "one_hot", name: str | None = None) -> Feature:
        name = name or _auto_name("string_hashed")
        return Feature("string", _layers().Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode)

    @classmethod
    def integer_hashed(cls, num_bins: int, output_mode: str = "one_hot", name: str | None = None) -> Feature:
        name = name or _auto_name("integer_hashed")
        return Feature("int32", _layers().Hashing(name=f"{name}_preprocessor", num_bins=num_bins), output_mode)

    def __init__(self, features: dict, output_mode: str = "concat", crosses: Any = None, crossing_dim: int = 32,
                 hashing_dim: int = 32, num_discretization_bins: int = 32, name: str | None = None) -> None:
        super().__init__(name=name)
        if not features:
            raise ValueError("The `features` argument cannot be None or empty.")
        self.crossing_dim = crossing_dim
        self.hashing_dim = hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.features = {key: self._standardize_feature(key, value) for key, value in features.items()}
        self.crosses = []
        for cross in crosses or []:
            if isinstance(cross, dict):
                cross = Cross.from_config(cross.get("config", cross))
            if not isinstance(cross, Cross):
                if not crossing_dim:
                    raise ValueError("When specifying `crosses`, the argument `crossing_dim` (dimensionality of the "
                                     "crossing space) should be specified as well.")
                unknown = [k for k in cross if k not in features]
                if unknown:
                    raise ValueError("All features referenced in the `crosses` argument should be present in the "
                                     f"`features` dict. Received unknown features: {cross}")
                cross = Cross(cross, crossing_dim=crossing_dim)
            self.crosses.append(cross)
        self.crosses_by_name = {cross.name: cross for cross in self.crosses}
        if output_mode not in {"dict", "concat"}:
            raise ValueError(f"Invalid value for argument `output_mode`. Expected one of {{'dict', 'concat'}}. "
                             f"Received: output_mode={output_mode}")
        self.output_mode = output_mode
        self.preprocessors = {key: value.preprocessor for key, value in self.features.items()}
        self.crossers = {cross.name: _layers().HashedCrossing(cross.crossing_dim, name=cross.name)
                         for cross in self.crosses}
        self.one_hot_encoders: dict = {}
        self.inputs: dict | None = None
        self.encoded_features = None
        self._is_adapted = False

    def _standardize_feature(self, name: str, feature: Any) -> Feature:
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, dict):
            return Feature.from_config(feature.get("config", feature))
        shortcuts = {
            "float": lambda: self.float(name=name),
            "float_normalized": lambda: self.float_normalized(name=name),
            "float_rescaled": lambda: self.float_rescaled(name=name),
            "float_discretized": lambda: self.float_discretized(num_bins=self.num_discretization_bins, name=name),
            "integer_categorical": lambda: self.integer_categorical(name=name),
            "string_categorical": lambda: self.string_categorical(name=name),
            "integer_hashed": lambda: self.integer_hashed(self.hashing_dim, name=name),
            "string_hashed": lambda: self.string_hashed(self.hashing_dim, name=name),
        }
        if feature not in shortcuts:
            raise ValueError(f"Invalid feature type: {feature}")
        return shortcuts[feature]()

    def _adaptable(self) -> list:
        names = []
        for key in self.features:
            pre = self.preprocessors[key]
            if isinstance(pre, _layers().Normalization) and pre.input_mean is not None:
                continue
            if isinstance(pre, _layers().Discretization) and pre.bin_boundaries is not None:
                continue
            if hasattr(pre, "adapt"):
                names.append(key)
        return names

    def adapt(self, dataset: Any) -> None:
        """Learn each adaptable preprocessor's state from `dataset` (a tf.data.Dataset of dicts, or a
        dict of arrays/lists)."""
        from tapeflow import data as _data

        if not isinstance(dataset, _data.Dataset):
            if not isinstance(dataset, dict):
                raise ValueError("`adapt()` can only be called on a tf.data.Dataset or a dict of arrays/lists. "
                                 f"Received instead: {dataset} (of type {type(dataset)})")
            dataset = _data.Dataset.from_tensor_slices(dataset)
        for key in self._adaptable():
            column = dataset.map(lambda x, key=key: x[key])
            first = next(iter(column))
            if first.ndim == 0:
                column = column.batch(32)
            if first.ndim in (0, 1):
                column = column.map(lambda x: tf.expand_dims(x, -1))
            self.preprocessors[key].adapt(column)
        self._is_adapted = True
        self.built = True

    def _check_adapted(self) -> None:
        if not self._is_adapted:
            if self._adaptable():
                raise ValueError("You need to call `.adapt(dataset)` on the FeatureSpace before you can start "
                                 "using it.")
            self._is_adapted = True

    def get_inputs(self) -> dict:
        """{name: keras.Input((1,), dtype)} for building a Functional model on the encoded features."""
        self._check_adapted()
        if self.inputs is None:
            from tapeflow.keras.layers import Input

            self.inputs = {key: Input(shape=(1,), dtype=f.dtype, name=key) for key, f in self.features.items()}
        return self.inputs

    def get_encoded_features(self) -> Any:
        """The encoded features of `get_inputs()` (symbolic), for a Functional model."""
        if self.encoded_features is None:
            self.encoded_features = self._encode(self.get_inputs())
        return self.encoded_features

    def _cardinality(self, name: str) -> int:
        layers = _layers()
        pre = self.preprocessors.get(name) or self.crossers.get(name)
        if isinstance(pre, (layers.IntegerLookup, layers.StringLookup)):
            return pre.vocabulary_size()
        if isinstance(pre, layers.CategoryEncoding):
            return pre.num_tokens
        if isinstance(pre, layers.Discretization):
            return len(pre.bin_boundaries) + 1 if pre.bin_boundaries is not None else pre.num_bins
        if isinstance(pre, (layers.HashedCrossing, layers.Hashing)):
            return pre.num_bins
        raise ValueError(f"Feature '{name}' has `output_mode='one_hot'`. However it isn't a standard feature and the "
                         "dimensionality of its output space is not known, thus it cannot be one-hot encoded. Try "
                         "using `output_mode='int'`.")

    def _encode(self, data: dict) -> Any:
        preprocessed = {key: self.preprocessors[key](data[key]) for key in self.features}
        crossed = {cross.name: self.crossers[cross.name]([preprocessed[k] for k in cross.feature_names])
                   for cross in self.crosses}
        names = sorted(preprocessed) + sorted(crossed)
        values = {**preprocessed, **crossed}
        specs = {**self.features, **self.crosses_by_name}
        out: dict = {}
        for name in names:
            feature = values[name]
            if specs[name].output_mode == "one_hot":
                if not feature.dtype.is_integer:
                    raise ValueError(f"Feature '{name}' has `output_mode='one_hot'`. Thus its preprocessor should "
                                     f"return an integer dtype. Instead it returns a {feature.dtype.name} dtype.")
                encoder = self.one_hot_encoders.get(name)
                if encoder is None:
                    encoder = self.one_hot_encoders[name] = _layers().CategoryEncoding(
                        num_tokens=self._cardinality(name), output_mode="multi_hot")
                feature = encoder(feature)
            out[name] = feature
        if self.output_mode == "dict":
            return out
        for name in names:
            dtype = out[name].dtype
            if dtype.is_integer or dtype == tf.string:
                raise ValueError(f"Cannot concatenate features because feature '{name}' has not been encoded (it has "
                                 f"dtype {dtype.name}). Consider using `output_mode='dict'`.")
        return tf.concat([tf.cast(out[name], "float32") for name in names], axis=-1)

    def __call__(self, data: Any) -> Any:
        self._check_adapted()
        if not isinstance(data, dict):
            raise ValueError(f"A FeatureSpace can only be called with a dict. Received: data={data} (of type "
                             f"{type(data)}")
        converted = {}
        rebatched = False
        for key, value in data.items():
            x = value if isinstance(value, tf.Tensor) else tf.convert_to_tensor(
                value if isinstance(value, (list, tuple, int, float, str)) else np.asarray(value))
            if x.ndim == 0:
                x, rebatched = tf.reshape(x, (1, 1)), True
            elif x.ndim == 1:
                x = tf.expand_dims(x, -1)
            converted[key] = x
        out = self._encode(converted)
        if rebatched:
            if self.output_mode == "concat":
                out = tf.squeeze(out, axis=0)
            else:
                out = {k: tf.squeeze(v, axis=0) if v.ndim == 2 and v.shape[0] == 1 else v for k, v in out.items()}
        return out

    def get_config(self) -> dict:
        return {"features": {k: {"class_name": "Feature", "config": f.get_config()} for k, f in self.features.items()},
                "output_mode": self.output_mode,
                "crosses": [{"class_name": "Cross", "config": c.get_config()} for c in self.crosses],
                "crossing_dim": self.crossing_dim, "hashing_dim": self.hashing_dim,
                "num_discretization_bins": self.num_discretization_bins}

    @classmethod
    def from_config(cls, config: dict) -> FeatureSpace:
        return cls(**config)
