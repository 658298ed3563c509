"""SYMBOLIC PATH: the AutoGraph examples of TF's "Better performance with tf.function" guide,
with the outputs the guide shows."""

from __future__ import annotations

import numpy as np

import tapeflow as tf


def test_fizzbuzz_traces_each_branch_once_and_prints_at_run_time(capsys):
    @tf.function
    def fizzbuzz(n):
        for i in tf.range(1, n + 1):
            print("Tracing for loop")
            if i % 15 == 0:
                print("Tracing fizzbuzz branch")
                tf.print("fizzbuzz")
            elif i % 3 == 0:
                print("Tracing fizz branch")
                tf.print("fizz")
            elif i % 5 == 0:
                print("Tracing buzz branch")
                tf.print("buzz")
            else:
                print("Tracing default branch")
                tf.print(i)

    fizzbuzz(tf.constant(5))
    out = capsys.readouterr()
    assert out.out.split("\n")[:5] == ["Tracing for loop", "Tracing fizzbuzz branch", "Tracing fizz branch",
                                       "Tracing buzz branch", "Tracing default branch"]
    assert out.err.split() == ["1", "2", "fizz", "4", "buzz"]
    fizzbuzz(tf.constant(20))
    out = capsys.readouterr()
    assert out.out == "" and out.err.split()[-6:] == ["fizzbuzz", "16", "17", "fizz", "19", "buzz"]


def test_sum_even_with_continue():
    @tf.function
    def sum_even(items):
        s = 0
        for c in items:
            if c % 2 > 0:
                continue
            s += c
        return s

    assert sum_even(tf.constant([10, 12, 15, 20])).numpy() == 42


def test_dynamic_rnn_with_tensor_array():
    def rnn_step(inp, state):
        return inp + state

    @tf.function
    def dynamic_rnn(rnn_step, input_data, initial_state):
        input_data = tf.transpose(input_data, [1, 0, 2])
        max_seq_len = input_data.shape[0]
        states = tf.TensorArray(tf.float32, size=max_seq_len)
        state = initial_state
        for i in tf.range(max_seq_len):
            state = rnn_step(input_data[i], state)
            states = states.write(i, state)
        return tf.transpose(states.stack(), [1, 0, 2])

    out = dynamic_rnn(rnn_step, tf.ones([2, 3, 4]), tf.zeros([2, 4]))
    np.testing.assert_array_equal(out.numpy(), np.broadcast_to(np.arange(1, 4, dtype=np.float32)[None, :, None],
                                                                (2, 3, 4)))
