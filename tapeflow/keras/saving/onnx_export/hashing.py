"""ONNX converters of the Hashing layer for numeric inputs: TF's FarmHash Fingerprint64 (or,
with a `salt`, SipHash-2-4) of each value's decimal string, written out in uint64 arithmetic,
exactly; and of HashedCrossing for integer features (FingerprintCat64, the same arithmetic).

Keras hashes an integer (a float truncated to one) through its decimal string
(`tf.strings.as_string`), at most 20 bytes ("-9223372036854775808"). The graph builds those
bytes with integer Div/Mod by powers of ten into a (values, 24) byte matrix, reads
little-endian words from it with GatherElements and a MatMul by powers of 256, and evaluates
farmhash's `farmhashna::Hash64` for lengths 1-3, 4-7, 8-16 and 17-20 (the branches every such
string takes), selecting each value's branch by its length. Mul, Add and BitShift on uint64
wrap as C++ does; BitwiseXor needs opset 18 (chosen by default when a model holds a Hashing).

String inputs are refused: ONNX has no operator that reads a string's bytes (onnxruntime's
Tokenizer yields characters, whose code points only a table of every possible character could
recover), so neither hash can be computed on them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.keras.saving.onnx_export.builder import GraphBuilder, converter, unsupported
from tapeflow.keras.saving.onnx_export.masks import _elem_type
from tapeflow.keras.saving.onnx_export.preprocessing import _encode, _one

HASH_OPSET = 18
_K0, _K1, _K2 = 0xC3A5C85C97CB3127, 0xB492B66FBE98F273, 0x9AE16A3B2F90404F
_WIDTH = 24  # byte columns: the longest string (20) and the widest read (bytes 16..23) fit
_UINT64, _INT64 = 13, 7


class _U64:
    """uint64 expressions in the graph (wrapping, as farmhash's C++)."""

    def __init__(self, b: GraphBuilder, hint: str) -> None:
        self.b, self.h = b, hint

    def k(self, value: int | np.ndarray) -> str:
        return self.b.const(np.asarray(value, np.uint64), self.h + "/k", dtype=np.uint64)

    def op(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        return self.b.op(op_type, list(inputs), self.h, **attrs)

    def add(self, a: str, b: str) -> str:
        return self.op("Add", a, b)

    def mul(self, a: str, b: str) -> str:
        return self.op("Mul", a, b)

    def xor(self, a: str, b: str) -> str:
        return self.op("BitwiseXor", a, b)

    def shr(self, a: str, bits: int) -> str:
        return self.op("BitShift", a, self.k(bits), direction="RIGHT")

    def shl(self, a: str, bits: int) -> str:
        return self.op("BitShift", a, self.k(bits), direction="LEFT")

    def rot(self, a: str, bits: int) -> str:
        """Rotate right (the two halves share no bit, so Add is their OR)."""
        return self.add(self.shr(a, bits), self.shl(a, 64 - bits))

    def shift_mix(self, a: str) -> str:
        return self.xor(a, self.shr(a, 47))

    def select(self, cond: str, a: str, b: str) -> str:
        """Where on uint64 (onnxruntime has no uint64 Where): through int64, bit for bit."""
        cast = [self.op("Cast", v, to=_INT64) for v in (a, b)]
        return self.op("Cast", self.op("Where", cond, *cast), to=_UINT64)

    def hash_len16(self, u: str, v: str, mul: str) -> str:
        a = self.shift_mix(self.mul(self.xor(u, v), mul))
        b = self.shift_mix(self.mul(self.xor(v, a), mul))
        return self.mul(b, mul)


def _decimal_bytes(b: GraphBuilder, x: str, h: str) -> tuple[str, str]:
    """int64 values (m,) -> their decimal strings as a (m, 24) uint64 byte matrix (zeros after
    the end) and the strings' lengths (m,) int64."""
    negative = b.op("Less", [x, b.const(np.int64(0), h + "/zero")], h)
    u = b.op("Cast", [x], h, to=_UINT64)
    magnitude = _U64(b, h).select(negative, b.op("Sub", [b.const(np.uint64(0), h + "/u0", dtype=np.uint64), u], h),
                                  u)  # |x| in uint64 (exact for the int64 minimum too)
    powers = b.const(np.asarray([10**k for k in range(20)], np.uint64), h + "/powers_of_ten", dtype=np.uint64)
    quotients = b.op("Div", [b.op("Unsqueeze", [magnitude, b.ints([-1], h + "/last")], h), powers], h)
    digits = b.op("Cast", [b.op("Mod", [quotients, b.const(np.uint64(10), h + "/ten", dtype=np.uint64)], h)], h,
                  to=_INT64)  # (m, 20): digit k is the 10^k one
    higher = b.op("Slice", [quotients, b.ints([1], h + "/one"), b.ints([20], h + "/twenty"), b.ints([1], h + "/ax")],
                  h)  # below 2^63: safe as int64
    nonzero = b.op("Cast", [b.op("Greater", [b.op("Cast", [higher], h, to=_INT64), b.const(np.int64(0), h + "/z")],
                                 h)], h, to=_INT64)
    count = b.op("Add", [b.reduce("ReduceSum", nonzero, [1], h), b.const(np.int64(1), h + "/one_digit")], h)
    sign = b.op("Cast", [negative], h, to=_INT64)
    length = b.op("Add", [sign, count], h)
    position = b.const(np.arange(_WIDTH, dtype=np.int64)[None], h + "/positions")
    sign_c, count_c = (b.op("Unsqueeze", [v, b.ints([1], h + "/axis1")], h) for v in (sign, count))
    # Character p is the sign (p < sign), digit count - 1 - (p - sign), or past the end.
    k = b.op("Sub", [b.op("Sub", [count_c, b.const(np.int64(1), h + "/1")], h), b.op("Sub", [position, sign_c], h)],
             h)
    k = b.op("Clip", [k, b.const(np.int64(0), h + "/lo"), b.const(np.int64(19), h + "/hi")], h)
    digit = b.op("Add", [b.op("GatherElements", [digits, k], h, axis=1), b.const(np.int64(48), h + "/ascii0")], h)
    is_sign = b.op("Less", [position, sign_c], h)
    inside = b.op("Less", [position, b.op("Add", [sign_c, count_c], h)], h)
    char = b.op("Where", [inside, digit, b.const(np.int64(0), h + "/nul")], h)
    char = b.op("Where", [is_sign, b.const(np.int64(45), h + "/minus"), char], h)
    return b.op("Cast", [char], h, to=_UINT64), length


class _Reader:
    """Little-endian reads from the byte matrix at per-value offsets."""

    def __init__(self, b: GraphBuilder, data: str, hint: str) -> None:
        self.b, self.data, self.h = b, data, hint

    def read(self, offset: str, size: int) -> str:
        b, h = self.b, self.h
        index = b.op("Add", [b.op("Unsqueeze", [offset, b.ints([1], h + "/axis1")], h),
                             b.const(np.arange(size, dtype=np.int64)[None], h + f"/bytes{size}")], h)
        index = b.op("Clip", [index, b.const(np.int64(0), h + "/lo"), b.const(np.int64(_WIDTH - 1), h + "/hi")], h)
        gathered = b.op("GatherElements", [self.data, index], h, axis=1)
        weights = b.const(np.asarray([[256**j] for j in range(size)], np.uint64), h + f"/le{size}", dtype=np.uint64)
        return b.op("Squeeze", [b.op("MatMul", [gathered, weights], h), b.ints([1], h + "/axis1")], h)


def _fingerprint64(b: GraphBuilder, data: str, length: str, h: str) -> str:
    """farmhashna::Hash64 of strings of 1 to 20 bytes (farmhash's branches up to 32 bytes)."""
    u, r = _U64(b, h), _Reader(b, data, h)

    def at(delta: int) -> str:  # length + delta, as an int64 offset
        return b.op("Add", [length, b.const(np.int64(delta), h + "/delta")], h)

    zero = b.op("Mul", [length, b.const(np.int64(0), h + "/z0")], h)
    n = b.op("Cast", [length], h, to=_UINT64)
    mul = u.add(u.k(_K2), u.add(n, n))
    # 1-3 bytes.
    half = b.op("Div", [length, b.const(np.int64(2), h + "/two")], h)
    y = u.add(r.read(zero, 1), u.shl(r.read(half, 1), 8))
    z = u.add(n, u.shl(r.read(at(-1), 1), 2))
    short = u.mul(u.shift_mix(u.xor(u.mul(y, u.k(_K2)), u.mul(z, u.k(_K0)))), u.k(_K2))
    # 4-7 bytes.
    a = r.read(zero, 4)
    medium = u.hash_len16(u.add(n, u.shl(a, 3)), r.read(at(-4), 4), mul)
    # 8-16 bytes.
    a = u.add(r.read(zero, 8), u.k(_K2))
    last = r.read(at(-8), 8)
    c = u.add(u.mul(u.rot(last, 37), mul), a)
    d = u.mul(u.add(u.rot(a, 25), last), mul)
    long16 = u.hash_len16(c, d, mul)
    # 17-32 bytes.
    a = u.mul(r.read(zero, 8), u.k(_K1))
    second = r.read(b.op("Add", [zero, b.const(np.int64(8), h + "/eight")], h), 8)
    c = u.mul(r.read(at(-8), 8), mul)
    d = u.mul(r.read(at(-16), 8), u.k(_K2))
    long32 = u.hash_len16(u.add(u.add(u.rot(u.add(a, second), 43), u.rot(c, 30)), d),
                          u.add(u.add(a, u.rot(u.add(second, u.k(_K2)), 18)), c), mul)

    def shorter(limit: int) -> str:
        return b.op("Less", [length, b.const(np.int64(limit + 1), h + "/limit")], h)

    out = u.select(shorter(16), long16, long32)
    out = u.select(shorter(7), medium, out)
    return u.select(shorter(3), short, out)


def _siphash(b: GraphBuilder, data: str, length: str, key: tuple[int, int], h: str) -> str:
    """SipHash-2-4 (TF's `to_hash_bucket_strong`) of strings of 1 to 20 bytes under `key`: the
    full 8-byte words (none, one or two: each compression kept only where the string has it),
    then the last word (the remaining bytes and the length in its top byte)."""
    u, r = _U64(b, h), _Reader(b, data, h)
    k0, k1 = (int(k) & (2**64 - 1) for k in key)
    v = [u.k(k0 ^ 0x736F6D6570736575), u.k(k1 ^ 0x646F72616E646F6D), u.k(k0 ^ 0x6C7967656E657261),
         u.k(k1 ^ 0x7465646279746573)]

    def rotl(a: str, bits: int) -> str:
        return u.rot(a, 64 - bits)

    def rounds(v: list, count: int) -> list:
        v = list(v)
        for _ in range(count):
            v[0] = u.add(v[0], v[1])
            v[1] = u.xor(rotl(v[1], 13), v[0])
            v[0] = rotl(v[0], 32)
            v[2] = u.add(v[2], v[3])
            v[3] = u.xor(rotl(v[3], 16), v[2])
            v[0] = u.add(v[0], v[3])
            v[3] = u.xor(rotl(v[3], 21), v[0])
            v[2] = u.add(v[2], v[1])
            v[1] = u.xor(rotl(v[1], 17), v[2])
            v[2] = rotl(v[2], 32)
        return v

    def compress(v: list, m: str) -> list:
        v = [v[0], v[1], v[2], u.xor(v[3], m)]
        v = rounds(v, 2)
        return [u.xor(v[0], m), *v[1:]]

    zero = b.op("Mul", [length, b.const(np.int64(0), h + "/z0")], h)
    batch = b.op("Shape", [length], h)
    v = [b.op("Expand", [w, batch], h) for w in v]  # one state per value
    for at in (0, 8):
        has_word = b.op("GreaterOrEqual", [length, b.const(np.int64(at + 8), h + "/word_end")], h)
        word = r.read(b.op("Add", [zero, b.const(np.int64(at), h + "/at")], h), 8)
        v = [u.select(has_word, new, old) for new, old in zip(compress(v, word), v, strict=True)]
    full = b.op("Mul", [b.op("Div", [length, b.const(np.int64(8), h + "/eight")], h),
                        b.const(np.int64(8), h + "/eight_bytes")], h)
    last = u.add(r.read(full, 8), u.shl(b.op("Cast", [length], h, to=_UINT64), 56))  # zeros follow the string
    v = compress(v, last)
    v = rounds([v[0], v[1], u.xor(v[2], u.k(0xFF)), v[3]], 4)
    return u.xor(u.xor(v[0], v[1]), u.xor(v[2], v[3]))


def _mask(b: GraphBuilder, layer: Any, x: str, h: str) -> str | None:
    """Where the inputs equal `mask_value` (None when nothing can: no mask, or a string one)."""
    value = layer.mask_value
    if value is None or layer.num_bins <= 1 or isinstance(value, (str, bytes)):
        return None
    same = b.op("Equal", [b.op("Cast", [x], h, to=11), b.const(np.float64(value), h + "/mask", dtype=np.float64)], h)
    if float(value).is_integer():  # exact for int64 beyond 2^53 too
        same = b.op("And", [same, b.op("Equal", [b.op("Cast", [x], h, to=_INT64),
                                                 b.const(np.int64(value), h + "/mask_int")], h)], h)
    return same


@converter("Hashing")
def hashing(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """FarmHash (SipHash with a salt) bins of numeric inputs (see the module docstring); strings refused."""
    x, h = _one(inputs, layer), layer.name
    dtype = b.dtypes.get(x)
    if dtype is None:
        raise unsupported(layer, "the dtype of its input is not known here (call it on a model input or a layer "
                                 "output of a Functional model)")
    if dtype.kind in "OSU":
        raise unsupported(layer, "it hashes strings with FarmHash Fingerprint64 over their bytes, and ONNX has no "
                                 "operator that reads a string's bytes (onnxruntime's Tokenizer yields characters, "
                                 "whose code points only a table of every possible character could recover); hash "
                                 "the strings before the model, or replace the layer by a StringLookup with a fixed "
                                 "vocabulary")
    if layer.sparse:
        raise unsupported(layer, "sparse=True (ONNX graphs here carry dense tensors only)")
    if b.opset < HASH_OPSET:
        raise unsupported(layer, f"its FarmHash arithmetic needs opset {HASH_OPSET} (BitwiseXor), received "
                                 f"opset_version={b.opset}; pass opset_version={HASH_OPSET} or leave it unset")
    shape = b.shapes.get(x, ())
    flat = b.op("Reshape", [b.op("Cast", [x], h, to=_INT64), b.ints([-1], h + "/flat")], h)
    data, length = _decimal_bytes(b, flat, h)
    hashed = _siphash(b, data, length, tuple(layer.salt), h) if layer.strong_hash else \
        _fingerprint64(b, data, length, h)
    mask = _mask(b, layer, x, h)
    bins = layer.num_bins - 1 if mask is not None or (layer.mask_value is not None and layer.num_bins > 1) \
        else layer.num_bins
    out = b.op("Cast", [b.op("Mod", [hashed, b.const(np.uint64(bins), h + "/bins", dtype=np.uint64)], h)], h,
               to=_INT64)
    out = b.op("Reshape", [out, b.op("Shape", [x], h)], h)
    if layer.mask_value is not None and layer.num_bins > 1:
        out = b.op("Add", [out, b.const(np.int64(1), h + "/after_mask")], h)
        if mask is not None:
            out = b.op("Where", [mask, b.const(np.int64(0), h + "/mask_bin"), out], h)
    if layer.output_mode == "int":
        return b.op("Cast", [out], h, to=_elem_type(layer.dtype))
    return _encode(b, layer, out, shape, layer.output_mode, layer.num_bins, np.dtype(layer.dtype))


_KMUL = 0xC6A4A7935BD1E995
_CROSS_SEED = 0xDECAFCAFFE


@converter("HashedCrossing")
def hashed_crossing(b: GraphBuilder, layer: Any, inputs: list, kwargs: dict) -> str:
    """Integer features crossed as `tf.sparse.cross_hashed` does: FingerprintCat64 from a seed
    over each feature's int64 bits (an integer is its own fingerprint), modulo `num_bins`.
    String features are refused (their Fingerprint64 needs their bytes)."""
    h = layer.name
    if len(inputs) < 2:
        raise unsupported(layer, f"it crosses at least two features, received {len(inputs)}")
    for x in inputs:
        dtype = b.dtypes.get(x)
        if dtype is None or dtype.kind not in "iu":
            kind = "of unknown dtype" if dtype is None else f"of dtype {dtype}"
            raise unsupported(layer, f"a feature {kind}: only integer features are exported (a string's "
                                     "Fingerprint64 needs its bytes, which no ONNX operator reads)")
    if layer.sparse and layer.output_mode != "int":
        raise unsupported(layer, "sparse=True (ONNX graphs here carry dense tensors only)")
    if b.opset < HASH_OPSET:
        raise unsupported(layer, f"its FarmHash arithmetic needs opset {HASH_OPSET} (BitwiseXor), received "
                                 f"opset_version={b.opset}; pass opset_version={HASH_OPSET} or leave it unset")
    u = _U64(b, h)
    kmul = u.k(_KMUL)
    first = b.op("Cast", [b.op("Cast", [inputs[0]], h, to=_INT64)], h, to=_UINT64)
    out = b.op("Expand", [u.k(_CROSS_SEED), b.op("Shape", [first], h)], h)
    for x in inputs:
        feature = b.op("Cast", [b.op("Cast", [x], h, to=_INT64)], h, to=_UINT64)  # the int64 bits
        r = u.xor(out, kmul)
        r = u.xor(r, u.mul(u.shift_mix(u.mul(feature, kmul)), kmul))
        r = u.mul(u.shift_mix(u.mul(r, kmul)), kmul)
        out = u.shift_mix(r)
    limit = layer.num_bins if layer.num_bins > 0 else 2**63 - 1
    bins = b.op("Cast", [b.op("Mod", [out, u.k(limit)], h)], h, to=_INT64)
    if layer.output_mode == "int":
        return b.op("Cast", [bins], h, to=_elem_type(layer.dtype))
    return _encode(b, layer, bins, b.shapes.get(inputs[0], ()), "one_hot", layer.num_bins,
                   np.dtype(layer._np_dtype))
