"""keras.callbacks and keras.utils.Progbar."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest

from tapeflow import keras


def _model(lr: float = 0.1) -> keras.Sequential:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate=lr), "mse", metrics=["mae"])
    return model


def _data(n: int = 32, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 3)).astype("float32")
    return x, x.sum(axis=1, keepdims=True).astype("float32")


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append("on_train_begin")

    def on_train_end(self, logs=None):
        self.events.append("on_train_end")

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("on_epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("on_epoch_end", epoch))

    def on_train_batch_begin(self, batch, logs=None):
        self.events.append(("on_train_batch_begin", batch))

    def on_train_batch_end(self, batch, logs=None):
        self.events.append(("on_train_batch_end", batch))

    def on_test_begin(self, logs=None):
        self.events.append("on_test_begin")

    def on_test_end(self, logs=None):
        self.events.append("on_test_end")

    def on_test_batch_begin(self, batch, logs=None):
        self.events.append(("on_test_batch_begin", batch))

    def on_test_batch_end(self, batch, logs=None):
        self.events.append(("on_test_batch_end", batch))

    def on_predict_begin(self, logs=None):
        self.events.append("on_predict_begin")

    def on_predict_end(self, logs=None):
        self.events.append("on_predict_end")

    def on_predict_batch_begin(self, batch, logs=None):
        self.events.append(("on_predict_batch_begin", batch))

    def on_predict_batch_end(self, batch, logs=None):
        self.events.append(("on_predict_batch_end", batch))


def test_hooks_are_called_in_keras_order():
    x, y = _data(8)
    model = _model()
    rec = Recorder()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, validation_data=(x, y), callbacks=[rec])
    assert rec.events == [
        "on_train_begin", ("on_epoch_begin", 0),
        ("on_train_batch_begin", 0), ("on_train_batch_end", 0),
        ("on_train_batch_begin", 1), ("on_train_batch_end", 1),
        "on_test_begin", ("on_test_batch_begin", 0), ("on_test_batch_end", 0),
        ("on_test_batch_begin", 1), ("on_test_batch_end", 1), "on_test_end",
        ("on_epoch_end", 0), "on_train_end",
    ]
    rec.events.clear()
    model.evaluate(x, y, batch_size=8, verbose=0, callbacks=[rec])
    model.predict(x, batch_size=8, verbose=0, callbacks=[rec])
    assert rec.events == ["on_test_begin", ("on_test_batch_begin", 0), ("on_test_batch_end", 0),
                          "on_test_end",
                          "on_predict_begin", ("on_predict_batch_begin", 0), ("on_predict_batch_end", 0),
                          "on_predict_end"]


def test_callback_sees_model_params_and_logs():
    x, y = _data(20)
    seen = {}

    class Look(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["params"] = dict(self.params)
            seen["model"] = self.model

        def on_train_batch_end(self, batch, logs=None):
            seen.setdefault("batch_logs", []).append(dict(logs))

        def on_epoch_end(self, epoch, logs=None):
            seen["epoch_logs"] = dict(logs)

        def on_predict_batch_end(self, batch, logs=None):
            seen["outputs"] = logs["outputs"]

    model = _model()
    model.fit(x, y, batch_size=10, epochs=1, verbose=0, callbacks=[Look()])
    assert seen["params"] == {"verbose": 0, "epochs": 1, "steps": 2} and seen["model"] is model
    assert [sorted(b) for b in seen["batch_logs"]] == [["loss", "mae"], ["loss", "mae"]]
    assert seen["batch_logs"][-1] == seen["epoch_logs"]  # the running mean at the last batch
    model.predict(x, verbose=0, callbacks=[Look()])
    assert tuple(seen["outputs"].shape) == (20, 1)


def test_stop_training_from_a_callback_stops_after_the_batch():
    x, y = _data(40)

    class StopAt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    count = []
    model = _model()
    history = model.fit(x, y, batch_size=8, epochs=5, verbose=0,
                        callbacks=[StopAt(), keras.callbacks.LambdaCallback(
                            on_train_batch_begin=lambda b, logs: count.append(b))])
    assert count == [0, 1] and history.epoch == [0]


def test_early_stopping_patience_and_restore_best_weights():
    x, y = _data(16)
    losses = iter([5.0, 3.0, 4.0, 4.5, 6.0, 1.0])
    snapshots = []

    class FakeVal(keras.callbacks.Callback):  # runs first, so EarlyStopping sees its value
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = next(losses)
            snapshots.append([w.copy() for w in self.model.get_weights()])

    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True, verbose=1)
    model = _model()
    history = model.fit(x, y, epochs=6, verbose=0, callbacks=[FakeVal(), stop])
    assert history.epoch == [0, 1, 2, 3]  # best at epoch 1, two epochs without improvement
    assert stop.stopped_epoch == 3 and stop.best == 3.0 and stop.best_epoch == 1
    for a, b in zip(model.get_weights(), snapshots[1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_modes_baseline_and_start_epoch():
    x, y = _data(16)

    def run(values, **kwargs):
        it = iter(values)

        class Feed(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                logs["val_metric"] = next(it)

        stop = keras.callbacks.EarlyStopping(monitor="val_metric", **kwargs)
        return _model().fit(x, y, epochs=len(values), verbose=0, callbacks=[Feed(), stop]).epoch

    assert run([0.1, 0.5, 0.4, 0.3], mode="max", patience=1) == [0, 1, 2]
    # Not beating the baseline counts against patience from the first epoch.
    assert run([0.9, 0.95, 0.97, 0.99], mode="min", baseline=0.5, patience=2) == [0, 1]
    assert run([0.9, 0.95, 0.97, 0.99], mode="min", patience=2) == [0, 1, 2]
    assert run([0.9, 0.95, 0.99, 0.5, 0.4], mode="min", start_from_epoch=2, patience=1) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="mode='max'"):
        run([0.1, 0.2], patience=1)  # "auto" cannot tell the direction of "val_metric"


def test_early_stopping_auto_mode_maximises_accuracy():
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy")
    stop.set_model(_model())
    stop._set_monitor_op()
    assert stop._is_improvement(0.9, 0.8) and not stop._is_improvement(0.7, 0.8)


def test_model_checkpoint_templates_best_only_and_atomic_writes(tmp_path):
    x, y = _data(32)
    model = _model()
    values = iter([3.0, 2.0, 2.5, 1.0])

    class FakeVal(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = next(values)

    path = str(tmp_path / "ckpt" / "w-{epoch:02d}-{val_loss:.2f}.weights.npz")
    ckpt = keras.callbacks.ModelCheckpoint(path, save_best_only=True, save_weights_only=True)
    model.fit(x, y, epochs=4, verbose=0, callbacks=[FakeVal(), ckpt])
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["w-01-3.00.weights.npz", "w-02-2.00.weights.npz",
                                                     "w-04-1.00.weights.npz"]
    fresh = _model()
    fresh.load_weights(str(tmp_path / "ckpt" / "w-04-1.00.weights.npz"))
    for a, b in zip(fresh.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # Whole models every epoch; a failed save leaves no file behind (and no temporary one).
    keras_path = str(tmp_path / "full.keras")
    model.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(keras_path)])
    assert os.path.exists(keras_path)

    def failing_save(filepath, overwrite=True):
        with open(filepath, "w") as f:
            f.write("partial")
        raise OSError("disk full")

    model.save_weights = failing_save
    target = str(tmp_path / "never.weights.npz")
    with pytest.raises(OSError, match="disk full"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[keras.callbacks.ModelCheckpoint(target, save_weights_only=True)])
    assert not os.path.exists(target)
    assert [f for f in os.listdir(tmp_path) if f.startswith(".tmp")] == []


def test_model_checkpoint_validates_paths_and_save_freq(tmp_path):
    with pytest.raises(ValueError, match=r"\.weights\.npz"):
        keras.callbacks.ModelCheckpoint(str(tmp_path / "x.npz"), save_weights_only=True)
    with pytest.raises(ValueError, match=r"\.keras"):
        keras.callbacks.ModelCheckpoint(str(tmp_path / "x.txt"))
    with pytest.raises(ValueError, match="save_freq"):
        keras.callbacks.ModelCheckpoint(str(tmp_path / "x.keras"), save_freq="batch")
    x, y = _data(40)
    path = str(tmp_path / "b{epoch}-{batch}.weights.npz")
    _model().fit(x, y, batch_size=8, epochs=1, verbose=0,
                 callbacks=[keras.callbacks.ModelCheckpoint(path, save_weights_only=True, save_freq=2)])
    assert sorted(os.listdir(tmp_path)) == ["b1-2.weights.npz", "b1-4.weights.npz"]


def test_learning_rate_scheduler_sets_and_logs_rate():
    x, y = _data(16)
    model = _model()
    sched = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[sched])
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.1 / 3], rtol=1e-6)
    one_arg = keras.callbacks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[one_arg])
    np.testing.assert_allclose(history.history["learning_rate"], [0.01, 0.02], rtol=1e-6)


def test_reduce_lr_on_plateau():
    x, y = _data(16)
    values = iter([1.0, 1.0, 1.0, 0.5, 0.5, 0.5])

    class Feed(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = next(values)

    model = _model(lr=1.0)
    cb = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=0.3)
    history = model.fit(x * 0, y * 0, epochs=6, verbose=0, callbacks=[Feed(), cb])
    # logged before any reduction of that epoch: 1, 1, 1 (reduced to 0.5 at epoch 2), 0.5, 0.5, 0.5 (-> 0.3)
    np.testing.assert_allclose(history.history["learning_rate"], [1.0, 1.0, 1.0, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.3, rtol=1e-6)
    with pytest.raises(ValueError, match="factor"):
        keras.callbacks.ReduceLROnPlateau(factor=1.5)


def test_terminate_on_nan(capsys):
    x, y = _data(16)
    x[9] = np.nan
    model = _model()
    history = model.fit(x, y, batch_size=4, epochs=3, verbose=0, shuffle=False,
                        callbacks=[keras.callbacks.TerminateOnNaN()])
    assert history.epoch == [0] and np.isnan(history.history["loss"][0])
    assert "Batch 2: Invalid loss, terminating training" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="NaN or Inf loss"):
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False,
                  callbacks=[keras.callbacks.TerminateOnNaN(raise_error=True)])


def test_csv_logger_writes_and_appends(tmp_path):
    x, y = _data(16)
    path = tmp_path / "log.csv"
    model = _model()
    model.fit(x, y, epochs=2, verbose=0, validation_data=(x, y),
              callbacks=[keras.callbacks.CSVLogger(str(path))])
    model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y),
              callbacks=[keras.callbacks.CSVLogger(str(path), append=True)])
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "0"]
    semi = tmp_path / "semi.csv"
    model.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.CSVLogger(str(semi), separator=";")])
    assert open(semi).readline().strip() == "epoch;loss;mae;val_loss;val_mae"


def test_lambda_callback():
    x, y = _data(16)
    events = []
    cb = keras.callbacks.LambdaCallback(on_train_begin=lambda logs: events.append("begin"),
                                        on_epoch_end=lambda epoch, logs: events.append(epoch),
                                        on_train_end=lambda logs: events.append("end"))
    _model().fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    assert events == ["begin", 0, 1, "end"]


def test_backup_and_restore_resumes_an_interrupted_fit(tmp_path):
    x, y = _data(32)
    backup = str(tmp_path / "backup")

    def fresh():
        keras.utils.set_random_seed(11)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                                  keras.layers.Dense(1)])
        model.compile(keras.optimizers.SGD(learning_rate=0.05, momentum=0.9), "mse")
        return model

    reference = fresh()
    reference.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0)

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt("interrupted")

    model = fresh()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0,
                  callbacks=[keras.callbacks.BackupAndRestore(backup), Crash()])
    assert os.path.exists(os.path.join(backup, "training_state.npz"))
    resumed = fresh()  # a new process would rebuild the model the same way
    history = resumed.fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0,
                          callbacks=[keras.callbacks.BackupAndRestore(backup)])
    assert history.epoch == [2, 3]
    for a, b in zip(resumed.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert not os.path.exists(backup)  # deleted once training completed
    with pytest.raises(ValueError, match="backup_dir"):
        keras.callbacks.BackupAndRestore("")


def test_callback_list_runs_only_implemented_batch_hooks():
    class EpochOnly(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            pass

    class BatchOnly(keras.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            pass

    cbs = keras.callbacks.CallbackList([EpochOnly()], add_history=True)
    assert cbs.hook("on_train_batch_end") is None
    assert isinstance(cbs.callbacks[-1], keras.callbacks.History)
    assert keras.callbacks.CallbackList([BatchOnly()]).hook("on_train_batch_end") is not None


# ---------------------------------------------------------------------------------------------
# Progbar
# ---------------------------------------------------------------------------------------------

def test_progbar_live_and_one_line(capsys):
    bar = keras.utils.Progbar(4, interval=0.0)
    for i in range(4):
        bar.update(i + 1, [("loss", float(i))])
    out = capsys.readouterr().out
    assert "\r" in out and out.endswith("\n")
    steps = [part.strip("\b") for part in out.split("\r")[1:]]
    assert steps[2].startswith("3/4 " + "━" * 15) and steps[2].rstrip().endswith("loss: 1.0000")  # mean
    assert steps[3].startswith("4/4 " + "━" * 20) and steps[3].rstrip().endswith("loss: 3.0000")  # final
    bar = keras.utils.Progbar(3, verbose=2, stateful_metrics=["acc"])
    bar.add(1, [("acc", 0.5), ("loss", 2.0)])
    bar.add(2, [("acc", 0.75), ("loss", 1.0)])
    line = capsys.readouterr().out
    # At the end each metric shows its last value (as Keras does).
    assert line.startswith("3/3 - ") and "acc: 0.7500" in line and "loss: 1.0000" in line
    bar = keras.utils.Progbar(None, interval=0.0)
    bar.update(5, [("tiny", 1e-5)])
    assert "      5/Unknown" in capsys.readouterr().out
    silent = keras.utils.Progbar(2, verbose=0)
    silent.update(2)
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="only one"):
        keras.utils.Progbar(2, stateful_metrics=["a"], stateless_metrics=["b"])


def test_progbar_formats_small_values_and_units(capsys):
    bar = keras.utils.Progbar(2, interval=0.0, unit_name="sample")
    bar.update(2, [("loss", 1e-5)])
    out = capsys.readouterr().out
    assert "loss: 1.0000e-05" in out and "/sample" in out
