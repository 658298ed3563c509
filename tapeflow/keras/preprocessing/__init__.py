"""`keras.preprocessing`: Keras 3's home for the dataset builders and the image/sequence helpers."""

from tapeflow.keras.preprocessing import image, sequence
from tapeflow.keras.utils.image_dataset import image_dataset_from_directory
from tapeflow.keras.utils.text_dataset import text_dataset_from_directory
from tapeflow.keras.utils.timeseries_dataset import timeseries_dataset_from_array
