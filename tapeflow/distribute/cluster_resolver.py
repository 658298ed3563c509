"""`tf.distribute.cluster_resolver`: where this worker sits in the MPI job."""

from tapeflow.distribute.multi_worker import ClusterSpec, MPIClusterResolver

__all__ = ["ClusterSpec", "MPIClusterResolver"]
