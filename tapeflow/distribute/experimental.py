"""`tf.distribute.experimental`: collective options and the multi-worker strategy's old name."""

from tapeflow.distribute.multi_worker import (
    CommunicationImplementation,
    CommunicationOptions,
    MultiWorkerMirroredStrategy,
)
from tapeflow.distribute.strategy import ValueContext

CollectiveCommunication = CommunicationImplementation

__all__ = ["CollectiveCommunication", "CommunicationImplementation", "CommunicationOptions",
           "MultiWorkerMirroredStrategy", "ValueContext"]
