"""The quality gate: every row in is accepted, repaired, excluded from training or quarantined with its
reasons, never silently dropped; tiers decide what the data is good enough to train.

The gate itself is `shelfwise.quality.gate`; the report types it returns live in `shelfwise.domain`."""

from shelfwise.quality.config import QualityConfig

__all__ = ["QualityConfig"]
