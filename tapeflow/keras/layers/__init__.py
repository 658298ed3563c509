"""`keras.layers`: the layer classes, one family per module."""

from tapeflow.keras.layers.activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from tapeflow.keras.layers.attention import AdditiveAttention, Attention, MultiHeadAttention
from tapeflow.keras.layers.adaptive_pooling import (
    AdaptiveAveragePooling1D, AdaptiveAveragePooling2D, AdaptiveAveragePooling3D, AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D, AdaptiveMaxPooling3D,
)
from tapeflow.keras.layers.augmentation import (
    RandomBrightness, RandomContrast, RandomCrop, RandomFlip, RandomGrayscale, RandomInvert, RandomRotation,
    RandomTranslation, RandomZoom, Solarization,
)
from tapeflow.keras.layers.augmentation_color import (
    AutoContrast, ContrastLimitedAdaptiveHistogramEqualization, Equalization, RandomColorDegeneration,
    RandomColorJitter, RandomHue, RandomPosterization, RandomSaturation, RandomSharpness,
)
from tapeflow.keras.layers.augmentation_geometry import (
    RandomElasticTransform, RandomErasing, RandomGaussianBlur, RandomPerspective, RandomShear,
)
from tapeflow.keras.layers.augmentation_mix import AugMix, CutMix, MaxNumBoundingBoxes, MixUp, RandAugment
from tapeflow.keras.layers.base import InputSpec, Layer
from tapeflow.keras.layers.conv1d_variants import (
    DepthwiseConv1D, SeparableConv1D, SeparableConvolution1D, SeparableConvolution2D,
)
from tapeflow.keras.layers.einsum_dense import EinsumDense
from tapeflow.keras.layers.grouped_query_attention import GroupedQueryAttention, GroupQueryAttention
from tapeflow.keras.layers.reversible_embedding import ReversibleEmbedding
from tapeflow.keras.layers.noise import ActivityRegularization, AlphaDropout, GaussianDropout, Identity
from tapeflow.keras.layers.scale_normalization import RMSNormalization, UnitNormalization
from tapeflow.keras.layers.core import (
    Activation, Dense, Dropout, Embedding, Flatten, GaussianNoise, Input, InputLayer, Lambda,
    Permute, RepeatVector, Reshape,
)
from tapeflow.keras.layers.merge import (
    Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, average, concatenate,
    dot, maximum, minimum, multiply, subtract,
)
from tapeflow.keras.layers.conv import (
    Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Conv3D, Conv3DTranspose, Convolution1D,
    Convolution1DTranspose, Convolution2D, Convolution2DTranspose, Convolution3D, Convolution3DTranspose,
    DepthwiseConv2D, SeparableConv2D,
)
from tapeflow.keras.layers.normalization import BatchNormalization, GroupNormalization, LayerNormalization
from tapeflow.keras.layers.categorical import CategoryEncoding, Discretization
from tapeflow.keras.layers.hashing import HashedCrossing, Hashing
from tapeflow.keras.layers.lookup import IntegerLookup, StringLookup
from tapeflow.keras.layers.text_vectorization import TextVectorization
from tapeflow.keras.layers.preprocessing import CenterCrop, Normalization, Rescaling, Resizing
from tapeflow.keras.layers.spectrogram import MelSpectrogram, STFTSpectrogram
from tapeflow.keras.layers.pooling import (
    AveragePooling1D, AveragePooling2D, AveragePooling3D, AvgPool1D, AvgPool2D, AvgPool3D,
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalAvgPool1D, GlobalAvgPool2D,
    GlobalAvgPool3D, GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D, GlobalMaxPooling1D,
    GlobalMaxPooling2D, GlobalMaxPooling3D, MaxPool1D, MaxPool2D, MaxPool3D, MaxPooling1D, MaxPooling2D,
    MaxPooling3D,
)
from tapeflow.keras.layers.regularization import SpatialDropout1D, SpatialDropout2D
from tapeflow.keras.layers.reshaping import (
    Cropping1D, Cropping2D, UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D,
)
from tapeflow.keras.layers.reshaping3d import Cropping3D, SpatialDropout3D, UpSampling3D, ZeroPadding3D
from tapeflow.keras.layers.rnn import (
    GRU, LSTM, RNN, Bidirectional, ConvLSTM1D, ConvLSTM2D, ConvLSTM3D, GRUCell, LSTMCell, Masking, SimpleRNN,
    SimpleRNNCell, StackedRNNCells, TimeDistributed,
)
from tapeflow.keras.layers.wrappers import Pipeline, Wrapper, deserialize, serialize
from tapeflow.keras.layers.torch_wrapper import TorchModuleWrapper
from tapeflow.keras.layers.jax_layer import FlaxLayer, JaxLayer
from tapeflow.keras.layers.spectral_normalization import SpectralNormalization  # noqa: I001 (needs Wrapper)


def __getattr__(name: str):
    # TFSMLayer needs the SavedModel loader: imported on first use.
    if name == "TFSMLayer":
        from tapeflow.keras.saving.export import TFSMLayer

        return TFSMLayer
    raise AttributeError(f"module 'tapeflow.keras.layers' has no attribute {name!r}")
