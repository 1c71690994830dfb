"""The quarantine as the admin page lists it: each row with the quality checks its reasons belong to."""

from __future__ import annotations

from dataclasses import dataclass

from shelfwise.engine import Engine
from shelfwise.quality.checks import CHECKS
from shelfwise.quality.quarantine import DUPLICATE_REASON
from shelfwise.quality.retry import QuarantineEntry, Source, entries


@dataclass(frozen=True)
class QuarantineListing:
    rows: list[tuple[QuarantineEntry, list[str]]]  # the page shown
    matching: int
    checks: dict[str, int]  # every check found in the source's quarantine, with its row count


def reason_check(source: str, reason: str) -> str:
    """The quality check a reason belongs to. Reasons name their check (`product.x: ...`) or, for
    rows that could not be parsed, the field at fault; those map as the gate classifies them."""
    kind = "product" if source == "products" else "event"
    prefix, _, problem = reason.partition(":")
    prefix, problem = prefix.strip(), problem.strip()
    if prefix in CHECKS:
        return prefix
    if reason.startswith(DUPLICATE_REASON):
        return "product.duplicate_id"
    if prefix == "row":
        return f"{kind}.unreadable_row"
    if problem.startswith("missing"):
        return f"{kind}.missing_required"
    if kind == "product" and prefix == "price" and problem.endswith("is negative"):
        return "product.negative_price"
    if kind == "event" and prefix == "event_type":
        return "event.unknown_event_type"
    return f"{kind}.invalid_value"


def list_quarantine(
    engine: Engine, source: Source | None, check: str | None, offset: int, limit: int
) -> QuarantineListing:
    found = entries(engine.store, source)
    checks: dict[str, int] = {}
    labelled = []
    for entry in found:
        names = sorted({reason_check(entry.source, reason) for reason in entry.reasons})
        for name in names:
            checks[name] = checks.get(name, 0) + 1
        if not check or check in names:
            labelled.append((entry, names))
    ordered = dict(sorted(checks.items(), key=lambda item: (-item[1], item[0])))
    return QuarantineListing(labelled[offset : offset + limit], len(labelled), ordered)


def find_entry(engine: Engine, entry_id: int) -> QuarantineEntry | None:
    found = entries(engine.store, None, [entry_id])
    return found[0] if found else None
