"""`tf.errors`: the exception types ops raise."""


class OpError(Exception):
    """Base class of errors raised by ops."""


class InvalidArgumentError(OpError, ValueError):
    """An op received an argument it cannot use (bad shape, out-of-range index, ...)."""


class ResourceExhaustedError(OpError, MemoryError):
    """An op ran out of memory."""


class NotFoundError(OpError, FileNotFoundError):
    """A file or name was not found."""


class UnimplementedError(OpError, NotImplementedError):
    """The operation is not implemented."""


class UnavailableError(OpError):
    """A peer is unavailable (a distributed worker died or stopped answering)."""
