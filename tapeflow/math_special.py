"""`tf.math.special`: the special functions Tapeflow has (modified Bessel I0/I1 and their
scaled forms); TF's others (bessel_j/k/y, dawsn, expint, fresnel, spence) are not provided."""

from tapeflow.math_extra import bessel_i0, bessel_i0e, bessel_i1, bessel_i1e  # noqa: F401
