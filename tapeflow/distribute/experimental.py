"""`tf.distribute.experimental`: collective options, the multi-worker strategy's old name and
`CentralStorageStrategy`."""

from tapeflow.distribute.multi_worker import (
    CommunicationImplementation,
    CommunicationOptions,
    MultiWorkerMirroredStrategy,
)
from tapeflow.distribute.strategy import CentralStorageStrategy, ValueContext

CollectiveCommunication = CommunicationImplementation

__all__ = ["CentralStorageStrategy", "CollectiveCommunication", "CommunicationImplementation", "CommunicationOptions",
           "MultiWorkerMirroredStrategy", "ValueContext"]
