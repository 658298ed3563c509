"""Restoring a checkpoint: match its object graph to live objects edge by edge, now or later.

A saved node is matched to the live object found by following the same edge names from the
root. An edge whose live object does not exist yet (a layer not built, a list not filled) is
remembered on the nearest live object that announces new children (`tracking.notify`): when the
object appears, it is restored at once, as TF's deferred restoration does. A Keras optimizer
that is not built yet is built on its saved variable list as soon as those variables are all
matched, so its slots (moments, velocities) are restored before its first step.
"""

from __future__ import annotations

import warnings
import weakref
from typing import Any

import numpy as np

from tapeflow import backend, tracking
from tapeflow.tensor import Variable
from tapeflow.train.format import CheckpointReader
from tapeflow.train.object_graph import VALUE_SUFFIX, walk


def _assign_array(var: Variable, arr: np.ndarray, key: str) -> None:
    if tuple(arr.shape) != tuple(var._value.shape):
        raise ValueError(
            f"Received incompatible tensor with shape {tuple(arr.shape)} when attempting to restore "
            f"variable with shape {tuple(var._value.shape)} and name {var.name} (checkpoint key {key!r})."
        )
    if arr.dtype != var._value.dtype:
        raise ValueError(f"Cannot restore {key!r} of dtype {arr.dtype.name} into variable {var.name} of "
                         f"dtype {var._value.dtype.name}.")
    var._value[...] = backend.asarray(arr, var._value.dtype, backend.get_xp(var._value))


class Restoration:
    """One `restore()` call: the saved graph, what is matched so far, what waits for objects."""

    def __init__(self, reader: CheckpointReader, root: Any) -> None:
        self.reader = reader
        self.nodes = reader.nodes
        self._value_nodes = [i for i, n in enumerate(self.nodes) if n["key"] is not None]
        # Live objects are held by id (variables by reference: they cannot be weakly referenced and
        # hold no other object), so a pending restoration never keeps a program's objects alive.
        self.live: dict[int, int] = {}          # saved node id -> id() of the live object
        self.variables: dict[int, Variable] = {}  # saved node id -> live variable
        self.restored_ids: set[int] = set()     # id() of live variables given a value
        self.waiting: dict[int, tuple[Any, int]] = {}  # id(live object) -> (weakref, saved node id)
        self.pending_optimizers: dict[int, Any] = {}   # saved node id -> weakref to an unbuilt optimizer
        self.expect_partial = False
        self._models: list = []  # weakrefs to the models bound from tf.keras / Keras 3 layouts
        self._root = weakref.ref(root)
        self._on_death = _forget_when_gone(self)
        self._visit(0, root, root, 0)
        if self.pending_optimizers:
            self._build_optimizers()
        if not self.done() and (self.waiting or self.pending_optimizers):
            tracking.add_listener(self)

    # -- matching ---------------------------------------------------------------------------
    def _visit(self, sid: int, obj: Any, anchor: Any, anchor_sid: int, seen: set | None = None) -> None:
        """Match saved node `sid` to `obj` and its subtree; missing children wait on `anchor`."""
        seen = set() if seen is None else seen
        if sid in seen:
            return
        seen.add(sid)
        prev = self.live.get(sid)
        if prev is not None and prev != id(obj):
            return
        node = self.nodes[sid]
        if prev is None:
            self.live[sid] = id(obj)
            key = node["key"]
            if key is not None and not key.endswith(VALUE_SUFFIX) and tracking.is_saveable(obj):
                obj._restore_from_tensors({key.rsplit("/", 1)[-1]: self.reader.get_tensor(key)})
            elif key is not None:
                if not isinstance(obj, Variable):
                    raise ValueError(f"The checkpoint holds a variable at {key!r} but the object there is "
                                     f"{type(obj).__name__}, not a tf.Variable.")
                _assign_array(obj, self.reader.get_tensor(key), key)
                self.restored_ids.add(id(obj))
                self.variables[sid] = obj
        if tracking.is_notifiable(obj):
            anchor, anchor_sid = obj, sid
        if prev is None and _foreign_keras_model(node, obj):
            self._bind_model(sid, obj)
        opt_type = tracking._keras_optimizer_type()
        skip = set()
        if opt_type is not None and isinstance(obj, opt_type) and _tf_keras_optimizer(self.nodes, node):
            skip.add("_variables")  # its list lacks the learning rate: bound by position once built
            if obj.built:
                self._bind_tf_keras_optimizer(sid, obj)
        live_children = dict(tracking.children(obj)) if node["children"] else {}
        for name, csid in node["children"]:
            if name in skip:
                continue
            child = live_children.get(name)
            if child is None:
                self.waiting[id(anchor)] = (weakref.ref(anchor, self._on_death), anchor_sid)
                continue
            self._visit(csid, child, anchor, anchor_sid, seen)
        if opt_type is not None and isinstance(obj, opt_type) and not obj.built:
            self.pending_optimizers[sid] = weakref.ref(obj, self._on_death)

    def _bind_model(self, sid: int, model: Any) -> None:
        """A model saved by tf.keras or by Keras 3 on TensorFlow (other edge names than Tapeflow's:
        `layer_with_weights-N`, `_functional/_operations/N`): its variables paired layer by layer,
        as `model.load_weights` pairs them, all shapes checked before any is assigned."""
        from tapeflow.keras.saving.tf_checkpoint import model_variable_nodes

        pairs = [(vsid, var) for vsid, var in model_variable_nodes(self.nodes, sid, model, self.reader.prefix)
                 if vsid not in self.live]
        self._assign_all(pairs)
        self._models.append(weakref.ref(model))

    def _assign_all(self, pairs: list) -> None:
        """Restore each (saved node id, variable) pair, every shape checked before any assignment."""
        values = []
        for vsid, var in pairs:
            key = self.nodes[vsid]["key"]
            arr = self.reader.get_tensor(key)
            if tuple(arr.shape) != tuple(var.shape):
                raise ValueError(f"Received incompatible tensor with shape {tuple(arr.shape)} when attempting to "
                                 f"restore variable with shape {tuple(var.shape)} and name {var.name} (checkpoint key "
                                 f"{key!r}).")
            values.append(arr)
        for (vsid, var), arr in zip(pairs, values, strict=True):
            _assign_array(var, arr.astype(var._value.dtype, copy=False), self.nodes[vsid]["key"])
            self.live[vsid] = id(var)
            self.restored_ids.add(id(var))
            self.variables[vsid] = var

    def _bind_tf_keras_optimizer(self, sid: int, opt: Any) -> None:
        """A built optimizer restored from tf.keras's layout: its saved `_variables` list (the
        iteration count, then the slots) paired by position with the optimizer's variables
        without the learning rate, as `model.load_weights` pairs them."""
        from tapeflow.keras.saving.legacy_h5 import _keras2_optimizer_variables

        edge = dict(self.nodes[sid]["children"])["_variables"]
        saved = [c for _, c in sorted((int(n), c) for n, c in self.nodes[edge]["children"] if n.isdigit())]
        live = _keras2_optimizer_variables(opt)
        if len(saved) != len(live):
            raise ValueError(f"The checkpoint's optimizer state has {len(saved)} variables, the {type(opt).__name__} "
                             f"being restored has {len(live)} (its learning rate aside); restore into the optimizer "
                             "the checkpoint was written with.")
        pairs = [(vsid, var) for vsid, var in zip(saved, live, strict=True) if vsid not in self.live]
        self._assign_all(pairs)

    def _build_optimizers(self) -> None:
        for sid, ref in list(self.pending_optimizers.items()):
            opt = ref()
            if opt is None or opt.built:
                del self.pending_optimizers[sid]
                continue
            edge = dict(self.nodes[sid]["children"]).get("_trainable_variables")
            if edge is None:  # tf.keras: built on the variables of the restored model it trains
                models = [m for m in (ref() for ref in self._models) if m is not None and getattr(m, "optimizer",
                                                                                                    None) is opt]
                if len(models) != 1:
                    continue
                variables = list(models[0].trainable_variables)
            else:
                var_sids = [c for _, c in self.nodes[edge]["children"]]
                variables = [self.variables.get(c) for c in var_sids]
                if not var_sids or any(not isinstance(v, Variable) for v in variables):
                    continue
            del self.pending_optimizers[sid]
            opt.build(variables)
            self._visit(sid, opt, opt, sid)

    def __call__(self, obj: Any) -> None:
        """`tracking.notify` hook: `obj` gained children; restore what now matches."""
        entry = self.waiting.get(id(obj))
        if entry is not None and entry[0]() is obj:
            del self.waiting[id(obj)]
            self._visit(entry[1], obj, obj, entry[1])
        if self.pending_optimizers:
            self._build_optimizers()
        if self.done() or not self.pending():
            tracking.remove_listener(self)

    def pending(self) -> bool:
        """Whether some live object that may still gain the missing children exists."""
        return any(ref() is not None for ref, _ in self.waiting.values()) or any(
            ref() is not None for ref in self.pending_optimizers.values())

    def done(self) -> bool:
        """Whether every saved value has found its variable (containers left unmatched do not count)."""
        return all(i in self.live for i in self._value_nodes)

    # -- reports ----------------------------------------------------------------------------
    def _paths(self) -> list[str]:
        paths = ["(root)"] + [""] * (len(self.nodes) - 1)
        queue = [0]
        for i in queue:
            for name, j in self.nodes[i]["children"]:
                if not paths[j]:
                    paths[j] = f"{paths[i]}.{name}"
                    queue.append(j)
        return paths

    def unmatched_values(self) -> list[str]:
        paths = self._paths()
        return [paths[i] for i, n in enumerate(self.nodes) if n["key"] is not None and i not in self.live]

    def unbound_live_objects(self) -> list[Any]:
        root = self._root()
        if root is None:
            return []
        objects, _, _ = walk(root)
        matched = set(self.live.values())
        return [o for o in objects[1:] if (isinstance(o, Variable) or tracking.is_trackable_object(o))
                and id(o) not in matched]

    def __del__(self) -> None:
        if not self.expect_partial:
            missing = self.unmatched_values()
            if missing:
                warnings.warn(
                    "Value in checkpoint could not be found in the restored object: "
                    + ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
                    + " (call .expect_partial() on the restore status to silence this warning)",
                    stacklevel=1,
                )


def _foreign_keras_model(node: dict, obj: Any) -> bool:
    """Whether saved `node` is a Keras model written by tf.keras or Keras 3 on TensorFlow and
    `obj` a Tapeflow Keras model (whose own edges have other names)."""
    names = {name for name, _ in node["children"]}
    if not (names & {"_functional", "_operations"} or any(n.startswith("layer_with_weights-") for n in names)):
        return False
    from tapeflow.keras.models.model import Model

    return isinstance(obj, Model) and not names & {name for name, _ in tracking.children(obj)}


def _tf_keras_optimizer(nodes: list, node: dict) -> bool:
    """Whether saved `node` is a tf.keras optimizer: its `_variables` list does not hold its
    `_learning_rate` (Keras 3's and Tapeflow's list it second)."""
    children = dict(node["children"])
    if "_variables" not in children or "_learning_rate" not in children:
        return False
    return children["_learning_rate"] not in {c for _, c in nodes[children["_variables"]]["children"]}


def _forget_when_gone(restoration: Restoration) -> Any:
    """A weakref callback that stops `restoration` waiting once no object it waits on is alive
    (holding the restoration weakly, so that nothing keeps it alive)."""
    ref = weakref.ref(restoration)

    def gone(_dead: Any) -> None:
        r = ref()
        if r is not None and not r.pending():
            tracking.remove_listener(r)

    return gone


class CheckpointLoadStatus:
    """What `Checkpoint.restore` returns: assertions about how well the checkpoint matched."""

    def __init__(self, restoration: Restoration) -> None:
        self._restoration = restoration

    def assert_consumed(self) -> CheckpointLoadStatus:
        """Raise AssertionError unless every checkpoint value and every live object matched."""
        r = self._restoration
        missing = r.unmatched_values()
        if missing:
            raise AssertionError(f"Unresolved object in checkpoint {missing[0]}"
                                 + (f" (and {len(missing) - 1} more: {missing[1:6]})" if len(missing) > 1 else ""))
        return self.assert_existing_objects_matched()

    def assert_existing_objects_matched(self) -> CheckpointLoadStatus:
        """Raise AssertionError if an object that exists now did not get a checkpointed value."""
        unbound = self._restoration.unbound_live_objects()
        if unbound:
            raise AssertionError(
                "Some Python objects were not bound to checkpointed values, likely due to changes in the "
                f"Python program: {unbound[:10]}"
            )
        return self

    def assert_nontrivial_match(self) -> CheckpointLoadStatus:
        """Raise AssertionError if nothing but the root and the save counter matched."""
        r = self._restoration
        paths = r._paths()
        matched = [paths[i] for i in r.live if i != 0 and paths[i] != "(root).save_counter"]
        if not matched:
            raise AssertionError(f"Nothing except the root object matched a checkpointed value. Typically "
                                 f"this means that the checkpoint does not match the Python program "
                                 f"({r.reader.prefix}).")
        return self

    def expect_partial(self) -> CheckpointLoadStatus:
        """Silence the warning about checkpoint values that were never used (a partial restore)."""
        self._restoration.expect_partial = True
        return self

    def run_restore_ops(self, session: Any = None) -> None:
        """The matched values are assigned at `restore` (and later ones as their objects appear);
        TF runs restore ops here when building a TF 1 graph."""

    def initialize_or_restore(self, session: Any = None) -> None:
        """As `run_restore_ops`: restoring already happened."""


class InitializationOnlyStatus:
    """What `Checkpoint.restore(None)` returns: nothing is restored, so every assertion fails."""

    def _fail(self) -> None:
        raise AssertionError("No checkpoint specified (save_path=None); nothing is being restored.")

    def assert_consumed(self) -> None:
        self._fail()

    def assert_existing_objects_matched(self) -> None:
        self._fail()

    def assert_nontrivial_match(self) -> None:
        self._fail()

    def expect_partial(self) -> InitializationOnlyStatus:
        """Nothing to silence: no checkpoint was read."""
        return self
