"""The record of a user's deletion: what was removed where, and when the trained models were clean of them.

The record names the user only by a digest of their id (`subject_digest`), so that it can be found again
by whoever knows the id without keeping the id itself.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


def subject_digest(user_id: str) -> str:
    """The one-way digest a deletion record keeps instead of the user id."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()


class DeletionRecord(BaseModel):
    """One `DELETE /v1/users/{id}`: counts of what was removed per place, each kept model version's
    outcome, and when the models held nothing more of the user (None while a retrain is pending)."""

    id: int
    subject_digest: str = Field(description="sha256 of the user id, hex: the id itself is not kept.")
    requested_at: datetime
    removed: dict[str, int] = Field(description="Entries removed per place (events, sessions, ...).")
    models: list[dict[str, Any]] = Field(
        default_factory=list, description="Per kept version: entries removed, and cleaned/removed/retrain."
    )
    models_cleaned_at: datetime | None = Field(
        default=None, description="When no kept model version held anything of the user any more."
    )
    models_error: str | None = Field(default=None, description="Why the retrain has not finished yet.")

    @property
    def status(self) -> Literal["complete", "retrain pending"]:
        return "complete" if self.models_cleaned_at is not None else "retrain pending"
