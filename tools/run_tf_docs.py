"""Run the code cells of TensorFlow / Keras documentation notebooks on Tapeflow, as a user would.

Each notebook runs in its own interpreter; its code cells run in order in one namespace, with
only the imports changed (`import tensorflow as tf` -> `import tapeflow as tf`, `keras` ->
`tapeflow.keras`). Shell and magic lines (`!pip ...`, `%matplotlib`) are dropped, `%%writefile`
cells write their file as IPython does, plots go to the Agg backend. A failing cell is recorded
and the next cells still run, so one run lists every missing name or behaviour difference of a
notebook. Cells that need the network (this
machine has none) are reported as such, apart from Tapeflow's own failures.

    python tools/run_tf_docs.py DOCS_DIR/site/en/guide/tensor.ipynb [...] [--timeout 300]

DOCS_DIR is a checkout of tensorflow/docs (or keras-team/keras-io guides as .py files: "tutobooks",
split into cells as keras-io's scripts/tutobooks.py does, on the markdown blocks fenced by
lines starting with three double quotes).
Prints one line per failing cell: notebook, cell number, exception, and the cell's first line.
`--real` runs the same cells on the installed TensorFlow / Keras (TensorFlow backend) instead,
imports untouched: a cell failing there too is not a Tapeflow gap.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

IMPORTS = [
    (re.compile(r"^(\s*)import tensorflow\.compat\.v1 as (\w+)", re.M), r"\1import tapeflow.compat.v1 as \2"),
    (re.compile(r"^(\s*)import tensorflow as (\w+)", re.M), r"\1import tapeflow as \2"),
    (re.compile(r"^(\s*)import tensorflow\.([\w.]+) as (\w+)", re.M), r"\1import tapeflow.\2 as \3"),
    (re.compile(r"^(\s*)import tensorflow$", re.M), r"\1import tapeflow as tensorflow"),
    (re.compile(r"^(\s*)from tensorflow import", re.M), r"\1from tapeflow import"),
    (re.compile(r"^(\s*)from tensorflow\.", re.M), r"\1from tapeflow."),
    (re.compile(r"^(\s*)import keras$", re.M), r"\1from tapeflow import keras"),
    (re.compile(r"^(\s*)import keras as (\w+)", re.M), r"\1from tapeflow import keras as \2"),
    (re.compile(r"^(\s*)from keras import", re.M), r"\1from tapeflow.keras import"),
    (re.compile(r"^(\s*)from keras\.", re.M), r"\1from tapeflow.keras."),
]

WRITEFILE = re.compile(r"\A\s*%%writefile[ \t]+(-a[ \t]+|--append[ \t]+)?(\S+)[ \t]*\n?")
HELP_LINE = re.compile(r"^\s*[\w.]+\?{1,2}\s*$")

NETWORK = ("URLError", "HTTPError", "Name or service not known", "Temporary failure in name resolution",
           "ConnectionError", "Network is unreachable", "getaddrinfo", "download", "Failed to establish")

# With --real: Keras's MNIST / Fashion-MNIST loaders read the IDX files in $TAPEFLOW_DATA_DIR (the
# oracle machine is offline too, and Keras only knows its own mnist.npz download)
REAL_PRELUDE = textwrap.dedent('''
    import gzip, os, struct
    import numpy as np

    def _idx(path):
        with gzip.open(path) as f:
            data = f.read()
        dims = struct.unpack(">" + "I" * data[3], data[4:4 + 4 * data[3]])
        return np.frombuffer(data, np.uint8, offset=4 + 4 * data[3]).reshape(dims)

    def _patch(module, folder):
        folder = os.path.join(os.environ.get("TAPEFLOW_DATA_DIR", ""), folder)
        if os.path.exists(os.path.join(folder, "train-images-idx3-ubyte.gz")):
            split = lambda p: (_idx(os.path.join(folder, p + "-images-idx3-ubyte.gz")),
                               _idx(os.path.join(folder, p + "-labels-idx1-ubyte.gz")))
            module.load_data = lambda *a, **k: (split("train"), split("t10k"))

    import keras.datasets.fashion_mnist, keras.datasets.mnist
    _patch(keras.datasets.mnist, "mnist")
    _patch(keras.datasets.fashion_mnist, "fashion-mnist")
''')

RUNNER = textwrap.dedent('''
    import ast, contextlib, io, json, sys, traceback, signal
    try:  # notebooks plot: draw off-screen where matplotlib is installed
        import matplotlib
        matplotlib.use("Agg")
    except ImportError:
        pass
    cells = json.load(open(sys.argv[1]))
    ns = {"__name__": "__main__"}
    def on_alarm(signum, frame):
        raise TimeoutError("cell ran past its time limit")
    signal.signal(signal.SIGALRM, on_alarm)
    import linecache, os
    try:  # as in a notebook, IPython is loaded (Keras's plot_model prints instead of raising there)
        import IPython.core.magics.namespace  # noqa: F401
    except ImportError:
        pass
    exec(os.environ.get("TF_DOCS_PRELUDE", ""), {})
    outputs = []
    for i, src in enumerate(cells):
        signal.alarm(int(sys.argv[2]))
        name = f"<cell {i}>"
        # as IPython does: the cell's source is findable, so inspect.getsource works on its functions
        linecache.cache[name] = (len(src), None, src.splitlines(True), name)
        captured = io.StringIO()
        try:
            with contextlib.redirect_stdout(captured):
                tree = ast.parse(src, name)
                last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
                exec(compile(tree, name, "exec"), ns)
                if last is not None:  # as IPython does: the value of a last bare expression shows
                    value = eval(compile(ast.Expression(last.value), name, "eval"), ns)
                    if value is not None:
                        print(repr(value))
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            tb = traceback.extract_tb(e.__traceback__)
            where = next((f"{f.filename}:{f.lineno}" for f in reversed(tb) if "tapeflow" in f.filename), "")
            print("CELL-FAILED", json.dumps({"cell": i, "error": f"{type(e).__name__}: {e}"[:400],
                                             "where": where}), flush=True)
        finally:
            signal.alarm(0)
            outputs.append(captured.getvalue())
            if len(sys.argv) > 3:  # what each cell printed, for comparing two runs
                json.dump(outputs, open(sys.argv[3], "w"), indent=0)
    print("NOTEBOOK-DONE", flush=True)
''')


def tutobook_cells(text: str) -> list:
    """A keras-io tutobook's code cells: the code between its markdown blocks, each fenced by lines
    starting with three double quotes, as in keras-io's tutobooks.py (blocks tagged `shell` are
    shell commands, which are not run here)."""
    cells, code, in_markdown = [], [], False
    for line in text.split("\n"):
        if line.startswith('"""'):
            if not in_markdown and "\n".join(code).strip():
                cells.append("\n".join(code).strip("\n"))
            code, in_markdown = [], not in_markdown
        elif not in_markdown:
            code.append(line)
    if "\n".join(code).strip():
        cells.append("\n".join(code).strip("\n"))
    return cells


def code_cells(path: str, real: bool = False) -> list:
    """The notebook's code cells (or a keras-io .py guide's) with imports swapped (left as they
    are with `real`) and shell and magic lines removed."""
    if path.endswith(".py"):
        sources = tutobook_cells(open(path).read())
    else:
        nb = json.load(open(path))
        sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    cells = []
    for src in sources:
        magic = WRITEFILE.match(src)
        if magic:  # IPython's %%writefile cell magic: the cell body becomes that file
            mode = "a" if magic.group(1) else "w"
            cells.append(f"with open({magic.group(2).strip(chr(39) + chr(34))!r}, {mode!r}) as _f:\n"
                         f"    _f.write({src[magic.end():] + chr(10)!r})\n")
            continue
        lines = [ln for ln in src.splitlines() if not ln.lstrip().startswith(("!", "%"))
                 and not HELP_LINE.match(ln)]  # IPython's `name?` help lines
        src = textwrap.dedent("\n".join(lines))  # IPython drops a cell's common leading indent too
        for pattern, repl in [] if real else IMPORTS:
            src = pattern.sub(repl, src)
        cells.append(src)
    return cells


def _defined(src: str) -> set:
    """The names a cell binds (assignments, imports, defs), for telling a NameError that only
    follows an earlier failing cell."""
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def run(path: str, timeout: int, real: bool = False, outputs: str | None = None) -> list:
    """Run one notebook's cells; the failing ones, as records. With `outputs`, what each cell
    printed is written there as a JSON list (one string a cell)."""
    cells = code_cells(path, real)
    tmp = f"/tmp/tf_docs_cells_{os.getpid()}.json"
    with open(tmp, "w") as f:
        json.dump(cells, f)
    env = dict(os.environ, MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="3")
    if real:  # Keras 3 on the TensorFlow backend, whatever the guide's environment says
        env.update(KERAS_BACKEND="tensorflow", TF_DOCS_PRELUDE=REAL_PRELUDE)
    # each notebook starts in an empty directory, as a fresh Colab runtime does (notebooks call
    # os.mkdir('training_2') on paths a previous run would have left behind)
    workdir = tempfile.mkdtemp(prefix="tf_docs_run_")
    try:
        extra = [os.path.abspath(outputs)] if outputs else []
        proc = subprocess.run([sys.executable, "-c", RUNNER, tmp, str(timeout), *extra], capture_output=True,
                              text=True, timeout=timeout * 4 + 60, env=env, cwd=workdir)
        out = proc.stdout
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        out += "\nCELL-FAILED " + json.dumps({"cell": -1, "error": "notebook timed out", "where": ""})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    failures = []
    for line in out.splitlines():
        if line.startswith("CELL-FAILED "):
            rec = json.loads(line[len("CELL-FAILED "):])
            rec["first_line"] = cells[rec["cell"]].strip().splitlines()[0][:80] if rec["cell"] >= 0 and \
                cells[rec["cell"]].strip() else ""
            rec["network"] = any(k in rec["error"] for k in NETWORK)
            missing = re.match(r"NameError: name '(\w+)' is not defined", rec["error"])
            cause = next((f for f in reversed(failures) if missing and missing.group(1) in _defined(cells[f["cell"]])),
                         None)
            if cause:  # a name the failed cell would have defined: that cell's failure, carried on
                rec["network"] = cause["network"]
                rec["error"] += f" (cell {cause['cell']} failed)"
            failures.append(rec)
    if "NOTEBOOK-DONE" not in out and not any(r["cell"] == -1 for r in failures):
        failures.append({"cell": -1, "error": "interpreter died: " + (proc.stderr or "")[-300:], "where": "",
                         "first_line": "", "network": False})
    return failures


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    parser.add_argument("--real", action="store_true",
                        help="run on the installed TensorFlow / Keras instead (the oracle)")
    parser.add_argument("--outputs", metavar="DIR",
                        help="write what each cell printed to DIR/NAME.{tapeflow,real}.json")
    args = parser.parse_args(argv)
    bad = 0
    for path in args.notebooks:
        out = None
        if args.outputs:
            os.makedirs(args.outputs, exist_ok=True)
            stem = os.path.splitext(os.path.basename(path))[0]
            out = os.path.join(args.outputs, f"{stem}.{'real' if args.real else 'tapeflow'}.json")
        failures = run(path, args.timeout, args.real, out)
        own = [f for f in failures if not f["network"]]
        bad += bool(own)
        print(f"== {path}: {len(own)} failing cells, {len(failures) - len(own)} need the network", flush=True)
        for f in failures:
            tag = "net" if f["network"] else "FAIL"
            print(f"  [{tag}] cell {f['cell']}: {f['error'][:200]} | {f['where']} | {f['first_line']}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
