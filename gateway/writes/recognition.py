"""Recognition as activity happens: record what a badge counts, award what it completes.

An answer accepted, a prototype review, a kudos: each is recorded once (by global id, in
the records database every replica shares) and the person's badges of that kind are
counted again. A badge whose threshold is reached is awarded once, and its earner, only
they, is notified; the notification names the post that completed it, so the earner sees
it only while they may read that post.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.domain.badges import BADGES, Activity
from gateway.writes.notices import GATEWAY_ACTOR, GATEWAY_NAME, KIND_BADGE, send

if TYPE_CHECKING:
    from datetime import datetime

    from gateway.records import Records
    from gateway.records.hub import NotificationHub


async def recognise(
    records: Records,
    hub: NotificationHub,
    *,
    person: str,
    kind: Activity,
    subject: str,
    space: str,
    at: datetime,
    actor: str = "",
) -> list[str]:
    """Record one activity of ``person`` (a verified email) and award the badges it
    completes; returns the keys of the badges awarded now (none when it was recorded
    before, so a retry awards nothing twice)."""
    if not await records.record_activity(
        person=person, kind=kind, subject=subject, space=space, at=at, actor=actor
    ):
        return []
    return await award_badges(
        records, hub, person=person, kind=kind, subject=subject, space=space, at=at
    )


async def award_badges(
    records: Records,
    hub: NotificationHub,
    *,
    person: str,
    kind: Activity,
    subject: str,
    space: str,
    at: datetime,
) -> list[str]:
    """Award the badges of ``kind`` that the person's recorded activity now meets and that
    they do not hold yet, notifying them of each; the keys awarded."""
    count = await records.activity_count(person, kind)
    awarded = []
    for badge in BADGES:
        if badge.counts is not kind or count < badge.threshold:
            continue
        if await records.award(person, badge.key, subject, at):
            awarded.append(badge.key)
            await send(
                records,
                hub,
                recipient_email=person,
                kind=KIND_BADGE,
                subject=subject,
                space=space,
                actor=GATEWAY_ACTOR,
                actor_name=GATEWAY_NAME,
                at=at,
            )
    return awarded
