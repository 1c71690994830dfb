"""The admin audiences page: the form's fields read into an engine call, and what the page shows of the
answer (a reach curve, the first members, a CSV link)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from shelfwise.domain.audiences import Audience
from shelfwise.domain.errors import ShelfwiseError
from shelfwise.engine import Engine
from shelfwise.evaluation.uplift_eval import load_report
from shelfwise.io.svg import line_chart

CURVE_COLOURS = ("#2563eb", "#7c3aed", "#0891b2", "#16a34a", "#94a3b8")

SHOWN_MEMBERS = 50
FIELDS = ("product_id", "category", "products", "size", "exclude_buyers_days")
DEFAULTS = {"size": "100", "exclude_buyers_days": "30"}


@dataclass
class AudienceView:
    fields: dict[str, str]
    audience: Audience | None = None
    problem: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


def audience_view(engine: Engine, query: Mapping[str, str]) -> AudienceView:
    """The page for the query's fields: nothing asked yet, the audience, or what was wrong."""
    fields = {name: query.get(name, DEFAULTS.get(name, "")).strip() for name in FIELDS}
    if not any(fields[name] for name in ("product_id", "category", "products")):
        return AudienceView(fields)
    try:
        audience = compute(engine, fields)
    except (ShelfwiseError, ValueError) as error:
        return AudienceView(fields, problem=str(error))
    return AudienceView(fields, audience=audience, values=_shown(audience, fields))


def compute(engine: Engine, fields: Mapping[str, str]) -> Audience:
    try:
        size = int(fields["size"] or DEFAULTS["size"])
    except ValueError:
        raise ValueError(f"size must be a whole number, got {fields['size']!r}") from None
    try:
        days = float(fields["exclude_buyers_days"] or DEFAULTS["exclude_buyers_days"])
    except ValueError:
        raise ValueError(
            f"exclude_buyers_days must be a number, got {fields['exclude_buyers_days']!r}"
        ) from None
    return engine.audience(
        product_id=fields["product_id"] or None,
        category=fields["category"] or None,
        product_ids=fields["products"].split(",") if fields["products"] else None,
        size=size,
        exclude_buyers_days=days,
    )


def _shown(audience: Audience, fields: Mapping[str, str]) -> dict[str, Any]:
    reach, total = [(0.0, 0.0)], 0.0
    for member in audience.members:
        total += member.score
        reach.append((float(member.rank), total))
    return {
        "members": audience.members[:SHOWN_MEMBERS],
        "expected": total,
        "reach": line_chart(
            [("expected actions on the target", reach, "#2563eb")],
            title="Expected next actions on the target, by audience size",
            x_label="users in the audience (best first)",
        ),
        "csv_link": "/admin/audiences.csv?" + urlencode({k: v for k, v in fields.items() if v}),
    }


def uplift_values(engine: Engine) -> dict[str, Any]:
    """The last saved campaign-uplift evaluation (`shelfwise evaluate uplift --save`) and its Qini curves."""
    report = load_report(engine.settings.data_dir)
    if report is None:
        return {"uplift": None}
    curves = [
        (
            row.name,
            row.curve,
            CURVE_COLOURS[min(index, len(CURVE_COLOURS) - 2)] if row.name != "random" else CURVE_COLOURS[-1],
        )
        for index, row in enumerate(report.rows)
    ]
    return {
        "uplift": report,
        "qini": line_chart(
            curves,
            title="Qini curves: extra responders per customer, by share targeted",
            x_label="share of customers targeted (highest predicted uplift first)",
            y_format="{:.4f}",
            x_format="{:.0%}",
        ),
    }
