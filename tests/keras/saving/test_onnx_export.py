"""ONNX export: every exportable layer alone and whole models, checked with onnx.checker and run
in onnxruntime against Tapeflow's own predictions."""

from __future__ import annotations

import numpy as np
import pytest
from keras_catalogue import BUILDERS, MORE_BUILDERS, more_inputs, randomize, sample_inputs

from tapeflow import keras as tk
from tapeflow.keras import layers as L

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from tapeflow.keras.saving.onnx_export import ExportError, to_onnx  # noqa: E402


def _run(model, xs):
    proto = to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    xs = xs if isinstance(xs, list) else [xs]
    return session.run(None, {i.name: x for i, x in zip(session.get_inputs(), xs, strict=True)})


def _check(model, xs, atol=1e-5):
    want = model.predict(xs, verbose=0)
    want = want if isinstance(want, list) else [want]
    got = _run(model, xs)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == np.asarray(w).shape
        np.testing.assert_allclose(g, np.asarray(w), atol=atol, rtol=0)


ACTIVATIONS = ["relu", "sigmoid", "tanh", "softmax", "gelu", "swish", "silu", "elu", "selu", "softplus", "softsign",
               "relu6", "leaky_relu", "hard_sigmoid", "exponential", "log_softmax", "mish", "linear", "hard_silu"]

LAYERS = {
    "dense3d": (lambda: L.Dense(3), (4, 5)),
    "einsum_dense": (lambda: L.EinsumDense("...b,bc->...c", output_shape=4, bias_axes="c", activation="relu"), (3, 5)),
    "relu_layer": (lambda: L.ReLU(max_value=1.5, negative_slope=0.1), (6,)),
    "leaky_relu_layer": (lambda: L.LeakyReLU(negative_slope=0.3), (6,)),
    "elu_layer": (lambda: L.ELU(alpha=0.5), (6,)),
    "softmax_axis1": (lambda: L.Softmax(axis=1), (3, 4)),
    "dropout": (lambda: L.Dropout(0.5), (6,)),
    "gaussian_noise": (lambda: L.GaussianNoise(0.3), (6,)),
    "flatten": (lambda: L.Flatten(), (2, 3, 4)),
    "reshape": (lambda: L.Reshape((4, 6)), (6, 4)),
    "permute": (lambda: L.Permute((2, 1)), (3, 5)),
    "repeat_vector": (lambda: L.RepeatVector(3), (4,)),
    "conv1d_causal_dilated": (lambda: L.Conv1D(3, 3, padding="causal", dilation_rate=2, activation="relu"), (9, 2)),
    "conv1d_same_strided": (lambda: L.Conv1D(3, 4, strides=2, padding="same"), (9, 2)),
    "conv2d_same_strided": (lambda: L.Conv2D(4, 3, strides=2, padding="same", activation="tanh"), (7, 6, 2)),
    "conv2d_valid_dilated": (lambda: L.Conv2D(3, 2, dilation_rate=2), (7, 7, 2)),
    "conv2d_groups": (lambda: L.Conv2D(4, 3, groups=2, padding="same"), (5, 5, 4)),
    "conv2d_channels_first": (lambda: L.Conv2D(3, 3, data_format="channels_first"), (2, 6, 6)),
    "conv3d": (lambda: L.Conv3D(2, 2, padding="same"), (4, 4, 4, 2)),
    "adaptive_avg1d": (lambda: L.AdaptiveAveragePooling1D(3), (7, 2)),
    "adaptive_max1d_grow": (lambda: L.AdaptiveMaxPooling1D(5), (3, 2)),
    "adaptive_avg2d": (lambda: L.AdaptiveAveragePooling2D((2, 3)), (5, 7, 2)),
    "adaptive_max2d_channels_first": (lambda: L.AdaptiveMaxPooling2D(3, data_format="channels_first"), (2, 5, 4)),
    "adaptive_avg3d": (lambda: L.AdaptiveAveragePooling3D((2, 1, 3)), (3, 4, 5, 2)),
    "adaptive_max3d": (lambda: L.AdaptiveMaxPooling3D(2), (3, 3, 5, 1)),
    "conv1d_transpose": (lambda: L.Conv1DTranspose(3, 3, strides=2, padding="same"), (5, 2)),
    "conv2d_transpose_same": (lambda: L.Conv2DTranspose(3, 3, strides=2, padding="same"), (4, 5, 2)),
    "conv2d_transpose_valid": (lambda: L.Conv2DTranspose(2, 2, strides=3), (3, 3, 2)),
    "conv3d_transpose": (lambda: L.Conv3DTranspose(2, 3, strides=2, padding="same"), (3, 3, 3, 2)),
    "depthwise_conv2d": (lambda: L.DepthwiseConv2D(3, depth_multiplier=2, padding="same"), (5, 5, 3)),
    "separable_conv2d": (lambda: L.SeparableConv2D(4, 3, depth_multiplier=2, activation="relu"), (6, 6, 3)),
    "separable_conv1d": (lambda: L.SeparableConv1D(4, 3, padding="same"), (7, 3)),
    "max_pool1d": (lambda: L.MaxPooling1D(2), (7, 3)),
    "avg_pool1d_same": (lambda: L.AveragePooling1D(3, strides=2, padding="same"), (7, 3)),
    "max_pool2d_same": (lambda: L.MaxPooling2D(3, strides=2, padding="same"), (7, 6, 2)),
    "avg_pool2d_same": (lambda: L.AveragePooling2D(2, padding="same"), (5, 5, 2)),
    "max_pool3d": (lambda: L.MaxPooling3D(2), (4, 4, 4, 2)),
    "avg_pool3d": (lambda: L.AveragePooling3D(2), (4, 4, 4, 2)),
    "global_max1d": (lambda: L.GlobalMaxPooling1D(), (5, 3)),
    "global_avg2d_keepdims": (lambda: L.GlobalAveragePooling2D(keepdims=True), (4, 4, 3)),
    "global_max3d": (lambda: L.GlobalMaxPooling3D(), (3, 3, 3, 2)),
    "batch_norm": (lambda: L.BatchNormalization(epsilon=0.01), (4, 4, 3)),
    "batch_norm_axis1": (lambda: L.BatchNormalization(axis=1), (3, 4)),
    "layer_norm": (lambda: L.LayerNormalization(), (4, 6)),
    "layer_norm_two_axes": (lambda: L.LayerNormalization(axis=[-2, -1], center=False), (3, 4, 5)),
    "layer_norm_middle_axis": (lambda: L.LayerNormalization(axis=1, epsilon=0.01), (3, 4, 5)),
    "layer_norm_first_and_last": (lambda: L.LayerNormalization(axis=[1, 3], scale=False), (3, 4, 5)),
    "layer_norm_rms": (lambda: L.LayerNormalization(rms_scaling=True), (4, 6)),
    "layer_norm_rms_middle": (lambda: L.LayerNormalization(axis=-2, rms_scaling=True), (4, 6)),
    "group_norm": (lambda: L.GroupNormalization(2), (4, 4, 6)),
    "group_norm_instance": (lambda: L.GroupNormalization(-1, epsilon=0.1, center=False), (5, 3)),
    "group_norm_layer_like": (lambda: L.GroupNormalization(1, scale=False), (3, 3, 2, 4)),
    "group_norm_channels_first": (lambda: L.GroupNormalization(3, axis=1), (6, 4, 4)),
    "unit_norm": (lambda: L.UnitNormalization(axis=[1, 2]), (3, 4)),
    "rms_norm": (lambda: L.RMSNormalization(epsilon=1e-3), (3, 5)),
    "lstm_sequences": (lambda: L.LSTM(4, return_sequences=True), (5, 3)),
    "lstm_last_backwards": (lambda: L.LSTM(4, go_backwards=True), (5, 3)),
    "gru": (lambda: L.GRU(4), (5, 3)),
    "gru_reset_before": (lambda: L.GRU(4, reset_after=False, return_sequences=True), (5, 3)),
    "simple_rnn": (lambda: L.SimpleRNN(4, activation="relu"), (5, 3)),
    "bidirectional_lstm_sum": (lambda: L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="sum"), (5, 2)),
    "bidirectional_gru_ave": (lambda: L.Bidirectional(L.GRU(3), merge_mode="ave"), (5, 2)),
    "bidirectional_rnn_mul": (lambda: L.Bidirectional(L.SimpleRNN(3), merge_mode="mul"), (5, 2)),
    "time_distributed_conv": (lambda: L.TimeDistributed(L.Conv2D(2, 3)), (3, 5, 5, 2)),
    "zero_padding1d": (lambda: L.ZeroPadding1D((1, 2)), (4, 3)),
    "zero_padding2d": (lambda: L.ZeroPadding2D(((1, 0), (2, 1))), (3, 4, 2)),
    "zero_padding3d": (lambda: L.ZeroPadding3D(1), (2, 2, 2, 1)),
    "cropping1d": (lambda: L.Cropping1D((1, 0)), (5, 3)),
    "cropping2d": (lambda: L.Cropping2D(((1, 1), (0, 2))), (5, 6, 2)),
    "cropping3d": (lambda: L.Cropping3D(1), (4, 4, 4, 1)),
    "upsampling1d": (lambda: L.UpSampling1D(3), (4, 2)),
    "upsampling2d_nearest": (lambda: L.UpSampling2D((2, 3)), (3, 4, 2)),
    "upsampling2d_bilinear": (lambda: L.UpSampling2D(2, interpolation="bilinear"), (3, 4, 2)),
    "upsampling3d": (lambda: L.UpSampling3D(2), (2, 2, 2, 1)),
    "prelu_shared": (lambda: L.PReLU(shared_axes=[1, 2]), (3, 4, 2)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_alone(name):
    make, shape = LAYERS[name]
    model = tk.Sequential([tk.Input(shape), make()])
    randomize(model, seed=1)
    x = np.random.default_rng(0).standard_normal((3, *shape)).astype("float32")
    _check(model, x)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_activations(activation):
    model = tk.Sequential([tk.Input((5,)), L.Dense(4, activation=activation)])
    randomize(model, seed=2)
    _check(model, np.random.default_rng(0).standard_normal((3, 5)).astype("float32"))


def test_embedding_lstm_state_outputs():
    inp = tk.Input((6,), dtype="int32")
    seq, h, c = L.LSTM(3, return_state=True)(L.Embedding(10, 4)(inp))
    model = tk.Model(inp, [seq, h, c])
    randomize(model, seed=3)
    _check(model, np.random.default_rng(0).integers(0, 10, (2, 6)).astype("int32"))


@pytest.mark.parametrize("merge", ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"])
def test_merge_layers(merge):
    a, b = tk.Input((3, 4)), tk.Input((3, 4))
    model = tk.Model([a, b], getattr(L, merge)()([a, b]))
    rng = np.random.default_rng(1)
    _check(model, [rng.standard_normal((2, 3, 4)).astype("float32") for _ in range(2)])


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_whole_models(name):
    model = BUILDERS[name](tk)
    randomize(model, seed=4)
    _check(model, sample_inputs(name))


def test_model_export_writes_a_file_with_a_dynamic_batch(tmp_path, capsys):
    model = BUILDERS["cnn2d"](tk)
    randomize(model, seed=5)
    path = tmp_path / "m.onnx"
    model.export(path, format="onnx")
    assert f"Saved artifact at '{path}'." in capsys.readouterr().out
    proto = onnx.load(str(path))
    assert proto.opset_import[0].version >= 17
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    import tapeflow.onnx

    tapeflow.onnx.export(model, tmp_path / "same.onnx")
    assert onnx.load(str(tmp_path / "same.onnx")).graph == proto.graph
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 5):
        x = np.random.default_rng(batch).standard_normal((batch, 8, 8, 2)).astype("float32")
        np.testing.assert_allclose(session.run(None, {session.get_inputs()[0].name: x})[0],
                                   model.predict(x, verbose=0), atol=1e-5)


def test_unexportable_layers_and_models_are_named():
    class Scale(L.Layer):
        def call(self, x):
            return x * 2.0

    model = tk.Sequential([tk.Input((3,)), L.Dense(2), Scale(name="my_scale")])
    with pytest.raises(ExportError, match="Scale 'my_scale'"):
        to_onnx(model)
    lstm = tk.Sequential([tk.Input((4, 2), batch_size=2), L.LSTM(3, stateful=True, name="kept")])
    with pytest.raises(ExportError, match="LSTM 'kept'.*stateful"):
        to_onnx(lstm)

    class Sub(tk.Model):
        def call(self, x):
            return x

    with pytest.raises(ExportError, match="subclassed"):
        to_onnx(Sub())
    with pytest.raises(ValueError, match="opset_version"):
        to_onnx(model, opset_version=13)


# -- masks, states, backwards sequences, ConvLSTM ------------------------------------------------


def _padded_tokens(seed=0):
    """Token ids with post-padding, pre-padding (Keras's pad_sequences default), a hole and none."""
    x = np.random.default_rng(seed).integers(1, 10, size=(4, 7)).astype("int32")
    x[0, 4:] = 0
    x[1, :3] = 0
    x[2, 2:4] = 0
    return x


RECURRENT = {
    "lstm": lambda **kw: L.LSTM(3, **kw),
    "gru": lambda **kw: L.GRU(3, **kw),
    "gru_reset_before": lambda **kw: L.GRU(3, reset_after=False, **kw),
    "simple_rnn": lambda **kw: L.SimpleRNN(3, **kw),
}


@pytest.mark.parametrize("kind", sorted(RECURRENT))
@pytest.mark.parametrize("options", [{}, {"return_sequences": True}, {"go_backwards": True},
                                     {"return_sequences": True, "go_backwards": True},
                                     {"return_sequences": True, "zero_output_for_mask": True}])
def test_masked_recurrent_layers(kind, options):
    model = tk.Sequential([tk.Input((7,), dtype="int32"), L.Embedding(10, 4, mask_zero=True), L.Dense(4),
                           RECURRENT[kind](**options)])
    randomize(model, seed=5)
    _check(model, _padded_tokens())


def test_masking_layer_before_stacked_recurrent_layers():
    x = np.random.default_rng(2).standard_normal((3, 6, 2)).astype("float32")
    x[0, 3:] = -1.0
    x[1, :2] = -1.0
    model = tk.Sequential([tk.Input((6, 2)), L.Masking(mask_value=-1.0), L.LSTM(4, return_sequences=True),
                           L.Dropout(0.5), L.GRU(3, return_sequences=True), L.TimeDistributed(L.Dense(2)),
                           L.SimpleRNN(2)])
    randomize(model, seed=6)
    _check(model, x)


@pytest.mark.parametrize("kind", sorted(RECURRENT))
@pytest.mark.parametrize("masked", [False, True])
def test_return_state_and_initial_states(kind, masked):
    tokens = tk.Input((7,), dtype="int32")
    n_states = 2 if kind == "lstm" else 1
    starts = [tk.Input((3,)) for _ in range(n_states)]
    seq = L.Embedding(10, 3, mask_zero=masked)(tokens)
    first = RECURRENT[kind](return_sequences=True, return_state=True)
    out, *states = first(seq, initial_state=starts)
    second = RECURRENT[kind](return_state=True, go_backwards=True)
    last, *final = second(out, initial_state=states)
    model = tk.Model([tokens, *starts], [out, last, *states, *final])
    randomize(model, seed=7)
    rng = np.random.default_rng(3)
    _check(model, [_padded_tokens(), *[rng.standard_normal((4, 3)).astype("float32") for _ in starts]])


@pytest.mark.parametrize("merge_mode", ["concat", "sum", None])
@pytest.mark.parametrize("masked", [False, True])
def test_bidirectional_with_masks_states_and_initial_states(merge_mode, masked):
    tokens = tk.Input((7,), dtype="int32")
    starts = [tk.Input((3,)) for _ in range(4)]
    seq = L.Embedding(10, 3, mask_zero=masked)(tokens)
    outs = L.Bidirectional(L.LSTM(3, return_sequences=True, return_state=True), merge_mode=merge_mode)(
        seq, initial_state=starts)
    gru = L.Bidirectional(L.GRU(2), merge_mode="ave")(seq)
    model = tk.Model([tokens, *starts], [*outs, gru])
    randomize(model, seed=8)
    rng = np.random.default_rng(4)
    _check(model, [_padded_tokens(), *[rng.standard_normal((4, 3)).astype("float32") for _ in starts]])


CONV_LSTMS = {
    "conv_lstm1d_same": (lambda: L.ConvLSTM1D(3, 3, padding="same", return_sequences=True), (4, 6, 2)),
    "conv_lstm1d_strided_last": (lambda: L.ConvLSTM1D(2, 2, strides=2, go_backwards=True), (3, 7, 2)),
    "conv_lstm2d_valid": (lambda: L.ConvLSTM2D(2, 3, return_sequences=True), (3, 5, 5, 2)),
    "conv_lstm2d_same_dilated": (lambda: L.ConvLSTM2D(3, 2, padding="same", dilation_rate=2,
                                                      recurrent_activation="hard_sigmoid"), (3, 4, 5, 1)),
    "conv_lstm2d_channels_first": (lambda: L.ConvLSTM2D(2, 3, data_format="channels_first",
                                                        return_sequences=True), (3, 2, 5, 5)),
}


@pytest.mark.parametrize("name", sorted(CONV_LSTMS))
def test_conv_lstm(name):
    make, shape = CONV_LSTMS[name]
    model = tk.Sequential([tk.Input(shape), make()])
    randomize(model, seed=9)
    _check(model, np.random.default_rng(5).standard_normal((2, *shape)).astype("float32"))


def test_conv_lstm_states_out():
    x = tk.Input((3, 5, 5, 2))
    y, h, c = L.ConvLSTM2D(2, 3, padding="same", return_state=True)(x)
    model = tk.Model(x, [y, h, c])
    randomize(model, seed=10)
    _check(model, np.random.default_rng(6).standard_normal((2, 3, 5, 5, 2)).astype("float32"))


@pytest.mark.parametrize("pool", ["GlobalAveragePooling1D", "GlobalMaxPooling1D"])
def test_masked_global_pooling(pool):
    tokens = tk.Input((7,), dtype="int32")
    x = L.Dense(3)(L.Embedding(10, 4, mask_zero=True)(tokens))
    model = tk.Model(tokens, getattr(L, pool)()(x))
    randomize(model, seed=11)
    _check(model, _padded_tokens())


@pytest.mark.parametrize("merge", ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
                                   "Concatenate1"])
@pytest.mark.parametrize("second_masked", [True, False])
def test_masked_merges(merge, second_masked):
    """Merged masks (Keras 3's rules, see tests/keras/layers/test_merge_masks.py) reach the LSTM and
    the average pooling; Multiply/Maximum/Minimum apply them to the values."""
    a, b = tk.Input((7,), dtype="int32"), tk.Input((7,), dtype="int32")
    x = L.Embedding(10, 4, mask_zero=True)(a)
    y = L.Embedding(10, 4, mask_zero=second_masked)(b)
    layer = L.Concatenate(axis=1) if merge == "Concatenate1" else getattr(L, merge)()
    m = layer([x, y])
    model = tk.Model([a, b], [m, L.LSTM(3, return_sequences=True)(m), L.GlobalAveragePooling1D()(m)])
    randomize(model, seed=12)
    _check(model, [_padded_tokens(), _padded_tokens(1)[::-1].copy()])


MASKED_ATTENTIONS = {
    "attention": lambda x, y: L.Attention()([x, y]),
    "additive_attention": lambda x, y: L.AdditiveAttention()([x, y]),
    "multi_head_attention": lambda x, y: L.MultiHeadAttention(2, 2)(x, y),
    "grouped_query_attention": lambda x, y: L.GroupQueryAttention(2, 2, 1)(x, y),
}


@pytest.mark.parametrize("kind", sorted(MASKED_ATTENTIONS))
def test_masks_through_attention(kind):
    """A list input passes its tensors' masks; the output carries the query's mask to an LSTM
    (the Keras oracle: tests/keras/layers/test_merge_masks.py)."""
    a, b = tk.Input((5,), dtype="int32"), tk.Input((6,), dtype="int32")
    out = MASKED_ATTENTIONS[kind](L.Embedding(10, 4, mask_zero=True)(a), L.Embedding(10, 4, mask_zero=True)(b))
    model = tk.Model([a, b], [out, L.LSTM(2)(out)])
    randomize(model, seed=14)
    _check(model, [_padded_tokens()[:, :5].copy(), _padded_tokens(1)[::-1, :6].copy()])


GENERIC_RNNS = {
    "lstm_cell": lambda: L.RNN(L.LSTMCell(3)),
    "gru_cell_backwards_sequences": lambda: L.RNN(L.GRUCell(3, reset_after=False), return_sequences=True,
                                                  go_backwards=True, zero_output_for_mask=True),
    "stacked_cells_states": lambda: L.RNN([L.LSTMCell(3), L.SimpleRNNCell(2), L.GRUCell(2)], return_state=True),
    "bidirectional_cell": lambda: L.Bidirectional(L.RNN(L.SimpleRNNCell(2), return_sequences=True)),
}


@pytest.mark.parametrize("name", sorted(GENERIC_RNNS))
@pytest.mark.parametrize("masked", [False, True])
def test_generic_rnn_over_cells(name, masked):
    """keras.layers.RNN over the built-in cells (stacked too) as a Scan, masked or not."""
    tokens = tk.Input((7,), dtype="int32")
    out = GENERIC_RNNS[name]()(L.Embedding(10, 4, mask_zero=masked)(tokens))
    model = tk.Model(tokens, out)
    randomize(model, seed=8)
    _check(model, _padded_tokens())


def test_masked_cells_model_from_the_keras_catalogue():
    """The catalogue model Keras also loads (tests/keras/saving/test_keras_files.py): a mask through
    SpatialDropout1D into stacked cells, and a normalized Dot."""
    model = MORE_BUILDERS["masked_cells"](tk)
    randomize(model, seed=9)
    _check(model, more_inputs("masked_cells"))


def test_reversible_embedding_and_spectral_normalization():
    """The catalogue model Keras also loads: a tied ReversibleEmbedding's mask (set in its call)
    reaches the LSTM, reverse calls give logits (soft-capped when untied)."""
    model = MORE_BUILDERS["reversible"](tk)
    randomize(model, seed=4)
    _check(model, more_inputs("reversible"))


def test_pipeline_layers():
    """Each layer in turn (augmentations as the identity), the embedding's mask reaching the LSTM."""
    model = MORE_BUILDERS["pipeline"](tk)
    randomize(model, seed=6)
    _check(model, more_inputs("pipeline"))


@pytest.mark.parametrize("axes", [(2, 2), (1, 1), 1])
@pytest.mark.parametrize("normalize", [False, True])
def test_dot(axes, normalize):
    a, b = tk.Input((5, 4)), tk.Input((5, 4))
    left, right = (a, b) if axes != 1 else (L.Flatten()(a), L.Flatten()(b))
    model = tk.Model([a, b], L.Dot(axes=axes, normalize=normalize)([left, right]))
    _check(model, _two_sequences()[:1] * 2)


def test_softmax_with_a_mask_argument():
    """Keras's rule: masked logits -1e9, masked outputs 0 (an all-masked row gives zeros)."""
    x, float_mask, bool_mask = tk.Input((3, 5)), tk.Input((3, 5)), tk.Input((1, 5), dtype="bool")
    model = tk.Model([x, float_mask, bool_mask], [L.Softmax()(x, mask=float_mask),
                                                  L.Softmax(axis=(1, 2))(x, mask=bool_mask)])
    rng = np.random.default_rng(0)
    _check(model, [rng.standard_normal((2, 3, 5)).astype("float32"), rng.random((2, 3, 5)).astype("float32"),
                   np.asarray([[[1, 0, 1, 1, 0]], [[0, 0, 0, 0, 0]]], bool)])


def test_time_distributed_passes_each_step_its_mask():
    """Keras gives the inner layer each step's slice of the mask: here (batch, 4) per step of a
    (batch, 5, 4) mask, for an LSTM and a backwards GRU over every step's 4 tokens."""
    tokens = tk.Input((5, 4), dtype="int32")
    seq = L.Embedding(10, 3, mask_zero=True)(tokens)  # (batch, 5, 4, 3) with a (batch, 5, 4) mask
    model = tk.Model(tokens, [L.TimeDistributed(L.LSTM(2))(seq), L.TimeDistributed(L.GRU(2, go_backwards=True))(seq)])
    randomize(model, seed=3)
    x = np.random.default_rng(0).integers(0, 4, (3, 5, 4)).astype("int32")
    x[0, 0] = 0  # a step with every token masked
    _check(model, x)


# -- attention: masks, causal, returned scores ---------------------------------------------------


def _two_sequences():
    rng = np.random.default_rng(7)
    return [rng.standard_normal((3, 5, 4)).astype("float32"), rng.standard_normal((3, 6, 4)).astype("float32")]


ATTENTIONS = {
    "dot": lambda: L.Attention(),
    "dot_scaled": lambda: L.Attention(use_scale=True),
    "concat": lambda: L.Attention(use_scale=True, score_mode="concat"),
    "additive": lambda: L.AdditiveAttention(),
    "additive_unscaled": lambda: L.AdditiveAttention(use_scale=False),
}


@pytest.mark.parametrize("name", sorted(ATTENTIONS))
@pytest.mark.parametrize("call", [{}, {"use_causal_mask": True}, {"return_attention_scores": True}])
def test_attention_layers(name, call):
    q, v = tk.Input((5, 4)), tk.Input((6, 4))
    outs = ATTENTIONS[name]()([q, v], **call)
    model = tk.Model([q, v], outs)
    randomize(model, seed=12)
    _check(model, _two_sequences())


@pytest.mark.parametrize("name", ["dot", "additive"])
def test_attention_with_masks_and_a_key(name):
    q, v = tk.Input((5, 4)), tk.Input((6, 4))
    q_mask, v_mask = tk.Input((5,), dtype="bool"), tk.Input((6,), dtype="bool")
    key = L.Dense(4)(v)
    out, scores = ATTENTIONS[name]()([q, v, key], mask=[q_mask, v_mask], return_attention_scores=True)
    model = tk.Model([q, v, q_mask, v_mask], [out, scores])
    randomize(model, seed=13)
    masks = [_padded_tokens()[:3, :5] > 0, _padded_tokens(1)[:3, :6] > 0]
    _check(model, _two_sequences() + masks)


@pytest.mark.parametrize("call", [{}, {"use_causal_mask": True}, {"return_attention_scores": True},
                                  {"use_causal_mask": True, "return_attention_scores": True}])
@pytest.mark.parametrize("masked", [False, True])
def test_multi_head_attention_masks(call, masked):
    qt, vt = tk.Input((5,), dtype="int32"), tk.Input((5,), dtype="int32")
    q = L.Embedding(10, 4, mask_zero=masked)(qt)
    v = L.Embedding(10, 4, mask_zero=masked)(vt)
    outs = L.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=2, dropout=0.1)(q, v, **call)
    model = tk.Model([qt, vt], outs)
    randomize(model, seed=14)
    _check(model, [_padded_tokens()[:, :5], _padded_tokens(1)[:, :5]])


def test_attention_mask_input_and_grouped_query_options():
    x, allowed = tk.Input((4, 6)), tk.Input((4, 4), dtype="bool")
    a = L.MultiHeadAttention(num_heads=2, key_dim=3)(x, x, attention_mask=allowed)
    g = L.GroupQueryAttention(head_dim=3, num_query_heads=4, num_key_value_heads=2, sliding_window=2,
                              use_gate=True)(x, x, use_causal_mask=True)
    model = tk.Model([x, allowed], [a, g])
    randomize(model, seed=15)
    rng = np.random.default_rng(8)
    mask = rng.random((3, 4, 4)) > 0.3
    mask[0, 1] = False  # a query with no allowed key
    _check(model, [rng.standard_normal((3, 4, 6)).astype("float32"), mask])


# -- preprocessing layers -------------------------------------------------------------------------


def _images(shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).random(shape) * scale).astype("float32")


def _adapted_normalization():
    layer = L.Normalization(axis=-1)
    layer.adapt(_images((20, 5, 5, 3), seed=3, scale=4.0))
    return layer


PREPROCESSING = {
    "rescaling": (lambda: L.Rescaling(1 / 255.0, offset=-0.5), (6, 6, 3), 255.0),
    "rescaling_per_channel": (lambda: L.Rescaling([0.5, 2.0, 1.0], offset=[0.0, 1.0, -1.0]), (4, 4, 3), 1.0),
    "normalization": (lambda: L.Normalization(mean=[0.1, 0.2, 0.3], variance=[1.0, 2.0, 0.0]), (5, 5, 3), 1.0),
    "normalization_adapted": (_adapted_normalization, (5, 5, 3), 4.0),
    "normalization_all_axes": (lambda: L.Normalization(axis=None, mean=2.0, variance=4.0), (4, 3), 1.0),
    "normalization_axis1": (lambda: L.Normalization(axis=1, mean=[[1.0], [2.0], [3.0], [4.0]],
                                                    variance=[[1.0], [4.0], [9.0], [16.0]]), (4, 3), 1.0),
    "normalization_invert": (lambda: L.Normalization(mean=[0.5, -1.0], variance=[4.0, 0.25], invert=True),
                             (3, 2), 1.0),
    "resize_bilinear_up": (lambda: L.Resizing(9, 7), (4, 5, 2), 1.0),
    "resize_bilinear_down": (lambda: L.Resizing(3, 4), (8, 9, 2), 1.0),
    "resize_nearest": (lambda: L.Resizing(7, 3, interpolation="nearest"), (5, 6, 2), 1.0),
    "resize_bicubic": (lambda: L.Resizing(7, 9, interpolation="bicubic"), (5, 6, 2), 1.0),
    "resize_area": (lambda: L.Resizing(3, 2, interpolation="area"), (7, 5, 1), 1.0),
    "resize_lanczos3": (lambda: L.Resizing(6, 4, interpolation="lanczos3"), (5, 7, 2), 1.0),
    "resize_antialias": (lambda: L.Resizing(3, 3, antialias=True), (8, 7, 2), 1.0),
    "resize_crop_to_aspect": (lambda: L.Resizing(4, 4, crop_to_aspect_ratio=True), (6, 9, 2), 1.0),
    "resize_pad_to_aspect": (lambda: L.Resizing(4, 4, pad_to_aspect_ratio=True, fill_value=0.5), (4, 8, 2), 1.0),
    "resize_channels_first": (lambda: L.Resizing(5, 3, data_format="channels_first"), (2, 4, 6), 1.0),
    "resize_same_size": (lambda: L.Resizing(4, 5), (4, 5, 2), 1.0),
    "center_crop": (lambda: L.CenterCrop(3, 4), (6, 7, 2), 1.0),
    "center_crop_channels_first": (lambda: L.CenterCrop(2, 3, data_format="channels_first"), (2, 5, 5), 1.0),
    "center_crop_smaller_image": (lambda: L.CenterCrop(6, 4), (4, 5, 2), 1.0),
    "random_flip": (lambda: L.RandomFlip(), (4, 4, 3), 1.0),
    "random_rotation": (lambda: L.RandomRotation(0.2), (4, 4, 3), 1.0),
    "random_zoom": (lambda: L.RandomZoom(0.3), (4, 4, 3), 1.0),
    "random_contrast": (lambda: L.RandomContrast(0.5), (4, 4, 3), 1.0),
    "random_translation": (lambda: L.RandomTranslation(0.1, 0.1), (4, 4, 3), 1.0),
    "random_crop_same_size": (lambda: L.RandomCrop(4, 4), (4, 4, 3), 1.0),
}


@pytest.mark.parametrize("name", sorted(PREPROCESSING))
def test_preprocessing_layer(name):
    make, shape, scale = PREPROCESSING[name]
    inputs = tk.Input(shape)
    model = tk.Model(inputs, make()(inputs))
    _check(model, _images((2, *shape), seed=5, scale=scale), atol=1e-5 * max(scale, 1.0))


def test_preprocessing_on_integer_images():
    """uint8 images in, cast to float by the first layer, as in an exported image classifier."""
    inputs = tk.Input((6, 6, 3), dtype="uint8")
    x = L.Resizing(4, 4)(L.Rescaling(1 / 255.0)(inputs))
    x = L.RandomFlip()(L.Normalization(mean=[0.5, 0.4, 0.3], variance=[0.1, 0.2, 0.3])(x))
    model = tk.Model(inputs, L.Dense(2)(L.Flatten()(x)))
    randomize(model, seed=13)
    _check(model, np.random.default_rng(0).integers(0, 256, (3, 6, 6, 3)).astype("uint8"))


def test_preprocessing_catalogue_model():
    from keras_catalogue import MORE_BUILDERS, more_inputs

    _check(MORE_BUILDERS["preprocessing"](tk), more_inputs("preprocessing"), atol=1e-4)


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
def test_category_encoding(mode):
    shape = (1,) if mode == "one_hot" else (4,)
    inputs = tk.Input(shape, dtype="int32")
    model = tk.Model(inputs, L.CategoryEncoding(num_tokens=6, output_mode=mode)(inputs))
    _check(model, np.random.default_rng(1).integers(0, 6, (5, *shape)).astype("int32"))


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization(mode):
    inputs = tk.Input((4,))
    model = tk.Model(inputs, L.Discretization(bin_boundaries=[-0.5, 0.0, 0.5], output_mode=mode)(inputs))
    x = np.random.default_rng(2).standard_normal((5, 4)).astype("float32")
    x[0, :3] = [-0.5, 0.0, 0.5]  # on the boundaries
    want = model.predict(x, verbose=0)
    got = _run(model, x)[0]
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_random_crop_that_would_change_the_size_is_refused():
    inputs = tk.Input((6, 6, 3))
    model = tk.Model(inputs, L.RandomCrop(4, 4, name="crop")(inputs))
    with pytest.raises(ExportError, match="RandomCrop 'crop'.*CenterCrop"):
        to_onnx(model)


def test_resizing_needs_known_image_sizes():
    inputs = tk.Input((None, None, 3))
    model = tk.Model(inputs, L.Resizing(4, 4, name="resize")(inputs))
    with pytest.raises(ExportError, match="Resizing 'resize'.*known height and width"):
        to_onnx(model)


@pytest.mark.parametrize("value_range", [(0, 255), (0, 1), (-1, 1)])
def test_auto_contrast(value_range):
    inputs = tk.Input((4, 5, 3))
    model = tk.Model(inputs, L.AutoContrast(value_range=value_range)(inputs))
    x = np.random.default_rng(0).uniform(*value_range, (2, 4, 5, 3)).astype("float32")
    x[1, :, :, 1] = 0.3  # constant channels keep their values
    x[0, :, :, 2] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        _check(model, x, atol=1e-4)


_INT_VOCAB = [12, 36, 1138, 42]
_STR_VOCAB = ["a", "b", "é", "[x]"]
LOOKUPS = {
    "int": (lambda: L.IntegerLookup(vocabulary=_INT_VOCAB), "int64"),
    "int_mask_int32_inputs": (lambda: L.IntegerLookup(vocabulary=_INT_VOCAB, mask_token=0), "int32"),
    "int_floormod_oov": (lambda: L.IntegerLookup(vocabulary=_INT_VOCAB, mask_token=0, num_oov_indices=3), "int64"),
    "int_floormod_oov_multi_hot": (lambda: L.IntegerLookup(vocabulary=_INT_VOCAB, mask_token=0, num_oov_indices=2,
                                                           output_mode="multi_hot"), "int64"),
    "int_count": (lambda: L.IntegerLookup(vocabulary=_INT_VOCAB, output_mode="count"), "int64"),
    "int_one_hot": (lambda: L.IntegerLookup(vocabulary=_INT_VOCAB, output_mode="one_hot"), "int64"),
    "int_tf_idf": (lambda: L.IntegerLookup(vocabulary=_INT_VOCAB, output_mode="tf_idf",
                                           idf_weights=[0.5, 1.0, 1.5, 2.0]), "int64"),
    "int_invert": (lambda: L.IntegerLookup(vocabulary=_INT_VOCAB, mask_token=0, invert=True), "int64"),
    "int_invert_int32": (lambda: L.IntegerLookup(vocabulary=_INT_VOCAB, invert=True, num_oov_indices=2), "int32"),
    "string": (lambda: L.StringLookup(vocabulary=_STR_VOCAB), "string"),
    "string_mask": (lambda: L.StringLookup(vocabulary=_STR_VOCAB, mask_token=""), "string"),
    "string_multi_hot_mask": (lambda: L.StringLookup(vocabulary=_STR_VOCAB, mask_token="",
                                                     output_mode="multi_hot"), "string"),
    "string_count_padded": (lambda: L.StringLookup(vocabulary=_STR_VOCAB, output_mode="count", max_tokens=9,
                                                   pad_to_max_tokens=True), "string"),
    "string_no_oov": (lambda: L.StringLookup(vocabulary=_STR_VOCAB, num_oov_indices=0), "string"),
    "string_invert": (lambda: L.StringLookup(vocabulary=_STR_VOCAB, mask_token="", invert=True), "int64"),
}


def _lookup_inputs(name, dtype):
    rng = np.random.default_rng(7)
    if name.startswith("int_invert") or name == "string_invert":
        return rng.integers(-1, 9, (5, 3)).astype(dtype)
    if dtype == "string":
        pool = _STR_VOCAB + ([] if name == "string_no_oov" else ["", "zz", "A"])
        return np.asarray(rng.choice(pool, (5, 3)), dtype=object)
    one_hot = name.endswith("one_hot")
    return rng.choice(_INT_VOCAB + [0, 7, -5, 99], (5, 1 if one_hot else 3)).astype(dtype)


@pytest.mark.parametrize("name", sorted(LOOKUPS))
def test_lookup_layers(name):
    """IntegerLookup / StringLookup as an ai.onnx.ml LabelEncoder, every output mode, both ways."""
    make, dtype = LOOKUPS[name]
    x = _lookup_inputs(name, dtype)
    inputs = tk.Input(x.shape[1:], dtype=dtype)
    model = tk.Model(inputs, make()(inputs))
    proto = to_onnx(model)
    assert "ai.onnx.ml" in {o.domain for o in proto.opset_import}
    want = np.asarray(model.predict(x, verbose=0))
    got = _run(model, x)[0]
    if want.dtype == object:
        want = np.vectorize(lambda v: v.decode() if isinstance(v, bytes) else v, otypes=[object])(want)
    else:
        assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_lookups_in_a_model_with_an_embedding():
    inputs = tk.Input((4,), dtype="string")
    ids = L.StringLookup(vocabulary=_STR_VOCAB, mask_token="")(inputs)
    model = tk.Model(inputs, L.Dense(2)(L.GlobalAveragePooling1D()(L.Embedding(6, 3)(ids))))
    randomize(model, seed=3)
    _check(model, np.asarray([["a", "b", "", "zz"], ["é", "[x]", "a", "a"]], dtype=object))


def test_unexportable_text_and_hashing_layers_are_refused_with_the_reason():
    cases = [
        (L.Hashing(num_bins=8, name="hash"), "string", "Hashing 'hash'.*FarmHash.*no operator that reads a string"),
        (L.Hashing(num_bins=8, salt=3, name="hash"), "string", "Hashing 'hash'.*string's bytes"),
        (L.TextVectorization(vocabulary=["a"], standardize=lambda t: t, name="text"), "string",
         "TextVectorization 'text'.*callable standardize"),
        (L.TextVectorization(vocabulary=["a"], ragged=True, name="text"), "string", "TextVectorization 'text'.*ragged"),
        (L.IntegerLookup(vocabulary=[1, 2], num_oov_indices=2, oov_method="farmhash", name="lookup"), "int64",
         "IntegerLookup 'lookup'.*num_oov_indices=2.*farmhash"),
        (L.StringLookup(vocabulary=["a"], num_oov_indices=2, name="lookup"), "string",
         "StringLookup 'lookup'.*num_oov_indices=2.*FarmHash"),
        (L.StringLookup(vocabulary=["a"], output_mode="multi_hot", sparse=True, name="lookup"), "string",
         "StringLookup 'lookup'.*sparse=True"),
    ]
    for layer, dtype, message in cases:
        inputs = tk.Input((2,), dtype=dtype)
        with pytest.raises(ExportError, match=message):
            to_onnx(tk.Model(inputs, layer(inputs)))


@pytest.mark.parametrize("options", [{}, {"output_sequence_length": 5}, {"output_sequence_length": 2},
                                     {"output_mode": "multi_hot"}, {"output_mode": "count", "pad_to_max_tokens": True,
                                                                    "max_tokens": 8}])
def test_text_vectorization_of_tokenized_strings(options):
    """standardize=None, split=None: the layer's StringLookup, with Keras's padding/truncation."""
    layer = L.TextVectorization(vocabulary=["the", "cat", "sat", "é"], standardize=None, split=None, **options)
    inputs = tk.Input((3,), dtype="string")
    model = tk.Model(inputs, layer(inputs))
    x = np.asarray([["the", "cat", "zz"], ["é", "", "sat"]], dtype=object)
    want = np.asarray(model.predict(x, verbose=0))
    got = _run(model, x)[0]
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


_TEXT_VOCAB = ["hello", "world", "hello world", "h", "e", "l", "o", "a", "b", "c", "a b", "world hello", "é", "àb",
               "hÉllo", "don't", "dont", "d", "b c d"]
# Punctuation, upper case (ASCII and not), TF's ASCII whitespace (\x1c is not), an empty string, runs of
# spaces, and characters outside the BMP.
_TEXTS = np.asarray(["Hello, World!", "HÉLLO ÀB", "a\x0bb\x0cc\x1cd\te", "", "  don't   stop  ", "é😀 x b c d"],
                    dtype=object)
_TEXT_OPTIONS = {
    "default": {},
    "default_length": {"output_sequence_length": 4},
    "lower_bigrams": {"standardize": "lower", "ngrams": 2},
    "strip_ngrams_1_3_length": {"standardize": "strip_punctuation", "ngrams": (1, 3), "output_sequence_length": 7},
    "raw_ngrams3": {"standardize": None, "ngrams": 3},
    "characters": {"split": "character"},
    "characters_bigrams_multi_hot": {"split": "character", "ngrams": 2, "output_mode": "multi_hot"},
    "count_ngrams": {"ngrams": 2, "output_mode": "count"},
    "tf_idf_padded": {"output_mode": "tf_idf", "idf_weights": np.linspace(0.5, 2.0, 19), "max_tokens": 24,
                      "pad_to_max_tokens": True},
    "unsplit_lower_column": {"standardize": "lower", "split": None},
    "unsplit_strip_length": {"split": None, "output_sequence_length": 3},
    "unsplit_ngrams": {"standardize": None, "split": None, "ngrams": 2},
}


def _check_exact(model, x, opset):
    """The exported graph (of `opset`) gives Tapeflow's values exactly, with its dtype."""
    assert to_onnx(model).opset_import[0].version == opset
    want = np.asarray(model.predict(x, verbose=0))
    got = _run(model, x)[0]
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def _text_model(options):
    layer = L.TextVectorization(vocabulary=_TEXT_VOCAB, **options)
    shape = (1,) if options.get("split", "whitespace") is None else ()
    inputs = tk.Input(shape, dtype="string")
    return tk.Model(inputs, layer(inputs)), _TEXTS.reshape((-1,) + shape)


@pytest.mark.parametrize("name", sorted(_TEXT_OPTIONS))
def test_text_vectorization(name):
    """Standardize, split, n-grams and every output mode as string operators (opset 20), exactly."""
    _check_exact(*_text_model(_TEXT_OPTIONS[name]), opset=20)


def test_text_vectorization_of_a_batch_without_tokens_and_an_empty_batch():
    for options in ({}, {"output_mode": "multi_hot"}, {"ngrams": (1, 2)}, {"split": "character",
                                                                          "output_sequence_length": 3}):
        model, _ = _text_model(options)
        for x in (np.asarray(["", "  ", "!?"], dtype=object), np.zeros((0,), object)):
            want = np.asarray(model(x))
            got = _run(model, x)[0]
            assert got.shape == want.shape
            np.testing.assert_array_equal(got, want)


def test_text_vectorization_matches_keras():
    """The exported graph against Keras 3's own TextVectorization (the oracle)."""
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    for options in ({}, {"ngrams": (1, 3), "output_sequence_length": 6}, {"split": "character", "ngrams": 2},
                    {"standardize": "lower", "output_mode": "count"}):
        model, x = _text_model(options)
        want = np.asarray(keras.layers.TextVectorization(vocabulary=_TEXT_VOCAB, **options)(x))
        np.testing.assert_array_equal(_run(model, x)[0], want)


def test_text_vectorization_in_a_classifier_and_an_explicit_old_opset():
    inputs = tk.Input((), dtype="string")
    ids = L.TextVectorization(vocabulary=_TEXT_VOCAB, output_sequence_length=5, name="text")(inputs)
    model = tk.Model(inputs, L.Dense(2)(L.GlobalAveragePooling1D()(L.Embedding(21, 3, mask_zero=True)(ids))))
    randomize(model, seed=5)
    _check(model, _TEXTS[:3])  # rows with tokens (an all-masked average is 0/0)
    with pytest.raises(ExportError, match="TextVectorization 'text'.*opset 20.*opset_version=17"):
        to_onnx(model, opset_version=17)



_INVALID_UTF8 = [b"ok x", b"\xff\xfe abc", b"Hello \xc3 World!", b"ok \xed\xa0\x80 x", b"\xe2\x82",
                 b"\xc3\xa9t\xc3\xa9 \xf0\x9f\x98 \x80x", b"A\xc0\xafB \xf8\x88\x80\x80\x80 q"]
_UTF8_VOCAB = ["abc", "hello", "world", "ok", "x", "a", "b", "é", "été", "q"]  # (no U+FFFD)


def _run_on_constant_strings(proto, values, shape):
    """Run `proto` with its string input replaced by a constant holding `values` (onnxruntime's
    Python API feeds text only, so bytes that are not UTF-8 reach a graph only so)."""
    graph = proto.graph
    graph.initializer.append(onnx.helper.make_tensor(graph.input[0].name, onnx.TensorProto.STRING, list(shape),
                                                     values))
    del graph.input[:]
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {})[0]


def test_text_vectorization_of_bytes_that_are_not_utf8():
    """Graphs with the Tokenizer refuse them, naming the row; standardize=None, split=None looks
    the raw strings up, as Tapeflow and TF do."""
    import tapeflow as tf

    for options in ({}, {"standardize": None}, {"split": "character", "ngrams": 2}):
        model, _ = _text_model(options)
        with pytest.raises(Exception, match="invalid utf8 chars at element: 1"):
            _run_on_constant_strings(to_onnx(model), _INVALID_UTF8, (len(_INVALID_UTF8),))
    layer = L.TextVectorization(vocabulary=_UTF8_VOCAB + ["\xff"], standardize=None, split=None)
    inputs = tk.Input((1,), dtype="string")
    model = tk.Model(inputs, layer(inputs))
    got = _run_on_constant_strings(to_onnx(model), _INVALID_UTF8, (len(_INVALID_UTF8), 1))
    np.testing.assert_array_equal(got, model.predict(tf.reshape(tf.constant(_INVALID_UTF8), (-1, 1)), verbose=0))


@pytest.mark.oracle
@pytest.mark.parametrize("options", [{}, {"split": "character", "ngrams": (1, 2)},
                                     {"standardize": "strip_punctuation", "output_mode": "count"}])
def test_text_vectorization_of_replacement_decoded_bytes_matches_tensorflow(options):
    """Bytes decoded with errors="replace" (what a Python caller feeds onnxruntime) give TF's
    results on the raw bytes, for a vocabulary without U+FFFD."""
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    want = np.asarray(keras.layers.TextVectorization(vocabulary=_UTF8_VOCAB, **options)(_INVALID_UTF8))
    inputs = tk.Input((), dtype="string")
    model = tk.Model(inputs, L.TextVectorization(vocabulary=_UTF8_VOCAB, **options)(inputs))
    text = np.asarray([v.decode("utf-8", "replace") for v in _INVALID_UTF8], dtype=object)
    np.testing.assert_array_equal(_run(model, text)[0], want)

# -- Hashing of numbers: FarmHash / SipHash of the decimal strings in uint64 arithmetic ------------

_HASH_VALUES = np.asarray([0, 1, -1, 7, 9, 10, 99, 100, -99, -100, 999, 1000, 9999, 12345, -1234567, 10**7, 12345678,
                           10**15, 2**53 + 1, -(2**62), 2**63 - 1, -(2**63), 1234567890123456789,
                           -999999999999999999] + np.random.default_rng(0).integers(-2**63, 2**63 - 1, 40).tolist(),
                          np.int64)  # every decimal length 1-20, both signs, the int64 extremes
HASHINGS = {
    "farmhash": ({"num_bins": 7}, "int64", _HASH_VALUES.reshape(-1, 1)),
    "mask_value": ({"num_bins": 1000, "mask_value": 0}, "int64", _HASH_VALUES.reshape(-1, 2)),
    "int32_multi_hot": ({"num_bins": 5, "output_mode": "multi_hot"}, "int32",
                        np.random.default_rng(1).integers(-2**31, 2**31 - 1, (6, 3)).astype("int32")),
    "floats_count_mask": ({"num_bins": 5, "output_mode": "count", "mask_value": 3}, "float32",
                          np.asarray([[3.7, 3.0, -2.5], [0.0, 1e6, -7.9]], "float32")),
    "salt": ({"num_bins": 1000, "salt": 3}, "int64", _HASH_VALUES.reshape(-1, 2)),
    "salt_pair_one_hot": ({"num_bins": 6, "salt": (2**63 + 5, 17), "output_mode": "one_hot"}, "int64",
                          _HASH_VALUES[:24].reshape(-1, 1)),
}


@pytest.mark.parametrize("name", sorted(HASHINGS))
def test_hashing_of_numbers(name):
    options, dtype, x = HASHINGS[name]
    inputs = tk.Input(x.shape[1:], dtype=dtype)
    _check_exact(tk.Model(inputs, L.Hashing(**options)(inputs)), x, opset=18)


def test_hashing_matches_keras():
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    x = _HASH_VALUES.reshape(-1, 2)
    for options in ({"num_bins": 97}, {"num_bins": 97, "salt": (11, 2**40)}, {"num_bins": 9, "mask_value": -1}):
        inputs = tk.Input((2,), dtype="int64")
        model = tk.Model(inputs, L.Hashing(**options)(inputs))
        np.testing.assert_array_equal(_run(model, x)[0], np.asarray(keras.layers.Hashing(**options)(x)))


def test_hashing_in_a_sequential_model_and_an_explicit_old_opset():
    model = tk.Sequential([tk.Input((2,), dtype="int64"), L.Hashing(num_bins=11, name="hash"), L.Embedding(11, 3),
                           L.Flatten(), L.Dense(1)])
    randomize(model, seed=2)
    _check(model, _HASH_VALUES.reshape(-1, 2))
    with pytest.raises(ExportError, match="Hashing 'hash'.*opset 18.*opset_version=17"):
        to_onnx(model, opset_version=17)


@pytest.mark.parametrize("options, shape", [({"num_bins": 7}, ()), ({"num_bins": 5, "output_mode": "one_hot"}, (1,))])
def test_hashed_crossing_of_integer_features(options, shape):
    """FingerprintCat64 over the features' int64 bits, against Tapeflow and Keras 3."""
    a, c = tk.Input(shape, dtype="int64"), tk.Input(shape, dtype="int32")
    model = tk.Model([a, c], L.HashedCrossing(**options)([a, c]))
    rng = np.random.default_rng(0)
    xs = [rng.integers(-2**63, 2**63 - 1, (6,) + shape, dtype=np.int64), rng.integers(-5, 5, (6,) + shape)
          .astype("int32")]
    assert to_onnx(model).opset_import[0].version == 18
    got = _run(model, xs)[0]
    np.testing.assert_array_equal(got, np.asarray(model.predict(xs, verbose=0)))
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    np.testing.assert_array_equal(got, np.asarray(keras.layers.HashedCrossing(**options)(xs)))
    strings = tk.Input(shape, dtype="string")
    with pytest.raises(ExportError, match="HashedCrossing 'cross'.*dtype object.*only integer features"):
        to_onnx(tk.Model([a, strings], L.HashedCrossing(3, name="cross")([a, strings])))
