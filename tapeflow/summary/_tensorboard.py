"""The one import of the optional `tensorboard` package, with an error that names the extra."""

from __future__ import annotations

from types import SimpleNamespace

_MODULES: SimpleNamespace | None = None


def tensorboard() -> SimpleNamespace:
    """The tensorboard modules `tf.summary` uses: the event writer, protos and plugin metadata."""
    global _MODULES
    if _MODULES is None:
        try:
            from tensorboard.compat.proto import event_pb2, summary_pb2
            from tensorboard.plugins.audio import metadata as audio_metadata
            from tensorboard.plugins.histogram import summary_v2 as histogram_v2
            from tensorboard.plugins.image import metadata as image_metadata
            from tensorboard.plugins.scalar import summary_v2 as scalar_v2
            from tensorboard.plugins.text import summary_v2 as text_v2
            from tensorboard.summary.writer.event_file_writer import EventFileWriter
            from tensorboard.util import tensor_util
        except ImportError as e:
            raise ImportError(
                "tf.summary and keras.callbacks.TensorBoard write TensorBoard event files with the "
                "`tensorboard` package, which is not installed: pip install 'tapeflow[tensorboard]' "
                f"(or pip install tensorboard). ({e})"
            ) from None
        _MODULES = SimpleNamespace(
            event_pb2=event_pb2, summary_pb2=summary_pb2, EventFileWriter=EventFileWriter,
            tensor_util=tensor_util, histogram_v2=histogram_v2, scalar_v2=scalar_v2, text_v2=text_v2,
            image_metadata=image_metadata, audio_metadata=audio_metadata,
        )
    return _MODULES
