"""`tf.tools`: TF's documentation markers (`tf.tools.docs.doc_controls`).

`tf.tools.compatibility` (the symbol-rename tables of TF's tf_upgrade_v2 script) is not provided:
it is data for rewriting TF 1 source files, not an API a program calls.
"""

from tapeflow.tools import docs
