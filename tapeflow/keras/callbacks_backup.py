"""`keras.callbacks.BackupAndRestore`: the training state in one atomic file, so a killed `fit`
resumes exactly where its last backup was taken.

The file `<backup_dir>/training_state.npz` is an uncompressed `.npz` (read with
`allow_pickle=False`, every entry's size checked against the model before it is read) holding

* `weights/<i>`: the model's weights (`model.weights` order), `optimizer/<i>`: the optimizer's
  variables (its step count included, so learning-rate schedules continue);
* `rng/keys`: NumPy's global random state when the backup was taken (the shuffle order of the
  resumed epochs is then the one the uninterrupted run would have drawn);
* `__backup__`: UTF-8 JSON `{"format", "format_version", "epoch", "steps_done", "rng": {...},
  "tapeflow_rng": {...}}`: the epoch to resume and the batches of it already trained, and
  Tapeflow's own generators when the backup was taken (dropout masks and other random ops
  after the resume point are the ones the uninterrupted run draws; older files without it
  are still read).

Weights and progress sit in the same file, written under a temporary name and renamed, so a
kill at any moment leaves either the previous backup or the new one, never a mix (which would
train an epoch twice or skip one).
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
import zipfile
from typing import Any

import numpy as np

from tapeflow import atomic_file as _atomic
from tapeflow.keras.callback_base import Callback
from tapeflow.keras.saving.file_io import CorruptFileError
from tapeflow.ops import random as _random

FILENAME = "training_state.npz"
FORMAT = "tapeflow.backup_and_restore"
FORMAT_VERSION = 1
_META = "__backup__"
_NPY_HEADER_MAX = 4096  # bytes an .npy header may take on top of the array data
_META_MAX = 1 << 20


def _variables(model: Any) -> tuple[list, list]:
    optimizer = getattr(model, "optimizer", None)
    opt_vars = list(getattr(optimizer, "variables", None) or []) if optimizer is not None else []
    return list(model.weights), opt_vars


def _expected_entries(model: Any) -> dict[str, tuple[tuple, np.dtype]]:
    weights, opt_vars = _variables(model)
    out = {}
    for prefix, group in (("weights", weights), ("optimizer", opt_vars)):
        for i, var in enumerate(group):
            arr = var.numpy()
            out[f"{prefix}/{i}"] = (tuple(arr.shape), np.dtype(arr.dtype))
    return out


def write_backup(path: str, model: Any, epoch: int, steps_done: int, rng_state: tuple) -> None:
    """Write the training state of `model` to `path` atomically (temporary name, fsync, rename)."""
    weights, opt_vars = _variables(model)
    arrays = {f"weights/{i}": np.asarray(v.numpy()) for i, v in enumerate(weights)}
    arrays.update({f"optimizer/{i}": np.asarray(v.numpy()) for i, v in enumerate(opt_vars)})
    name, keys, pos, has_gauss, cached = rng_state
    arrays["rng/keys"] = np.asarray(keys, dtype=np.uint32)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "epoch": int(epoch),
            "steps_done": int(steps_done),
            "rng": {"name": str(name), "pos": int(pos), "has_gauss": int(has_gauss),
                    "cached_gaussian": float(cached)},
            "tapeflow_rng": _random.host_state()}
    arrays[_META] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    with _atomic.atomic_write(path) as f:
        np.savez(f, **arrays)


def read_backup(path: str, model: Any) -> tuple[dict, dict]:
    """The arrays and metadata of the backup at `path`, checked against `model`.

    Raises:
        CorruptFileError: the file is truncated, damaged, not a backup, or its entries do not
            have the sizes `model` needs (every size is checked before anything is read, so a
            hostile file cannot exhaust memory).
    """
    expected = _expected_entries(model)
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename[:-4]: info for info in archive.infolist()
                       if info.filename.endswith(".npy")}
            if _META not in members:
                raise CorruptFileError(f"'{path}' is not a BackupAndRestore file: no `{_META}` entry.")
            meta = _read_meta(archive, members[_META], path)
            wanted = set(expected) | {"rng/keys"}
            unknown = sorted(set(members) - wanted - {_META})
            missing = sorted(wanted - set(members))
            if unknown or missing:
                raise _mismatch(path, model, f"missing entries {missing[:5]}, unexpected entries {unknown[:5]}")
            arrays = {}
            for key in sorted(wanted):
                shape, dtype = expected.get(key, ((624,), np.dtype(np.uint32)))
                limit = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize + _NPY_HEADER_MAX
                if members[key].file_size > limit:
                    raise CorruptFileError(
                        f"'{path}': entry '{key}' declares {members[key].file_size} bytes, more than "
                        f"the {limit} its shape {shape} needs.")
                with archive.open(members[key]) as f:
                    arr = np.lib.format.read_array(f, allow_pickle=False)
                if tuple(arr.shape) != shape or arr.dtype != dtype:
                    raise _mismatch(path, model, f"entry '{key}' has shape {tuple(arr.shape)} and dtype "
                                                 f"{arr.dtype}, the model needs {shape} {dtype}")
                arrays[key] = arr
    except CorruptFileError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise CorruptFileError(
            f"Could not read the BackupAndRestore file '{path}': it is truncated or corrupt "
            f"({type(exc).__name__}: {exc}).") from exc
    except Exception as exc:  # zlib.error and friends from a damaged archive
        raise CorruptFileError(f"Could not read the BackupAndRestore file '{path}': "
                               f"{type(exc).__name__}: {exc}.") from exc
    return arrays, meta


def _mismatch(path: str, model: Any, detail: str) -> CorruptFileError:
    return CorruptFileError(
        f"The BackupAndRestore file '{path}' does not match model '{model.name}' ({detail}). It was "
        "written by a different model or is damaged; the backup folder must not be shared between "
        "training runs.")


def _read_meta(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str) -> dict:
    if info.file_size > _META_MAX:
        raise CorruptFileError(f"'{path}': its `{_META}` entry declares {info.file_size} bytes.")
    with archive.open(info) as f:
        raw = np.lib.format.read_array(f, allow_pickle=False)
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CorruptFileError(f"'{path}': its `{_META}` entry is not valid JSON ({exc}).") from exc
    ok = (isinstance(meta, dict) and meta.get("format") == FORMAT
          and isinstance(meta.get("epoch"), int) and meta["epoch"] >= 0
          and isinstance(meta.get("steps_done"), int) and meta["steps_done"] >= 0
          and isinstance(meta.get("rng"), dict))
    if not ok:
        raise CorruptFileError(
            f"'{path}': its `{_META}` entry is not BackupAndRestore progress (expected "
            f"format={FORMAT!r} with non-negative integer `epoch` and `steps_done`); received {meta!r:.200}.")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CorruptFileError(f"'{path}': format_version {meta.get('format_version')!r} is not supported "
                               f"(this Tapeflow reads version {FORMAT_VERSION}).")
    if "tapeflow_rng" in meta:
        try:
            _random.parse_host_state(meta["tapeflow_rng"])
        except ValueError as exc:
            raise CorruptFileError(f"'{path}': its random state is damaged ({exc}).") from None
    return meta


class BackupAndRestore(Callback):
    """Back up the training state so an interrupted `fit` resumes where it stopped.

    At the end of each epoch (or every `save_freq` batches) the model's weights, the optimizer
    state, NumPy's random state and the progress (epoch and batch) are written to one file in
    `backup_dir`, atomically. A later `fit` with the same callback loads it and continues at the
    next untrained batch, so an interrupted and resumed run trains exactly like an
    uninterrupted one (with `shuffle=True` too). When `fit` ends normally and
    `delete_checkpoint=True`, the callback deletes its own files only (and the folder, if that
    leaves it empty): other files in `backup_dir` are never touched.

    Args:
        backup_dir: folder for the backup (created when needed).
        save_freq: "epoch", or a number of batches between backups.
        double_checkpoint: keep the previous backup too (`training_state.npz.bkp`), used when the
            latest one cannot be read.
        delete_checkpoint: delete the backup when training completes.

    Example:
        >>> cb = keras.callbacks.BackupAndRestore("/tmp/backup", save_freq=100)
        >>> model.fit(x, y, epochs=10, callbacks=[cb])   # run again after a crash to resume
    """

    def __init__(self, backup_dir: Any, save_freq: Any = "epoch", double_checkpoint: bool = False,
                 delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq <= 0):
            raise ValueError(
                f"Invalid value for argument `save_freq`. Received: save_freq={save_freq}. Expected either "
                "'epoch' or an integer value."
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._path = os.path.join(self.backup_dir, FILENAME)
        self._prev_path = self._path + ".bkp"
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = -1
        self._current_epoch = 0
        self._steps_done = 0
        self._epoch_rng: tuple | None = None

    # -- restore -------------------------------------------------------------------------------
    def on_train_begin(self, logs: dict | None = None) -> None:
        self._remove_stale_temporaries()
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = -1
        self._steps_done = 0
        candidates = [p for p in (self._path, self._prev_path) if os.path.exists(p)]
        if not candidates:
            return
        self._check_built()
        first_error = None
        for path in candidates:
            try:
                arrays, meta = read_backup(path, self.model)
            except CorruptFileError as exc:
                first_error = first_error or exc
                continue
            if first_error is not None:
                warnings.warn(f"BackupAndRestore: {first_error} Resuming from the previous backup "
                              f"'{path}' instead.", stacklevel=2)
            self._restore(arrays, meta)
            return
        raise first_error

    def _check_built(self) -> None:
        model = self.model
        if not model.built:
            raise ValueError(
                "To use the BackupAndRestore callback, your model must be built before you call "
                f"`fit()`. Model {model.name!r} is unbuilt. You can build it beforehand by calling it "
                "on a batch of data."
            )
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and not getattr(optimizer, "built", True):
            optimizer.build(model.trainable_variables)

    def _restore(self, arrays: dict, meta: dict) -> None:
        weights, opt_vars = _variables(self.model)
        for prefix, group in (("weights", weights), ("optimizer", opt_vars)):
            for i, var in enumerate(group):
                var.assign(arrays[f"{prefix}/{i}"])
        rng = meta["rng"]
        np.random.set_state((rng["name"], arrays["rng/keys"], rng["pos"], rng["has_gauss"],
                             rng["cached_gaussian"]))
        if "tapeflow_rng" in meta:
            _random.set_host_state(meta["tapeflow_rng"])
        self.model._initial_epoch = meta["epoch"]
        self.model._initial_step = meta["steps_done"]
        self._current_epoch = meta["epoch"]
        self._steps_done = meta["steps_done"]
        self._last_batch_seen = meta["steps_done"] - 1
        if self._steps_done:
            self._epoch_rng = np.random.get_state()  # the resumed epoch's start state

    # -- back up -------------------------------------------------------------------------------
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._current_epoch = epoch
        if self._steps_done == 0:
            # The state the epoch's shuffle is drawn from; a mid-epoch backup stores it.
            self._epoch_rng = np.random.get_state()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._current_epoch = epoch + 1
        self._steps_done = 0
        self._last_batch_seen = -1
        if self.save_freq == "epoch":
            self._save(np.random.get_state())

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            return
        add = batch - self._last_batch_seen if batch > self._last_batch_seen else batch + 1
        self._batches_seen_since_last_saving += add
        self._last_batch_seen = batch
        self._steps_done = batch + 1
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            self._save(self._epoch_rng or np.random.get_state())

    def _save(self, rng_state: tuple) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._path):
            _replace_with_link(self._path, self._prev_path)
        write_backup(self._path, self.model, self._current_epoch, self._steps_done, rng_state)

    # -- clean up ------------------------------------------------------------------------------
    def _remove_stale_temporaries(self) -> None:
        """Temporary files of saves that were killed before their rename (only this callback's)."""
        for path in (self._path, self._prev_path):
            _atomic.remove_stale_temporaries(path)

    def on_train_end(self, logs: dict | None = None) -> None:
        self.model._initial_step = 0
        if not self.delete_checkpoint:
            return
        for path in (self._path, self._prev_path):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        self._remove_stale_temporaries()
        with contextlib.suppress(OSError):
            os.rmdir(self.backup_dir)  # only when empty: the user's files stay


def _replace_with_link(src: str, dst: str) -> None:
    """Make `dst` a copy of `src` atomically (a hard link renamed over `dst`, or a copy)."""
    tmp = _atomic.temporary_path(dst)
    try:
        os.link(src, tmp)
    except OSError:
        import shutil

        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
