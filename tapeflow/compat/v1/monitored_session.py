"""`tf.compat.v1.train.MonitoredSession` and friends: a session that initializes or restores the
variables (`Scaffold`, `ChiefSessionCreator`), runs `SessionRunHook`s around every `run` and
stops when a hook asks; `MonitoredTrainingSession` adds the standard checkpoint, summary and
step-counter hooks. One process, no cluster: the worker / master variants are refused by name."""

from __future__ import annotations

import abc
from typing import Any

from tapeflow import errors
from tapeflow.compat.v1 import logging
from tapeflow.compat.v1.basic_session_run_hooks import CheckpointSaverHook, StepCounterHook, SummarySaverHook
from tapeflow.compat.v1.graph import GraphKeys, get_default_graph
from tapeflow.compat.v1.session import Session
from tapeflow.compat.v1.session_run_hook import SessionRunArgs, SessionRunContext, SessionRunValues

USE_DEFAULT = object()


def _refuse(what: str, why: str) -> None:
    raise errors.UnimplementedError(None, None, f"{what} is not supported: {why}.")


class Scaffold:
    """The ops that make a session ready: `init_op` (default: initialize the global variables),
    `local_init_op` (the local ones), `init_fn(scaffold, session)`, `summary_op` (default
    `merge_all()`), `saver` (default a `Saver` of the global variables)."""

    def __init__(self, init_op: Any = None, init_feed_dict: Any = None, init_fn: Any = None, ready_op: Any = None,
                 ready_for_local_init_op: Any = None, local_init_op: Any = None, summary_op: Any = None,
                 saver: Any = None, copy_from_scaffold: Any = None, local_init_feed_dict: Any = None) -> None:
        if ready_op is not None or ready_for_local_init_op is not None:
            _refuse("Scaffold(ready_op / ready_for_local_init_op)",
                    "Tapeflow's sessions have no uninitialized-variable report; the scaffold runs init_op itself")
        if copy_from_scaffold is not None:
            if not isinstance(copy_from_scaffold, Scaffold):
                raise TypeError("copy_from_scaffold is not a Scaffold instance.")
            init_op = init_op if init_op is not None else copy_from_scaffold.init_op
            init_feed_dict = init_feed_dict if init_feed_dict is not None else copy_from_scaffold.init_feed_dict
            init_fn = init_fn if init_fn is not None else copy_from_scaffold._user_init_fn
            local_init_op = local_init_op if local_init_op is not None else copy_from_scaffold.local_init_op
            local_init_feed_dict = (local_init_feed_dict if local_init_feed_dict is not None
                                    else copy_from_scaffold.local_init_feed_dict)
            summary_op = summary_op if summary_op is not None else copy_from_scaffold.summary_op
            saver = saver if saver is not None else copy_from_scaffold.saver
        self._user_init_fn = init_fn
        self._init_fn = (lambda sess: init_fn(self, sess)) if init_fn else None
        self._init_op, self._init_feed_dict = init_op, init_feed_dict
        self._local_init_op, self._local_init_feed_dict = local_init_op, local_init_feed_dict
        self._summary_op, self._saver = summary_op, saver
        self._finalized = False

    def finalize(self) -> Scaffold:
        """Create the default ops the scaffold was not given; finalize the graph."""
        if self._finalized:
            return self
        from tapeflow.compat.v1.summary import merge_all
        from tapeflow.compat.v1.train import Saver
        from tapeflow.compat.v1.variables import global_variables_initializer, local_variables_initializer

        g = get_default_graph()
        if self._init_op is None:
            self._init_op = global_variables_initializer()
        if self._local_init_op is None:
            self._local_init_op = local_variables_initializer()
        if self._summary_op is None:
            self._summary_op = merge_all()
        if self._saver is None:
            savers = g.get_collection(GraphKeys.SAVERS)
            if len(savers) > 1:
                raise RuntimeError(f"More than one item in collection {GraphKeys.SAVERS}. Please indicate which one "
                                   "to use by passing it to the constructor.")
            self._saver = savers[0] if savers else Saver(max_to_keep=5)
            if not savers:
                g.add_to_collection(GraphKeys.SAVERS, self._saver)
        g.finalize()
        logging.info("Graph was finalized.")
        self._finalized = True
        return self

    @property
    def init_fn(self) -> Any:
        return self._init_fn

    @property
    def init_op(self) -> Any:
        return self._init_op

    @property
    def init_feed_dict(self) -> Any:
        return self._init_feed_dict

    @property
    def local_init_op(self) -> Any:
        return self._local_init_op

    @property
    def local_init_feed_dict(self) -> Any:
        return self._local_init_feed_dict

    @property
    def summary_op(self) -> Any:
        return self._summary_op

    @property
    def saver(self) -> Any:
        return self._saver

    @property
    def ready_op(self) -> None:
        return None

    @property
    def ready_for_local_init_op(self) -> None:
        return None


class SessionCreator(abc.ABC):
    """Makes the session a MonitoredSession runs (`create_session()`)."""

    @abc.abstractmethod
    def create_session(self) -> Session:
        """A new, ready session."""


class ChiefSessionCreator(SessionCreator):
    """A session whose variables are restored from the latest checkpoint in `checkpoint_dir` (or
    `checkpoint_filename_with_path`), else initialized by the scaffold; then `local_init_op`."""

    def __init__(self, scaffold: Scaffold | None = None, master: str = "", config: Any = None,
                 checkpoint_dir: Any = None, checkpoint_filename_with_path: Any = None) -> None:
        if master:
            _refuse(f"ChiefSessionCreator(master={master!r})", "Tapeflow runs in-process sessions only")
        self._scaffold = scaffold or Scaffold()
        self._config, self._checkpoint_dir = config, checkpoint_dir
        self._checkpoint_filename_with_path = checkpoint_filename_with_path

    def create_session(self) -> Session:
        from tapeflow.compat.v1.train import latest_checkpoint

        self._scaffold.finalize()
        sess = Session(graph=get_default_graph(), config=self._config)
        path = self._checkpoint_filename_with_path
        if path is None and self._checkpoint_dir:
            path = latest_checkpoint(self._checkpoint_dir)
        if path is not None:
            self._scaffold.saver.restore(sess, path)
        else:
            if self._scaffold.init_op is not None:
                sess.run(self._scaffold.init_op, feed_dict=self._scaffold.init_feed_dict)
            if self._scaffold.init_fn:
                self._scaffold.init_fn(sess)
        if self._scaffold.local_init_op is not None:
            sess.run(self._scaffold.local_init_op, feed_dict=self._scaffold.local_init_feed_dict)
        return sess


class _MonitoredSession:
    def __init__(self, session_creator: SessionCreator, hooks: Any, stop_grace_period_secs: float = 120) -> None:
        self._hooks = list(hooks or [])
        for h in self._hooks:
            h.begin()
        self._sess = session_creator.create_session()
        for h in self._hooks:
            h.after_create_session(self._sess, None)
        self._should_stop = False
        self._closed = False

    @property
    def graph(self) -> Any:
        return self._sess.graph

    def run(self, fetches: Any, feed_dict: dict | None = None, options: Any = None, run_metadata: Any = None) -> Any:
        """Run `fetches` with the hooks' fetches and feeds added; returns the caller's results."""
        if self._closed:
            raise RuntimeError("Run called even after should_stop requested.")
        run_context = SessionRunContext(original_args=SessionRunArgs(fetches, feed_dict), session=self._sess)
        actual = {"caller": fetches}
        feeds = dict(feed_dict or {})
        user_keys = set(map(id, feeds))
        hook_keys: set = set()
        for i, hook in enumerate(self._hooks):
            request = hook.before_run(run_context)
            if request is None:
                continue
            if request.fetches is not None:
                actual[f"hook{i}"] = request.fetches
            if request.feed_dict:
                keys = set(map(id, request.feed_dict))
                if keys & user_keys:
                    raise RuntimeError("Same tensor is fed by a SessionRunHook and user.")
                if keys & hook_keys:
                    raise RuntimeError("Same tensor is fed by two hooks.")
                hook_keys |= keys
                feeds.update(request.feed_dict)
        outputs = self._sess.run(actual, feed_dict=feeds or None, options=options, run_metadata=run_metadata)
        for i, hook in enumerate(self._hooks):
            hook.after_run(run_context, SessionRunValues(results=outputs.get(f"hook{i}"), options=options,
                                                         run_metadata=run_metadata))
        self._should_stop = self._should_stop or run_context.stop_requested
        return outputs["caller"]

    def run_step_fn(self, step_fn: Any) -> Any:
        """`step_fn(step_context)` with `step_context.run_with_hooks` and `.session`; refused here."""
        _refuse("MonitoredSession.run_step_fn", "call run() with the fetches instead")

    def should_stop(self) -> bool:
        return self._should_stop or self._closed

    def close(self) -> None:
        self._close_internal(None)

    def _close_internal(self, exception_type: Any) -> None:
        if self._closed:
            return
        try:
            if not exception_type:
                for h in self._hooks:
                    h.end(self._sess)
        finally:
            self._sess.close()
            self._closed = True

    def __enter__(self) -> Any:
        return self

    def __exit__(self, exception_type: Any, exception_value: Any, traceback: Any) -> bool:
        if exception_type in (errors.OutOfRangeError, StopIteration):
            exception_type = None
        self._close_internal(exception_type)
        return exception_type is None


class MonitoredSession(_MonitoredSession):
    """A session that runs `hooks` around each `run` (see the module docstring).

    Example:
        >>> with tf.train.MonitoredSession(hooks=[tf.train.StopAtStepHook(last_step=100)]) as sess:
        ...     while not sess.should_stop():
        ...         sess.run(train_op)
    """

    def __init__(self, session_creator: SessionCreator | None = None, hooks: Any = None,
                 stop_grace_period_secs: float = 120) -> None:
        super().__init__(session_creator or ChiefSessionCreator(), hooks, stop_grace_period_secs)


class SingularMonitoredSession(_MonitoredSession):
    """A MonitoredSession built from a scaffold and checkpoint dir; `raw_session()` is the session."""

    def __init__(self, hooks: Any = None, scaffold: Scaffold | None = None, master: str = "", config: Any = None,
                 checkpoint_dir: Any = None, stop_grace_period_secs: float = 120,
                 checkpoint_filename_with_path: Any = None) -> None:
        creator = ChiefSessionCreator(scaffold=scaffold, master=master, config=config, checkpoint_dir=checkpoint_dir,
                                      checkpoint_filename_with_path=checkpoint_filename_with_path)
        super().__init__(creator, hooks, stop_grace_period_secs)

    def raw_session(self) -> Session:
        return self._sess


def MonitoredTrainingSession(master: str = "", is_chief: bool = True, checkpoint_dir: Any = None,  # noqa: N802
                             scaffold: Scaffold | None = None, hooks: Any = None, chief_only_hooks: Any = None,
                             save_checkpoint_secs: Any = USE_DEFAULT, save_summaries_steps: Any = USE_DEFAULT,
                             save_summaries_secs: Any = USE_DEFAULT, config: Any = None,
                             stop_grace_period_secs: float = 120, log_step_count_steps: int = 100,
                             max_wait_secs: float = 7200, save_checkpoint_steps: Any = USE_DEFAULT,
                             summary_dir: Any = None, save_graph_def: bool = True) -> MonitoredSession:
    """A MonitoredSession for training: with `checkpoint_dir`, restores from / saves checkpoints
    there (every 600 s by default, or `save_checkpoint_steps`), writes summaries every 100 steps and
    global steps per second to `summary_dir` (default `checkpoint_dir`)."""
    if not is_chief:
        _refuse("MonitoredTrainingSession(is_chief=False)", "there are no workers: Tapeflow runs one process")
    if save_summaries_steps == USE_DEFAULT and save_summaries_secs == USE_DEFAULT:
        save_summaries_steps, save_summaries_secs = 100, None
    elif save_summaries_secs == USE_DEFAULT:
        save_summaries_secs = None
    elif save_summaries_steps == USE_DEFAULT:
        save_summaries_steps = None
    if save_checkpoint_steps == USE_DEFAULT and save_checkpoint_secs == USE_DEFAULT:
        save_checkpoint_steps, save_checkpoint_secs = None, 600
    elif save_checkpoint_secs == USE_DEFAULT:
        save_checkpoint_secs = None
    elif save_checkpoint_steps == USE_DEFAULT:
        save_checkpoint_steps = None
    scaffold = scaffold or Scaffold()
    creator = ChiefSessionCreator(scaffold=scaffold, master=master, config=config, checkpoint_dir=checkpoint_dir)
    all_hooks = list(chief_only_hooks or []) + list(hooks or [])
    summary_dir = summary_dir or checkpoint_dir
    if summary_dir:
        if log_step_count_steps and log_step_count_steps > 0:
            all_hooks.append(StepCounterHook(output_dir=summary_dir, every_n_steps=log_step_count_steps))
        if (save_summaries_steps and save_summaries_steps > 0) or (save_summaries_secs and save_summaries_secs > 0):
            all_hooks.append(SummarySaverHook(scaffold=scaffold, save_steps=save_summaries_steps,
                                              save_secs=save_summaries_secs, output_dir=summary_dir))
    if checkpoint_dir:
        if (save_checkpoint_secs and save_checkpoint_secs > 0) or (save_checkpoint_steps and
                                                                   save_checkpoint_steps > 0):
            all_hooks.append(CheckpointSaverHook(checkpoint_dir, save_steps=save_checkpoint_steps,
                                                 save_secs=save_checkpoint_secs, scaffold=scaffold,
                                                 save_graph_def=save_graph_def))
    return MonitoredSession(session_creator=creator, hooks=all_hooks, stop_grace_period_secs=stop_grace_period_secs)
