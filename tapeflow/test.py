"""`tf.test`: TestCase with TF's tensor assertions, gradient checking (`compute_gradient`) and
device queries, for tests written against TF's test utilities."""

from __future__ import annotations

import contextlib
import os
import tempfile
import unittest
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from tapeflow import backend

__all__ = ["Benchmark", "TestCase", "benchmark_config", "compute_gradient", "disable_with_predicate",
           "gpu_device_name", "is_built_with_cuda", "is_built_with_gpu_support", "is_built_with_rocm",
           "is_built_with_xla", "is_cpu_target_available", "is_gpu_available", "main", "with_eager_op_as_function",
           "experimental"]


def _np(x: Any) -> Any:
    from tapeflow import nest
    from tapeflow.tensor import Tensor

    def one(v: Any) -> Any:
        if isinstance(v, Tensor):
            return np.asarray(backend.to_numpy(v._value))
        if hasattr(v, "to_list") and hasattr(v, "flat_values"):  # RaggedTensor
            return v.to_list()
        if hasattr(v, "indices") and hasattr(v, "dense_shape"):  # SparseTensor
            from tapeflow.sparse import to_dense

            return np.asarray(backend.to_numpy(to_dense(v)._value))
        return v

    return nest.map_structure(one, x)


class TestCase(unittest.TestCase):
    """unittest.TestCase with TF's assertions on tensors (NumPy values compared) and `evaluate`."""

    def evaluate(self, tensors: Any) -> Any:
        """The NumPy values of (a structure of) tensors."""
        return _np(tensors)

    @contextlib.contextmanager
    def session(self, graph: Any = None, config: Any = None, use_gpu: bool = True,
                force_gpu: bool = False) -> Iterator[Any]:
        """A context whose object `run`s tensors to NumPy (eager execution: values are ready)."""
        runner = type("EagerSession", (), {"run": staticmethod(_np)})()
        yield runner

    cached_session = session

    def get_temp_dir(self) -> str:
        """A temporary directory for this test (created once per test case)."""
        if not hasattr(self, "_tf_temp_dir"):
            self._tf_temp_dir = tempfile.mkdtemp(prefix="tapeflow_test_")
        return self._tf_temp_dir

    def assertAllClose(self, a: Any, b: Any, rtol: float = 1e-6, atol: float = 1e-6, msg: Any = None) -> None:  # noqa: N802
        a, b = _np(a), _np(b)
        if isinstance(a, dict):
            self.assertEqual(set(a), set(b), msg)
            for k in a:
                self.assertAllClose(a[k], b[k], rtol, atol, msg)
            return
        if isinstance(a, (list, tuple)) and a and not np.isscalar(a[0]) and not isinstance(a[0], (list, tuple)):
            self.assertEqual(len(a), len(b), msg)
            for x, y in zip(a, b, strict=True):
                self.assertAllClose(x, y, rtol, atol, msg)
            return
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol, err_msg=msg or "")

    def assertAllCloseAccordingToType(self, a: Any, b: Any, rtol: float = 1e-6, atol: float = 1e-6,  # noqa: N802
                                      float_rtol: float = 1e-6, float_atol: float = 1e-6, half_rtol: float = 1e-3,
                                      half_atol: float = 1e-3, bfloat16_rtol: float = 1e-2,
                                      bfloat16_atol: float = 1e-2, msg: Any = None) -> None:
        a_np = np.asarray(_np(a))
        if a_np.dtype == np.float16:
            rtol, atol = max(rtol, half_rtol), max(atol, half_atol)
        elif a_np.dtype in (np.float32, np.complex64):
            rtol, atol = max(rtol, float_rtol), max(atol, float_atol)
        elif a_np.dtype.name == "bfloat16":
            rtol, atol = max(rtol, bfloat16_rtol), max(atol, bfloat16_atol)
        self.assertAllClose(a_np.astype(np.float64) if a_np.dtype.name == "bfloat16" else a_np,
                            np.asarray(_np(b), np.float64 if a_np.dtype.name == "bfloat16" else None), rtol, atol, msg)

    def assertNotAllClose(self, a: Any, b: Any, rtol: float = 1e-6, atol: float = 1e-6, msg: Any = None) -> None:  # noqa: N802
        try:
            self.assertAllClose(a, b, rtol, atol)
        except AssertionError:
            return
        raise AssertionError(msg or "The two values are close at all elements.")

    def assertAllEqual(self, a: Any, b: Any, msg: Any = None) -> None:  # noqa: N802
        a, b = np.asarray(_np(a)), np.asarray(_np(b))
        self.assertEqual(a.shape, b.shape, msg or f"Shape mismatch: expected {a.shape}, got {b.shape}.")
        np.testing.assert_array_equal(a, b, err_msg=msg or "")

    def assertNotAllEqual(self, a: Any, b: Any, msg: Any = None) -> None:  # noqa: N802
        a, b = np.asarray(_np(a)), np.asarray(_np(b))
        if a.shape == b.shape and np.array_equal(a, b):
            raise AssertionError(msg or "The two values are equal at all elements.")

    def _all(self, cond: Any, msg: Any, what: str) -> None:
        if not np.all(cond):
            raise AssertionError(msg or f"Not all elements are {what}.")

    def assertAllGreater(self, a: Any, comparison_target: Any) -> None:  # noqa: N802
        self._all(np.asarray(_np(a)) > comparison_target, None, f"greater than {comparison_target}")

    def assertAllGreaterEqual(self, a: Any, comparison_target: Any) -> None:  # noqa: N802
        self._all(np.asarray(_np(a)) >= comparison_target, None, f">= {comparison_target}")

    def assertAllLess(self, a: Any, comparison_target: Any) -> None:  # noqa: N802
        self._all(np.asarray(_np(a)) < comparison_target, None, f"less than {comparison_target}")

    def assertAllLessEqual(self, a: Any, comparison_target: Any) -> None:  # noqa: N802
        self._all(np.asarray(_np(a)) <= comparison_target, None, f"<= {comparison_target}")

    def assertAllInRange(self, target: Any, lower_bound: Any, upper_bound: Any, open_lower_bound: bool = False,  # noqa: N802
                         open_upper_bound: bool = False) -> None:
        t = np.asarray(_np(target))
        low = t > lower_bound if open_lower_bound else t >= lower_bound
        high = t < upper_bound if open_upper_bound else t <= upper_bound
        self._all(low & high, None, f"in the range {lower_bound}..{upper_bound}")

    def assertAllInSet(self, target: Any, expected_set: Any) -> None:  # noqa: N802
        t = np.asarray(_np(target))
        self._all(np.isin(t, list(expected_set)), None, f"in {set(expected_set)}")

    def assertDTypeEqual(self, target: Any, expected_dtype: Any) -> None:  # noqa: N802
        from tapeflow import dtypes

        got = np.asarray(_np(target)).dtype
        self.assertEqual(dtypes.as_dtype(got), dtypes.as_dtype(expected_dtype))

    def assertShapeEqual(self, input_a: Any, input_b: Any, msg: Any = None) -> None:  # noqa: N802
        self.assertEqual(tuple(np.shape(_np(input_a))), tuple(input_b.shape), msg)

    def assertRaisesOpError(self, expected_err_re_or_predicate: Any) -> Any:  # noqa: N802
        from tapeflow.errors import OpError

        return self.assertRaisesRegex(OpError, expected_err_re_or_predicate)


class Benchmark:
    """Base class of benchmarks: `report_benchmark` records a result (printed)."""

    def report_benchmark(self, iters: Any = None, cpu_time: Any = None, wall_time: Any = None,
                         throughput: Any = None, extras: Any = None, name: Any = None, metrics: Any = None) -> None:
        print(f"benchmark {name or type(self).__name__}: iters={iters} wall_time={wall_time} extras={extras}")

    def evaluate(self, tensors: Any) -> Any:
        return _np(tensors)


def benchmark_config() -> dict:
    """The session configuration TF's benchmarks use (no graph-mode options here: an empty dict)."""
    return {}


def compute_gradient(f: Callable, x: Any, delta: Any = None) -> tuple:
    """(theoretical, numerical) Jacobians of `f` at the list of tensors `x`: the tape's and central
    differences with step `delta` (1e-3 for float32, 1e-6 for float64), one [y size, x size] each."""
    from tapeflow.autodiff.tape import GradientTape
    from tapeflow.tensor import convert_to_tensor

    xs = [convert_to_tensor(v) for v in x]
    theoretical, numerical = [], []
    for i, xi in enumerate(xs):
        base = np.asarray(backend.to_numpy(xi._value))
        step = delta if delta is not None else (1e-6 if base.dtype == np.float64 else 1e-3)
        with GradientTape(persistent=True) as tape:
            tape.watch(xi)
            y = f(*xs)
        y_np = np.asarray(backend.to_numpy(y._value))
        jac = tape.jacobian(y, xi)
        theoretical.append(np.zeros((y_np.size, base.size), base.dtype) if jac is None
                           else np.asarray(backend.to_numpy(jac._value)).reshape(y_np.size, base.size))
        num = np.zeros((y_np.size, base.size), base.dtype)
        for j in range(base.size):
            shifted = []
            for sign in (1, -1):
                v = base.copy().reshape(-1)
                v[j] += sign * step
                args = list(xs)
                args[i] = convert_to_tensor(v.reshape(base.shape))
                shifted.append(np.asarray(backend.to_numpy(f(*args)._value)).reshape(-1))
            num[:, j] = (shifted[0] - shifted[1]) / (2 * step)
        numerical.append(num)
    return theoretical, numerical


class experimental:  # noqa: N801 - the `tf.test.experimental` namespace
    """`tf.test.experimental`."""

    @staticmethod
    def sync_devices() -> None:
        """Block until every device has finished the work queued on it (for timing code): waits
        for the GPUs' streams; the CPU runs ops synchronously. Eager mode only, as TF."""
        import tapeflow as tf

        if not tf.executing_eagerly():
            raise RuntimeError("sync_devices() must only be called in Eager mode.")
        backend.synchronize()


def gpu_device_name() -> str:
    """'/device:GPU:0' when a GPU is usable, '' otherwise."""
    return "/device:GPU:0" if backend.gpu_available() else ""


def is_gpu_available(cuda_only: bool = False, min_cuda_compute_capability: Any = None) -> bool:
    """Whether a GPU is usable (through CuPy)."""
    return backend.gpu_available()


def is_built_with_cuda() -> bool:
    """Whether CUDA support (CuPy) is installed."""
    import importlib.util

    return importlib.util.find_spec("cupy") is not None


is_built_with_gpu_support = is_built_with_cuda


def is_built_with_rocm() -> bool:
    return False


def is_built_with_xla() -> bool:
    return False


def is_cpu_target_available(cpu_target: str) -> bool:
    """Whether XLA can compile for `cpu_target` (Tapeflow has no XLA: False)."""
    return False


def disable_with_predicate(pred: Callable, skip_message: str) -> Callable:
    """Decorator: skip the test when `pred()` is true."""
    def decorator(fn: Callable) -> Callable:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if pred():
                raise unittest.SkipTest(skip_message)
            return fn(self, *args, **kwargs)

        return wrapper

    return decorator


def with_eager_op_as_function(cls: Any = None, only_as_function: bool = False) -> Any:
    """Decorator kept for TF test compatibility: ops always run eagerly here, so it returns the class."""
    return cls if cls is not None else (lambda c: c)


def main(argv: Any = None) -> None:
    """Run the tests of the calling module (unittest.main)."""
    unittest.main(argv=argv, module="__main__", exit=os.environ.get("TAPEFLOW_TEST_NO_EXIT") is None)
