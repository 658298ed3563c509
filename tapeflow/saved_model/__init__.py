"""`tf.saved_model`: traced functions and their variables in a directory, loadable without the
Python code that made them.

Format `tapeflow.saved_model/2` (`saved_model.json` + `arrays.npz`, no pickle, written to a
temporary folder and renamed; format 1 files still load). The document holds:

- `variables`: name, trainable, and the index of the value in `arrays.npz`;
- `objects`: the saved object's graph (attributes holding modules, variables, lists, dicts),
  node 0 the root, so the loaded object has the same attributes (`loaded.v`);
- `functions`: per tf.function attribute, its traces; `signatures`: one trace per key;
  `library`: traces that others call (a called concrete function, a custom gradient).

A trace lists its placeholders (name, shape, dtype; for a spec of unknown rank, shape null
and the `rank` this trace was made for: such a function is saved as one trace per rank 0-6,
the first trace's `refused_ranks` holding the error tracing gave for the ranks left out, and a
signature keeps its other ranks' traces in `rank_variants`), its Python arguments (so calls match the
traces by value, as TF's loaded functions do), its steps, and its outputs. A step's inputs are
references: `{"t": name}` (a placeholder `pK` or an earlier output `nI:J`), `{"v": index}` (a
variable, read when the step runs), `{"c": array}` (a constant) or `{"py": value}`. A step is:

- `op`: a primitive, its class looked up in the engine's op registry (never imported by name)
  and its attributes as JSON (plain-value objects such as a convolution's geometry by a
  fixed allow-list);
- `assign`: `assign` / `assign_add` / `assign_sub` of a variable;
- `call`: a library trace, with the outputs it reads (`slots`);
- `lifted`: an engine function run as one call (random sampling, ops that need the real
  shapes of an unknown batch, an index computed in the graph, `tf.TensorArray` operations on
  their flow value), named from a registry the lifting decorators fill, with its Python
  arguments;
- `py_function`: `tf.py_function` / `tf.numpy_function` by their registry token (`pyfunc_N`)
  and the id of the process that traced them: as in TF, the loaded function calls the Python
  function registered under the token in that same process, and elsewhere raises
  InvalidArgumentError ("Could not find callback with key=pyfunc_N in the registry");
- `tape`: a `tf.GradientTape` operation (enter, watch, pause, resume, reset, exit, gradient)
  enacted on a real tape while the loaded function runs, when the trace could not build the
  gradient as graph ops (an unknown batch): the loaded function differentiates as it runs;
- `optimizer`: a built-in Keras optimizer's update, rebuilt at load from its class name
  (`tapeflow.keras.optimizers.*` only) and config, its state bound to the saved variables
  (`built`, `state`), applied to `targets` with the step's gradients;
- `metric`: a built-in Keras metric's `update_state` / `reset_state` / `result`, the metric
  rebuilt at load from its class name (`tapeflow.keras.metrics*` only) and config, its `state`
  the saved variables, its other arguments as in `lifted`;
- `custom_gradient`: `tf.custom_gradient`'s op, whose backward runs a library trace (the
  traced gradient function; null with `SaveOptions(experimental_custom_gradients=False)`, and
  then differentiating the loaded function raises LookupError, as TF's does);
- `cond` / `while`: graph control flow (`tf.cond`, `tf.while_loop`, AutoGraph's `if` / `while`
  / `for` on tensors), the branches or the loop's condition and body as nested step lists that
  read the function's values by name (step ids are unique across a function; loop variables
  are named `lI:K`).

A loaded SavedModel saves again (`tf.saved_model.save(loaded, path)`): its functions are
written as they were read, renumbered into the new file's tables, with its signatures and the
variables' current values.

What a graph holds beyond these (a Keras layer run eagerly inside the trace, a custom
optimizer, an eager TensorArray captured by the trace) raises an error
naming it at save time, and
`save` runs every rebuilt trace next to the original before writing. `load` checks every name a
file uses, so a corrupt or hostile file fails there with an error saying what is wrong.
"""

from types import SimpleNamespace

from tapeflow.saved_model.load import load
from tapeflow.saved_model.options import LoadOptions, SaveOptions, VariablePolicy
from tapeflow.saved_model.save import save

experimental = SimpleNamespace(VariablePolicy=VariablePolicy, save=save)

from tapeflow.saved_model.constants import (  # noqa: E402 - TF's constants, by name
    ASSETS_DIRECTORY, ASSETS_KEY, CLASSIFY_INPUTS, CLASSIFY_METHOD_NAME, CLASSIFY_OUTPUT_CLASSES,
    CLASSIFY_OUTPUT_SCORES, DEBUG_DIRECTORY, DEBUG_INFO_FILENAME_PB, DEFAULT_SERVING_SIGNATURE_DEF_KEY, GPU,
    PREDICT_INPUTS, PREDICT_METHOD_NAME, PREDICT_OUTPUTS, REGRESS_INPUTS, REGRESS_METHOD_NAME, REGRESS_OUTPUTS,
    SAVED_MODEL_FILENAME_PB, SAVED_MODEL_FILENAME_PBTXT, SAVED_MODEL_SCHEMA_VERSION, SERVING, TPU, TRAINING,
    VARIABLES_DIRECTORY, VARIABLES_FILENAME, contains_saved_model,
)

__all__ = ["save", "load", "SaveOptions", "LoadOptions", "experimental", "SERVING", "DEFAULT_SERVING_SIGNATURE_DEF_KEY",
           "contains_saved_model", "ASSETS_DIRECTORY", "ASSETS_KEY", "CLASSIFY_INPUTS", "CLASSIFY_METHOD_NAME",
           "CLASSIFY_OUTPUT_CLASSES", "CLASSIFY_OUTPUT_SCORES", "DEBUG_DIRECTORY", "DEBUG_INFO_FILENAME_PB", "GPU",
           "PREDICT_INPUTS", "PREDICT_METHOD_NAME", "PREDICT_OUTPUTS", "REGRESS_INPUTS", "REGRESS_METHOD_NAME",
           "REGRESS_OUTPUTS", "SAVED_MODEL_FILENAME_PB", "SAVED_MODEL_FILENAME_PBTXT", "SAVED_MODEL_SCHEMA_VERSION",
           "TPU", "TRAINING", "VARIABLES_DIRECTORY", "VARIABLES_FILENAME"]
