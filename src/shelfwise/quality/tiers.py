"""Tiers: groups of checks that unlock features, as Vertex AI Search for commerce's data-quality tiers.

A tier is `unlocked` when its minimums are met and none of its blocking checks fired, `not_unlocked` when a
minimum is not met (the feature falls back, nothing is wrong), and `blocked` when a blocking check fired:
training refuses then, naming each blocking check, unless forced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from shelfwise.quality.flags import DatasetWarning

TierStatus = Literal["unlocked", "not_unlocked", "blocked"]


@dataclass(frozen=True)
class Tier:
    """A feature the data must be good enough for: the checks that block it and the minimums it needs,
    and the tier it builds on (`requires`)."""

    name: str
    feature: str
    blocking: tuple[str, ...]
    minimums: tuple[str, ...]
    requires: str | None = None


TIERS: tuple[Tier, ...] = (
    Tier(
        "lexical_search",
        "keyword search and browsing",
        ("catalog.no_products", "catalog.quarantine_share"),
        (),
    ),
    Tier(
        "semantic_search", "semantic and hybrid search", (), ("catalog.too_few_products",), "lexical_search"
    ),
    Tier(
        "personalisation",
        "for-you, similar and trending from events",
        ("events.quarantine_share", "events.unknown_product_share", "events.bot_share"),
        ("events.too_few_interactions", "events.too_few_repeat_users"),
        "lexical_search",
    ),
    Tier("bought_together", "bought-together", (), ("events.too_few_co_purchases",), "personalisation"),
)


class TierVerdict(BaseModel):
    """One tier's status on this data, the checks behind it and a message saying why."""

    tier: str
    feature: str
    status: TierStatus
    blocking_checks: list[str]
    unmet_minimums: list[str]
    message: str


def refusal_message(verdicts: Sequence[TierVerdict]) -> str:
    """Why training is refused: each blocked tier with each blocking check and what it found."""
    parts = [f"{verdict.tier}: {verdict.message}" for verdict in verdicts if verdict.status == "blocked"]
    return (
        "training refused by the data-quality gate; blocking checks failed — "
        + "; ".join(parts)
        + ". Fix the data (shelfwise quality check, shelfwise quality quarantine list)"
        " or train with --force."
    )


def tier_verdicts(warnings: Sequence[DatasetWarning]) -> list[TierVerdict]:
    """Each tier's verdict from the dataset warnings: blocked by a blocking check, not unlocked by an
    unmet minimum or a tier it builds on that is not unlocked, else unlocked."""
    fired = {warning.check: warning for warning in warnings}
    verdicts: dict[str, TierVerdict] = {}
    for tier in TIERS:
        blocking = [check for check in tier.blocking if check in fired]
        unmet = [check for check in tier.minimums if check in fired]
        parent = verdicts.get(tier.requires) if tier.requires else None
        if blocking:
            status: TierStatus = "blocked"
            message = "; ".join(f"{check} ({fired[check].message})" for check in blocking)
        elif unmet or (parent is not None and parent.status != "unlocked"):
            status = "not_unlocked"
            reasons = [f"{check} ({fired[check].message})" for check in unmet]
            if parent is not None and parent.status != "unlocked":
                reasons.append(f"needs {parent.tier}")
            message = "; ".join(reasons)
        else:
            status, message = "unlocked", "all checks pass"
        verdicts[tier.name] = TierVerdict(
            tier=tier.name,
            feature=tier.feature,
            status=status,
            blocking_checks=blocking,
            unmet_minimums=unmet,
            message=message,
        )
    return list(verdicts.values())


def blocked(verdicts: Sequence[TierVerdict]) -> bool:
    """Whether any verdict is blocked (training refuses)."""
    return any(verdict.status == "blocked" for verdict in verdicts)
