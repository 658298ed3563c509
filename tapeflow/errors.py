"""`tf.errors`: the exception types ops raise, with TF's hierarchy and status codes.

Every class derives from `OpError` like TF's; a few also derive from the matching Python
exception (`InvalidArgumentError` is a `ValueError`, `NotFoundError` a `FileNotFoundError`...) so
that code catching either kind works. Each takes TF's `(node_def, op, message)` or a message.
"""

from __future__ import annotations

from typing import Any

OK = 0
CANCELLED = 1
UNKNOWN = 2
INVALID_ARGUMENT = 3
DEADLINE_EXCEEDED = 4
NOT_FOUND = 5
ALREADY_EXISTS = 6
PERMISSION_DENIED = 7
RESOURCE_EXHAUSTED = 8
FAILED_PRECONDITION = 9
ABORTED = 10
OUT_OF_RANGE = 11
UNIMPLEMENTED = 12
INTERNAL = 13
UNAVAILABLE = 14
DATA_LOSS = 15
UNAUTHENTICATED = 16


class OpError(Exception):
    """Base class of errors raised by ops: `message`, `op`, `node_def` and `error_code`.

    Built as TF's `OpError(node_def, op, message, error_code)` or, in Tapeflow's own code, from a
    message alone.
    """

    code = UNKNOWN

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = ("node_def", "op", "message", "error_code")
        values = dict(zip(names, args, strict=False)) if len(args) >= 3 else {"message": args[0] if args else ""}
        values.update({k: v for k, v in kwargs.items() if k in names})
        self._node_def = values.get("node_def")
        self._op = values.get("op")
        self._message = str(values.get("message", ""))
        self._error_code = values.get("error_code", type(self).code)
        super().__init__(self._message)

    @property
    def message(self) -> str:
        """The error message."""
        return self._message

    @property
    def op(self) -> Any:
        """The operation that failed, or None (eager ops)."""
        return self._op

    @property
    def node_def(self) -> Any:
        """The failed op's NodeDef, or None."""
        return self._node_def

    @property
    def error_code(self) -> int:
        """The integer status code (`tf.errors.INVALID_ARGUMENT`, ...)."""
        return self._error_code

    @property
    def experimental_payloads(self) -> dict:
        """Extra error details (always empty here)."""
        return {}

    def __str__(self) -> str:
        return self._message


def _error(name: str, code: int, doc: str, *bases: type) -> type:
    return type(name, (OpError, *bases), {"code": code, "__doc__": doc, "__module__": __name__})


CancelledError = _error("CancelledError", CANCELLED, "An operation or step was cancelled.")
UnknownError = _error("UnknownError", UNKNOWN, "An unknown error occurred.")
InvalidArgumentError = _error(
    "InvalidArgumentError", INVALID_ARGUMENT,
    "An op received an argument it cannot use (bad shape, out-of-range index, ...).", ValueError)
DeadlineExceededError = _error("DeadlineExceededError", DEADLINE_EXCEEDED, "A deadline expired.")
NotFoundError = _error("NotFoundError", NOT_FOUND, "A file or name was not found.", FileNotFoundError)
AlreadyExistsError = _error("AlreadyExistsError", ALREADY_EXISTS, "An entity to create already exists.")
PermissionDeniedError = _error("PermissionDeniedError", PERMISSION_DENIED,
                               "The caller may not run the operation.", PermissionError)
UnauthenticatedError = _error("UnauthenticatedError", UNAUTHENTICATED, "The request lacks credentials.")
ResourceExhaustedError = _error("ResourceExhaustedError", RESOURCE_EXHAUSTED,
                                "An op ran out of memory or another resource.", MemoryError)
FailedPreconditionError = _error("FailedPreconditionError", FAILED_PRECONDITION,
                                 "The system is not in a state to run the operation "
                                 "(an uninitialized variable, ...).")
AbortedError = _error("AbortedError", ABORTED, "The operation was aborted (a concurrent action).")
OutOfRangeError = _error("OutOfRangeError", OUT_OF_RANGE,
                         "An operation went past the valid range (an exhausted iterator or queue).")
UnimplementedError = _error("UnimplementedError", UNIMPLEMENTED, "The operation is not implemented.",
                            NotImplementedError)
InternalError = _error("InternalError", INTERNAL, "An internal invariant was broken.")
UnavailableError = _error("UnavailableError", UNAVAILABLE,
                          "The runtime is unavailable (a distributed worker died or stopped answering).")
DataLossError = _error("DataLossError", DATA_LOSS, "Unrecoverable data loss or corruption.")


class OperatorNotAllowedInGraphError(TypeError):
    """A Python operation on a symbolic tensor that a graph cannot express (`bool(tensor)`...)."""
