"""A product of the catalog."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shelfwise.domain.values import Price

CATEGORY_SEPARATOR = ">"


def split_category(path: str | None) -> list[str]:
    """`Furniture > Sofas` -> ["Furniture", "Sofas"]; empty levels are dropped."""
    if not path:
        return []
    return [level.strip() for level in path.split(CATEGORY_SEPARATOR) if level.strip()]


def normalise_category(path: str | None) -> str | None:
    """One spelling for a category path: levels trimmed, joined by ` > `."""
    levels = split_category(path)
    return " > ".join(levels) if levels else None


class Product(BaseModel):
    """One catalog entry. `product_id` and `title` are required; everything else is optional."""

    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(min_length=1, max_length=256)
    title: str = Field(min_length=1)
    description: str | None = None
    category: str | None = Field(default=None, description="A path such as `Furniture > Sofas`.")
    brand: str | None = None
    price: Price | None = None
    currency: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    image_url: str | None = None
    available: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @field_validator("product_id", "title", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("category", mode="after")
    @classmethod
    def _normalise_category(cls, value: str | None) -> str | None:
        return normalise_category(value)

    @property
    def category_path(self) -> list[str]:
        return split_category(self.category)
