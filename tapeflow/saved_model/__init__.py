"""`tf.saved_model`: traced functions and their variables in a directory, loadable without the
Python code that made them.

Format (`saved_model.json` + `arrays.npz`, no pickle, written to a temporary folder and renamed):
each traced function is a list of primitive ops — the op's class (looked up in the engine's op
registry on load, never imported by name), its attributes as JSON, and its inputs (placeholders,
other ops' outputs, variables, constants). Arrays (variable values, constants, array attributes)
are in `arrays.npz`. Only graphs of primitives can be saved: a lifted Python call (a Keras layer
that was not traced op by op, an optimizer update, `tf.py_function`) raises an error naming it.
"""

from types import SimpleNamespace

from tapeflow.saved_model.load import load
from tapeflow.saved_model.options import LoadOptions, SaveOptions, VariablePolicy
from tapeflow.saved_model.save import save

experimental = SimpleNamespace(VariablePolicy=VariablePolicy, save=save)

SERVING = "serve"
DEFAULT_SERVING_SIGNATURE_DEF_KEY = "serving_default"

__all__ = ["save", "load", "SaveOptions", "LoadOptions", "experimental", "SERVING", "DEFAULT_SERVING_SIGNATURE_DEF_KEY"]
