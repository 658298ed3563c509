"""tf.distribute across processes: `mpirun -n 2` launches (skipped where MPI is not installed)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest
from mpi_launch import WORKERS, mpi_env, mpirun


def _load(path):
    with open(path) as f:
        return json.load(f)


def test_fit_two_workers_identical_and_match_one_process(tmp_path):
    proc = mpirun("fit_worker.py", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r0, r1 = _load(tmp_path / "results_0.json"), _load(tmp_path / "results_1.json")
    w0, w1 = np.load(tmp_path / "weights_0.npz"), np.load(tmp_path / "weights_1.npz")
    # 1. The two workers hold the same weights, bit for bit (different seeds: the scope broadcast).
    for k in w0.files:
        assert np.array_equal(w0[k], w1[k]), k
    # 2. ... equal to one process training on the same global batches.
    ref = subprocess.run([sys.executable, str(WORKERS / "reference_worker.py"), str(tmp_path)], env=mpi_env(),
                         capture_output=True, text=True, timeout=120)
    assert ref.returncode == 0, ref.stderr
    wr, rr = np.load(tmp_path / "weights_ref.npz"), _load(tmp_path / "results_ref.json")
    for k in w0.files:
        np.testing.assert_allclose(w0[k], wr[k], atol=1e-5, rtol=1e-5)
    # 3. Logs and evaluate are aggregated over both workers' halves; predict is gathered in order.
    assert r0["history"] == r1["history"]
    for key, values in rr["history"].items():
        np.testing.assert_allclose(r0["history"][key], values, atol=1e-5)
    np.testing.assert_allclose(r0["evaluate"], rr["evaluate"], atol=1e-5)
    assert r0["evaluate"] == r1["evaluate"]
    p0, p1 = np.load(tmp_path / "predict_0.npy"), np.load(tmp_path / "predict_1.npy")
    assert np.array_equal(p0, p1)
    np.testing.assert_allclose(p0, np.load(tmp_path / "predict_ref.npy"), atol=1e-5)
    # 3b. Predict on a generator / dataset of global batches, and the *_on_batch methods: the
    # batch is the global batch; logs aggregated; weights identical and equal to one process.
    m0, m1, mr = (np.load(tmp_path / f"more_{k}.npz") for k in ("0", "1", "ref"))
    assert sorted(m0.files) == sorted(mr.files)
    for k in m0.files:
        assert np.array_equal(m0[k], m1[k]), k
        np.testing.assert_allclose(m0[k], mr[k], atol=1e-5, rtol=1e-5, err_msg=k)
    assert m0["gen"].shape == (96, 3) and m0["on_batch"].shape == (7, 3)
    assert r0["on_batch"] == r1["on_batch"]
    assert set(r0["on_batch"]["train_dict"]) == {"loss", "accuracy"}
    for key in ("train", "test"):
        np.testing.assert_allclose(r0["on_batch"][key], rr["on_batch"][key], atol=1e-5)
    for name, value in rr["on_batch"]["train_dict"].items():
        np.testing.assert_allclose(r0["on_batch"]["train_dict"][name], value, atol=1e-5)
    # 4. Each worker ran half of each global batch (3 steps an epoch); only worker 0 printed and wrote files.
    assert r0["batches"] == r1["batches"] == 6
    # Every update was shared out (Adam: each worker updates its chunks of the buckets that the
    # backward walk reduce-scattered, then the weights and slots are exchanged): the optimizer
    # state is whole and identical on both workers, and equal to one process's.
    assert r0["reductions"] == r1["reductions"] == [0, 0, 6]
    # The slots were kept sharded between steps, gathered once at each epoch end.
    assert r0["slot_gathers"] == r1["slot_gathers"] == 2
    # One machine: gradients through shared memory, every update written into the shared weights
    # (no weight exchange), private arrays again after fit; the bits of the message path.
    assert r0["shared_memory"] and r1["shared_memory"]
    assert r0["shared_weight_updates"] == r1["shared_weight_updates"] == 6
    assert r0["weights_private_after_fit"] and r1["weights_private_after_fit"]
    for r in (r0, r1):
        assert r["fit_same_bits_as_replicated"] and r["fit_same_bits_as_first"]
        assert r["fit_same_bits_through_messages"]
        # A custom loop's updates are shared out too (3 steps), with the same bits.
        assert r["custom_loop_sharded_updates"] == 3 and r["custom_loop_same_bits_as_replicated"]
        assert r["saving_every_batch"] == [0, 3]  # shared-out updates, slots kept whole: no gather
    assert (tmp_path / "every_batch.keras").exists()
    o0, o1, orf = (np.load(tmp_path / f"optimizer_{k}.npz") for k in ("0", "1", "ref"))
    assert len(o0.files) == len(orf.files) > 2
    for k in o0.files:
        assert np.array_equal(o0[k], o1[k]), k
        np.testing.assert_allclose(o0[k], orf[k], atol=1e-5, rtol=1e-5)
    assert proc.stdout.count("Epoch 1/2") == 1
    assert (tmp_path / "marker_0").exists() and not (tmp_path / "marker_1").exists()
    # 5. Collectives.
    assert r0["num_replicas"] == 2
    for r in (r0, r1):
        assert r["reduce_sum"] == [3.0, 30.0]
        assert r["reduce_mean_axis"] == pytest.approx((1 + 10 + 2 + 20) / 4)
        assert r["gather"] == [[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]
        assert r["traced_all_reduce"] == [6.0, 60.0]
    assert r0["distributed_batches"] == [[0, 1, 2], [6, 7, 8]]
    assert r1["distributed_batches"] == [[3, 4, 5], [9, 10, 11]]
    assert r0["from_function"] == [[0, 2], [4, 6]] and r1["from_function"] == [[1, 3], [5, 7]]


def test_worker_that_stops_answering_fails_the_others_with_a_clear_error():
    start = time.monotonic()
    proc = mpirun("hang_worker.py", timeout=60)
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "UnavailableError" in out and "waited 2 s for the other workers" in out, out
    assert elapsed < 30


def test_tf_tutorials_multi_worker_keras_and_custom_training(tmp_path):
    cluster = {"worker": ["localhost:12345", "localhost:23456"]}
    apps = [(1, {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})})
            for i in range(2)]
    proc = mpirun("tutorials_worker.py", str(tmp_path), apps=apps, timeout=240)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    # Worker 0 saved the model and the checkpoint; worker 1 wrote to a temporary place and removed it.
    assert (tmp_path / "keras-model.keras").exists()
    assert not list((tmp_path / "workertemp_1").iterdir())
    assert (tmp_path / "ckpt" / "checkpoint").exists()
    for name in ("keras", "custom", "saved"):
        a, b = np.load(tmp_path / f"{name}_0.npz"), np.load(tmp_path / f"{name}_1.npz")
        assert len(a.files) > 0
        for k in a.files:
            assert np.array_equal(a[k], b[k]), (name, k)
    # Keras fit printed once (worker 0); the custom loop's aggregated metrics agree on both workers.
    assert proc.stdout.count("Epoch 1/2") == 2  # two fits, worker 0 only
    lines = [line for line in proc.stdout.splitlines() if line.startswith("Epoch 2, Loss")]
    assert len(lines) == 2 * 4 and len(set(lines[:2])) == 1
    assert not (tmp_path / "backup").exists()  # BackupAndRestore deletes its backup after training


def test_three_workers_through_shared_memory_same_bits_as_messages(tmp_path):
    proc = mpirun("shared_memory_worker.py", str(tmp_path), n=3, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = [_load(tmp_path / f"shm_{k}.json") for k in range(3)]
    assert len({r["hash"] for r in results}) == 1   # the three workers hold the same bits
    for r in results:
        assert r["shared_memory"] and r["shared_weight_updates"] == 6
        assert r["adam_same_bits_as_messages"] and r["rmsprop_same_bits_as_replicated"]
        assert r["replicated_same_bits_as_messages"]


def test_dense_kernel_gradient_all_reduced_from_its_matmul_operands(tmp_path):
    proc = mpirun("exchange_worker.py", str(tmp_path), timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    r0, r1 = _load(tmp_path / "exchange_0.json"), _load(tmp_path / "exchange_1.json")
    # The path is taken: one exchange per step (2 epochs x 4 batches).
    assert r0["exchanges"] == r1["exchanges"] == 8
    assert r0["replicated_exchanges"] == r1["replicated_exchanges"] == 8
    # The switch off: no exchange, the gradient all-reduce; both agree to the last bits' noise.
    assert r0["off_exchanges"] == r1["off_exchanges"] == 0
    assert r0["off_differs_in_last_bits_only"] and r1["off_differs_in_last_bits_only"]
    # The workers agree bit for bit (shared-out Adam, replicated SGD) and match one process.
    for name in ("exchange", "replicated"):
        a, b = np.load(tmp_path / f"{name}_0.npz"), np.load(tmp_path / f"{name}_1.npz")
        for k in a.files:
            assert np.array_equal(a[k], b[k]), (name, k)
    a, ref = np.load(tmp_path / "exchange_0.npz"), np.load(tmp_path / "reference_0.npz")
    assert len(a.files) == len(ref.files) > 4
    for k in a.files:
        np.testing.assert_allclose(a[k], ref[k], atol=1e-5, rtol=1e-5, err_msg=k)
    # A custom loop (strategy.run in a tf.function, uneven blocks of 5 and 3 rows): exchanged,
    # the same as one process; where another op reads the local gradients (a global norm) the
    # traced matmul stays (finite norms) and the update gets the same bits.
    for r in (r0, r1):
        assert r["loop_exchanges"] == [4, 1] and r["loop_norm_exchanges"] == [4, 0]
        assert r["loop_matches_one_process"] and r["loop_norms_finite"] and r["loop_norm_same_bits"]
    a, b = np.load(tmp_path / "loop_0.npz"), np.load(tmp_path / "loop_1.npz")
    for k in a.files:
        assert np.array_equal(a[k], b[k]), k
