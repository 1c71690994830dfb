"""Merchandising rules: boost, bury, pin or filter products for a query or a category, editable at run time.

A rule applies when its `query` matches the searched text (the same words, case-insensitive; or contained as
whole words when `match` is "contains") and its `when_category` is a prefix of the request's category filter;
a rule with neither applies to every search. Its targets are product ids, brands and category prefixes.
A filter rule narrows the filter mask before retrieval; `apply_rules` applies the others to a ranked list.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shelfwise.domain import Filters, Product
from shelfwise.domain.products import split_category
from shelfwise.search.explain import Adjustment
from shelfwise.text.analysis import words

RULES_FILE = "rules.json"


def _category_starts(path: str | None, prefix: str) -> bool:
    wanted = [level.lower() for level in split_category(prefix)]
    return [level.lower() for level in split_category(path)][: len(wanted)] == wanted


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12], min_length=1, max_length=64)
    action: Literal["boost", "bury", "pin", "filter"]
    query: str | None = Field(default=None, min_length=1, max_length=200)
    match: Literal["exact", "contains"] = "exact"
    when_category: str | None = Field(default=None, min_length=1)
    product_ids: list[str] = Field(default_factory=list, max_length=100)
    brands: list[str] = Field(default_factory=list, max_length=100)
    categories: list[str] = Field(default_factory=list, max_length=100)
    amount: float = Field(default=1.0, gt=0, le=100, description="Boost or bury strength.")
    position: int = Field(default=1, ge=1, le=100, description="Where a pin puts its products.")
    note: str | None = None

    @model_validator(mode="after")
    def _has_targets(self) -> Rule:
        if not (self.product_ids or self.brands or self.categories):
            raise ValueError("a rule needs at least one target: product_ids, brands or categories")
        if self.action == "pin" and not self.product_ids:
            raise ValueError("a pin rule names the product_ids it pins")
        return self

    def applies(self, query: str, filters: Filters | None) -> bool:
        if self.query is not None:
            wanted, typed = words(self.query, "whitespace"), words(query, "whitespace")
            if self.match == "exact" and wanted != typed:
                return False
            if self.match == "contains" and not _contains(typed, wanted):
                return False
        if self.when_category is not None:
            chosen = filters.category if filters else None
            if not chosen or not _category_starts(chosen, self.when_category):
                return False
        return True

    def targets(self, product: Product) -> bool:
        if product.product_id in self.product_ids:
            return True
        if product.brand and product.brand.lower() in {b.lower() for b in self.brands}:
            return True
        return any(_category_starts(product.category, c) for c in self.categories)


def _contains(words: list[str], part: list[str]) -> bool:
    return any(words[i : i + len(part)] == part for i in range(len(words) - len(part) + 1))


class RuleSet(BaseModel):
    rules: list[Rule] = Field(default_factory=list)

    def applicable(self, query: str, filters: Filters | None) -> list[Rule]:
        return [rule for rule in self.rules if rule.applies(query, filters)]


def target_mask(rule: Rule, products: Sequence[Product], positions: np.ndarray) -> np.ndarray:
    return np.array([rule.targets(products[int(p)]) for p in positions], dtype=bool)


def apply_rules(
    rules: Sequence[Rule],
    positions: np.ndarray,
    scores: np.ndarray,
    features: np.ndarray | None,
    adjustments: dict[int, list[Adjustment]],
    products: Sequence[Product],
    mask: np.ndarray,
    spread: float,
    position_of: dict[str, int],
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, dict[int, list[Adjustment]]]:
    """A ranked list (`positions`, `scores`, ranker `features` row by row) under the applicable `rules`:
    boost/bury shift scores by `amount` times three `spread`s, then the list is re-sorted (with any
    personal boosts already in `scores`); pins go last, to their slot, if the filter `mask` lets them.
    `adjustments` (keyed by catalog position) gain the rules' own, in place, and follow their products."""
    if not rules and not adjustments:
        return positions, scores, features, adjustments  # ranked order already, nothing moves
    for rule in rules:
        if rule.action not in ("boost", "bury"):
            continue
        hit = target_mask(rule, products, positions)
        sign = 1.0 if rule.action == "boost" else -1.0
        shift = sign * rule.amount * spread * 3
        scores = scores + np.where(hit, shift, 0).astype(np.float32)
        for p in positions[hit]:
            adjustments.setdefault(int(p), []).append(("rule", f"{rule.action} rule {rule.rule_id}", shift))
    order = np.lexsort((positions, -scores))
    positions, scores = positions[order], scores[order]
    features = features[order] if features is not None else None
    for rule in rules:
        if rule.action != "pin":
            continue
        for offset, product_id in enumerate(rule.product_ids):
            position = position_of.get(product_id)
            if position is None or not mask[position]:
                continue
            keep = positions != position
            slot = min(rule.position - 1 + offset, int(keep.sum()))
            top = float(scores[0]) if len(scores) else 0.0
            new_positions = np.insert(positions[keep], slot, position)
            new_scores = np.insert(scores[keep], slot, scores[slot] if slot < keep.sum() else top)
            if features is not None:
                row = features[~keep][0] if (~keep).any() else np.full(features.shape[1], np.nan, np.float32)
                features = np.insert(features[keep], slot, row, axis=0)
            positions, scores = new_positions, new_scores.astype(np.float32)
            adjustments.setdefault(position, []).append(("rule", f"pinned by rule {rule.rule_id}", 0.0))
    return positions, scores, features, adjustments


class RuleStore:
    """Rules in one JSON file, re-read when it changes so several processes see each other's edits."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / RULES_FILE
        self._lock = threading.Lock()
        self._cached: tuple[float, RuleSet] | None = None

    def load(self) -> RuleSet:
        with self._lock:
            if not self.path.exists():
                return RuleSet()
            mtime = self.path.stat().st_mtime
            if self._cached is None or self._cached[0] != mtime:
                self._cached = (mtime, RuleSet.model_validate(json.loads(self.path.read_text("utf-8"))))
            return self._cached[1]

    def _write(self, rules: RuleSet) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        scratch = self.path.with_suffix(".tmp")
        scratch.write_text(rules.model_dump_json(indent=2), encoding="utf-8")
        scratch.replace(self.path)
        self._cached = None

    def add(self, rule: Rule) -> Rule:
        current = self.load()
        with self._lock:
            kept = [r for r in current.rules if r.rule_id != rule.rule_id]
            self._write(RuleSet(rules=[*kept, rule]))
        return rule

    def delete(self, rule_id: str) -> bool:
        current = self.load()
        with self._lock:
            kept = [r for r in current.rules if r.rule_id != rule_id]
            if len(kept) == len(current.rules):
                return False
            self._write(RuleSet(rules=kept))
        return True
