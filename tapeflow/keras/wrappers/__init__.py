"""`keras.wrappers`: scikit-learn estimators around Keras models (needs `pip install scikit-learn`)."""

from tapeflow.keras.wrappers.sklearn_wrapper import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer
