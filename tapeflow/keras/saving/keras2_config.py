"""Keras 2 (tf.keras, `tf_keras`) model configs <-> the Keras 3 layout Tapeflow builds from.

Legacy `.h5` model files hold Keras 2 configs. They differ from Keras 3's in a few places:

* `InputLayer(batch_input_shape=...)` instead of `batch_shape`; other layers may carry a
  `batch_input_shape` too (the first layer of a Sequential built with `input_shape=`);
* dtypes as a name (`"float32"`) or `{"class_name": "Policy", "config": {"name": ...}}`;
* Functional `inbound_nodes` as `[[name, node_index, tensor_index, kwargs], ...]` per call;
* single axes as one-element lists (`LayerNormalization(axis=[2])`);
* arguments Keras 3 dropped (`time_major`, `groups` on layers without groups, the build shapes
  MultiHeadAttention records, the unused kernel settings of separable convolutions, ...).

`from_keras2` turns a Keras 2 config into Keras 3's layout (a Keras 3 config passes through
unchanged); an argument Keras 3 dropped is removed when it holds the value that leaves its feature
off, and raises an error naming the layer otherwise. `to_keras2` writes Keras 3 configs in the
Keras 2 layout, so a `.h5` file written by Tapeflow loads in tf.keras as well as in Keras 3: it
drops Keras-3-only arguments that hold their neutral value and keeps any other value (Keras 3
still reads it; tf.keras then names the argument it does not know). A call with tensors in its
keyword arguments keeps Keras 3's node layout (Keras 3 reads such tensors only from it). One layer cannot be written
for both: tf.keras's MultiHeadAttention needs its build shapes (`query_shape`, ...) in the config
and Keras 3 refuses them (it cannot read tf.keras's own `.h5` files with one either). A `.h5`
file with a MultiHeadAttention therefore follows tf.keras, the format's owner: the build shapes
are written and every call is in Keras 2's node layout (Keras 3 users save `.keras` instead).
"""

from __future__ import annotations

from typing import Any

# Keras 2 arguments that Keras 3 dropped: the value that leaves the feature off, per class ("*": any).
_KERAS2_NEUTRAL: dict[str, dict[str, Any]] = {
    "*": {"time_major": False, "rng_type": None, "softmax_robust_masking": False},
    "Conv1DTranspose": {"groups": 1}, "Conv2DTranspose": {"groups": 1}, "Conv3DTranspose": {"groups": 1},
    "DepthwiseConv1D": {"groups": 1}, "DepthwiseConv2D": {"groups": 1},
    "SeparableConv1D": {"groups": 1}, "SeparableConv2D": {"groups": 1},
}
# Keras 2 arguments that carry no behaviour: build shapes, and settings a class ignores.
_KERAS2_IGNORED: dict[str, tuple[str, ...]] = {
    "MultiHeadAttention": ("query_shape", "key_shape", "value_shape"),
    "SeparableConv1D": ("kernel_initializer", "kernel_regularizer", "kernel_constraint"),
    "SeparableConv2D": ("kernel_initializer", "kernel_regularizer", "kernel_constraint"),
}
# Keras 3 arguments that tf.keras does not take, with the value that leaves them off.
_RNN3 = {"seed": None}
_IMAGE3 = {"data_format": "channels_last"}
_KERAS3_NEUTRAL: dict[str, dict[str, Any]] = {
    "*": {"input_axes": None, "output_axes": None, "quantization_config": None, "lora_rank": None,
          "lora_alpha": None, "lora_enabled": False},
    "InputLayer": {"optional": False},
    "LayerNormalization": {"rms_scaling": False},
    "MultiHeadAttention": {"use_gate": False, "sliding_window": None, "seed": None, "flash_attention": None},
    "Embedding": {"embeddings_quantization": None},
    **{name: _RNN3 for name in ("SimpleRNN", "LSTM", "GRU", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D",
                                "SimpleRNNCell", "LSTMCell", "GRUCell")},
    **{name: _IMAGE3 for name in ("CenterCrop", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
                                  "RandomCrop")},
    "Resizing": {**_IMAGE3, "pad_to_aspect_ratio": False, "fill_mode": "constant", "fill_value": 0.0,
                 "antialias": False},
    # Keras 3 clips to value_range; tf.keras does not. The layer is the identity at inference.
    "RandomContrast": {**_IMAGE3, "value_range": [0, 255]},
}
# Arguments that the two versions name differently: {class: {Keras 3 name: Keras 2 name}}.
_RENAMED: dict[str, dict[str, str]] = {"LeakyReLU": {"negative_slope": "alpha"}}
_TENSOR = "__keras_tensor__"
_MODELS = ("Sequential", "Functional", "Model")
_WRAPPED = ("layer", "backward_layer", "cell", "cells", "layers")


def _dtype_to_keras3(value: Any) -> Any:
    if isinstance(value, dict) and value.get("class_name") == "Policy":
        inner = value.get("config")
        name = inner.get("name") if isinstance(inner, dict) else None
        return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name}, "registered_name": None}
    return value


def _dtype_to_keras2(value: Any) -> Any:
    if isinstance(value, dict) and value.get("class_name") in ("DTypePolicy", "FloatDTypePolicy"):
        inner = value.get("config")
        name = inner.get("name") if isinstance(inner, dict) else None
        if name in (None, "float32", "float64", "float16", "bfloat16"):
            return name
        return {"class_name": "Policy", "config": {"name": name}}
    return value


def _is_ref(value: Any) -> bool:
    return (isinstance(value, list) and len(value) >= 3 and isinstance(value[0], str)
            and isinstance(value[1], int) and isinstance(value[2], int))


def _keras3_node(node: Any, where: str) -> Any:
    """One Keras 2 call `[[name, node, tensor, kwargs], ...]` as Keras 3's `{"args", "kwargs"}`."""
    if not isinstance(node, list) or not node or not all(_is_ref(e) for e in node):
        return node  # already Keras 3's layout (or malformed: the Functional loader reports it)

    def tensor(ref: list) -> dict:
        return {"class_name": _TENSOR, "config": {"shape": None, "dtype": None, "keras_history": list(ref[:3])}}

    def kwarg(value: Any) -> Any:
        if _is_ref(value) and len(value) == 3 and value[0] == "_CONSTANT_VALUE":
            raise ValueError(f"{where}: a Keras 2 constant call argument ({value!r:.80}) cannot be loaded.")
        if _is_ref(value) and len(value) == 3:
            return tensor(value)
        if isinstance(value, list):
            return [kwarg(v) for v in value]
        if isinstance(value, dict):
            return {k: kwarg(v) for k, v in value.items()}
        return value

    first = node[0]
    kwargs = kwarg(first[3]) if len(first) > 3 and isinstance(first[3], dict) else {}
    inputs = [tensor(e) for e in node]
    return {"args": [inputs[0] if len(inputs) == 1 else inputs], "kwargs": kwargs}


def _layer_to_keras3(entry: dict, first_in_sequential: bool) -> list[dict]:
    """`entry` in Keras 3's layout, preceded by an InputLayer when a Sequential's first layer
    carried the model's input shape."""
    name = entry.get("class_name")
    inner = entry.get("config")
    if not isinstance(name, str) or not isinstance(inner, dict):
        return [entry]
    if name in _MODELS and isinstance(inner.get("layers"), list):
        inner = _model_to_keras3(name, inner)
    inner = {k: from_keras2(v) if k in _WRAPPED and k != "layers" else v for k, v in inner.items()}
    where = f"{name} '{inner.get('name', '?')}'"
    out: list[dict] = []
    shape = inner.pop("batch_input_shape", None)
    if name == "InputLayer":
        if shape is not None and "batch_shape" not in inner:
            inner["batch_shape"] = shape
    elif shape is not None and first_in_sequential:
        out.append({"class_name": "InputLayer", "config": {
            "batch_shape": shape, "dtype": inner.get("dtype") if isinstance(inner.get("dtype"), str) else None,
            "name": f"{inner.get('name', 'layer')}_input"}})
    if "dtype" in inner:
        inner["dtype"] = _dtype_to_keras3(inner["dtype"])
    if name == "Embedding":
        inner.pop("input_length", None)
    axis = inner.get("axis")
    if isinstance(axis, list) and len(axis) == 1 and isinstance(axis[0], int):
        inner["axis"] = axis[0]
    for new_key, old_key in _RENAMED.get(name, {}).items():
        if old_key in inner and new_key not in inner:
            inner[new_key] = inner.pop(old_key)
    for key in _KERAS2_IGNORED.get(name, ()):
        inner.pop(key, None)
    neutral = {**_KERAS2_NEUTRAL["*"], **_KERAS2_NEUTRAL.get(name, {})}
    for key in [k for k in inner if k in neutral]:
        if inner[key] != neutral[key]:
            raise ValueError(f"{where}: the Keras 2 argument {key}={inner[key]!r} has no Keras 3 / Tapeflow "
                             f"equivalent (only {key}={neutral[key]!r} can be loaded).")
        del inner[key]
    entry = dict(entry, config=inner)
    if isinstance(entry.get("inbound_nodes"), list):
        entry["inbound_nodes"] = [_keras3_node(n, where) for n in entry["inbound_nodes"]]
    out.append(entry)
    return out


def _model_to_keras3(class_name: str, inner: dict) -> dict:
    converted: list = []
    for i, entry in enumerate(inner["layers"]):
        if isinstance(entry, dict):
            converted.extend(_layer_to_keras3(entry, class_name == "Sequential" and i == 0))
        else:
            converted.append(entry)
    return dict(inner, layers=converted)


def from_keras2(config: Any) -> Any:
    """A copy of a model or layer config with Keras 2's layout turned into Keras 3's (see module doc).

    Raises:
        ValueError: for a Keras 2 argument set to a value Keras 3 and Tapeflow cannot honour.
    """
    if isinstance(config, list):
        return [from_keras2(v) for v in config]
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        return config
    return _layer_to_keras3(config, False)[-1]


def _keras2_node(node: Any, tf_keras_only: bool = False) -> Any:
    """One Keras 3 call `{"args", "kwargs"}` as Keras 2's `[[name, node, tensor, kwargs], ...]`."""
    if not isinstance(node, dict):
        return node

    def ref(value: Any) -> list | None:
        if isinstance(value, dict) and value.get("class_name") == _TENSOR:
            return list(value["config"]["keras_history"])
        return None

    def kwarg(value: Any) -> Any:
        r = ref(value)
        if r is not None:
            return r
        if isinstance(value, list):
            return [kwarg(v) for v in value]
        if isinstance(value, dict):
            return {k: kwarg(v) for k, v in value.items()}
        return value

    args = node.get("args") or []
    first = args[0] if args else None
    tensors = first if isinstance(first, list) else [first]
    refs = [ref(t) for t in tensors]
    if not refs or any(r is None for r in refs) or len(args) > 1:
        raise ValueError("a layer call whose positional arguments are not one tensor or one list of tensors "
                         "cannot be written in the Keras 2 (.h5) layout; save a `.keras` file instead.")
    kwargs = {k: kwarg(v) for k, v in (node.get("kwargs") or {}).items() if v is not None}
    if _holds_ref(kwargs) and not tf_keras_only:
        return node  # Keras 3 reads tensors in keyword arguments only from its own layout
    return [[*r, kwargs if i == 0 else {}] for i, r in enumerate(refs)]


def _holds_ref(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_holds_ref(v) for v in value.values())
    if isinstance(value, list):
        return _is_ref(value) or any(_holds_ref(v) for v in value)
    return False


def _layer_to_keras2(entry: Any, build_shapes: dict) -> Any:
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        return entry
    name = entry.get("class_name")
    inner = {k: to_keras2(v, build_shapes) if k in _WRAPPED else _initializers_to_keras2(v)
             for k, v in entry["config"].items()}
    if "dtype" in inner:
        inner["dtype"] = _dtype_to_keras2(inner["dtype"])
    if name == "InputLayer" and "batch_shape" in inner:
        inner["batch_input_shape"] = inner.pop("batch_shape")
    neutral = {**_KERAS3_NEUTRAL["*"], **_KERAS3_NEUTRAL.get(name, {})}
    for key in [k for k in inner if k in neutral and inner[k] == neutral[k]]:
        del inner[key]
    for new_key, old_key in _RENAMED.get(name, {}).items():
        if new_key in inner:
            inner[old_key] = inner.pop(new_key)
    if name == "MultiHeadAttention":
        shapes = build_shapes.get(inner.get("name")) or {}
        inner.update({k: shapes.get(k) for k in _KERAS2_IGNORED[name]})  # tf.keras's from_config pops them
    out = {k: v for k, v in entry.items() if k not in ("module", "registered_name", "build_config")}
    registered = entry.get("registered_name")
    if isinstance(registered, str) and registered != name:
        out["class_name"] = registered  # Keras 2 names registered classes `package>Name`
    out["config"] = inner
    if isinstance(entry.get("inbound_nodes"), list):
        try:
            out["inbound_nodes"] = [_keras2_node(n, bool(build_shapes)) for n in entry["inbound_nodes"]]
        except ValueError as exc:
            raise ValueError(f"{name} '{inner.get('name', '?')}': {exc}") from exc
    return out


def _initializers_to_keras2(value: Any) -> Any:
    """Nested objects (initializers, regularizers) without their Keras-3-only neutral arguments."""
    if isinstance(value, dict) and isinstance(value.get("config"), dict) and "class_name" in value:
        inner = {k: v for k, v in value["config"].items()
                 if not (k in _KERAS3_NEUTRAL["*"] and v == _KERAS3_NEUTRAL["*"][k])}
        return dict(value, config=inner)
    return value


# Keras 2 optimizer settings: (argument, the value Keras 3 can load or None for any value).
_OPTIMIZER2_DROPPED = {"jit_compile": None, "is_legacy_optimizer": None, "decay": 0.0}
# Keras 3 optimizer settings tf.keras does not take, with their neutral value.
_OPTIMIZER3_NEUTRAL = {"loss_scale_factor": None, "gradient_accumulation_steps": None}


def optimizer_from_keras2(config: dict) -> dict:
    """A Keras 2 optimizer config (`{"class_name": "Custom>Adam", "config": {...}}`, from a
    `.h5` file's `training_config`) in Keras 3's form.

    Raises:
        ValueError: for a setting Keras 3 has no equivalent for (a non-zero legacy `decay`).
    """
    name = config.get("class_name")
    inner = config.get("config")
    if not isinstance(name, str) or not isinstance(inner, dict):
        return config
    inner = dict(inner)
    for key, allowed in _OPTIMIZER2_DROPPED.items():
        if key in inner:
            value = inner.pop(key)
            if allowed is not None and value != allowed:
                raise ValueError(f"optimizer {name}: the Keras 2 setting {key}={value!r} has no Keras 3 / Tapeflow "
                                 f"equivalent (only {key}={allowed!r} can be loaded).")
    return dict(config, class_name=name.split(">")[-1], config=inner, module=config.get("module", "keras.optimizers"))


def optimizer_to_keras2(config: dict) -> dict:
    """A Keras 3 optimizer config in tf.keras's form: without the settings tf.keras does not take
    (when neutral), and named `Custom>Adam` as tf.keras names its (non-legacy) optimizers in `.h5` files."""
    inner = {k: v for k, v in config.get("config", {}).items()
             if not (k in _OPTIMIZER3_NEUTRAL and v == _OPTIMIZER3_NEUTRAL[k])}
    name = config.get("class_name")
    if isinstance(name, str) and ">" not in name:
        name = f"Custom>{name}"
    return dict(config, class_name=name, config=inner)


def to_keras2(config: Any, build_shapes: dict | None = None) -> Any:
    """A copy of a Keras 3 model or layer config in Keras 2's layout (see module doc).

    Args:
        config: the Keras 3 config.
        build_shapes: {layer name: {"query_shape": [...], "key_shape": ..., "value_shape": ...}}
            for the model's MultiHeadAttention layers (see `mha_build_shapes`); when there are
            any, the whole config is written for tf.keras only (see module doc).

    Raises:
        ValueError: for a Functional layer call that Keras 2's layout cannot describe (several
            positional tensor arguments), naming the layer.
    """
    build_shapes = build_shapes or {}
    if isinstance(config, list):
        return [to_keras2(v, build_shapes) for v in config]
    return _layer_to_keras2(config, build_shapes)


def mha_build_shapes(model: Any) -> dict:
    """{name: build shapes} of the MultiHeadAttention layers in `model` (nested models and
    wrappers included), for `to_keras2`."""
    out: dict = {}
    seen: set = set()

    def walk(layer: Any) -> None:
        if id(layer) in seen:
            return
        seen.add(id(layer))
        if type(layer).__name__ == "MultiHeadAttention" and getattr(layer, "_build_shapes", None):
            out[layer.name] = layer._build_shapes
        for attr in ("layers", "layer", "backward_layer", "forward_layer"):
            child = getattr(layer, attr, None)
            for c in child if isinstance(child, (list, tuple)) else [child]:
                if c is not None and hasattr(c, "name"):
                    walk(c)

    walk(model)
    return out
