"""Testing helpers shipped with the package: numerical gradient checks and the op-test table."""

from tapeflow.testing.devices import available_devices
from tapeflow.testing.gradcheck import check_gradients, check_second_order, numerical_directional_derivative
from tapeflow.testing.op_table import DOMAINS, OpCase, run_case

__all__ = [
    "available_devices", "check_gradients", "check_second_order", "numerical_directional_derivative",
    "DOMAINS", "OpCase", "run_case",
]
