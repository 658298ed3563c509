"""Write tapeflow/sobol_directions.npz: Joe & Kuo's Sobol' direction numbers, bit-packed.

The numbers are S. Joe and F. Y. Kuo's "new-joe-kuo-6.21201" set (21201 dimensions; BSD-style
licence, https://web.maths.unsw.edu.au/~fkuo/sobol/), the set TensorFlow's tf.math.sobol_sample
uses; this script reads them from SciPy's copy (scipy/stats/_sobol_direction_numbers.npz).
Each dimension j has a primitive polynomial of degree s (bits s..0, both ends 1) and initial
odd numbers m_1..m_s with m_k < 2**k. Stored: `degree` (uint8 per dimension) and `bits`
(np.packbits of, per dimension, the s-1 interior polynomial bits, then m_k >> 1 in k-1 bits).

Usage: python tools/gen_sobol_directions.py   (needs SciPy)
"""

from __future__ import annotations

import os
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "tapeflow", "sobol_directions.npz")


def main() -> int:
    import scipy.stats

    src = os.path.join(os.path.dirname(scipy.stats.__file__), "_sobol_direction_numbers.npz")
    data = np.load(src)
    poly, vinit = data["poly"], data["vinit"]
    degree = np.array([int(p).bit_length() - 1 for p in poly], np.uint8)
    fields: list[tuple[int, int]] = []  # (value, width)
    for j, s in enumerate(degree.tolist()):
        if s == 0:
            continue
        fields.append(((int(poly[j]) >> 1) & ((1 << (s - 1)) - 1), s - 1))
        for k in range(1, s + 1):
            m = int(vinit[j, k - 1])
            assert m % 2 == 1 and m < (1 << k), (j, k, m)
            fields.append((m >> 1, k - 1))
    bits = np.zeros(sum(w for _, w in fields), np.uint8)
    pos = 0
    for value, width in fields:
        for b in range(width):
            bits[pos + b] = (value >> (width - 1 - b)) & 1
        pos += width
    np.savez(OUT, degree=degree, bits=np.packbits(bits))
    print(f"{len(degree)} dimensions, {bits.size} bits -> {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
