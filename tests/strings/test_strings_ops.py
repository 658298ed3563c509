"""`tf.strings` ops against TensorFlow: the same call on both, values, dtypes, shapes and error
types compared."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tf

pytestmark = pytest.mark.oracle

WORDS = ["h\u00e9llo", " a b ", "", "ABC", "x\u00df\u00e0"]
BAD_UTF8 = [b"a\xffb", b"\xf0\x9f", b"ok\xc3", b"\xe2\x82\xac"]

CASES = [
    ("length", lambda m: m.strings.length(WORDS)),
    ("length_utf8", lambda m: m.strings.length(WORDS, unit="UTF8_CHAR")),
    ("length_bad_utf8", lambda m: m.strings.length(BAD_UTF8, unit="UTF8_CHAR")),
    ("substr", lambda m: m.strings.substr(["abcdef", "xyz"], 1, 3)),
    ("substr_neg", lambda m: m.strings.substr(["abcdef", "xyz"], -2, 5)),
    ("substr_end", lambda m: m.strings.substr(["abc"], 3, 2)),
    ("substr_bcast", lambda m: m.strings.substr(["abcd", "efgh"], [0, 1], [1, 2])),
    ("substr_utf8", lambda m: m.strings.substr(["h\u00e9llo", "\u00e0\u00df"], 1, 2, unit="UTF8_CHAR")),
    ("substr_utf8_neg", lambda m: m.strings.substr(["h\u00e9llo"], -3, 2, unit="UTF8_CHAR")),
    ("substr_oob", lambda m: m.strings.substr(["abc", ""], 1, 1)),
    ("substr_oob_neg", lambda m: m.strings.substr(["abc"], -4, 1)),
    ("join", lambda m: m.strings.join([m.constant(WORDS), "!"], separator="-")),
    ("join_2d", lambda m: m.strings.join([[["a"], ["b"]], [["c"], ["d"]]])),
    ("reduce_join", lambda m: m.strings.reduce_join([["a", "b"], ["c", "d"]], axis=1, separator=",")),
    ("reduce_join_all", lambda m: m.strings.reduce_join([["a", "b"], ["c", "d"]])),
    ("reduce_join_keep", lambda m: m.strings.reduce_join([["a", "b"], ["c", "d"]], 0, keepdims=True)),
    ("reduce_join_neg", lambda m: m.strings.reduce_join([[["a", "b"], ["c", "d"]]], axis=-2)),
    ("reduce_join_empty", lambda m: m.strings.reduce_join(m.constant([], m.string))),
    ("strip", lambda m: m.strings.strip([" \t a b\n ", "x", "\x0b\x0cy\r"])),
    ("lower", lambda m: m.strings.lower(WORDS)),
    ("upper", lambda m: m.strings.upper(WORDS)),
    ("lower_utf8", lambda m: m.strings.lower(["\u00c0\u00c9X"], encoding="utf-8")),
    ("upper_utf8", lambda m: m.strings.upper(["\u00e0\u00e9\u00df"], encoding="utf-8")),
    ("regex_replace", lambda m: m.strings.regex_replace(WORDS, "l+", "L")),
    ("regex_replace_first", lambda m: m.strings.regex_replace(WORDS, "[a-z]", "#", replace_global=False)),
    ("regex_replace_groups", lambda m: m.strings.regex_replace(["ab12", "x9"], r"([a-z])(\d)", r"\2\1\0\\")),
    ("regex_replace_dot_utf8", lambda m: m.strings.regex_replace(["h\u00e9"], "h.", "X")),
    ("regex_replace_empty", lambda m: m.strings.regex_replace(["abc"], "x*", "-")),
    ("regex_replace_ascii_w", lambda m: m.strings.regex_replace(["a\u00e9_1"], r"\w", ".")),
    ("regex_full_match", lambda m: m.strings.regex_full_match(WORDS, "[a-zA-Z ]*")),
    ("regex_full_match_dot", lambda m: m.strings.regex_full_match(["\u00e9", "ab"], ".")),
    ("to_number", lambda m: m.strings.to_number(["1.5", "-2", "3e2", " 4 ", "inf", "nan", "0x10", "1e40"])),
    ("to_number_f64", lambda m: m.strings.to_number(["0.1", "-1e-300"], m.float64)),
    ("to_number_int", lambda m: m.strings.to_number(["12", "-3", " 5 ", "+7"], m.int32)),
    ("to_number_int64", lambda m: m.strings.to_number(["99999999999"], m.int64)),
    ("to_number_bad", lambda m: m.strings.to_number(["abc"])),
    ("to_number_int_float", lambda m: m.strings.to_number(["1.5"], m.int32)),
    ("to_number_int_over", lambda m: m.strings.to_number(["99999999999"], m.int32)),
    ("to_number_underscore", lambda m: m.strings.to_number(["1_000"])),
    ("as_string_float", lambda m: m.strings.as_string(m.constant([1.5, 2.0, 1e-7, 1e20, np.nan, -np.inf]))),
    ("as_string_int", lambda m: m.strings.as_string(m.constant([1, -20]))),
    ("as_string_int64", lambda m: m.strings.as_string(m.constant([2**40], m.int64))),
    ("as_string_precision", lambda m: m.strings.as_string(m.constant([3.14159]), precision=2)),
    ("as_string_scientific", lambda m: m.strings.as_string(m.constant([3.14159, 12345.0]), scientific=True)),
    ("as_string_shortest", lambda m: m.strings.as_string(m.constant([3.14159, 1e10, 0.5]), shortest=True)),
    ("as_string_width_fill", lambda m: m.strings.as_string(m.constant([5, -5]), width=4, fill="0")),
    ("as_string_width", lambda m: m.strings.as_string(m.constant([1.5]), width=10)),
    ("as_string_left", lambda m: m.strings.as_string(m.constant([7]), width=3, fill="-")),
    ("as_string_bool", lambda m: m.strings.as_string(m.constant([True, False]))),
    ("as_string_f64", lambda m: m.strings.as_string(m.constant([0.1], m.float64))),
    ("as_string_complex", lambda m: m.strings.as_string(m.constant([1 + 2j], m.complex64))),
    ("as_string_strings", lambda m: m.strings.as_string(m.constant(["a"]))),
    ("as_string_bad_fill", lambda m: m.strings.as_string(m.constant([5]), width=4, fill="ab")),
    ("as_string_both", lambda m: m.strings.as_string(m.constant([5.0]), scientific=True, shortest=True)),
    ("format", lambda m: m.strings.format("x={} y={}", [m.constant([1, 2]), m.constant("s")])),
    ("format_long", lambda m: m.strings.format("{}", m.range(20))),
    ("format_matrix", lambda m: m.strings.format("{}", m.constant([[1.5, 2], [3, 4]]))),
    ("format_placeholder", lambda m: m.strings.format("a%sb", [1], placeholder="%s")),
    ("format_summarize", lambda m: m.strings.format("{}", m.range(20), summarize=2)),
    ("format_strings", lambda m: m.strings.format("{}", m.constant(["a", "b"]))),
    ("ngrams", lambda m: m.strings.ngrams(m.constant(["a", "b", "c", "d"]), 2)),
    ("ngrams_widths", lambda m: m.strings.ngrams(m.constant(["a", "b", "c"]), [1, 3], separator="_")),
    ("ngrams_pad_pair", lambda m: m.strings.ngrams(m.constant(["a", "b"]), 3, pad_values=("<s>", "</s>"),
                                                   padding_width=1)),
    ("ngrams_2d", lambda m: m.strings.ngrams(m.constant([["a", "b", "c"], ["d", "e", "f"]]), 2)),
    ("ngrams_pad", lambda m: m.strings.ngrams(m.constant(["a", "b"]), 2, pad_values="#")),
    ("ngrams_short", lambda m: m.strings.ngrams(m.constant(["a"]), 2)),
    ("ngrams_preserve", lambda m: m.strings.ngrams(m.constant(["a", "b"]), 4, preserve_short_sequences=True)),
    ("ngrams_pad_full", lambda m: m.strings.ngrams(m.constant(["a", "b", "c"]), 3, pad_values="#")),
    ("segment_join", lambda m: m.strings.unsorted_segment_join(m.constant(["a", "b", "c", "d"]),
                                                               [0, 1, 0, 3], 4, separator=":")),
    ("segment_join_2d", lambda m: m.strings.unsorted_segment_join(m.constant([["a", "b"], ["c", "d"]]), [1, 1], 2)),
    ("segment_join_bad", lambda m: m.strings.unsorted_segment_join(m.constant(["a"]), [5], 2)),
    ("bytes_split", lambda m: m.strings.bytes_split("h\u00e9y")),
    ("unicode_decode", lambda m: m.strings.unicode_decode("h\u00e9y\U0001f600", "UTF-8")),
    ("unicode_decode_invalid", lambda m: m.strings.unicode_decode(b"a\xffb\xf0\x9f", "UTF-8")),
    ("unicode_decode_strict", lambda m: m.strings.unicode_decode(b"a\xffb", "UTF-8", errors="strict")),
    ("unicode_decode_ignore", lambda m: m.strings.unicode_decode(b"a\xffb", "UTF-8", errors="ignore")),
    ("unicode_decode_replacement", lambda m: m.strings.unicode_decode(b"a\xffb", "UTF-8", replacement_char=63)),
    ("unicode_decode_control", lambda m: m.strings.unicode_decode(b"a\x01b", "UTF-8",
                                                                  replace_control_characters=True)),
    ("unicode_decode_utf16", lambda m: m.strings.unicode_decode("h\u00e9".encode("utf-16-be"), "UTF-16-BE")),
    ("unicode_decode_latin1", lambda m: m.strings.unicode_decode(b"\xe9", "ISO-8859-1")),
    ("unicode_decode_offsets", lambda m: m.strings.unicode_decode_with_offsets(b"h\xc3\xa9\xffy", "UTF-8")),
    ("unicode_decode_offsets_ignore", lambda m: m.strings.unicode_decode_with_offsets(b"h\xff\xc3\xa9y", "UTF-8",
                                                                                      errors="ignore")),
    ("unicode_encode", lambda m: m.strings.unicode_encode([104, 233, 121, 128512], "UTF-8")),
    ("unicode_encode_2d", lambda m: m.strings.unicode_encode([[104, 233], [121, 122]], "UTF-16-BE")),
    ("unicode_encode_utf32", lambda m: m.strings.unicode_encode([104, 233], "UTF-32-BE")),
    ("unicode_encode_invalid", lambda m: m.strings.unicode_encode([0x110000, 0xD800, 65], "UTF-8")),
    ("unicode_encode_strict", lambda m: m.strings.unicode_encode([0x110000], "UTF-8", errors="strict")),
    ("unicode_encode_ignore", lambda m: m.strings.unicode_encode([104, -1], "UTF-8", errors="ignore")),
    ("unicode_transcode", lambda m: m.strings.unicode_transcode(["h\u00e9y", b"a\xffb"], "UTF-8", "UTF-16-BE")),
    ("unicode_transcode_replacement", lambda m: m.strings.unicode_transcode([b"a\xffb"], "UTF-8", "UTF-8",
                                                                            replacement_char=42)),
    ("unicode_transcode_control", lambda m: m.strings.unicode_transcode([b"a\x01b"], "UTF-8", "UTF-8",
                                                                        replace_control_characters=True)),
    ("unicode_split", lambda m: m.strings.unicode_split("h\u00e9y", "UTF-8")),
    # RaggedTensor results (a batch of strings) and ragged inputs
    ("split_scalar", lambda m: m.strings.split("a b  c ")),
    ("split_whitespace", lambda m: m.strings.split([" a b ", "", "c", "a\tb\nc\x0bd\x0ce\rf", "a\u00a0b"])),
    ("split_sep_2d", lambda m: m.strings.split([["a,b", ""], [",", "x,,y"]], sep=",")),
    ("split_maxsplit", lambda m: m.strings.split([" a b c "], maxsplit=1)),
    ("split_sep_maxsplit", lambda m: m.strings.split(["a,b,c"], sep=",", maxsplit=1)),
    ("split_empty_sep", lambda m: m.strings.split(["abc"], sep="")),
    ("split_long_sep", lambda m: m.strings.split(["a<>b<>c"], sep="<>")),
    ("bytes_split_batch", lambda m: m.strings.bytes_split([["ab"], ["c"]])),
    ("unicode_decode_batch", lambda m: m.strings.unicode_decode(["h\u00e9", "", b"a\xff"], "UTF-8")),
    ("unicode_decode_offsets_batch", lambda m: m.strings.unicode_decode_with_offsets(["h\u00e9", "xy"], "UTF-8")),
    ("unicode_split_batch", lambda m: m.strings.unicode_split([["h\u00e9"], [""]], "UTF-8")),
    ("unicode_encode_ragged", lambda m: m.strings.unicode_encode(m.ragged.constant([[104, 233], []]), "UTF-8")),
    ("ngrams_ragged", lambda m: m.strings.ngrams(m.ragged.constant([["a", "b", "c"], ["d"], []]), 2,
                                                 pad_values="#")),
    ("ragged_length", lambda m: m.strings.length(m.ragged.constant([["ab", "c"], ["d\u00e9f"]]), unit="UTF8_CHAR")),
    ("ragged_regex", lambda m: m.strings.regex_replace(m.ragged.constant([["ab", "c"], []]), "b", "X")),
    ("ragged_to_number", lambda m: m.strings.to_number(m.ragged.constant([["1"], ["2", "3"]]))),
    ("ragged_hash", lambda m: m.strings.to_hash_bucket_fast(m.ragged.constant([["ab", "c"], ["d"]]), 1000)),
    ("unicode_split_offsets", lambda m: m.strings.unicode_split_with_offsets("h\u00e9y", "UTF-8")),
]


def _run(m, fn):
    try:
        return fn(m), None
    except Exception as e:  # noqa: BLE001 - the error type is what is compared
        return None, e


def _compare(ours, theirs):
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            _compare(a, b)
        return
    assert ours.dtype.name == theirs.dtype.name
    assert tuple(ours.shape) == tuple(theirs.shape)
    if type(theirs).__name__ == "RaggedTensor":
        assert type(ours).__name__ == "RaggedTensor" and ours.ragged_rank == theirs.ragged_rank
        assert ours.to_list() == theirs.to_list()
        return
    a, b = ours.numpy(), theirs.numpy()
    if isinstance(b, np.ndarray) and b.dtype.kind == "f":
        np.testing.assert_array_equal(a, b)
    else:
        assert np.asarray(a).tolist() == np.asarray(b).tolist()


@pytest.mark.parametrize("fn", [f for _, f in CASES], ids=[n for n, _ in CASES])
def test_strings_op_matches_tf(fn):
    real = pytest.importorskip("tensorflow")
    theirs, their_error = _run(real, fn)
    ours, our_error = _run(tf, fn)
    if their_error is not None:
        assert our_error is not None, f"TF raised {their_error!r}, we returned {ours!r}"
        expected = ValueError if isinstance(their_error, real.errors.InvalidArgumentError) else type(their_error)
        assert isinstance(our_error, expected), (our_error, their_error)
        return
    assert our_error is None, our_error
    _compare(ours, theirs)


HASH_STRINGS = [bytes(np.random.default_rng(0).integers(0, 256, n, dtype=np.uint8))
                for n in [*range(0, 70), 100, 127, 128, 129, 200, 256, 300]]


@pytest.mark.parametrize("which", ["fast", "strong", "legacy"])
def test_hash_buckets_match_tf(which):
    real = pytest.importorskip("tensorflow")
    buckets = 2**62 + 7  # large, so the comparison sees nearly the whole 64-bit hash

    def run(m):
        s = m.constant(HASH_STRINGS)
        if which == "fast":
            return m.strings.to_hash_bucket_fast(s, buckets)
        if which == "strong":
            return m.strings.to_hash_bucket_strong(s, buckets, [123456789, -5])
        return m.strings.to_hash_bucket(s, buckets)

    _compare(run(tf), run(real))
    small = tf.strings.to_hash_bucket_fast(["a", "b", "Hello"], 10).numpy()
    assert small.tolist() == real.strings.to_hash_bucket_fast(["a", "b", "Hello"], 10).numpy().tolist()


def test_strings_ops_in_tf_function():
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def pipeline(s):
        n = tf.strings.to_number(tf.strings.regex_replace(s, "[^0-9]", ""), tf.int32)
        label = tf.strings.join([tf.strings.upper(s), tf.strings.as_string(n)], separator=":")
        return label, tf.strings.length(s), tf.strings.to_hash_bucket_fast(s, 7)

    label, length, bucket = pipeline(tf.constant(["ab1", "c22"]))
    assert label.numpy().tolist() == [b"AB1:1", b"C22:22"]
    assert length.numpy().tolist() == [3, 3]
    assert pipeline.get_concrete_function().structured_outputs[0].shape.as_list() == [None]
    again = pipeline(tf.constant(["x3", "y4", "z5"]))[0]
    assert again.numpy().tolist() == [b"X3:3", b"Y4:4", b"Z5:5"]
    assert bucket.dtype == tf.int64

    @tf.function
    def decode(s):
        return tf.strings.unicode_decode(s, "UTF-8")

    assert decode(tf.constant("h\u00e9")).numpy().tolist() == [104, 233]
    assert decode(tf.constant("abc")).numpy().tolist() == [97, 98, 99]


def test_strings_in_dataset_map():
    ds = tf.data.Dataset.from_tensor_slices(["1,2", "3,4"]).map(
        lambda s: tf.strings.to_number(tf.strings.substr(s, 2, 1)))
    assert [float(v) for v in ds] == [2.0, 4.0]


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unit"):
        tf.strings.length(["a"], unit="CHAR")
    with pytest.raises(TypeError, match="must be strings|tf.string"):
        tf.strings.length(tf.constant([1.0]))
    with pytest.raises(ValueError, match="num_buckets"):
        tf.strings.to_hash_bucket_fast(["a"], 0)
    with pytest.raises(ValueError, match="key must have 2 elements"):
        tf.strings.to_hash_bucket_strong(["a"], 3, [1])
    with pytest.raises(ValueError, match="rewrite"):
        tf.strings.regex_replace(["a"], "(a)", r"\2")
    with pytest.raises(ValueError, match="UTF-8, UTF-16-BE, UTF-32-BE"):
        tf.strings.unicode_encode([65], "latin-1")
    with pytest.raises(TypeError, match="out_type"):
        tf.strings.to_number(["1"], tf.int8)


def test_namespace_matches_tf():
    real = pytest.importorskip("tensorflow")
    theirs = {n for n in dir(real.strings) if not n.startswith("_")}
    ours = {n for n in dir(tf.strings) if not n.startswith("_")}
    assert theirs - ours == set()
    assert set(tf.strings.__all__) <= theirs
    gfile = {n for n in dir(real.io.gfile) if not n.startswith("_")}
    assert gfile <= {n for n in dir(tf.io.gfile) if not n.startswith("_")}


def test_content_dependent_ops_trace_from_a_signature_alone():
    # Traced before any call: the stand-in strings are too short for pos=2, yet the trace holds.
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def third_char(s):
        return tf.strings.substr(s, 2, 1)

    assert third_char.get_concrete_function().structured_outputs.shape.as_list() == [None]
    assert third_char(tf.constant(["1bc", "2yz1"])).numpy().tolist() == [b"c", b"z"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="pos 2 out of range"):
        third_char(tf.constant(["a"]))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string), tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([], tf.int32)])
    def grouped(s, ids, n):
        return tf.strings.unsorted_segment_join(s, ids, n, separator="+")

    grouped.get_concrete_function()
    assert grouped(tf.constant(["a", "b", "c"]), tf.constant([2, 0, 2]), tf.constant(3)).numpy().tolist() == [
        b"b", b"", b"a+c"]
