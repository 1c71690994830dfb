"""/v1/segments: the customer segments of the served model version, their members, and a user's segments.
Memberships name users: every route needs the server scope or above."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, params
from pydantic import BaseModel

from shelfwise.customer_segments.segments import Segment
from shelfwise.domain.values import MAX_OFFSET
from shelfwise.engine import Engine


class SegmentMembers(BaseModel):
    """A page of a segment's user ids, sorted, with the segment's size."""

    segment_id: str
    total: int
    offset: int
    limit: int
    user_ids: list[str]


class UserSegments(BaseModel):
    """The segments a user is in: one behavioural (RFM) segment, and a cluster where one was fitted."""

    user_id: str
    segments: list[Segment]


def segments_router(engine: Engine, dependencies: list[params.Depends]) -> APIRouter:
    """The segment routes, each behind `dependencies` (the server scope)."""
    router = APIRouter(tags=["segments"], dependencies=dependencies)

    @router.get("/v1/segments", response_model=list[Segment])
    def list_segments() -> list[Segment]:
        """Every segment with members: id, name, size, share and a description in words (top categories,
        price band, activity, expected purchases). 409 before a training that fitted segments."""
        return engine.segments()

    @router.get("/v1/segments/{segment_id}", response_model=Segment)
    def get_segment(segment_id: str) -> Segment:
        """One segment; 404 when the served version has no segment of that id."""
        return engine.segment(segment_id)

    @router.get("/v1/segments/{segment_id}/users", response_model=SegmentMembers)
    def segment_users(
        segment_id: str,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> SegmentMembers:
        """A page of the segment's user ids, sorted; 404 for an unknown segment."""
        members = sorted(engine.segment_members(segment_id))
        return SegmentMembers(
            segment_id=segment_id,
            total=len(members),
            offset=offset,
            limit=limit,
            user_ids=members[offset : offset + limit],
        )

    @router.get("/v1/users/{user_id}/segment", response_model=UserSegments)
    def user_segment(user_id: str) -> UserSegments:
        """The user's segments; 404 for a user the last training did not segment."""
        return UserSegments(user_id=user_id, segments=engine.user_segments(user_id))

    return router
