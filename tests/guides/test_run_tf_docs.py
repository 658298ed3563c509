"""tools/run_tf_docs.py: cells as IPython runs them (%%writefile, a fresh working directory)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import run_tf_docs  # noqa: E402


def _notebook(tmp_path, *sources):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "source": s} for s in sources]}))
    return str(path)


def test_writefile_cells_and_fresh_working_directory(tmp_path):
    nb = _notebook(tmp_path, "%%writefile missing.csv\n1,2\n,3", "import os\nos.mkdir('training_2')",
                   "assert open('missing.csv').read() == '1,2\\n,3\\n'")
    cells = run_tf_docs.code_cells(nb)
    assert cells[0].startswith("with open('missing.csv', 'w')")
    assert run_tf_docs.run(nb, 60) == []
    assert run_tf_docs.run(nb, 60) == []  # a second run does not see the first one's directory


GUIDE = '''"""
Title: A guide
Author: someone
"""
"""
## Setup
"""

import keras
from keras import layers

"""shell
pip install -q keras
"""

def f():
    """A docstring: indented, so not a fence."""
    return layers.Dense(2)

"""
## The end
"""
print(keras.__name__, "ok")
'''


def test_keras_io_guide_cells_split_on_markdown_fences(tmp_path):
    path = tmp_path / "guide.py"
    path.write_text(GUIDE)
    cells = run_tf_docs.code_cells(str(path))
    assert len(cells) == 3
    assert cells[0] == "from tapeflow import keras\nfrom tapeflow.keras import layers"
    assert '"""A docstring' in cells[1] and "pip" not in "".join(cells)
    assert run_tf_docs.code_cells(str(path), real=True)[0] == "import keras\nfrom keras import layers"
    outputs = tmp_path / "out.json"
    assert run_tf_docs.run(str(path), 120, outputs=str(outputs)) == []
    assert json.loads(outputs.read_text()) == ["", "", "tapeflow.keras ok\n"]
    path.write_text(GUIDE.replace("print(keras.__name__, \"ok\")", "x = 1\nkeras.__name__"))
    assert run_tf_docs.run(str(path), 120, outputs=str(outputs)) == []
    assert json.loads(outputs.read_text())[-1] == "'tapeflow.keras'\n"  # a last bare expression shows


def test_name_error_after_a_failing_cell_carries_its_tag(tmp_path):
    nb = _notebook(tmp_path, "import urllib.request\ndata = urllib.request.urlopen('http://nowhere.invalid')",
                   "print(data)", "print(undefined_here)")
    failures = run_tf_docs.run(nb, 60)
    assert [(f["cell"], f["network"]) for f in failures] == [(0, True), (1, True), (2, False)]
    assert failures[1]["error"].endswith("(cell 0 failed)")
