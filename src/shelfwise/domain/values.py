"""Rules a value obeys wherever it comes from (an API body, a file, a Python caller): one definition each,
used by the models, the row parser and the engine alike.

- A price is a finite number, not negative. NaN and infinities, as numbers or as text ("NaN", "inf"), are
  refused, never read as a missing price: the row is quarantined with the reason, so nothing is stored
  with a price the shop did not give.
- Text holds no NUL character (PostgreSQL cannot store one) and no lone surrogate (UTF-8 cannot encode
  one), so a store on either backend refuses them, and an id with one names nothing.
- A page offset fits a signed 64-bit integer, the most either database accepts; an event's quantity fits
  the 32-bit column that stores it.
"""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AfterValidator, Field

from shelfwise.domain.errors import InvalidRequestError

NUL = "\x00"
MAX_OFFSET = 2**63 - 1
MAX_QUANTITY = 2**31 - 1


def check_price(number: float) -> float:
    """`number` as a price, or ValueError quoting it: not finite, or negative."""
    if not math.isfinite(number):
        raise ValueError(f"{number!r} is not a finite number")
    if number < 0:
        raise ValueError(f"{number!r} is negative")
    return number


Price = Annotated[float, Field(json_schema_extra={"minimum": 0}), AfterValidator(check_price)]
"""A price on a model: a finite number, not negative (`check_price`)."""


def check_text(text: str) -> str:
    """`text` unchanged, or ValueError when it holds a NUL character or a lone surrogate (JSON's
    `"\\ud800"` parses to one, and no UTF-8 store, file or response can hold it)."""
    if NUL in text:
        raise ValueError(f"contains a NUL character (\\x00) at position {text.index(NUL)}")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(
                f"is not valid Unicode: a lone surrogate ({text[error.start]!a}) at position {error.start}"
            ) from None
    return text


def require_text(name: str, text: str | None) -> None:
    """InvalidRequestError naming the argument when a caller's `text` breaks `check_text`."""
    if text is not None:
        try:
            check_text(text)
        except ValueError as error:
            raise InvalidRequestError(f"{name} {error}") from None


def require_offset(offset: int) -> None:
    """InvalidRequestError when a page offset is negative or beyond what a database accepts."""
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidRequestError(f"offset must be between 0 and {MAX_OFFSET}, got {offset}")
