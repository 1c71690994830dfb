"""The quarantine as the admin page lists it: each row with the quality checks its reasons belong to."""

from __future__ import annotations

from dataclasses import dataclass

from shelfwise.domain import NotFoundError, QuarantinedRow
from shelfwise.domain.ingest import Source
from shelfwise.engine import Engine
from shelfwise.quality.rows import check_of_reason


@dataclass(frozen=True)
class QuarantineListing:
    """One page of the quarantine as the quality page lists it."""

    rows: list[tuple[QuarantinedRow, list[str]]]  # the page shown
    matching: int
    checks: dict[str, int]  # every check found in the source's quarantine, with its row count


def reason_check(source: str, reason: str) -> str:
    """The quality check a reason of a quarantined `source` row belongs to, as the gate classifies it."""
    return check_of_reason("product" if source == "products" else "event", reason)


def list_quarantine(
    engine: Engine, source: Source | None, check: str | None, offset: int, limit: int
) -> QuarantineListing:
    """A page of quarantined rows (of one source, and with a reason of one check), with every check's
    row count for the filter."""
    found = engine.quarantined(source, limit=None)
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


def find_entry(engine: Engine, entry_id: int) -> QuarantinedRow | None:
    """One quarantined row, or None when it is gone (released by a retry)."""
    try:
        return engine.quarantined_row(entry_id)
    except NotFoundError:
        return None
