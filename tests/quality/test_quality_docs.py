"""docs/quality.md documents every check, with the severity and effect the code gives it."""

from __future__ import annotations

from pathlib import Path

from shelfwise.quality.checks import CHECKS
from shelfwise.quality.tiers import TIERS

DOC = Path(__file__).resolve().parents[2] / "docs" / "quality.md"


def test_every_check_is_documented_with_its_severity_and_effect() -> None:
    text = DOC.read_text()
    for spec in CHECKS.values():
        assert f"| `{spec.name}` | {spec.severity.value} | {spec.effect.value} |" in text, spec.name


def test_every_tier_and_blocking_check_is_documented() -> None:
    text = DOC.read_text()
    for tier in TIERS:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{tier.name}` |"))
        for check in (*tier.blocking, *tier.minimums):
            assert f"`{check}`" in row, (tier.name, check)
