"""The MNIST tutorial loader: `from tapeflow.examples.tutorials.mnist import input_data`."""
