"""keras.utils.audio_dataset_from_directory: wav files decoded as tf.audio.decode_wav does."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from tapeflow import keras


def _write(path, samples: np.ndarray, channels: int = 1, width: int = 2) -> None:
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(width)
        f.setframerate(16000)
        f.writeframes(samples.astype("<i2" if width == 2 else "u1").tobytes())


@pytest.fixture
def audio_dir(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("no", "yes"):
        (tmp_path / cls).mkdir()
        for i in range(3):
            _write(tmp_path / cls / f"{i}.wav", rng.integers(-3000, 3000, 100 + 20 * i))
    return tmp_path


def test_padded_batches_labels_and_lengths(audio_dir) -> None:
    ds = keras.utils.audio_dataset_from_directory(audio_dir, batch_size=6, shuffle=False, verbose=False)
    assert ds.class_names == ["no", "yes"]
    audio, labels = next(iter(ds))
    assert tuple(audio.shape) == (6, 140, 1) and audio.dtype.name == "float32"
    np.testing.assert_array_equal(labels.numpy(), [0, 0, 0, 1, 1, 1])
    assert float(np.abs(audio.numpy()[0, 100:]).max()) == 0.0  # the 100-sample file is zero-padded
    fixed = keras.utils.audio_dataset_from_directory(audio_dir, batch_size=4, output_sequence_length=50,
                                                     label_mode="categorical", shuffle=False, verbose=False)
    audio, labels = next(iter(fixed))
    assert tuple(audio.shape) == (4, 50, 1) and tuple(labels.shape) == (4, 2)
    ragged = keras.utils.audio_dataset_from_directory(audio_dir, batch_size=3, ragged=True, shuffle=False,
                                                      verbose=False)
    audio, _ = next(iter(ragged))
    assert [len(row) for row in audio.to_list()] == [100, 120, 140]


def test_refusals(audio_dir, tmp_path) -> None:
    with pytest.raises(ValueError, match="resampling"):
        keras.utils.audio_dataset_from_directory(audio_dir, sampling_rate=8000)
    with pytest.raises(ValueError, match="both `ragged` and `output_sequence_length`"):
        keras.utils.audio_dataset_from_directory(audio_dir, ragged=True, output_sequence_length=10)
    _write(audio_dir / "no" / "eight.wav", np.arange(10), width=1)
    ds = keras.utils.audio_dataset_from_directory(audio_dir, batch_size=None, shuffle=False, verbose=False)
    with pytest.raises(ValueError, match="16-bit"):
        list(ds)


@pytest.mark.oracle
def test_decoding_matches_tensorflow(audio_dir) -> None:
    tensorflow = pytest.importorskip("tensorflow")
    from tapeflow.keras.utils.audio_dataset import decode_wav

    path = str(audio_dir / "yes" / "1.wav")
    _write(path, np.random.default_rng(2).integers(-30000, 30000, (50, 2)).reshape(-1), channels=2)
    expected, _ = tensorflow.audio.decode_wav(tensorflow.io.read_file(path))
    np.testing.assert_array_equal(decode_wav(path), expected.numpy())
    expected, _ = tensorflow.audio.decode_wav(tensorflow.io.read_file(path), desired_samples=70)
    np.testing.assert_array_equal(decode_wav(path, 70), expected.numpy())
