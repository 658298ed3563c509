"""`keras.utils.audio_dataset_from_directory`: `.wav` files under class folders as a dataset of
`(audio, label)` batches; audio is float32 (samples, channels) in [-1, 1), decoded with the
standard library's `wave` module (16-bit PCM, as `tf.audio.decode_wav`)."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from typing import Any

import numpy as np

from tapeflow import data as _data
from tapeflow.keras.utils.image_dataset import check_split, index_directory, split_subset
from tapeflow.keras.utils.text_dataset import _labels
from tapeflow.tracing.spec import TensorSpec

ALLOWED_FORMATS = (".wav",)


def decode_wav(path: str, desired_samples: int = -1) -> np.ndarray:
    """float32 (samples, channels) of a 16-bit PCM wav file; `desired_samples` >= 0 cuts or
    zero-pads to that length."""
    try:
        with wave.open(path, "rb") as f:
            width, channels, frames = f.getsampwidth(), f.getnchannels(), f.getnframes()
            raw = f.readframes(frames)
    except (wave.Error, EOFError) as e:
        raise ValueError(f"audio_dataset_from_directory: {path!r} is not a readable PCM wav file ({e}).") from None
    if width != 2:
        raise ValueError(f"audio_dataset_from_directory: {path!r} has {8 * width}-bit samples; like "
                         "tf.audio.decode_wav, only 16-bit PCM wav files are read.")
    audio = np.frombuffer(raw, dtype="<i2").reshape(-1, channels).astype(np.float32) / 32768.0
    if desired_samples >= 0:
        if len(audio) >= desired_samples:
            audio = audio[:desired_samples]
        else:
            audio = np.concatenate([audio, np.zeros((desired_samples - len(audio), channels), np.float32)])
    return audio


def audio_dataset_from_directory(directory: str, labels: Any = "inferred", label_mode: str | None = "int",
                                 class_names: list | None = None, batch_size: int | None = 32,
                                 sampling_rate: int | None = None, output_sequence_length: int | None = None,
                                 ragged: bool = False, shuffle: bool = True, seed: int | None = None,
                                 validation_split: float | None = None, subset: str | None = None,
                                 follow_links: bool = False, verbose: bool = True) -> Any:
    """A `tf.data.Dataset` of `(audio, labels)` batches from `directory/<class>/<file>.wav`.

    Args:
        directory, labels, label_mode, class_names, shuffle, seed, validation_split, subset,
            follow_links, verbose: as in `text_dataset_from_directory`.
        batch_size: files per batch (None: single files).
        sampling_rate: resampling needs tensorflow-io in Keras; Tapeflow does not resample, so
            only None is accepted (the files' own rate).
        output_sequence_length: cut or zero-pad every file to this many samples; None pads each
            batch to its longest file (or, with `ragged=True`, keeps the lengths as a RaggedTensor).

    Returns:
        The dataset (two for `subset="both"`) of float32 (batch, samples, channels), with `class_names`.
    """
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(
                "The `labels` argument should be a list/tuple of integer labels, of the same size as the number of "
                "audio files in the target directory. If you wish to infer the labels from the subdirectory names in "
                'the target directory, pass `labels="inferred"`. If you wish to get a dataset that only contains '
                f"audio samples (no labels), pass `labels=None`. Received: labels={labels}")
        if class_names:
            raise ValueError(f'You can only pass `class_names` if `labels="inferred"`. Received: labels={labels}, '
                             f"and class_names={class_names}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", or None. Received: '
                         f"label_mode={label_mode}")
    if ragged and output_sequence_length is not None:
        raise ValueError("Cannot set both `ragged` and `output_sequence_length`")
    if sampling_rate is not None:
        if not isinstance(sampling_rate, int):
            raise ValueError(f"`sampling_rate` should have an integer value. Received: sampling_rate={sampling_rate}")
        if sampling_rate <= 0:
            raise ValueError(f"`sampling_rate` should be higher than 0. Received: sampling_rate={sampling_rate}")
        raise ValueError("audio_dataset_from_directory: sampling_rate is not supported: resampling needs "
                         "tensorflow-io in Keras and Tapeflow does not resample; pass sampling_rate=None to keep the "
                         "files' own rate.")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    check_split(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = int(np.random.randint(1e6))
    paths, index, names = index_directory(directory, labels, ALLOWED_FORMATS, class_names, shuffle, seed,
                                          follow_links, "audio_dataset_from_directory", verbose)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 class_names. Received: '
                         f"class_names={names}")
    buffer_size = batch_size * 8 if batch_size is not None else 1024
    length = -1 if output_sequence_length is None else int(output_sequence_length)
    audio_spec = TensorSpec((None if length < 0 else length, None), "float32")

    def make(subset_name: str | None, shuffled: bool, kind: str) -> Any:
        sub_paths, sub_index = split_subset([paths, index], validation_split, subset_name, verbose)
        if not len(sub_paths):
            raise ValueError(f"No {kind}audio files found in directory {directory}. Allowed format(s): "
                             f"{ALLOWED_FORMATS}")
        sub_paths = list(sub_paths)
        if label_mode is None:
            ds = _data.Dataset.from_generator(lambda: (decode_wav(p, length) for p in sub_paths),
                                              output_signature=audio_spec)
        else:
            values, label_spec = _labels(np.asarray(sub_index), label_mode, len(names))

            def generate() -> Iterator:
                for p, label in zip(sub_paths, values, strict=True):
                    yield decode_wav(p, length), label

            ds = _data.Dataset.from_generator(generate, output_signature=(audio_spec, label_spec))
        ds = ds.apply(_data.experimental.assert_cardinality(len(sub_paths)))
        if shuffled:
            ds = ds.shuffle(buffer_size=buffer_size, seed=seed)
        ds = ds.prefetch(_data.AUTOTUNE)
        if batch_size is not None:
            if ragged:
                ds = ds.ragged_batch(batch_size)
            elif output_sequence_length is None:
                ds = ds.padded_batch(batch_size)
            else:
                ds = ds.batch(batch_size)
        ds.class_names = names if labels is not None else None
        return ds

    if subset == "both":
        return make("training", shuffle, "training "), make("validation", False, "validation ")
    return make(subset, shuffle, "")
