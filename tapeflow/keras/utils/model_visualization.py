"""`model_to_dot` / `plot_model`: a model's layer graph as a Graphviz drawing (through pydot).

pydot (`pip install pydot`) builds the graph; writing an image also needs Graphviz's `dot`
program (`apt-get install graphviz`). Each missing piece is named in the error.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from tapeflow import nest
from tapeflow.keras.utils.io_utils import print_msg


def _pydot() -> Any:
    try:
        import pydot
    except ImportError:
        return None
    return pydot


def _check_graphviz(pydot: Any) -> bool:
    try:
        pydot.Dot.create(pydot.Dot())
        return True
    except (OSError, pydot.PydotException):
        return False


def _label(layer: Any, show_layer_names: bool, show_layer_activations: bool, show_dtype: bool,
           show_shapes: bool, show_trainable: bool) -> str:
    class_name = type(layer).__name__
    cols = []
    if show_shapes:
        def shape_of(attr: str) -> str:
            try:
                shapes = nest.map_structure(lambda t: tuple(t.shape), getattr(layer, attr))
            except (ValueError, AttributeError):
                return "?"
            text = ", ".join(f"{k}: {v}" for k, v in shapes.items()) if isinstance(shapes, dict) else f"{shapes}"
            return text.replace("}", "").replace("{", "")

        if class_name != "InputLayer":
            cols.append('<td bgcolor="white"><font point-size="14">Input shape: '
                        f'<b>{shape_of("input")}</b></font></td>')
        cols.append('<td bgcolor="white"><font point-size="14">Output shape: '
                    f'<b>{shape_of("output")}</b></font></td>')
    if show_dtype:
        try:
            dtype = nest.map_structure(lambda t: t.dtype.name, layer.output)
        except (ValueError, AttributeError):
            dtype = None
        cols.append(f'<td bgcolor="white"><font point-size="14">Output dtype: <b>{dtype or "?"}</b></font></td>')
    if show_trainable and layer.weights:
        color, text = ("forestgreen", "Trainable") if layer.trainable else ("firebrick", "Non-trainable")
        cols.append(f'<td bgcolor="{color}"><font point-size="14" color="white"><b>{text}</b></font></td>')
    colspan = max(1, len(cols))
    title = f"<b>{layer.name}</b> ({class_name})" if show_layer_names else f"<b>{class_name}</b>"
    table = ('<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
             f'<tr><td colspan="{colspan}" bgcolor="black"><font point-size="16" color="white">{title}'
             "</font></td></tr>")
    activation = getattr(layer, "activation", None)
    if show_layer_activations and activation is not None:
        name = getattr(activation, "__name__", None) or str(activation)
        table += (f'<tr><td bgcolor="white" colspan="{colspan}"><font point-size="14">Activation: <b>{name}</b>'
                  "</font></td></tr>")
    if cols:
        table += f"<tr>{''.join(cols)}</tr>"
    return table + "</table>>"


def model_to_dot(model: Any, show_shapes: bool = False, show_dtype: bool = False, show_layer_names: bool = True,
                 rankdir: str = "TB", expand_nested: bool = False, dpi: int = 200, subgraph: bool = False,
                 show_layer_activations: bool = False, show_trainable: bool = False, splines: str = "ortho",
                 **kwargs: Any) -> Any:
    """A `pydot.Dot` with one node per layer and an edge per connection (a subclassed model is
    one node).

    Raises:
        ImportError: when pydot is not installed.
        ValueError: for an unbuilt model or `expand_nested=True` (nested models are drawn as one node).
    """
    if not model.built:
        raise ValueError("This model has not yet been built. Build the model first by calling `build()` or by "
                         "calling the model on a batch of data.")
    pydot = _pydot()
    if pydot is None:
        raise ImportError("You must install pydot (`pip install pydot`) for model_to_dot to work.")
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")
    if expand_nested:
        raise ValueError("model_to_dot: expand_nested=True is not supported by Tapeflow; nested models are drawn "
                         "as one node each (expand_nested=False).")
    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name)
        dot.set("label", model.name)
        dot.set("labeljust", "l")
    else:
        dot = pydot.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set("splines", splines)
        dot.set_node_defaults(shape="record")
    options = (show_layer_names, show_layer_activations, show_dtype, show_shapes, show_trainable)
    from tapeflow.keras.models.sequential import Sequential

    graph_inputs = getattr(model, "_graph_inputs", None)
    if not isinstance(model, Sequential) and graph_inputs is None:
        dot.add_node(pydot.Node(str(id(model)), label=_label(model, *options)))
        return dot
    layers = list(model.layers)
    for layer in layers:
        dot.add_node(pydot.Node(str(id(layer)), label=_label(layer, *options)))

    def edge(src: Any, dst: Any) -> None:
        if not dot.get_edge(str(id(src)), str(id(dst))):
            e = pydot.Edge(str(id(src)), str(id(dst)))
            e.set("penwidth", "2")
            dot.add_edge(e)

    if isinstance(model, Sequential):
        for a, b in zip(layers, layers[1:], strict=False):
            edge(a, b)
        return dot
    members = {id(layer) for layer in layers}
    for layer in layers:
        for node in layer._inbound_nodes:
            for tensor in nest.flatten(getattr(node, "inputs", [])):
                history = getattr(tensor, "_keras_history", None)
                if history is not None and id(history[0]) in members and history[0] is not layer:
                    edge(history[0], layer)
    return dot


def _missing(message: str) -> None:
    """pydot or Graphviz is missing: in IPython (a notebook) Keras prints `message` and draws nothing,
    so that a notebook goes on; elsewhere it is an ImportError."""
    if "IPython.core.magics.namespace" in sys.modules:
        print_msg(message)
        return None
    raise ImportError(message)


def plot_model(model: Any, to_file: str = "model.png", show_shapes: bool = False, show_dtype: bool = False,
               show_layer_names: bool = False, rankdir: str = "TB", expand_nested: bool = False, dpi: int = 200,
               show_layer_activations: bool = False, show_trainable: bool = False, splines: str = "ortho",
               **kwargs: Any) -> Any:
    """Draw the model's graph to `to_file` (the format from its extension: png, svg, pdf, dot, ...).

    Raises:
        ImportError: naming pydot or Graphviz when either is missing (in IPython, as in Keras, the
            message is printed instead and nothing is drawn).
    """
    if not model.built:
        raise ValueError("This model has not yet been built. Build the model first by calling `build()` or by "
                         "calling the model on a batch of data.")
    pydot = _pydot()
    if pydot is None:
        return _missing("You must install pydot (`pip install pydot`) for `plot_model` to work.")
    if not _check_graphviz(pydot):
        return _missing("You must install graphviz (see instructions at https://graphviz.gitlab.io/download/) "
                        "for `plot_model` to work.")
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                       rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations, show_trainable=show_trainable,
                       splines=splines, **kwargs)
    to_file = str(to_file)
    extension = os.path.splitext(to_file)[1][1:] or "png"
    from tapeflow.atomic_file import atomic_write

    data = dot.create(format=extension)
    with atomic_write(to_file) as f:
        f.write(data)
    if extension != "pdf":
        try:
            from IPython import display

            return display.Image(filename=to_file)
        except ImportError:
            pass
    return None
