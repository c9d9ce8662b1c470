"""Telling an author that their post was hidden, and why, but never who flagged it.

The notification (kind ``post_hidden``) names the post and its space by id and carries the
reason; its actor is "the moderators", whether a moderator hid the post or enough flags
did. Its recipient sees it while they may read the space (their own hidden post they
cannot read any more: only moderators see hidden posts).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gateway.domain import ids
from gateway.domain.permissions import USER_PREFIX
from gateway.records import Notification
from gateway.stores.guard import STORE_FAILURES

if TYPE_CHECKING:
    from gateway.domain.model import Space
    from gateway.runtime.caller import Caller

__all__ = ["KIND_POST_HIDDEN", "MODERATORS", "MODERATORS_NAME", "notify_hidden"]

log = logging.getLogger("gateway.moderation")

KIND_POST_HIDDEN = "post_hidden"
MODERATORS = "gateway:moderators"  # the actor of every post_hidden notification
MODERATORS_NAME = "The moderators"


async def notify_hidden(
    caller: Caller, space: Space, post_id: str, author_id: str | None, reason: str
) -> bool:
    """Notify the post's author (when they have a verified email and are not the caller)
    that it was hidden, with ``reason``; whether a notification was left. The write that
    hid it stands whatever happens here."""
    if author_id is None:
        return False
    try:
        people = await caller.stores[space.store].people_by_ids([author_id])
        person = people.get(author_id)
        email = (person.email or "").lower() if person is not None else ""
        if not email or email == caller.principal.verified_email:
            return False
        recipient = f"{USER_PREFIX}{email}"
        await caller.records.notify(
            [
                Notification(
                    id=0,
                    recipient=recipient,
                    kind=KIND_POST_HIDDEN,
                    actor=MODERATORS,
                    actor_name=MODERATORS_NAME,
                    subject=post_id,
                    space=ids.encode("Space", space.store, space.id),
                    created_at=caller.now,
                    reason=reason,
                )
            ]
        )
    except STORE_FAILURES:
        log.exception("could not tell the author of %s that it was hidden", post_id)
        return False
    caller.hub.publish(recipient)
    return True
