"""`tf.distribute`: data-parallel training over worker processes (MPI) with TF's strategy API."""

from tapeflow.distribute.context import (
    InputContext,
    ReduceOp,
    ReplicaContext,
    get_cross_replica_context,
    get_replica_context,
    get_strategy,
    has_strategy,
    in_cross_replica_context,
)
from tapeflow.distribute.options import (
    CrossDeviceOps,
    HierarchicalCopyAllReduce,
    InputOptions,
    InputReplicationMode,
    NcclAllReduce,
    ReductionToOneDevice,
    RunOptions,
)
from tapeflow.distribute.strategy import (
    MirroredStrategy,
    OneDeviceStrategy,
    Strategy,
    StrategyExtended,
    experimental_set_strategy,
)
from tapeflow.distribute.multi_worker import MultiWorkerMirroredStrategy
from tapeflow.distribute.values import DistributedDataset, DistributedIterator, DistributedValues, PerReplica
from tapeflow.distribute import experimental, cluster_resolver
