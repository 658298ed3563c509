"""IntegerLookup and StringLookup: vocabulary lookups of integer or string features."""

from __future__ import annotations

from typing import Any

from tapeflow.keras.layers.index_lookup import IndexLookup


class IntegerLookup(IndexLookup):
    """Map integer features to contiguous indices through a vocabulary (or back, with `invert`).

    Args:
        max_tokens: the largest vocabulary size (mask and OOV indices included), or None.
        num_oov_indices: indices for out-of-vocabulary values (several: `floormod` or FarmHash).
        mask_token: the integer that means "masked" (index 0 in "int" mode), or None.
        oov_token: the value `invert=True` returns for OOV indices (default -1).
        vocabulary: a list / array / 1-D tensor of ints, or a text file path; or learn it by `adapt`.
        vocabulary_dtype: only "int64".
        idf_weights: for "tf_idf" with a given vocabulary, one weight per vocabulary entry.
        invert: map indices back to tokens.
        output_mode: "int" (int64 indices, input shape), "one_hot", "multi_hot", "count" (int64,
            last axis the vocabulary) or "tf_idf" (float32 counts times idf weights).
        sparse: return a tf.SparseTensor of the encodings (not with "int").
        pad_to_max_tokens: encode to `max_tokens` columns instead of the vocabulary size.
        oov_method: "floormod" or "farmhash" for several OOV indices; salt: SipHash key for "farmhash".

    Example:
        >>> layer = keras.layers.IntegerLookup(vocabulary=[12, 36, 1138])
        >>> layer([[12, 1138, 42]])   # [[1, 3, 0]]
    """

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1, mask_token: int | None = None,
                 oov_token: int = -1, vocabulary: Any = None, vocabulary_dtype: str = "int64",
                 idf_weights: Any = None, invert: bool = False, output_mode: str = "int", sparse: bool = False,
                 pad_to_max_tokens: bool = False, oov_method: str = "floormod", salt: Any = None,
                 name: str | None = None, **kwargs: Any) -> None:
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError("If `max_tokens` is set for `IntegerLookup`, it must be greater than 1. "
                             f"Received: max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError("The value of `num_oov_indices` argument for `IntegerLookup` must >= 0. "
                             f"Received: num_oov_indices={num_oov_indices}")
        if vocabulary_dtype != "int64":
            raise ValueError("Only `vocabulary_dtype='int64'` is supported at this time. Received: "
                             f"vocabulary_dtype={vocabulary_dtype}")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, vocabulary_dtype=vocabulary_dtype,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, oov_method=oov_method, salt=salt, name=name,
                         **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        for key in ("oov_token", "mask_token"):
            if config[key] is not None:
                config[key] = int(config[key])
        if config["vocabulary"] is not None:
            config["vocabulary"] = [int(v) for v in config["vocabulary"]]
        return config


class StringLookup(IndexLookup):
    """Map string features to integer indices through a vocabulary (or back, with `invert`).

    The arguments are IntegerLookup's, with string tokens (`oov_token="[UNK]"`) and `encoding`
    (the text encoding of str inputs and of returned vocabularies, default "utf-8"). Out-of-
    vocabulary strings with several OOV indices go to FarmHash buckets (SipHash with `salt`).

    Example:
        >>> layer = keras.layers.StringLookup(vocabulary=["a", "b", "c", "d"])
        >>> layer([["a", "c", "d"], ["d", "z", "b"]])   # [[1, 3, 4], [4, 0, 2]]
    """

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1, mask_token: str | None = None,
                 oov_token: str = "[UNK]", vocabulary: Any = None, idf_weights: Any = None, invert: bool = False,
                 output_mode: str = "int", pad_to_max_tokens: bool = False, sparse: bool = False,
                 encoding: str = "utf-8", name: str | None = None, salt: Any = None, **kwargs: Any) -> None:
        kwargs.pop("vocabulary_dtype", None)
        self.encoding = encoding
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         salt=salt, vocabulary_dtype="string", **kwargs)

    def get_config(self) -> dict:
        config = super().get_config()
        del config["vocabulary_dtype"]
        config["encoding"] = self.encoding
        return config
