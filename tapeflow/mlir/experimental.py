"""`tf.mlir.experimental`: TF's converters from graphs / SavedModels to MLIR text and bytecode.

They print the TF dialect that TensorFlow's C++ MLIR bridge produces from a GraphDef; Tapeflow has
neither that bridge nor GraphDefs (its graphs are Python objects), so rather than invent an MLIR
module that TF would not produce, each function raises `tf.errors.UnimplementedError` naming
itself and the reason, with TF's signature.
"""

from __future__ import annotations

from typing import Any

from tapeflow.errors import UnimplementedError


def _refuse(name: str, what: str) -> None:
    raise UnimplementedError(None, None, f"tf.mlir.experimental.{name}: {what} needs TensorFlow's C++ MLIR bridge "
                                         f"(TF dialect from a GraphDef), which Tapeflow does not have; run it with "
                                         f"TensorFlow installed")


def convert_function(concrete_function: Any, pass_pipeline: str = "tf-standard-pipeline",
                     show_debug_info: bool = False) -> str:
    """TF: a ConcreteFunction as MLIR text. Raises UnimplementedError here."""
    _refuse("convert_function", "converting a ConcreteFunction to MLIR")
    return ""


def convert_graph_def(graph_def: Any, pass_pipeline: str = "tf-standard-pipeline",
                      show_debug_info: bool = False) -> str:
    """TF: a GraphDef as MLIR text. Raises UnimplementedError here."""
    _refuse("convert_graph_def", "converting a GraphDef to MLIR")
    return ""


def convert_saved_model(saved_model_path: str, exported_names: Any, show_debug_info: bool = False) -> str:
    """TF: a TF 2 SavedModel as MLIR text. Raises UnimplementedError here."""
    _refuse("convert_saved_model", "converting a SavedModel to MLIR")
    return ""


def convert_saved_model_v1(saved_model_path: str, exported_names: Any, tags: Any, lift_variables: bool,
                           include_variables_in_initializers: bool, upgrade_legacy: bool = True,
                           show_debug_info: bool = False) -> str:
    """TF: a TF 1 SavedModel as MLIR text. Raises UnimplementedError here."""
    _refuse("convert_saved_model_v1", "converting a TF 1 SavedModel to MLIR")
    return ""


def run_pass_pipeline(mlir_txt: str, pass_pipeline: str, show_debug_info: bool = False) -> str:
    """TF: run MLIR passes over MLIR text. Raises UnimplementedError here."""
    _refuse("run_pass_pipeline", "running MLIR passes")
    return ""


def tflite_to_tosa_bytecode(flatbuffer: Any, bytecode: Any, use_external_constant: bool = False,
                            ordered_input_arrays: Any = None, ordered_output_arrays: Any = None) -> None:
    """TF: a TFLite flatbuffer as TOSA MLIR bytecode. Raises UnimplementedError here."""
    _refuse("tflite_to_tosa_bytecode", "converting TFLite to TOSA")


def write_bytecode(filename: str, mlir_txt: str) -> None:
    """TF: MLIR text written as MLIR bytecode. Raises UnimplementedError here."""
    _refuse("write_bytecode", "writing MLIR bytecode")
