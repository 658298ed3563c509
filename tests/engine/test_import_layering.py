"""The engine's modules import one way (issue 11): no module-level import cycle among tensor,
autodiff, graph, tracing, backend and ops — the operators are bound onto Tensor by
`ops/tensor_operators.py`, not imported by the tensor module."""

from __future__ import annotations

import ast
import pathlib

import tapeflow

ROOT = pathlib.Path(tapeflow.__file__).parent
ENGINE = ("tapeflow.tensor", "tapeflow.graph", "tapeflow.autodiff", "tapeflow.ops", "tapeflow.tracing",
          "tapeflow.backend")


def _modules() -> dict:
    out = {}
    for path in ROOT.rglob("*.py"):
        name = ".".join(("tapeflow",) + path.relative_to(ROOT).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _module_level_imports(path: pathlib.Path, modules: dict) -> set:
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tapeflow"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m in modules}


def _cycles(graph: dict) -> list:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_engine_modules_import_without_cycles():
    modules = _modules()
    engine = {m for m in modules if m.startswith(ENGINE)}
    graph = {m: _module_level_imports(modules[m], modules) & engine for m in engine}
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_tensor_module_does_not_import_the_ops():
    modules = _modules()
    assert not any(m.startswith("tapeflow.ops") for m in _module_level_imports(modules["tapeflow.tensor"], modules))
