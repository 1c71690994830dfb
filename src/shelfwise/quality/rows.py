"""Per-row decisions of the quality gate: what it knows about one input row while it decides (the checks
that fired, the reasons to quarantine, the repairs made) and the one outcome that follows, and which
quality check each quarantine reason belongs to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from shelfwise.domain import QuarantinedRow
from shelfwise.io.parsing import field_key
from shelfwise.io.readers import RawRow, truncate_raw
from shelfwise.quality.checks import CHECKS, Effect
from shelfwise.quality.quarantine import DUPLICATE_REASON
from shelfwise.quality.repairs import Repair
from shelfwise.quality.report import Outcome


@dataclass
class GatedRow:
    """What the gate knows about one input row while it decides."""

    line: int
    raw: RawRow | None  # None for a row read by the fast path; fetched before the row is quarantined
    checks: dict[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    product_id: str | None = None
    user_id: str | None = None
    decided: Outcome | None = None

    def outcome(self) -> Outcome:
        """The row's outcome; fixed once every check has run (`decide`)."""
        return self.decided or self._outcome()

    def decide(self) -> None:
        """Fix the outcome once every check has run, so later bookkeeping cannot change it."""
        self.decided = self._outcome()

    def _outcome(self) -> Outcome:
        if not self.checks and not self.reasons and not self.repairs:
            return "accepted"
        effects = {CHECKS[name].effect for name in self.checks}
        if self.reasons or Effect.QUARANTINE in effects:
            return "quarantined"
        if Effect.EXCLUDE in effects:
            return "excluded"
        if self.repairs:
            return "repaired"
        return "accepted"


def check_of_reason(kind: str, reason: str) -> str:
    """The quality check a quarantine reason belongs to (`kind` is product or event). Reasons either name
    their check (`product.x: ...`) or, from the row parser, the field at fault (`price: ...`)."""
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


def raw_id(row: RawRow, name: str) -> str | None:
    """The id field `name` of a raw row before parsing (whatever the column's spelling), for the report
    to name rows that never parsed; None when absent or blank."""
    if row.data is None:
        return None
    value = row.data.get(name)  # the usual spelling first: field_key per column is the slow path
    if value is None:
        for key, candidate in row.data.items():
            if field_key(str(key)) == name:
                value = candidate
                break
    return str(value).strip() or None if value is not None else None


def quarantined_row(source: str, file: str, row: GatedRow, max_raw_chars: int) -> QuarantinedRow:
    """The quarantine entry of a row: its raw content (cut short past `max_raw_chars`, see `truncate_raw`)
    and every reason, including each quarantining check that fired after parsing."""
    assert row.raw is not None, "the raw row is fetched before a row is quarantined"
    reasons = list(row.reasons)
    for name, detail in row.checks.items():
        if CHECKS[name].effect is Effect.QUARANTINE and not any(detail in reason for reason in reasons):
            reasons.append(f"{name}: {detail}" if detail else name)
    return QuarantinedRow(
        source="products" if source == "products" else "events",
        file=file,
        line=row.line,
        raw=truncate_raw(row.raw.raw, max_raw_chars),
        reasons=reasons,
    )


def quarantined_by_check(rows: Sequence[QuarantinedRow]) -> tuple[dict[str, int], dict[str, str]]:
    """How many quarantined rows fail each check, most first, and the first reason found for each."""
    counts: dict[str, int] = {}
    examples: dict[str, str] = {}
    known: dict[tuple[str, str], str] = {}  # a flood of bad rows repeats the same few reasons
    for row in rows:
        kind = "product" if row.source == "products" else "event"
        first: dict[str, str] = {}
        for reason in row.reasons:
            name = known.get((kind, reason))
            if name is None:
                name = known[kind, reason] = check_of_reason(kind, reason)
            first.setdefault(name, reason)
        for name, reason in first.items():
            counts[name] = counts.get(name, 0) + 1
            examples.setdefault(name, reason)
    return dict(sorted(counts.items(), key=lambda item: -item[1])), examples


def reasons_by_check(rows: Sequence[GatedRow]) -> dict[str, int]:
    """How many rows each check fired on, most first (the ingest report's `reasons_by_check`)."""
    counts: dict[str, int] = {}
    for row in rows:
        for name in row.checks:
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))
