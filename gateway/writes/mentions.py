"""@mentions: who a post names, and who of them may be told.

A mention notifies a person only if that person may read the space the post is
in, decided by the same compiled policy as their own requests: the roles their
last token carried (the gateway remembers them, see :meth:`Records.saw`) or, for
someone it has never seen, what the stores prove (guest; member with a verified
forum account), plus their memberships in the stores, expiry checked now. When
they look, a notification whose subject they cannot read (their token said less,
or access ended) is not shown at all. Anyone else named is "not notified",
and learns nothing: no notification exists for them.

Notifications hold ids, never content; the caller's hub
(:class:`~gateway.records.hub.NotificationHub`) wakes this replica's subscribers at
once, and subscribers also poll the records database, so a notification written by
another replica arrives within the poll interval.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gateway.domain import ids
from gateway.domain.model import StoreName
from gateway.domain.permissions import USER_PREFIX, Action, Persona
from gateway.domain.principal import Principal
from gateway.policies.compiler import Authorizer
from gateway.records import Notification
from gateway.stores.guard import STORE_FAILURES

if TYPE_CHECKING:
    from collections.abc import Iterable

    from gateway.domain.model import Membership, Person, Space
    from gateway.runtime.caller import Caller

MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9_][A-Za-z0-9_.-]{0,63})")
MAX_MENTIONS = 20
KIND_MENTION = "mention"


def handles_in(*texts: str) -> list[str]:
    """The distinct handles ``@named`` in the texts, lower-cased, in order of appearance."""
    found: dict[str, None] = {}
    for text in texts:
        for match in MENTION.finditer(text):
            found.setdefault(match.group(1).rstrip(".-").lower(), None)
    return list(found)[:MAX_MENTIONS]


@dataclass(frozen=True, slots=True)
class MentionOutcome:
    notified: list[str] = field(default_factory=list)
    not_notified: list[str] = field(default_factory=list)


async def notify_mentions(
    caller: Caller, space: Space, subject_id: str, texts: Iterable[str]
) -> MentionOutcome:
    """Notify the people a new post mentions who may read its space; say who was not."""
    handles = handles_in(*texts)
    if not handles:
        return MentionOutcome()
    people = await _resolve(caller, space.store, handles)
    me = caller.principal.verified_email
    recipients: dict[str, str] = {}  # handle -> email, for people who may read the space
    candidates = {h: p.email.lower() for h, p in people.items() if p.email and p.email != me}
    if candidates:
        roles = await caller.records.roles_of([f"{USER_PREFIX}{e}" for e in candidates.values()])
        members = await _community_members(caller, list(candidates.values()))
        # Every candidate's memberships at once, not one round trip after another.
        their_memberships = await asyncio.gather(
            *(_memberships(caller, e) for e in candidates.values())
        )
        for (handle, email), memberships in zip(candidates.items(), their_memberships, strict=True):
            # What their last token said, when the gateway has seen them; otherwise what
            # the stores prove: anyone is a guest, a verified forum account is a member.
            held = roles.get(f"{USER_PREFIX}{email}")
            if held is None:
                held = frozenset(
                    {Persona.GUEST.value, *([Persona.MEMBER.value] if email in members else [])}
                )
            reader = Principal(
                issuer=None,
                subject=email,
                email=email,
                email_verified=True,
                display_name=email,
                roles=held | {Persona.GUEST.value},
                memberships=memberships,
            )
            if (
                Authorizer(caller.authorizer.index, reader, caller.now)
                .scope(Action.READ)
                .admits(space)
            ):
                recipients[handle] = email
    space_id = ids.encode("Space", space.store, space.id)
    await caller.records.notify(
        [
            Notification(
                id=0,
                recipient=f"{USER_PREFIX}{email}",
                kind=KIND_MENTION,
                actor=caller.principal.id,
                actor_name=caller.principal.display_name,
                subject=subject_id,
                space=space_id,
                created_at=caller.now,
            )
            for email in dict.fromkeys(recipients.values())
        ]
    )
    for email in recipients.values():
        caller.hub.publish(f"{USER_PREFIX}{email}")
    return MentionOutcome(
        notified=[h for h in handles if h in recipients],
        not_notified=[h for h in handles if h not in recipients],
    )


async def _resolve(caller: Caller, home: StoreName, handles: list[str]) -> dict[str, Person]:
    """Handles to people: the space's own store first, then the other one."""
    found: dict[str, Person] = {}
    for name in [home, *(s for s in StoreName if s != home)]:
        wanted = [h for h in handles if h not in found]
        if not wanted or name not in caller.stores:
            continue
        try:
            found |= await caller.stores[name].people_by_handles(wanted)
        except STORE_FAILURES:
            continue  # a store that is down resolves nobody; they are "not notified"
    return found


async def _community_members(caller: Caller, emails: list[str]) -> set[str]:
    """Which of these emails have a verified account in the community store."""
    if StoreName.COMMUNITY not in caller.stores:
        return set()
    try:
        return set(await caller.stores[StoreName.COMMUNITY].people_by_emails(emails))
    except STORE_FAILURES:
        return set()


async def _memberships(caller: Caller, email: str) -> tuple[Membership, ...]:
    held: list[Membership] = []
    for store in caller.stores.values():
        try:
            held.extend(await store.memberships_for(email))
        except STORE_FAILURES:
            continue
    return tuple(held)
