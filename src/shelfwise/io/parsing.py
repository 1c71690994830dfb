"""Turn a raw row (a dict of field name -> value as read) into a Product or an Event, or say what is wrong.

Every problem of a row is collected, not just the first, and each reason names the field and the value:
"price: 'abc' is not a number". Field names are matched loosely (`Product ID` and `product-id` are
`product_id`); unknown product columns are kept under `attributes`, unknown event columns are ignored.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shelfwise.domain import Event, EventType, Product
from shelfwise.domain.values import MAX_QUANTITY, check_price, check_text
from shelfwise.io.readers import json_safe

PRODUCT_FIELDS: tuple[str, ...] = tuple(Product.model_fields)
EVENT_FIELDS: tuple[str, ...] = tuple(Event.model_fields)
EVENT_TYPES: tuple[str, ...] = tuple(kind.value for kind in EventType)
_EVENT_TYPE_BY_NAME: dict[str, EventType] = {kind.value: kind for kind in EventType}

TRUE_WORDS = frozenset({"true", "1", "yes", "y"})
FALSE_WORDS = frozenset({"false", "0", "no", "n"})

# Above this an epoch number is taken as milliseconds: 1e11 seconds is the year 5138, 1e11 ms is 1973.
_EPOCH_MS_THRESHOLD = 1e11
_EPOCH_MAX_MS = 1e14
_SHOWN_VALUE_CHARS = 60
# A currency symbol or code before or after the amount: "$12.50", "-$5", "12,50 €", "USD 12.50".
_CURRENCY_BEFORE = re.compile(r"^(-?)\s*(?:[$€£¥₹]|[A-Za-z]{3}(?=[\d\s.,]))\s*")
_CURRENCY_AFTER = re.compile(r"(?<=[\d\s.])\s*(?:[$€£¥₹]|[A-Za-z]{3})$")
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d{1,2}$")
_CURRENCY_CODE = re.compile(r"^[A-Za-z]{3}$")

ModelT = TypeVar("ModelT", bound=BaseModel)


class RowError(ValueError):
    """A row that cannot become a domain object; `reasons` lists every problem, each naming its field."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def shown(value: Any) -> str:
    """A value as it appears in a reason: quoted like Python, cut short when long."""
    text = repr(value)
    return text if len(text) <= _SHOWN_VALUE_CHARS else text[: _SHOWN_VALUE_CHARS - 3] + "..."


@lru_cache(maxsize=4096)
def field_key(name: str) -> str:
    """The canonical spelling of a column name: `Product ID` -> `product_id`."""
    return re.sub(r"[\s\-]+", "_", name.strip()).lower()


class _Reasons:
    """Collects the reasons of one row; each converter returns None and records why when a value is bad."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, field: str, problem: str) -> None:
        self.items.append(f"{field}: {problem}")

    def has(self, field: str) -> bool:
        return any(item.startswith(f"{field}:") for item in self.items)

    def convert(
        self, field: str, value: Any, converter: Callable[[Any], Any], *, nan_is_missing: bool = True
    ) -> Any:
        """`converter(value)`, or None when the value is missing or bad (recording why). A float NaN is a
        missing value (a gap in a pandas or Parquet column) unless `nan_is_missing` is False."""
        if _is_missing(value) and (nan_is_missing or not _is_nan(value)):
            return None
        try:
            return converter(value)
        except ValueError as exc:
            self.add(field, str(exc))
            return None


# --- value converters: raise ValueError with a message that quotes the value -------------------------------


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if _is_nan(value):
        return True  # a missing value in a numeric Parquet/pandas column
    return isinstance(value, str) and not value.strip()


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _text(value: str) -> str:
    try:
        return check_text(value.strip())
    except ValueError as error:
        raise ValueError(f"{shown(value)} {error}") from None


def to_text(value: Any) -> str:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"{shown(value)} is not text")
    return _number_text(value)


def to_id(value: Any) -> str:
    """Ids are text; numbers (123 from JSON or Parquet, 123.0 from a column with gaps) become "123"."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"{shown(value)} is not an id (expected text or a whole number)")
    return _number_text(value)


def _number_text(value: int | float | Decimal) -> str:
    if isinstance(value, float | Decimal):
        if not math.isfinite(value):
            raise ValueError(f"{shown(value)} is not a finite number")
        if value == int(value):
            return str(int(value))
    return str(value)


def to_price(value: Any) -> float:
    """A price (see `check_price`): 12.5, "12.50", "1,299.00", "$12.50", "12,50 €", "USD 12.50"."""
    if isinstance(value, str):
        number = _parse_price_text(value)
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number = _as_float(value)  # NaN and infinities included: check_price names them
    else:
        number = None
    if number is None:
        raise ValueError(f"{shown(value)} is not a number")
    try:
        return check_price(number)
    except ValueError as error:
        problem = str(error).partition(" ")[2]  # check_price quotes the float; quote the value as given
        raise ValueError(f"{shown(value)} {problem}") from None


def _as_float(value: int | float | Decimal) -> float:
    try:
        return float(value)
    except OverflowError:  # an int beyond any float
        return math.inf if value > 0 else -math.inf


def _to_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = _as_float(value)
    return number if math.isfinite(number) else None


def _parse_price_text(text: str) -> float | None:
    cleaned = _CURRENCY_AFTER.sub("", _CURRENCY_BEFORE.sub(r"\1", text.strip()))
    cleaned = cleaned.replace(" ", "").replace("\u00a0", "")
    if _THOUSANDS.match(cleaned):
        cleaned = cleaned.replace(",", "")
    elif _DECIMAL_COMMA.match(cleaned):
        cleaned = cleaned.replace(",", ".")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return None
    return None if number.is_snan() else float(number)  # "NaN" and "inf" become floats check_price refuses


def to_quantity(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_QUANTITY:
        return value
    number = _to_number(value)
    if isinstance(value, str):
        try:
            number = float(Decimal(value.strip()))
        except InvalidOperation:
            number = None
    if number is None or not math.isfinite(number) or number != int(number):
        raise ValueError(f"{shown(value)} is not a whole number")
    if number < 1:
        raise ValueError(f"{shown(value)} is less than 1")
    if number > MAX_QUANTITY:
        raise ValueError(f"{shown(value)} is more than {MAX_QUANTITY}")
    return int(number)


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ValueError(f"{shown(value)} is not one of true/false, 1/0, yes/no, y/n")


def to_timestamp(value: Any) -> datetime:
    """ISO 8601 with or without zone, a date, or epoch seconds/milliseconds (number or digits); UTC out."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        moment = _from_epoch(value, value)
    elif isinstance(value, str):
        moment = _parse_timestamp_text(value)
    else:
        raise ValueError(f"{shown(value)} is not a timestamp")
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # a zoned time at the very ends of the calendar has no UTC equivalent
        raise ValueError(f"{shown(value)} is out of range for a timestamp") from None


def _parse_timestamp_text(text: str) -> datetime:
    stripped = text.strip()
    if re.fullmatch(r"-?\d+(?:\.\d+)?", stripped) and len(stripped.split(".")[0].lstrip("-")) > 8:
        # Digits only: epoch seconds or milliseconds (eight digits or fewer read as a date like 20240105).
        return _from_epoch(Decimal(stripped), text)
    try:
        return datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(
            f"{shown(text)} is not a timestamp (expected ISO 8601 such as 2024-05-01T12:30:00Z, "
            "a date, or epoch seconds or milliseconds)"
        ) from None


def _from_epoch(number: int | float | Decimal, original: Any) -> datetime:
    seconds = _as_float(number)
    if not math.isfinite(seconds) or abs(seconds) >= _EPOCH_MAX_MS:
        raise ValueError(f"{shown(original)} is out of range for epoch seconds or milliseconds")
    if abs(seconds) >= _EPOCH_MS_THRESHOLD:
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{shown(original)} is out of range for a timestamp") from None


def to_attributes(value: Any) -> dict[str, Any]:
    """A JSON object, or text holding one."""
    if isinstance(value, Mapping):
        return {str(key): item for key, item in value.items()}
    if isinstance(value, list) and all(isinstance(pair, tuple | list) and len(pair) == 2 for pair in value):
        return {str(key): item for key, item in value}  # a Parquet map column arrives as key/value pairs
    if not isinstance(value, str):
        raise ValueError(f"{shown(value)} is not a JSON object")
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{shown(value)} is not valid JSON ({exc.msg} at character {exc.pos + 1})") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"{shown(value)} is JSON but not an object")
    return parsed


def to_currency(value: Any) -> str:
    text = to_text(value)
    if not _CURRENCY_CODE.match(text):
        raise ValueError(f"{shown(value)} is not a 3-letter currency code such as USD")
    return text.upper()


def to_event_type(value: Any) -> EventType:
    if isinstance(value, str):
        kind = _EVENT_TYPE_BY_NAME.get(value) or _EVENT_TYPE_BY_NAME.get(field_key(value))
        if kind is not None:
            return kind
    raise ValueError(f"{shown(value)} is not one of {', '.join(EVENT_TYPES)}")


# --- rows ------------------------------------------------------------------------------------------------


def _split_fields(
    data: Mapping[str, Any], known: tuple[str, ...], reasons: _Reasons
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Known fields by canonical name, and the other columns by their own name."""
    fields: dict[str, Any] = {}
    sources: dict[str, str] = {}
    others: dict[str, Any] = {}
    for name, value in data.items():
        key = field_key(str(name))
        if key not in known:
            others[str(name).strip()] = value
            continue
        if key in sources:
            if not (_is_missing(value) and _is_missing(fields[key])):
                reasons.add(key, f"given twice, by columns {sources[key]!r} and {name!r}")
            continue
        fields[key] = value
        sources[key] = str(name)
    return fields, others


def parse_product(data: Mapping[str, Any]) -> Product:
    """A Product from one import row, or RowError listing every problem."""
    reasons = _Reasons()
    fields, others = _split_fields(data, PRODUCT_FIELDS, reasons)
    values: dict[str, Any] = {
        "product_id": reasons.convert("product_id", fields.get("product_id"), to_id),
        "title": reasons.convert("title", fields.get("title"), to_text),
        "description": reasons.convert("description", fields.get("description"), to_text),
        "category": reasons.convert("category", fields.get("category"), to_text),
        "brand": reasons.convert("brand", fields.get("brand"), to_text),
        "price": reasons.convert("price", fields.get("price"), to_price, nan_is_missing=False),
        "currency": reasons.convert("currency", fields.get("currency"), to_currency),
        "image_url": reasons.convert("image_url", fields.get("image_url"), to_text),
        "available": reasons.convert("available", fields.get("available"), to_bool),
        "created_at": reasons.convert("created_at", fields.get("created_at"), to_timestamp),
        "updated_at": reasons.convert("updated_at", fields.get("updated_at"), to_timestamp),
    }
    for required in ("product_id", "title"):
        if values[required] is None and not reasons.has(required):
            reasons.add(required, "missing")
    values["attributes"] = _attributes(fields.get("attributes"), others, reasons)
    return _build(Product, {key: value for key, value in values.items() if value is not None}, reasons)


def _attributes(given: Any, others: dict[str, Any], reasons: _Reasons) -> dict[str, Any] | None:
    attributes = reasons.convert("attributes", given, to_attributes) or {}
    for name, value in others.items():
        if _is_missing(value) or not name:
            continue
        if name in attributes and attributes[name] != value:
            reasons.add(
                "attributes",
                f"column {name!r} is {shown(value)} but attributes has {name!r}: {shown(attributes[name])}",
            )
            continue
        attributes[name] = value
    return json_safe(attributes) if attributes else None


def parse_event(data: Mapping[str, Any]) -> Event:
    """An Event from one import row, or RowError listing every problem. Unknown columns are ignored."""
    reasons = _Reasons()
    fields, _ = _split_fields(data, EVENT_FIELDS, reasons)
    values: dict[str, Any] = {
        "user_id": reasons.convert("user_id", fields.get("user_id"), to_id),
        "session_id": reasons.convert("session_id", fields.get("session_id"), to_id),
        "event_type": reasons.convert("event_type", fields.get("event_type"), to_event_type),
        "product_id": reasons.convert("product_id", fields.get("product_id"), to_id),
        "query": reasons.convert("query", fields.get("query"), to_text),
        "timestamp": reasons.convert("timestamp", fields.get("timestamp"), to_timestamp),
        "quantity": reasons.convert("quantity", fields.get("quantity"), to_quantity),
        "price": reasons.convert("price", fields.get("price"), to_price, nan_is_missing=False),
        "request_id": reasons.convert("request_id", fields.get("request_id"), to_id),
        "event_id": reasons.convert("event_id", fields.get("event_id"), to_id),
    }
    _check_event_shape(values, reasons)
    return _build(Event, {key: value for key, value in values.items() if value is not None}, reasons)


def _check_event_shape(values: dict[str, Any], reasons: _Reasons) -> None:
    """The checks the Event model makes too, here so that they come out with a field name and all at once."""
    for field in ("event_type", "timestamp"):
        if values[field] is None and not reasons.has(field):
            reasons.add(field, "missing")
    no_actor = values["user_id"] is None and values["session_id"] is None
    if no_actor and not (reasons.has("user_id") or reasons.has("session_id")):
        reasons.add("user_id", "missing (an event needs a user_id or a session_id)")
    kind = values["event_type"]
    if kind is EventType.SEARCH:
        if values["query"] is None and not reasons.has("query"):
            reasons.add("query", "missing (a search event needs a query)")
    elif kind is not None and values["product_id"] is None and not reasons.has("product_id"):
        reasons.add("product_id", f"missing (a {kind.value} event needs a product_id)")


def _build(model: type[ModelT], values: dict[str, Any], reasons: _Reasons) -> ModelT:
    if reasons.items:
        order = {name: position for position, name in enumerate(model.model_fields)}
        # Reasons in the order of the fields, as a person reads the row.
        raise RowError(sorted(reasons.items, key=lambda reason: order.get(reason.split(":")[0], len(order))))
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise RowError(validation_reasons(exc)) from None


def validation_reasons(error: ValidationError) -> list[str]:
    """Pydantic's errors as "field: message (got value)" lines."""
    lines = []
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        got = f" (got {shown(item['input'])})" if field and "input" in item else ""
        lines.append(f"{field}: {message}{got}" if field else message)
    return lines
