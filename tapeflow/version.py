"""`tf.version`: the TensorFlow API version Tapeflow implements, so version checks take TF 2 paths.

`VERSION` is the TF release whose behaviour Tapeflow follows (code such as
`if int(tf.__version__.split(".")[0]) >= 2:` takes its TF 2 branch); Tapeflow's own release is
`tapeflow.__tapeflow_version__`.
"""

from __future__ import annotations

import platform as _platform

VERSION = "2.21.0"
TAPEFLOW_VERSION = "0.1.0"
GIT_VERSION = f"v{VERSION}-tapeflow-{TAPEFLOW_VERSION}"
COMPILER_VERSION = _platform.python_compiler()

del annotations, _platform
