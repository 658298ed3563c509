"""Helpers that TF1 tutorials import (`tutorials.mnist.input_data`)."""
