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
