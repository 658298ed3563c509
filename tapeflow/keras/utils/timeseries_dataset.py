"""`keras.utils.timeseries_dataset_from_array`: sliding windows over a series as a tf.data Dataset.

The window start positions are the dataset's rows; each batch of starts gathers its windows
with one index (`data[starts[:, None] + offsets]`), so no window is built element by element.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.data import Dataset


def timeseries_dataset_from_array(data: Any, targets: Any, sequence_length: int, sequence_stride: int = 1,
                                  sampling_rate: int = 1, batch_size: int | None = 128, shuffle: bool = False,
                                  seed: int | None = None, start_index: int | None = None,
                                  end_index: int | None = None) -> Dataset:
    """Windows `data[i : i + sequence_length * sampling_rate : sampling_rate]` (and `targets[i]`).

    Args:
        data: array-like of shape `(timesteps, ...)`.
        targets: one target per timestep (the window starting at `i` gets `targets[i]`), or None.
        sequence_length: timesteps per window.
        sequence_stride: step between the starts of consecutive windows.
        sampling_rate: step between the timesteps inside a window.
        batch_size: windows per batch (None: unbatched windows).
        shuffle: shuffle the windows (once, with `seed`, and again in a buffer every epoch).
        start_index, end_index: only timesteps in `[start_index, end_index)` are used.

    Returns:
        A Dataset of `(windows, targets)` batches (or windows alone when `targets` is None).

    Example:
        >>> ds = keras.utils.timeseries_dataset_from_array(np.arange(10), None, sequence_length=3,
        ...                                                batch_size=2)
        >>> next(iter(ds)).numpy()
        array([[0, 1, 2],
               [1, 2, 3]])
    """
    what = "timeseries_dataset_from_array"
    data = np.asarray(data)
    if data.ndim == 0:
        raise ValueError(f"{what}: `data` must have a time axis, received a scalar.")
    n = len(data)
    if targets is not None:
        targets = np.asarray(targets)
        if len(targets) != n:
            raise ValueError(f"{what}: expected `data` and `targets` to have the same number of "
                             f"timesteps; received data length {n} and targets length {len(targets)}.")
    for name, value in (("sequence_length", sequence_length), ("sequence_stride", sequence_stride),
                        ("sampling_rate", sampling_rate)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{what}: `{name}` must be a positive integer, received {value!r}.")
    if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size <= 0):
        raise ValueError(f"{what}: `batch_size` must be a positive integer or None, received {batch_size!r}.")
    start = 0 if start_index is None else int(start_index)
    end = n if end_index is None else int(end_index)
    if not 0 <= start < n:
        raise ValueError(f"{what}: `start_index` must be in [0, {n}), received {start_index}.")
    if not start < end <= n:
        raise ValueError(f"{what}: `end_index` must be in ({start}, {n}], received {end_index}.")
    span = (sequence_length - 1) * sampling_rate
    starts = np.arange(start, max(end - span, start), sequence_stride, dtype=np.int64)
    if shuffle:
        rng = np.random.default_rng(seed)
        starts = starts[rng.permutation(len(starts))]
    offsets = np.arange(0, sequence_length * sampling_rate, sampling_rate, dtype=np.int64)

    def windows(s: Any) -> Any:
        index = np.asarray(s)
        rows = data[index[..., None] + offsets]
        return rows if targets is None else (rows, targets[index])

    ds = Dataset.from_tensor_slices(starts)
    if shuffle:
        ds = ds.shuffle(buffer_size=(batch_size or 1) * 8, seed=seed)
    if batch_size is not None:
        ds = ds.batch(batch_size)
    return ds.map(windows)
