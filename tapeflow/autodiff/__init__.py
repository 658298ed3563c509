"""Reverse-mode autodiff: `Function` (primitives), `GradientTape`, and `sum_to`."""
