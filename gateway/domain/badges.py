"""Badges, as data: what each one is called and the rule that earns it.

A rule counts one kind of activity (answers of yours that were accepted, prototype
reviews you wrote, kudos your posts received) and is met at a threshold. Who sees a badge
is decided per caller (gateway.schema.recognition): the rule is counted over the
activity that caller may read, so a badge says nothing about content they cannot see.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import datetime


class Activity(enum.StrEnum):
    """What a badge rule counts (the ``kind`` column of ``recognition_activity``)."""

    ACCEPTED_ANSWER = "accepted_answer"  # an answer of theirs was accepted
    REVIEW = "review"  # they gave feedback on a prototype
    KUDOS = "kudos"  # someone gave kudos to one of their posts


@dataclass(frozen=True, slots=True)
class Badge:
    key: str
    name: str
    description: str
    counts: Activity
    threshold: int


BADGES: tuple[Badge, ...] = (
    Badge(
        "first-accepted-answer",
        "First accepted answer",
        "One of their answers was accepted.",
        Activity.ACCEPTED_ANSWER,
        1,
    ),
    Badge(
        "three-accepted-answers",
        "Helpful",
        "Three of their answers were accepted.",
        Activity.ACCEPTED_ANSWER,
        3,
    ),
    Badge(
        "ten-accepted-answers",
        "Ten accepted answers",
        "Ten of their answers were accepted.",
        Activity.ACCEPTED_ANSWER,
        10,
    ),
    Badge("first-review", "First review", "Gave feedback on a prototype.", Activity.REVIEW, 1),
    Badge(
        "five-reviews",
        "Five prototype reviews",
        "Gave feedback on five prototypes.",
        Activity.REVIEW,
        5,
    ),
    Badge("first-kudos", "First kudos", "A post of theirs received kudos.", Activity.KUDOS, 1),
    Badge("fifty-kudos", "Fifty kudos", "Their posts received 50 kudos.", Activity.KUDOS, 50),
)

BY_KEY = {badge.key: badge for badge in BADGES}


@dataclass(frozen=True, slots=True)
class Event:
    """One counted activity: its kind, the post it is about, and when."""

    kind: Activity
    subject: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Earned:
    badge: Badge
    at: datetime  # when the event that met the threshold happened
    subject: str  # that event's post


def earned(events: Iterable[Event], badges: Sequence[Badge] = BADGES) -> list[Earned]:
    """The badges these events meet, each dated by the event that completed it (the
    ``threshold``-th of its kind, oldest first), in the order of ``badges``."""
    by_kind: dict[Activity, list[Event]] = {}
    for event in sorted(events, key=lambda e: (e.at, e.subject)):
        by_kind.setdefault(event.kind, []).append(event)
    out = []
    for badge in badges:
        counted = by_kind.get(badge.counts, [])
        if len(counted) >= badge.threshold:
            completing = counted[badge.threshold - 1]
            out.append(Earned(badge, completing.at, completing.subject))
    return out
