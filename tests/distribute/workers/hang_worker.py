"""Worker 1 stops answering; worker 0's next all-reduce must fail within its 2 s timeout."""

import time

import tapeflow as tf

strategy = tf.distribute.MultiWorkerMirroredStrategy(
    communication_options=tf.distribute.experimental.CommunicationOptions(timeout_seconds=2))
value = tf.constant(1.0)
strategy.reduce("SUM", value, axis=None)   # both workers answer once
if strategy.cluster_resolver.task_id == 1:
    time.sleep(60)                           # ... then worker 1 hangs (as if it had died)
strategy.reduce("SUM", value, axis=None)
