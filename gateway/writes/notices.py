"""Notifications a write sends besides mentions: an answer to your question, your answer
accepted, a badge earned, an invitation sent or about to expire.

Like mentions they hold ids, never content, and the recipient's read scope decides when
they look whether they see one at all (the notifications list leaves out those whose
subject they cannot read). Sending one never undoes or fails the write that caused it:
the callers catch the records database's failures and log them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.domain.permissions import USER_PREFIX
from gateway.records import Notification
from gateway.stores.guard import guarded

if TYPE_CHECKING:
    from datetime import datetime

    from gateway.domain.model import StoreName
    from gateway.records import Records
    from gateway.records.hub import NotificationHub
    from gateway.runtime.caller import Caller

KIND_ANSWER = "answer"  # someone answered your question
KIND_ACCEPTED = "accepted"  # your answer was accepted
KIND_BADGE = "badge"  # you earned a badge
KIND_INVITED = "invited"  # you were invited to a space
KIND_EXPIRING = "expiring"  # an invitation (yours, or one you sponsor) is about to expire

# Who a notification the gateway itself sends (a badge, a reminder) names as its actor.
GATEWAY_ACTOR = "gateway"
GATEWAY_NAME = "the gateway"


async def send(
    records: Records,
    hub: NotificationHub,
    *,
    recipient_email: str,
    kind: str,
    subject: str,
    space: str,
    actor: str,
    actor_name: str,
    at: datetime,
) -> None:
    """Store one notification and wake the recipient's subscribers on this replica."""
    recipient = f"{USER_PREFIX}{recipient_email.lower()}"
    await records.notify(
        [
            Notification(
                id=0,
                recipient=recipient,
                kind=kind,
                actor=actor,
                actor_name=actor_name,
                subject=subject,
                space=space,
                created_at=at,
            )
        ]
    )
    hub.publish(recipient)


async def tell(
    caller: Caller, recipient_email: str | None, kind: str, subject: str, space: str
) -> bool:
    """Notify someone of what the caller just did; nobody is told of their own doing.
    True when a notification was stored."""
    if not recipient_email or recipient_email.lower() == caller.principal.verified_email:
        return False
    await send(
        caller.records,
        caller.hub,
        recipient_email=recipient_email,
        kind=kind,
        subject=subject,
        space=space,
        actor=caller.principal.id,
        actor_name=caller.principal.display_name,
        at=caller.now,
    )
    return True


async def email_of(caller: Caller, store: StoreName, person_id: str | None) -> str | None:
    """The verified email of a profile (an author's), or None."""
    if person_id is None:
        return None
    people = await guarded(store, caller.stores[store].people_by_ids([person_id]))
    person = people.get(person_id)
    return person.email if person is not None else None
