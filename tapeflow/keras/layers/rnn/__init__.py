"""Recurrent layers: cells, the `RNN` loop, SimpleRNN / LSTM / GRU, and sequence wrappers."""

from tapeflow.keras.layers.rnn.bidirectional import Bidirectional
from tapeflow.keras.layers.rnn.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from tapeflow.keras.layers.rnn.dropout_cell import DropoutRNNCell
from tapeflow.keras.layers.rnn.gru import GRU, GRUCell
from tapeflow.keras.layers.rnn.lstm import LSTM, LSTMCell
from tapeflow.keras.layers.rnn.masking import Masking
from tapeflow.keras.layers.rnn.rnn import RNN
from tapeflow.keras.layers.rnn.simple_rnn import SimpleRNN, SimpleRNNCell
from tapeflow.keras.layers.rnn.stacked_cells import StackedRNNCells
from tapeflow.keras.layers.rnn.time_distributed import TimeDistributed

__all__ = [
    "RNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D",
    "DropoutRNNCell", "GRU", "GRUCell", "LSTM", "LSTMCell", "Masking",
    "SimpleRNN", "SimpleRNNCell", "StackedRNNCells", "TimeDistributed",
]
