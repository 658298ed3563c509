"""Differentiable primitives, grouped by family; the public functions live in each module."""
