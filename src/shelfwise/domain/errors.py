"""Errors a caller can act on, raised by every layer; surfaces map them to their own codes."""

from __future__ import annotations

from typing import Any


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


class BatchTooLargeError(InvalidRequestError):
    """A request sends more rows than one request may; `limit` is the most it may send."""

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class BatchRefusedError(InvalidRequestError):
    """A batch or file refused whole (nothing stored), most of its rows being unreadable; `details`
    counts the rows and the reasons."""

    def __init__(self, message: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.details = details
