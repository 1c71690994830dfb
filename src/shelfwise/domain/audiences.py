"""Audiences for advertising: the users most likely to act on a product, a category or a campaign next."""

from __future__ import annotations

import csv
import io

from pydantic import BaseModel, ConfigDict, Field


class AudienceMember(BaseModel):
    model_config = ConfigDict(frozen=True)

    rank: int = Field(ge=1)
    user_id: str
    score: float = Field(description="The share of the user's next action the models expect on the target.")


class Audience(BaseModel):
    model_config = ConfigDict(frozen=True)

    target: str = Field(description="What the audience is for: a product, a category or a campaign.")
    product_ids: list[str] = Field(description="The target's products that the trained models know.")
    size: int = Field(description="The size asked for; fewer members when fewer users qualify.")
    exclude_buyers_days: float
    excluded_buyers: int = Field(description="Users left out for buying a target product in the window.")
    candidates: int = Field(description="Users with history that were ranked.")
    model_version: str | None = None
    members: list[AudienceMember]

    def csv(self) -> str:
        """rank,user_id,score, one member a line, best first (ids quoted where CSV needs it)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["rank", "user_id", "score"])
        writer.writerows([m.rank, m.user_id, f"{m.score:.6g}"] for m in self.members)
        return out.getvalue()
