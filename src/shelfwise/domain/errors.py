"""Errors a caller can act on, raised by every layer; surfaces map them to their own codes."""

from __future__ import annotations


class ShelfwiseError(Exception):
    """Base of the errors a caller can act on."""


class NotFoundError(ShelfwiseError, LookupError):
    """A product, user or version named in a request does not exist."""


class InvalidRequestError(ShelfwiseError, ValueError):
    """A request whose arguments are wrong; the message says which and why."""


class NotTrainedError(ShelfwiseError):
    """The request needs a trained model and none has been trained yet."""


class AccessDeniedError(ShelfwiseError):
    """The caller is known but may not do this: its key's scope does not reach, or it named someone else."""


class RateLimitedError(ShelfwiseError):
    """Too many requests from one key or one address; `retry_after` says how many seconds to wait."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
