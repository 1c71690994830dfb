"""The quality gate: every row in is accepted or quarantined with its reasons, never silently dropped."""

from shelfwise.quality.quarantine import (
    GateResult,
    IngestReport,
    QuarantinedRow,
    gate_events,
    gate_file,
    gate_products,
)

__all__ = ["GateResult", "IngestReport", "QuarantinedRow", "gate_events", "gate_file", "gate_products"]
