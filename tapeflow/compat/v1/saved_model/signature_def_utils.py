"""`tf.compat.v1.saved_model.signature_def_utils`: SignatureDefs (named input and output
tensors of a graph, and a method name) for `builder.SavedModelBuilder`."""

from __future__ import annotations

from typing import Any

from tapeflow.compat.v1.saved_model.utils import TensorInfo, build_tensor_info
from tapeflow.saved_model import constants


class SignatureDef:
    """TF's SignatureDef proto: `inputs` and `outputs` ({key: TensorInfo}) and `method_name`."""

    def __init__(self, inputs: dict, outputs: dict, method_name: str) -> None:
        self.inputs = dict(inputs)
        self.outputs = dict(outputs)
        self.method_name = method_name

    def __repr__(self) -> str:
        return f"SignatureDef(inputs={self.inputs}, outputs={self.outputs}, method_name={self.method_name!r})"


def build_signature_def(inputs: dict | None = None, outputs: dict | None = None, method_name: str | None = None,
                        defaults: dict | None = None) -> SignatureDef:
    """A SignatureDef from {key: TensorInfo} maps.

    Raises:
        UnimplementedError: `defaults` (default input values) were given.
    """
    if defaults:
        from tapeflow import errors

        raise errors.UnimplementedError(
            None, None, "build_signature_def: `defaults` (default values of signature inputs) are not "
            "supported: Tapeflow's SavedModel signatures take every input.")
    for what, infos in (("inputs", inputs), ("outputs", outputs)):
        for key, info in (infos or {}).items():
            if not isinstance(info, TensorInfo):
                raise TypeError(f"build_signature_def: {what}[{key!r}] must be a TensorInfo (from "
                                f"utils.build_tensor_info), received {type(info).__name__}.")
    return SignatureDef(inputs or {}, outputs or {}, method_name or "")


def predict_signature_def(inputs: dict, outputs: dict) -> SignatureDef:
    """A Predict SignatureDef from {key: Tensor} maps (method tensorflow/serving/predict)."""
    if inputs is None or not inputs:
        raise ValueError("Prediction `inputs` cannot be None or empty.")
    if outputs is None or not outputs:
        raise ValueError("Prediction `outputs` cannot be None or empty.")
    return build_signature_def({k: build_tensor_info(t) for k, t in inputs.items()},
                               {k: build_tensor_info(t) for k, t in outputs.items()},
                               constants.PREDICT_METHOD_NAME)


_DT_STRING, _DT_FLOAT = 7, 1


def regression_signature_def(examples: Any, predictions: Any) -> SignatureDef:
    """A Regress SignatureDef: string `examples` (serialized tf.Examples) -> float `predictions`."""
    from tapeflow.tensor import Tensor

    if examples is None:
        raise ValueError("Regression `examples` cannot be None.")
    if not isinstance(examples, Tensor):
        raise ValueError(f"Expected regression `examples` to be of type Tensor. Found `examples` of type "
                         f"{type(examples)}.")
    if predictions is None:
        raise ValueError("Regression `predictions` cannot be None.")
    input_info = build_tensor_info(examples)
    if input_info.dtype != _DT_STRING:
        raise ValueError(f"Regression input tensors must be of type string. Found tensors with type "
                         f"{input_info.dtype}.")
    output_info = build_tensor_info(predictions)
    if output_info.dtype != _DT_FLOAT:
        raise ValueError(f"Regression output tensors must be of type float. Found tensors with type "
                         f"{output_info.dtype}.")
    return build_signature_def({constants.REGRESS_INPUTS: input_info}, {constants.REGRESS_OUTPUTS: output_info},
                               constants.REGRESS_METHOD_NAME)


def classification_signature_def(examples: Any, classes: Any, scores: Any) -> SignatureDef:
    """A Classify SignatureDef: string `examples` -> string `classes` and/or float `scores`."""
    from tapeflow.tensor import Tensor

    if examples is None:
        raise ValueError("Classification `examples` cannot be None.")
    if not isinstance(examples, Tensor):
        raise ValueError(f"Classification `examples` must be a string Tensor. Found `examples` of type "
                         f"{type(examples)}.")
    if classes is None and scores is None:
        raise ValueError("Classification `classes` and `scores` cannot both be None.")
    input_info = build_tensor_info(examples)
    if input_info.dtype != _DT_STRING:
        raise ValueError(f"Classification input tensors must be of type string. Found tensors of type "
                         f"{input_info.dtype}")
    outputs = {}
    if classes is not None:
        info = build_tensor_info(classes)
        if info.dtype != _DT_STRING:
            raise ValueError(f"Classification classes must be of type string Tensor. Found tensors of type "
                             f"{info.dtype}.`")
        outputs[constants.CLASSIFY_OUTPUT_CLASSES] = info
    if scores is not None:
        info = build_tensor_info(scores)
        if info.dtype != _DT_FLOAT:
            raise ValueError("Classification scores must be a float Tensor.")
        outputs[constants.CLASSIFY_OUTPUT_SCORES] = info
    return build_signature_def({constants.CLASSIFY_INPUTS: input_info}, outputs, constants.CLASSIFY_METHOD_NAME)


def is_valid_signature(signature_def: Any) -> bool:
    """Whether `signature_def` is a valid Predict, Classify or Regress SignatureDef (TF's rules:
    predict needs inputs and outputs; classify/regress a single string `inputs` and float scores
    / outputs, string classes)."""
    if not isinstance(signature_def, SignatureDef):
        return False
    ins, outs, method = signature_def.inputs, signature_def.outputs, signature_def.method_name
    string, float32 = _DT_STRING, _DT_FLOAT
    if method == constants.PREDICT_METHOD_NAME:
        return bool(ins) and bool(outs)
    if method == constants.REGRESS_METHOD_NAME:
        return (set(ins) == {constants.REGRESS_INPUTS} and ins[constants.REGRESS_INPUTS].dtype == string
                and set(outs) == {constants.REGRESS_OUTPUTS} and outs[constants.REGRESS_OUTPUTS].dtype == float32)
    if method == constants.CLASSIFY_METHOD_NAME:
        allowed = {constants.CLASSIFY_OUTPUT_CLASSES: string, constants.CLASSIFY_OUTPUT_SCORES: float32}
        return (set(ins) == {constants.CLASSIFY_INPUTS} and ins[constants.CLASSIFY_INPUTS].dtype == string
                and bool(outs) and set(outs) <= set(allowed)
                and all(outs[k].dtype == allowed[k] for k in outs))
    return False
