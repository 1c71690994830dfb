"""The quality report: one JSON document (the contract scripts rely on), pure data. The terminal summary
is drawn by `shelfwise.cli.render.quality_summary`, the HTML page by `shelfwise.quality.html`.

`rows` lists every input row whose outcome is not a plain accept; `checks` counts rows per check;
`tiers` gives the verdicts; `warnings` holds the dataset-level findings (shares, minimums, trends).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from shelfwise.quality.checks import CHECKS
from shelfwise.quality.flags import DatasetWarning
from shelfwise.quality.tiers import TierVerdict

Outcome = Literal["accepted", "repaired", "quarantined", "excluded"]
FileKind = Literal["products", "events"]
REPORT_FILE = "quality-report.json"


class RepairRecord(BaseModel):
    """One repair the gate made to a row: which check, which field, the text before and after."""

    check: str
    field: str
    before: str
    after: str


class RowResult(BaseModel):
    """One input row that was not a plain accept. `accepted` here means accepted with warnings."""

    file: FileKind
    line: int
    product_id: str | None = None
    user_id: str | None = None
    outcome: Outcome
    checks: list[str]
    details: dict[str, str] = Field(default_factory=dict, description="What each check found on this row.")
    repairs: list[RepairRecord] = Field(default_factory=list)


class FileSummary(BaseModel):
    """Rows read from one file by outcome; the four outcomes always add up to the rows (validated)."""

    file: str
    rows: int
    accepted: int
    repaired: int
    excluded: int
    quarantined: int

    @model_validator(mode="after")
    def _adds_up(self) -> FileSummary:
        parts = self.accepted + self.repaired + self.excluded + self.quarantined
        if parts != self.rows:
            raise ValueError(
                f"{self.file}: accepted {self.accepted} + repaired {self.repaired} "
                f"+ excluded {self.excluded} + quarantined {self.quarantined} = {parts}, "
                f"not the {self.rows} rows read"
            )
        return self


class CheckCount(BaseModel):
    """How many rows one row check fired on, with its severity, effect and meaning (for the tables)."""

    name: str
    severity: str
    effect: str
    rows: int
    description: str


class WarningItem(BaseModel):
    """A dataset-level finding as the report keeps it: the `DatasetWarning` with its check's severity."""

    check: str
    severity: str
    message: str
    value: float | None = None
    threshold: float | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, warning: DatasetWarning) -> WarningItem:
        """The report's item for `warning`, its severity looked up in the check catalogue."""
        spec = CHECKS[warning.check]
        return cls(
            check=warning.check,
            severity=spec.severity.value,
            message=warning.message,
            value=warning.value,
            threshold=warning.threshold,
            data=warning.data,
        )


class QualityReport(BaseModel):
    """The whole quality report (the JSON contract of `shelfwise quality check --json` and
    `GET /v1/quality`): per-file outcomes, checks fired, tier verdicts, warnings, rows and plot data."""

    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    source: Literal["files", "store"] = "files"
    products: FileSummary | None = None
    events: FileSummary | None = None
    checks: dict[str, int] = Field(default_factory=dict, description="Rows each row check fired on.")
    check_details: list[CheckCount] = Field(default_factory=list)
    tiers: list[TierVerdict] = Field(default_factory=list)
    warnings: list[WarningItem] = Field(default_factory=list)
    rows: list[RowResult] = Field(default_factory=list)
    figures: dict[str, Any] = Field(default_factory=dict, description="Data behind the HTML report's plots.")

    @property
    def blocked(self) -> bool:
        """Whether any tier is blocked, so training refuses (unless forced)."""
        return any(tier.status == "blocked" for tier in self.tiers)

    def save(self, path: Path | str) -> Path:
        """Write the report as JSON, atomically (a reader never sees half a file); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(self.model_dump_json(indent=1))
        temporary.replace(path)
        return path

    @classmethod
    def load(cls, path: Path | str) -> QualityReport:
        """Read a report written by `save`."""
        return cls.model_validate_json(Path(path).read_text())


def forget_in_report(path: Path, identifiers: Sequence[str]) -> int:
    """Drop the report's rows that name any of `identifiers` (a deleted user's id, sessions, queries);
    returns how many. Should an identifier still appear elsewhere in it (a warning's example), the report
    is removed: the next training or `shelfwise quality check` writes a new one."""
    if not path.exists() or not identifiers:
        return 0
    report = QualityReport.load(path)

    def names(text: str) -> bool:
        return any(identifier in text for identifier in identifiers)

    kept = [row for row in report.rows if not names(row.model_dump_json())]
    cleaned = report.model_copy(update={"rows": kept})
    if names(cleaned.model_dump_json()):
        path.unlink()
    elif len(kept) < len(report.rows):
        cleaned.save(path)
    return len(report.rows) - len(kept)


def check_counts(counts: dict[str, int]) -> list[CheckCount]:
    """The checks that fired (count > 0) with their catalogue entries, most rows first."""
    return [
        CheckCount(
            name=name,
            severity=CHECKS[name].severity.value,
            effect=CHECKS[name].effect.value,
            rows=count,
            description=CHECKS[name].description,
        )
        for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        if count
    ]
