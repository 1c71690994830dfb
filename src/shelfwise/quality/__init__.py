"""The quality gate: every row in is accepted, repaired, excluded from training or quarantined with its
reasons, never silently dropped; tiers decide what the data is good enough to train."""

from shelfwise.quality.config import QualityConfig
from shelfwise.quality.quarantine import (
    GateResult,
    IngestReport,
    QuarantinedRow,
    gate_events,
    gate_file,
    gate_products,
)

__all__ = [
    "GateResult",
    "IngestReport",
    "QualityConfig",
    "QuarantinedRow",
    "gate_events",
    "gate_file",
    "gate_products",
]
