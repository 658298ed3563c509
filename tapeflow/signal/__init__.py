"""`tf.signal`: FFTs, framing and the short-time Fourier transform, windows, mel filters, DCTs."""

# ruff: noqa: F401
from tapeflow.signal.dct import dct, idct
from tapeflow.signal.fft import (
    fft, fft2d, fft3d, fftnd, fftshift, ifft, ifft2d, ifft3d, ifftnd, ifftshift, irfft, irfft2d, irfft3d,
    irfftnd, rfft, rfft2d, rfft3d, rfftnd
)
from tapeflow.signal.mel import linear_to_mel_weight_matrix, mfccs_from_log_mel_spectrograms
from tapeflow.signal.spectral import (
    frame, inverse_mdct, inverse_stft, inverse_stft_window_fn, mdct, overlap_and_add, stft
)
from tapeflow.signal.windows import (
    hamming_window, hann_window, kaiser_bessel_derived_window, kaiser_window, vorbis_window
)
