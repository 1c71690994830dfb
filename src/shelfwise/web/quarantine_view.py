"""The quarantine as the admin page lists it: each row with the quality checks its reasons belong to."""

from __future__ import annotations

from collections.abc import Sequence
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
    row count for the filter. The checks are counted over the reasons alone, each distinct reason list
    classified once; only the rows of the page are read whole, oldest first."""
    checks: dict[str, int] = {}
    matching: list[int] = []
    groups = 0
    for (origin, reasons), ids in engine.quarantine_reasons(source).items():
        names = _checks_of(origin, reasons)
        for name in names:
            checks[name] = checks.get(name, 0) + len(ids)
        if not check or check in names:
            matching.extend(ids)
            groups += 1
    if groups > 1:
        matching.sort()  # each group is in id order already
    page = engine.quarantined(ids=matching[offset : offset + limit], limit=None)
    labelled = [(row, _checks_of(row.source, row.reasons)) for row in page]
    ordered = dict(sorted(checks.items(), key=lambda item: (-item[1], item[0])))
    return QuarantineListing(labelled, len(matching), ordered)


def _checks_of(source: str, reasons: Sequence[str]) -> list[str]:
    return sorted({reason_check(source, reason) for reason in reasons})


def find_entry(engine: Engine, entry_id: int) -> QuarantinedRow | None:
    """One quarantined row, or None when it is gone (released by a retry)."""
    try:
        return engine.quarantined_row(entry_id)
    except NotFoundError:
        return None
