"""Bounds on one ingest (`QualityConfig.limits`), so that one request or file cannot flood the store:
how many rows one request may send, a batch that is mostly unreadable refused whole, and how much of the
quarantine one ingest may fill. Nothing is dropped unsaid: rows past a quarantine bound are counted, by
check, in the ingest report, with a notice naming the limit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from shelfwise.domain import IngestReport, QuarantinedRow
from shelfwise.domain.errors import BatchRefusedError, BatchTooLargeError
from shelfwise.quality.config import IngestLimits
from shelfwise.quality.gate import GatedFile
from shelfwise.quality.rows import quarantined_by_check

SETTING = "quality.limits"  # where the limits live in the settings, for the messages that name them
TOP_REASONS = 5


def check_request_rows(rows: int, limits: IngestLimits) -> None:
    """Refuse a request with more rows than `max_request_rows`, before any of them is looked at."""
    if rows > limits.max_request_rows:
        raise BatchTooLargeError(
            f"{rows:,} rows in one request; at most {limits.max_request_rows:,} "
            f"({SETTING}.max_request_rows): send them in smaller batches",
            limits.max_request_rows,
        )


def refuse_mostly_unreadable(gated: GatedFile, limits: IngestLimits) -> None:
    """Refuse the whole batch or file (BatchRefusedError, before anything is stored) when more than
    `refuse_invalid_share` of its rows, and at least `refuse_min_invalid_rows`, cannot be read at all.
    Rows refused for what they say rather than how (an unknown product, a timestamp out of range, a
    superseded duplicate) do not count: they are good rows waiting for the catalog or a fix."""
    total, unreadable = len(gated.rows), gated.unreadable
    if unreadable < limits.refuse_min_invalid_rows or unreadable <= limits.refuse_invalid_share * total:
        return
    counts, examples = quarantined_by_check(gated.quarantined)
    top = list(counts.items())[:TOP_REASONS]
    summary = "; ".join(f"{name} on {count:,} rows (e.g. {examples[name]!r})" for name, count in top)
    kind = "products" if gated.kind == "products" else "events"
    raise BatchRefusedError(
        f"{gated.file}: refused whole, nothing stored: {unreadable:,} of {total:,} rows "
        f"({unreadable / total:.0%}) cannot be read as {kind}, more than the "
        f"{limits.refuse_invalid_share:.0%} allowed ({SETTING}.refuse_invalid_share). "
        f"Top reasons: {summary}",
        {
            "file": gated.file,
            "rows": total,
            "unreadable": unreadable,
            "refuse_invalid_share": limits.refuse_invalid_share,
            "refuse_min_invalid_rows": limits.refuse_min_invalid_rows,
            "reasons_by_check": counts,
            "examples": {name: examples[name] for name, _ in top},
        },
    )


@dataclass(frozen=True)
class QuarantineShare:
    """Which quarantined rows of one ingest the quarantine keeps, which it only counts, and why."""

    kept: list[QuarantinedRow]
    not_kept: list[QuarantinedRow] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def report(self, report: IngestReport) -> IngestReport:
        """`report` saying how many quarantined rows were not kept, by check, and why."""
        if not self.not_kept:
            return report
        by_check, _ = quarantined_by_check(self.not_kept)
        return IngestReport.model_validate(
            {
                **report.model_dump(),
                "quarantine_not_kept": len(self.not_kept),
                "not_kept_by_check": by_check,
                "notices": [*report.notices, *self.notices],
            }
        )


def share_quarantine(
    rows: Sequence[QuarantinedRow], stored: int, limits: IngestLimits, *, from_request: bool
) -> QuarantineShare:
    """The first rows, in order, up to what the quarantine has room for: `max_quarantined_per_source`
    less the `stored` rows of their source, and at most `max_quarantined_per_request` from a request."""
    if not rows:
        return QuarantineShare([])
    source = rows[0].source
    room = max(limits.max_quarantined_per_source - stored, 0)
    per_request = limits.max_quarantined_per_request if from_request else len(rows)
    keep = min(len(rows), room, per_request)
    if keep == len(rows):
        return QuarantineShare(list(rows))
    left = len(rows) - keep
    if keep == per_request and per_request < room:
        why = (
            f"one request may add at most {per_request:,} rows to the quarantine "
            f"({SETTING}.max_quarantined_per_request)"
        )
    else:
        why = (
            f"the {source} quarantine holds {stored:,} rows and keeps at most "
            f"{limits.max_quarantined_per_source:,} ({SETTING}.max_quarantined_per_source); retry, or "
            "export and discard, quarantined rows to make room (`shelfwise quality quarantine`)"
        )
    notice = (
        f"{left:,} of {len(rows):,} quarantined rows were not kept in the quarantine: {why}. "
        "They are counted, by check, in not_kept_by_check"
    )
    return QuarantineShare(list(rows[:keep]), list(rows[keep:]), [notice])
