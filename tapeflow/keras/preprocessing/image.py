"""`keras.preprocessing.image`: image files and arrays (see `keras.utils.image_utils`), and the
legacy augmentation API TF's `tf.keras.preprocessing.image` keeps (`ImageDataGenerator`, its
iterators and the `random_*` / `apply_*` transforms; see `legacy_image`)."""

from tapeflow.keras.preprocessing.legacy_image import (
    DirectoryIterator,
    ImageDataGenerator,
    Iterator,
    NumpyArrayIterator,
    apply_affine_transform,
    apply_brightness_shift,
    apply_channel_shift,
    random_brightness,
    random_channel_shift,
    random_rotation,
    random_shear,
    random_shift,
    random_zoom,
)
from tapeflow.keras.utils.image_utils import array_to_img, img_to_array, load_img, save_img, smart_resize

__all__ = ["DirectoryIterator", "ImageDataGenerator", "Iterator", "NumpyArrayIterator", "apply_affine_transform",
           "apply_brightness_shift", "apply_channel_shift", "array_to_img", "img_to_array", "load_img",
           "random_brightness", "random_channel_shift", "random_rotation", "random_shear", "random_shift",
           "random_zoom", "save_img", "smart_resize"]
