"""`tf.experimental`: the NumPy API on tensors (`tf.experimental.numpy`), `Optional`, the small
number types, DLPack exchange, and TF's runtime switches (async_scope, strict mode, ...)."""

from tapeflow.data.optional import Optional  # noqa: F401
from tapeflow.dtypes import (  # noqa: F401
    float4_e2m1fn,
    float8_e4m3b11fnuz,
    float8_e4m3fn,
    float8_e4m3fnuz,
    float8_e5m2,
    float8_e5m2fnuz,
    int2,
    int4,
    uint2,
    uint4,
)
from tapeflow.experimental import dlpack, numpy, tensorrt  # noqa: F401
from tapeflow.experimental import extension_types as extension_type  # noqa: F401
from tapeflow.experimental.dispatch_api import (  # noqa: F401
    dispatch_for_api,
    dispatch_for_binary_elementwise_apis,
    dispatch_for_binary_elementwise_assert_apis,
    dispatch_for_unary_elementwise_apis,
    unregister_dispatch_for,
)
from tapeflow.experimental.extension_types import (  # noqa: F401
    BatchableExtensionType,
    ExtensionType,
    ExtensionTypeBatchEncoder,
    ExtensionTypeSpec,
)
from tapeflow.experimental.ragged_shape import DynamicRaggedShape  # noqa: F401
from tapeflow.experimental.row_partition import RowPartition  # noqa: F401
from tapeflow.experimental.structured_tensor import StructuredTensor  # noqa: F401
from tapeflow.experimental.runtime import (  # noqa: F401
    async_clear_error,
    async_scope,
    enable_strict_mode,
    function_executor_type,
    register_filesystem_plugin,
)
