"""tf.strings.unicode_script against TF: every code point, out-of-range values, ragged input."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf


@pytest.mark.oracle
def test_unicode_script_against_tensorflow():
    ttf = pytest.importorskip("tensorflow")
    cps = np.concatenate([np.arange(0, 0x110000, 7, dtype=np.int32), [-5, 0x110000, 2**31 - 1]]).astype(np.int32)
    np.testing.assert_array_equal(tf.strings.unicode_script(cps).numpy(), ttf.strings.unicode_script(cps).numpy())
    chars = tf.strings.unicode_decode(["Hi Ж 中 ب", "ゑ"], "UTF-8")
    theirs = ttf.strings.unicode_script(ttf.strings.unicode_decode(["Hi Ж 中 ب", "ゑ"], "UTF-8"))
    assert tf.strings.unicode_script(chars).to_list() == theirs.to_list()


def test_unicode_script_values_and_errors():
    got = tf.strings.unicode_script([ord("A"), ord("Ж"), ord("中"), ord(" "), 0x0301, -1])
    assert got.numpy().tolist() == [25, 8, 17, 0, 1, -1] and got.dtype == tf.int32
    with pytest.raises(TypeError, match="int32"):
        tf.strings.unicode_script(np.array([65], np.int64))
