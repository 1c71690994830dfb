"""What one ingest did, and the rows it did not accept: the quality gate's answer to every surface."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

Source = Literal["products", "events"]


class QuarantinedRow(BaseModel):
    """A row that was not accepted, where it came from, and every reason why; `id` once it is stored."""

    id: int | None = Field(default=None, description="The quarantine entry's id; None before it is stored.")
    source: Source
    file: str
    line: int
    raw: dict[str, Any] = Field(
        description="The row as read (JSON-safe); `_raw_line` holds unparseable text."
    )
    reasons: list[str]

    def describe(self) -> str:
        return f"{self.file}:{self.line}: {'; '.join(self.reasons)}"


class IngestReport(BaseModel):
    """What one ingest did. `quarantined_rows` may be capped for display; the counts never are.

    `accepted` counts every row that passed the gate; of those, `repaired` were changed by a recorded
    repair, `excluded` are kept out of training (bot traffic, repeated events, events waiting for their
    product), `unjoined` are events stored while their product is not in the catalog (they join when it
    arrives) and `duplicates` were already stored (the same event_id, or the same event: a retried batch
    or a re-run import) and are not stored again. `quarantined` counts every row
    refused; of those, `quarantine_not_kept` were not kept in the quarantine because a quarantine limit was
    reached (`notices` says which), their checks counted in `not_kept_by_check`."""

    source: Source
    file: str
    total: int = Field(ge=0)
    accepted: int = Field(ge=0)
    quarantined: int = Field(ge=0)
    repaired: int = Field(default=0, ge=0)
    excluded: int = Field(default=0, ge=0)
    unjoined: int = Field(
        default=0, ge=0, description="Events stored waiting for their product; they join when it arrives."
    )
    duplicates: int = Field(
        default=0, ge=0, description="Rows already stored (same event_id or same event), not stored again."
    )
    quarantined_rows: list[QuarantinedRow] = Field(default_factory=list)
    reasons_by_field: dict[str, int] = Field(
        default_factory=dict, description="How many reasons name each field, most frequent first."
    )
    reasons_by_check: dict[str, int] = Field(
        default_factory=dict, description="How many rows each quality check fired on, most frequent first."
    )
    quarantine_not_kept: int = Field(
        default=0,
        ge=0,
        description="Quarantined rows counted here but not kept in the quarantine: a limit was reached.",
    )
    not_kept_by_check: dict[str, int] = Field(
        default_factory=dict, description="The rows not kept in the quarantine, by the checks they failed."
    )
    notices: list[str] = Field(
        default_factory=list, description="Each ingest limit this ingest reached, and what it did."
    )

    @property
    def adds_up(self) -> bool:
        """Every row read was accepted or quarantined, none lost and none counted twice."""
        return self.accepted + self.quarantined == self.total

    @model_validator(mode="after")
    def _check_counts(self) -> IngestReport:
        if not self.adds_up:
            raise ValueError(
                f"accepted ({self.accepted}) + quarantined ({self.quarantined}) != total ({self.total})"
            )
        if max(self.unjoined, self.duplicates) > self.accepted:
            raise ValueError(
                f"unjoined ({self.unjoined}) or duplicates ({self.duplicates}) > accepted ({self.accepted})"
            )
        if len(self.quarantined_rows) > self.quarantined:
            raise ValueError("more quarantined rows listed than counted")
        if self.quarantine_not_kept > self.quarantined:
            raise ValueError(
                f"quarantine_not_kept ({self.quarantine_not_kept}) > quarantined ({self.quarantined})"
            )
        if self.repaired + self.excluded > self.accepted:
            raise ValueError(
                f"repaired ({self.repaired}) + excluded ({self.excluded}) > accepted ({self.accepted})"
            )
        return self

    @property
    def complete(self) -> bool:
        """Whether every quarantined row is listed (the list is not capped)."""
        return len(self.quarantined_rows) == self.quarantined

    def summary(self) -> str:
        line = f"{self.source} from {self.file}: {self.total} rows, {self.accepted} accepted"
        extra = "".join(
            f" ({count} {name})"
            for name, count in (
                ("repaired", self.repaired),
                ("excluded", self.excluded),
                ("unjoined", self.unjoined),
                ("already stored", self.duplicates),
            )
            if count
        )
        kept = f" ({self.quarantine_not_kept} not kept: a limit was reached)" * bool(self.quarantine_not_kept)
        return f"{line}{extra}, {self.quarantined} quarantined{kept}"


class RetryResult(BaseModel):
    """What one retry of quarantined rows did: rows that now pass are ingested and leave the quarantine."""

    source: Source
    tried: int = Field(ge=0)
    released: int = Field(ge=0)
    still_quarantined: int = Field(ge=0)
    not_retryable: int = Field(ge=0, description="Unreadable rows, which only a fixed export can mend.")
