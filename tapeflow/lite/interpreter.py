"""`tf.lite.Interpreter`: reads a .tflite flatbuffer (Tapeflow's or TensorFlow's) and runs its
main subgraph with the NumPy kernels, through TF's API (`allocate_tensors`, `set_tensor`,
`invoke`, `get_tensor`, the input/output details, signature runners)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.lite import kernels
from tapeflow.lite.flatbuffer import TableView
from tapeflow.lite.schema import (
    FILE_IDENTIFIER,
    OPERATOR_NAMES,
    OPTION_FIELDS,
    OPTION_VECTORS,
    TENSOR_TYPES,
    Field,
)


def _options(op: TableView) -> dict:
    kind = op.scalar(Field.OP_OPTIONS_TYPE, "B", 0)
    table = op.table(Field.OP_OPTIONS)
    if table is None:
        return {}
    out = {name: table.scalar(i, fmt, default) for name, (i, fmt, default) in OPTION_FIELDS.get(kind, {}).items()}
    for name, (i, dtype) in OPTION_VECTORS.get(kind, {}).items():
        vec = table.vector(i, dtype)
        if vec is not None:
            out[name] = vec
    return out


class _Tensor:
    __slots__ = ("name", "shape", "signature", "dtype", "data", "quant")

    def __init__(self, t: TableView, buffers: list) -> None:
        self.name = t.string(Field.T_NAME)
        shape = t.vector(Field.T_SHAPE, "int32")
        self.shape = np.zeros(0, np.int32) if shape is None else shape
        sig = t.vector(Field.T_SHAPE_SIGNATURE, "int32")
        self.signature = self.shape.copy() if sig is None else sig
        code = t.scalar(Field.T_TYPE, "b", 0)
        if code not in TENSOR_TYPES:
            from tapeflow import errors

            raise errors.UnimplementedError(
                None, None, f"TFLite tensor '{self.name}' has type code {code}, which Tapeflow's "
                "interpreter does not read (it reads float, integer and bool tensors).")
        self.dtype = np.dtype(TENSOR_TYPES[code])
        q = t.table(Field.T_QUANTIZATION)
        scale = None if q is None else q.vector(Field.Q_SCALE, "float32")
        zero = None if q is None else q.vector(Field.Q_ZERO_POINT, "int64")
        self.quant = (np.zeros(0, np.float32) if scale is None else scale,
                      np.zeros(0, np.int32) if zero is None else zero.astype(np.int32))
        data = buffers[t.scalar(Field.T_BUFFER, "I", 0)]
        self.data = None
        if data is not None and len(data):
            self.data = np.frombuffer(data, dtype=self.dtype.newbyteorder("<")).reshape(self.shape).astype(self.dtype)

    def details(self, index: int) -> dict:
        scales, zeros = self.quant
        return {
            "name": self.name, "index": index, "shape": self.shape.copy(),
            "shape_signature": self.signature.copy(), "dtype": self.dtype.type,
            "quantization": (float(scales[0]), int(zeros[0])) if len(scales) else (0.0, 0),
            "quantization_parameters": {"scales": scales.copy(), "zero_points": zeros.copy(),
                                        "quantized_dimension": 0, "block_size": 0},
            "sparsity_parameters": {},
        }


class Interpreter:
    """Runs a TFLite model with NumPy.

    Args:
        model_path: a .tflite file.
        model_content: the bytes of one (as `TFLiteConverter.convert()` returns).
        num_threads, experimental_preserve_all_tensors: accepted as TF does; NumPy decides
            threads, and every intermediate tensor is kept anyway.
    """

    def __init__(self, model_path: str | None = None, model_content: bytes | None = None,
                 experimental_delegates: Any = None, num_threads: int | None = None,
                 experimental_op_resolver_type: Any = None, experimental_preserve_all_tensors: bool = False,
                 experimental_disable_delegate_clustering: bool = False,
                 experimental_default_delegate_latest_features: bool = False) -> None:
        if (model_path is None) == (model_content is None):
            raise ValueError("Must pass either model_path or model_content (exactly one).")
        if experimental_delegates:
            from tapeflow import errors

            raise errors.UnimplementedError(
                None, None, "Interpreter: experimental_delegates are not supported; Tapeflow's "
                "interpreter runs every operator with NumPy.")
        if model_path is not None:
            with open(model_path, "rb") as f:
                model_content = f.read()
        buf = bytes(model_content)
        if len(buf) < 8 or buf[4:8] != FILE_IDENTIFIER:
            raise ValueError("Model provided has model identifier "
                             f"'{buf[4:8].decode('latin-1')}', should be '{FILE_IDENTIFIER.decode()}'")
        model = TableView.root(buf)
        buffers = [b.vector(Field.B_DATA, "uint8") for b in model.tables(Field.MODEL_BUFFERS)]
        for i, b in enumerate(model.tables(Field.MODEL_BUFFERS)):
            if b.scalar(Field.B_OFFSET, "Q", 0) > 1:  # data stored after the flatbuffer (models > 2 GB)
                off, size = b.scalar(Field.B_OFFSET, "Q", 0), b.scalar(Field.B_SIZE, "Q", 0)
                buffers[i] = np.frombuffer(buf, np.uint8, count=size, offset=off)
        codes = []
        for oc in model.tables(Field.MODEL_OPERATOR_CODES):
            code = max(oc.scalar(Field.OC_BUILTIN_CODE, "i", 0), oc.scalar(Field.OC_DEPRECATED_BUILTIN_CODE, "b", 0))
            codes.append(OPERATOR_NAMES.get(code, oc.string(Field.OC_CUSTOM_CODE) or f"builtin operator {code}"))
        subgraphs = model.tables(Field.MODEL_SUBGRAPHS)
        sg = subgraphs[0]
        self._tensors = [_Tensor(t, buffers) for t in sg.tables(Field.SG_TENSORS)]
        for t in self._tensors:
            if len(t.quant[0]) and t.dtype.kind in "iu":
                from tapeflow import errors

                raise errors.UnimplementedError(
                    None, None, f"Interpreter: tensor '{t.name}' is {t.dtype.name}-quantized; Tapeflow's "
                    "TFLite interpreter runs float32 models (and float16 weights), not integer-quantized ones.")
        self._inputs = [int(i) for i in sg.vector(Field.SG_INPUTS, "int32")]
        self._outputs = [int(i) for i in sg.vector(Field.SG_OUTPUTS, "int32")]
        self._ops = []
        for op in sg.tables(Field.SG_OPERATORS):
            ins = op.vector(Field.OP_INPUTS, "int32")
            outs = op.vector(Field.OP_OUTPUTS, "int32")
            self._ops.append((codes[op.scalar(Field.OP_OPCODE_INDEX, "I", 0)],
                              [int(i) for i in ([] if ins is None else ins)],
                              [int(i) for i in outs], _options(op)))
        self._signatures = {}
        for s in model.tables(Field.MODEL_SIGNATURE_DEFS):
            self._signatures[s.string(Field.SIG_KEY)] = {
                "inputs": {m.string(Field.TM_NAME): m.scalar(Field.TM_TENSOR_INDEX, "I", 0)
                           for m in s.tables(Field.SIG_INPUTS)},
                "outputs": {m.string(Field.TM_NAME): m.scalar(Field.TM_TENSOR_INDEX, "I", 0)
                            for m in s.tables(Field.SIG_OUTPUTS)},
                "subgraph": s.scalar(Field.SIG_SUBGRAPH_INDEX, "I", 0),
            }
        if len(subgraphs) > 1 and any(s["subgraph"] for s in self._signatures.values()):
            from tapeflow import errors

            raise errors.UnimplementedError(
                None, None, "Interpreter: models whose signatures use subgraphs other than the first "
                "are not supported by Tapeflow's TFLite interpreter.")
        for t in self._tensors:  # dynamic dimensions run as 1 until resize_tensor_input
            t.shape = np.where(t.signature < 0, np.maximum(t.shape, 1), t.shape).astype(np.int32) \
                if len(t.signature) == len(t.shape) else t.shape
        self._values: dict[int, np.ndarray] = {}
        self._allocated = False

    # -- the TF API --------------------------------------------------------------------------
    def allocate_tensors(self) -> None:
        self._allocated = True
        for i in self._inputs:
            t = self._tensors[i]
            if i not in self._values or tuple(self._values[i].shape) != tuple(t.shape):
                self._values[i] = np.zeros(tuple(t.shape), t.dtype)

    def get_input_details(self) -> list:
        return [self._tensors[i].details(i) for i in self._inputs]

    def get_output_details(self) -> list:
        return [self._tensors[i].details(i) for i in self._outputs]

    def get_tensor_details(self) -> list:
        return [t.details(i) for i, t in enumerate(self._tensors)]

    def resize_tensor_input(self, input_index: int, tensor_size: Any, strict: bool = False) -> None:
        t = self._tensors[input_index]
        size = np.asarray(tensor_size, np.int32).reshape(-1)
        if len(size) != len(t.signature):
            raise ValueError(f"Cannot resize input {input_index} ({t.name}) of rank {len(t.signature)} "
                             f"to {list(size)}.")
        if strict and any(s >= 0 and s != n for s, n in zip(t.signature, size, strict=True)):
            raise ValueError(f"ResizeInputTensorStrict only allows mutating unknown dimensions "
                             f"identified by -1; tensor {t.name} has shape_signature {list(t.signature)}, "
                             f"received {list(size)}.")
        t.shape = size
        self._allocated = False

    def _check_allocated(self) -> None:
        if not self._allocated:
            raise RuntimeError("Invoke called on model that is not ready; call allocate_tensors() first.")

    def set_tensor(self, tensor_index: int, value: Any) -> None:
        t = self._tensors[tensor_index]
        value = np.asarray(value)
        if value.dtype != t.dtype:
            raise ValueError(f"Cannot set tensor: Got value of type {value.dtype.name.upper()} but expected "
                             f"type {t.dtype.name.upper()} for input {tensor_index}, name: {t.name} ")
        if tuple(value.shape) != tuple(t.shape):
            raise ValueError(f"Cannot set tensor: Dimension mismatch. Got {list(value.shape)} but expected "
                             f"{list(t.shape)} for input {tensor_index}.")
        self._values[tensor_index] = value.copy()

    def invoke(self) -> None:
        self._check_allocated()
        vals = self._values
        for op, ins, outs, options in self._ops:
            args = []
            for i in ins:
                if i < 0:
                    args.append(None)
                elif i in vals:
                    args.append(vals[i])
                else:
                    data = self._tensors[i].data
                    if data is None:
                        raise ValueError(f"Operator {op} reads tensor {i} ({self._tensors[i].name}), "
                                         "which has neither data nor a producer.")
                    args.append(data)
            while args and args[-1] is None:
                args.pop()
            for i, y in zip(outs, kernels.run(op, args, options), strict=True):
                vals[i] = np.asarray(y, dtype=self._tensors[i].dtype)
                self._tensors[i].shape = np.asarray(vals[i].shape, np.int32)

    def get_tensor(self, tensor_index: int, subgraph_index: int = 0) -> np.ndarray:
        if tensor_index in self._values:
            return self._values[tensor_index].copy()
        t = self._tensors[tensor_index]
        if t.data is not None:
            return t.data.copy()
        return np.zeros(tuple(t.shape), t.dtype)

    def tensor(self, tensor_index: int) -> Any:
        return lambda: self._values[tensor_index]

    def get_signature_list(self) -> dict:
        return {k: {"inputs": sorted(s["inputs"]), "outputs": sorted(s["outputs"])}  # sorted, as TF's
                for k, s in self._signatures.items()}

    def get_signature_runner(self, signature_key: str | None = None) -> SignatureRunner:
        if signature_key is None:
            if len(self._signatures) != 1:
                raise ValueError("SignatureDef signature_key is None and model has "
                                 f"{len(self._signatures)} Signatures. None is only allowed when the "
                                 "model has 1 SignatureDef")
            signature_key = next(iter(self._signatures))
        if signature_key not in self._signatures:
            raise ValueError(f"SignatureDef signature_key {signature_key!r} not found in the model "
                             f"(it has {sorted(self._signatures)}).")
        return SignatureRunner(self, signature_key)


class SignatureRunner:
    """Calls one SignatureDef with keyword inputs, returning a dict of outputs (as TF's)."""

    def __init__(self, interpreter: Interpreter, signature_key: str) -> None:
        self._interpreter = interpreter
        self._key = signature_key
        self._sig = interpreter._signatures[signature_key]

    def get_input_details(self) -> dict:
        it = self._interpreter
        return {name: it._tensors[i].details(i) for name, i in self._sig["inputs"].items()}

    def get_output_details(self) -> dict:
        it = self._interpreter
        return {name: it._tensors[i].details(i) for name, i in self._sig["outputs"].items()}

    def __call__(self, **kwargs: Any) -> dict:
        want = self._sig["inputs"]
        if len(kwargs) != len(want):
            raise ValueError(f"Invalid number of inputs provided for running a SignatureDef, expected "
                             f"{len(want)} vs provided {len(kwargs)}")
        it = self._interpreter
        for name, value in kwargs.items():
            if name not in want:
                raise ValueError(f"Invalid Input name ({name}) for SignatureDef (the inputs are "
                                 f"{list(want)}).")
            value = np.asarray(value)
            t = it._tensors[want[name]]
            if tuple(value.shape) != tuple(t.shape):
                it.resize_tensor_input(want[name], value.shape)
        it.allocate_tensors()
        for name, value in kwargs.items():
            it.set_tensor(want[name], np.asarray(value))
        it.invoke()
        return {name: it.get_tensor(i) for name, i in self._sig["outputs"].items()}
