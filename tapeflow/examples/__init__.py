"""`tensorflow.examples` equivalents for tutorials: `tutorials.mnist.input_data`."""
