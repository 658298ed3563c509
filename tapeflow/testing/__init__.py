"""Testing helpers shipped with the package: numerical gradient checks."""

from tapeflow.testing.gradcheck import check_gradients, check_second_order, numerical_directional_derivative

__all__ = ["check_gradients", "check_second_order", "numerical_directional_derivative"]
