"""`tf.audio`: 16-bit PCM WAV files to float32 samples in [-1, 1] and back (as TF's wav_io)."""

from __future__ import annotations

import struct
from collections import namedtuple
from typing import Any

import numpy as np

from tapeflow import backend
from tapeflow import dtypes as _dt
from tapeflow.errors import InvalidArgumentError
from tapeflow.tensor import Tensor, convert_to_tensor

__all__ = ["decode_wav", "encode_wav"]

DecodeWav = namedtuple("DecodeWav", ["audio", "sample_rate"])


def _bytes(contents: Any) -> bytes:
    if isinstance(contents, Tensor):
        value = backend.to_numpy(contents._value)
        if value.shape != ():
            raise ValueError(f"DecodeWav: contents must be a scalar string, received shape {value.shape}.")
        value = value.item()
    else:
        value = contents
    if isinstance(value, str):
        value = value.encode("latin-1")
    if not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"DecodeWav: contents must be a string tensor of WAV bytes, received {type(value).__name__}.")
    return bytes(value)


def decode_wav(contents: Any, desired_channels: int = -1, desired_samples: int = -1, name: Any = None) -> DecodeWav:
    """Decode a 16-bit PCM WAV file.

    Args:
        contents: the file's bytes (a scalar string). desired_channels: channels to return (a mono
            file is repeated; extra channels are dropped); -1 keeps the file's.
        desired_samples: samples to return (zero-padded or cut); -1 keeps the file's.

    Returns:
        DecodeWav(audio: float32 [samples, channels] in [-1, 1), sample_rate: int32 scalar).
    """
    data = _bytes(contents)

    def fail(msg: str) -> InvalidArgumentError:
        return InvalidArgumentError(None, None, f"DecodeWav: {msg}")

    if len(data) < 12:
        raise fail("Data too short when trying to read string")
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise fail(f"Header mismatch: expected RIFF...WAVE, found {data[:4]!r}...{data[8:12]!r}")
    pos, fmt, samples = 12, None, None
    while pos + 8 <= len(data):
        chunk, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        body = data[pos + 8:pos + 8 + size]
        if len(body) < size:
            raise fail(f"Data too short: chunk {chunk!r} declares {size} bytes, {len(body)} remain")
        if chunk == b"fmt ":
            if size < 16:
                raise fail(f"Bad fmt chunk size {size}")
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif chunk == b"data":
            if fmt is None:
                raise fail("The data chunk comes before the fmt chunk")
            samples = body
        pos += 8 + size + (size & 1)
    if fmt is None or samples is None:
        raise fail("No fmt or data chunk found")
    audio_format, channels, rate, _, _, bits = fmt
    if audio_format != 1:
        raise fail(f"Bad audio format {audio_format}: only PCM (1) is supported")
    if bits != 16:
        raise fail(f"Can only read 16-bit WAV files, but received {bits}")
    if channels < 1:
        raise fail("At least one channel is required")
    frames = len(samples) // (2 * channels)
    pcm = np.frombuffer(samples[:frames * 2 * channels], "<i2").reshape(frames, channels)
    audio = pcm.astype(np.float32) / 32768.0
    want = channels if int(desired_channels) == -1 else int(desired_channels)
    if want < 1:
        raise fail(f"desired_channels must be -1 or positive, received {desired_channels}")
    audio = audio[:, [min(c, channels - 1) for c in range(want)]]
    if int(desired_samples) != -1:
        n = int(desired_samples)
        audio = audio[:n] if n <= frames else np.concatenate([audio, np.zeros((n - frames, want), np.float32)])
    return DecodeWav(convert_to_tensor(audio), convert_to_tensor(np.int32(rate)))


def encode_wav(audio: Any, sample_rate: Any, name: Any = None) -> Tensor:
    """Encode float32 [samples, channels] audio (clipped to [-1, 1]) as a 16-bit PCM WAV file.

    Returns:
        A scalar string tensor with the file's bytes.
    """
    x = audio if isinstance(audio, Tensor) else convert_to_tensor(audio, dtype=_dt.float32)
    if x.dtype != _dt.float32:
        raise TypeError(f"EncodeWav: audio must be float32, received {x.dtype.name}.")
    a = backend.to_numpy(x._value)
    if a.ndim != 2:
        raise InvalidArgumentError(None, None, f"EncodeWav: audio must be 2-D [samples, channels], received shape "
                                   f"{a.shape}")
    rate = int(backend.to_numpy(sample_rate._value)) if isinstance(sample_rate, Tensor) else int(sample_rate)
    frames, channels = a.shape
    pcm = np.clip(np.round(a.astype(np.float64) * 32768.0), -32768, 32767).astype("<i2")
    payload = pcm.tobytes()
    header = b"RIFF" + struct.pack("<I", 36 + len(payload)) + b"WAVE" + b"fmt " + struct.pack(
        "<IHHIIHH", 16, 1, channels, rate, rate * channels * 2, channels * 2, 16) + b"data" + struct.pack(
        "<I", len(payload))
    return Tensor(np.array(header + payload, dtype=object))
