"""Customer segments fitted at training time from the store's events, as one saved component.

Every shopper with a user id lands in one behavioural segment: the named RFM segments (recency and
frequency quintiles of their purchase days) or "Browsers" (events, no purchase). Where the sequential
transformer was trained, shoppers are also clustered (k-means) on what it makes of their histories
(`SequentialRecommender.user_vectors`). Each segment is described from its members' events in a
merchant's words: size, top categories, price band, activity, and BG/NBD's expected purchases.

Cluster ids stay put across retraining: a new cluster takes the id of the previous version's cluster it
shares most members with (Hungarian matching on member overlap) when that overlap (Jaccard) is at least
`keep_id_overlap`; otherwise it gets a new number. RFM segment ids are their names and never change.

Memberships name users: `forget` drops a deleted shopper's rows at once, and asks for a retrain, since
their behaviour also shaped the quintile thresholds, the BG/NBD fit, the centroids and the descriptions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal, Self

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans

from shelfwise.customer_segments.bgnbd import BetaGeoParameters, expected_purchases, fit_bgnbd
from shelfwise.customer_segments.rfm import (
    BROWSERS,
    RFM_SEGMENTS,
    customer_summary,
    rfm_scores,
    rfm_segment_of,
)
from shelfwise.domain.events import EVENT_WEIGHTS, EventType
from shelfwise.domain.products import Product
from shelfwise.io.components import Component
from shelfwise.io.forgetting import Forgotten, Subject

NO_CLUSTER = -1
CLUSTER_PREFIX = "cluster-"
SegmentKind = Literal["rfm", "cluster"]


class CustomerSegmentsConfig(BaseModel):
    """How segments are fitted (`training.segments` in the settings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="Fit segments at training time.")
    clusters: int = Field(default=6, ge=0, le=50, description="Clusters of user representations (0: none).")
    min_cluster_members: int = Field(
        default=10,
        ge=1,
        description="Fewer clusters are made when there are not this many users per cluster.",
    )
    keep_id_overlap: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Member overlap (Jaccard) with a previous cluster to keep its id.",
    )
    horizon_days: float = Field(default=30.0, gt=0, description="Expected purchases are over these days.")
    trending_days: float = Field(
        default=14.0, gt=0, description="A segment's trending products come from its members' last days."
    )
    top_products: int = Field(default=100, ge=1, le=1000)
    seed: int = 7


class Segment(BaseModel):
    """One segment as a merchant reads it; `description` says it all in a sentence."""

    segment_id: str
    kind: SegmentKind
    name: str
    meaning: str = Field(description="What membership means, in words.")
    size: int
    share: float = Field(description="Of the shoppers segmented.")
    top_categories: list[str]
    price_band: str = Field(description="budget, mid-range or premium, against the catalog's price thirds.")
    median_price: float | None
    purchases_per_member: float
    median_days_since_active: float | None
    expected_purchases_per_member: float | None = Field(
        description="BG/NBD's expected purchases per member over `horizon_days`; None without a fit."
    )
    horizon_days: float
    description: str = ""


class CustomerSegments(Component[CustomerSegmentsConfig]):
    kind: ClassVar[str] = "customer-segments"
    config_type: ClassVar[type[CustomerSegmentsConfig]] = CustomerSegmentsConfig

    def __init__(self, config: CustomerSegmentsConfig | None = None) -> None:
        super().__init__(config)
        self.profiles: list[dict[str, Any]] = []  # per segment: id, kind, name, meaning, statistics
        self.users = np.zeros(0, dtype=str)
        self.rfm = np.zeros(0, dtype=np.int64)  # index into profiles
        self.cluster = np.zeros(0, dtype=np.int64)  # index into profiles, or NO_CLUSTER
        self.top_products: list[list[str]] = []  # per profile
        self.bgnbd: BetaGeoParameters | None = None
        self.next_cluster_number = 1
        self._rows: dict[str, int] | None = None  # user id -> row of the membership arrays

    # fitting ------------------------------------------------------------------------------------

    def fit(
        self,
        events: pl.DataFrame,
        products: Sequence[Product],
        user_vectors: tuple[Sequence[str], np.ndarray] | None = None,
        previous: CustomerSegments | None = None,
    ) -> Self:
        """Segments of the users in `events` (the store's frame), described against `products`;
        `user_vectors` (user ids, one row each) are clustered; `previous` lends its cluster ids."""
        events = _user_events(events, products)
        self._rows = None
        self.users = np.array(sorted(set(events.get_column("user_id").to_list())), dtype=str)
        self.profiles = [
            {"segment_id": sid, "kind": "rfm", "name": name, "meaning": meaning}
            for sid, name, meaning in (*RFM_SEGMENTS, BROWSERS)
        ]
        latest = events.get_column("timestamp").max() if events.height else None
        # "Now" is the last event's time, not the clock's: a training on old data segments as of its end.
        end = latest if isinstance(latest, datetime) else datetime.now(UTC).replace(tzinfo=None)
        summary = self._rfm(events, end.date())
        self.cluster = np.full(len(self.users), NO_CLUSTER, dtype=np.int64)
        self.next_cluster_number = previous.next_cluster_number if previous is not None else 1
        if user_vectors is not None and self.config.clusters > 0:
            self._cluster(*user_vectors, previous=previous)
        self._describe(events, summary, products, end)
        return self

    def _rfm(self, events: pl.DataFrame, end: date) -> pl.DataFrame:
        purchases = events.filter(pl.col("event_type") == EventType.PURCHASE.value).select(
            customer_id="user_id", day=pl.col("timestamp").dt.date(), amount="amount"
        )
        summary = customer_summary(purchases, end)
        scores = rfm_scores(summary)
        segment = dict(
            zip(
                summary.get_column("customer_id").to_list(),
                rfm_segment_of(scores.recency, scores.frequency),
                strict=True,
            )
        )
        browsers = len(RFM_SEGMENTS)
        self.rfm = np.array([segment.get(user, browsers) for user in self.users], dtype=np.int64)
        self.bgnbd = None
        x, t_x, age = (summary.get_column(name).to_numpy() for name in ("frequency", "recency", "age"))
        if (x > 0).sum() >= 2 and (age > 0).all():
            try:
                self.bgnbd = fit_bgnbd(x, t_x, age)
            except ValueError:
                self.bgnbd = None
        expected = (
            expected_purchases(self.bgnbd, self.config.horizon_days / 7, x, t_x, age)
            if self.bgnbd is not None and np.isfinite(self.bgnbd.a) and abs(self.bgnbd.a - 1) > 1e-6
            else np.full(len(x), np.nan)
        )
        return summary.with_columns(expected=pl.Series(expected, dtype=pl.Float64))

    def _cluster(
        self, user_ids: Sequence[str], vectors: np.ndarray, previous: CustomerSegments | None
    ) -> None:
        position = {user: i for i, user in enumerate(self.users.tolist())}
        rows = [(position[user], i) for i, user in enumerate(user_ids) if user in position]
        k = min(self.config.clusters, len(rows) // self.config.min_cluster_members)
        if k < 2:
            return
        members = np.array([member for member, _ in rows])
        data = np.asarray(vectors, dtype=np.float64)[[row for _, row in rows]]
        labels = KMeans(n_clusters=k, n_init=4, random_state=self.config.seed).fit_predict(data)
        ids = self._stable_ids([set(self.users[members[labels == c]].tolist()) for c in range(k)], previous)
        for label, segment_id in enumerate(ids):
            self.cluster[members[labels == label]] = len(self.profiles)
            number = segment_id.removeprefix(CLUSTER_PREFIX)
            self.profiles.append(
                {
                    "segment_id": segment_id,
                    "kind": "cluster",
                    "name": f"Cluster {number}",
                    "meaning": "shoppers whose histories the sequential model reads alike",
                }
            )

    def _stable_ids(self, clusters: list[set[str]], previous: CustomerSegments | None) -> list[str]:
        """Each new cluster's id: its best-matching previous cluster's when they overlap enough."""
        ids: list[str | None] = [None] * len(clusters)
        earlier = previous.clusters() if previous is not None else {}
        if earlier:
            names = list(earlier)
            overlap = np.array([[_jaccard(new, earlier[name]) for name in names] for new in clusters])
            for row, column in zip(*linear_sum_assignment(-overlap), strict=True):
                if overlap[row, column] >= self.config.keep_id_overlap:
                    ids[row] = names[column]
        result = []
        for kept in ids:
            if kept is None:
                kept = f"{CLUSTER_PREFIX}{self.next_cluster_number}"
                self.next_cluster_number += 1
            result.append(kept)
        return result

    def _describe(
        self, events: pl.DataFrame, summary: pl.DataFrame, products: Sequence[Product], end: datetime
    ) -> None:
        membership = self._membership_frame()
        members = membership.join(events, on="user_id", how="inner")
        prices = sorted(p.price for p in products if p.price is not None)
        thirds = (prices[len(prices) // 3], prices[2 * len(prices) // 3]) if prices else None
        recent = members.filter(
            pl.col("timestamp") >= pl.lit(end) - pl.duration(days=self.config.trending_days)
        )
        stats = membership.join(summary, left_on="user_id", right_on="customer_id", how="left")
        last_seen = events.group_by("user_id").agg(
            idle_days=(pl.lit(end) - pl.col("timestamp").max()).dt.total_seconds() / 86400
        )
        stats = stats.join(last_seen, on="user_id", how="left")
        self.top_products = []
        for index, profile in enumerate(self.profiles):
            own = members.filter(pl.col("segment") == index)
            mine = stats.filter(pl.col("segment") == index)
            median_price = own.get_column("unit_price").drop_nulls().median()
            since = mine.get_column("idle_days").median()
            expected = mine.get_column("expected").drop_nulls().drop_nans()
            profile.update(
                top_categories=_top(own, "category", 3),
                median_price=float(median_price) if isinstance(median_price, int | float) else None,
                price_band=_price_band(median_price, thirds),
                purchases=int(mine.get_column("purchases").fill_null(0).sum()),
                median_days_since_active=float(since) if isinstance(since, int | float) else None,
                expected=float(expected.mean()) if len(expected) else None,  # type: ignore[arg-type]
            )
            if profile["kind"] == "cluster" and profile["top_categories"]:
                # A name a merchant can tell apart at a glance; the id stays the handle.
                profile["name"] = (
                    f"{profile['name']}: {profile['top_categories'][0]}, {profile['price_band']}"
                )
            trending = recent.filter(pl.col("segment") == index)
            self.top_products.append(
                _top(trending if trending.height else own, "product_id", self.config.top_products, "weight")
            )

    def _membership_frame(self) -> pl.DataFrame:
        users = self.users.tolist()
        rfm = pl.DataFrame(
            {"user_id": users, "segment": self.rfm}, schema={"user_id": pl.Utf8, "segment": pl.Int64}
        )
        clustered = self.cluster != NO_CLUSTER
        cluster = pl.DataFrame(
            {"user_id": self.users[clustered].tolist(), "segment": self.cluster[clustered]},
            schema={"user_id": pl.Utf8, "segment": pl.Int64},
        )
        return pl.concat([rfm, cluster])

    # reading ------------------------------------------------------------------------------------

    def segments(self) -> list[Segment]:
        """Every segment with members, behavioural ones first."""
        sizes = np.bincount(
            np.concatenate([self.rfm, self.cluster[self.cluster != NO_CLUSTER]]), minlength=len(self.profiles)
        )
        total = max(len(self.users), 1)
        found = []
        for index, profile in enumerate(self.profiles):
            if sizes[index] == 0:
                continue
            segment = Segment(
                segment_id=profile["segment_id"],
                kind=profile["kind"],
                name=profile["name"],
                meaning=profile["meaning"],
                size=int(sizes[index]),
                share=round(float(sizes[index]) / total, 4),
                top_categories=list(profile.get("top_categories", [])),
                price_band=str(profile.get("price_band", "unknown")),
                median_price=profile.get("median_price"),
                purchases_per_member=round(profile.get("purchases", 0) / int(sizes[index]), 3),
                median_days_since_active=profile.get("median_days_since_active"),
                expected_purchases_per_member=profile.get("expected"),
                horizon_days=self.config.horizon_days,
            )
            found.append(segment.model_copy(update={"description": describe(segment)}))
        return found

    def segment_ids(self) -> list[str]:
        return [profile["segment_id"] for profile in self.profiles]

    def members(self, segment_id: str) -> set[str]:
        """The user ids in a segment; KeyError for an id this version does not have."""
        index = self.segment_ids().index(segment_id) if segment_id in self.segment_ids() else None
        if index is None:
            raise KeyError(segment_id)
        return set(self.users[(self.rfm == index) | (self.cluster == index)].tolist())

    def of_user(self, user_id: str) -> list[str]:
        """The ids of the user's segments (none for a user the training did not see)."""
        if self._rows is None:  # built on first use, after fit, load or forget
            self._rows = {user: row for row, user in enumerate(self.users.tolist())}
        row = self._rows.get(user_id)
        if row is None:
            return []
        indices = [int(self.rfm[row])] + ([int(self.cluster[row])] if self.cluster[row] != NO_CLUSTER else [])
        return [self.profiles[index]["segment_id"] for index in indices]

    def clusters(self) -> dict[str, set[str]]:
        """Members of each cluster, by id."""
        return {
            profile["segment_id"]: set(self.users[self.cluster == index].tolist())
            for index, profile in enumerate(self.profiles)
            if profile["kind"] == "cluster"
        }

    def trending(self, segment_id: str) -> list[str]:
        """The products the segment's members engaged with most lately, best first."""
        return list(self.top_products[self.segment_ids().index(segment_id)])

    # forgetting and persistence -------------------------------------------------------------------

    def forget_state(self, subject: Subject) -> Forgotten:
        gone = np.isin(self.users, list(subject.user_ids))
        if not gone.any():
            return Forgotten()
        keep = ~gone
        self.users, self.rfm, self.cluster = self.users[keep], self.rfm[keep], self.cluster[keep]
        self._rows = None
        return Forgotten(removed=int(gone.sum()), retrain=[self.kind])

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        values = {
            "profiles": self.profiles,
            "top_products": self.top_products,
            "bgnbd": self.bgnbd.as_dict() if self.bgnbd is not None else None,
            "next_cluster_number": self.next_cluster_number,
        }
        return values, {"users": self.users, "rfm": self.rfm, "cluster": self.cluster}

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self.profiles = list(values["profiles"])
        self.top_products = [list(products) for products in values["top_products"]]
        self.bgnbd = BetaGeoParameters(**values["bgnbd"]) if values.get("bgnbd") else None
        self.next_cluster_number = int(values["next_cluster_number"])
        self.users = arrays["users"].astype(str)
        self.rfm, self.cluster = arrays["rfm"].astype(np.int64), arrays["cluster"].astype(np.int64)
        self._rows = None


def _user_events(events: pl.DataFrame, products: Sequence[Product]) -> pl.DataFrame:
    """Events of known users on products, with each product's category and unit price (the event's own,
    else the catalog's), the amount spent, and the event's weight."""
    catalog = pl.DataFrame(
        {
            "product_id": [p.product_id for p in products],
            "category": [(p.category or "").split(">")[0].strip() or None for p in products],
            "catalog_price": [p.price for p in products],
        },
        schema={"product_id": pl.Utf8, "category": pl.Utf8, "catalog_price": pl.Float64},
    )
    weights = {t.value: w for t, w in EVENT_WEIGHTS.items()}
    return (
        events.filter(pl.col("user_id").is_not_null() & pl.col("product_id").is_not_null())
        .join(catalog, on="product_id", how="left")
        .with_columns(unit_price=pl.coalesce("price", "catalog_price"))
        .with_columns(
            amount=pl.col("unit_price").fill_null(0.0) * pl.col("quantity"),
            weight=pl.col("event_type").replace_strict(weights, default=0.0, return_dtype=pl.Float64),
        )
    )


def _top(frame: pl.DataFrame, column: str, n: int, weight: str | None = None) -> list[str]:
    if not frame.height:
        return []
    measure = pl.col(weight).sum() if weight else pl.len()
    counted = (
        frame.drop_nulls(column)
        .group_by(column)
        .agg(score=measure)
        .sort(["score", column], descending=[True, False])
    )
    return [str(value) for value in counted.get_column(column).head(n).to_list()]


def _price_band(median: Any, thirds: tuple[float, float] | None) -> str:
    if not isinstance(median, int | float) or thirds is None:
        return "unknown"
    if median < thirds[0]:
        return "budget"
    return "mid-range" if median <= thirds[1] else "premium"


def _jaccard(first: set[str], second: set[str]) -> float:
    union = len(first | second)
    return len(first & second) / union if union else 0.0


def describe(segment: Segment) -> str:
    """The segment in one sentence a merchant reads."""
    shoppers = "shopper" if segment.size == 1 else "shoppers"
    parts = [f"{segment.size:,} {shoppers} ({segment.share:.0%}): {segment.meaning}"]
    if segment.top_categories:
        parts.append("mostly " + ", ".join(segment.top_categories))
    if segment.median_price is not None:
        parts.append(f"{segment.price_band} (median price {segment.median_price:,.2f})")
    activity = f"{segment.purchases_per_member:.1f} purchase days each"
    if segment.median_days_since_active is not None:
        activity += f", last active {segment.median_days_since_active:.0f} days ago (median)"
    parts.append(activity)
    if segment.expected_purchases_per_member is not None:
        parts.append(
            f"expected {segment.expected_purchases_per_member:.2f} purchases each in the next "
            f"{segment.horizon_days:.0f} days"
        )
    return "; ".join(parts) + "."
