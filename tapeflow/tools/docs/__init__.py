"""`tf.tools.docs`: markers read by TF's API-documentation generator."""

from tapeflow.tools.docs import doc_controls
