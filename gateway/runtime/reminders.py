"""The reminder job: tell invitees and sponsors that an invitation is about to expire.

Every replica runs it (:func:`remind_every`); each reminder is claimed in the records
database before it is sent (:meth:`Records.claim_reminder`), so exactly one replica sends
it, and a job that runs twice sends nothing twice. A reminder is for one expiry: an
invitation extended later gets a new one when its new expiry comes near. Accepted
invitations count too: the access they gave ends with them.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from gateway.domain import ids
from gateway.domain.model import InvitationStatus
from gateway.stores.guard import STORE_FAILURES
from gateway.writes.notices import GATEWAY_ACTOR, GATEWAY_NAME, KIND_EXPIRING, send

if TYPE_CHECKING:
    from collections.abc import Callable

    from gateway.runtime.services import Services

log = logging.getLogger("gateway.reminders")


async def remind_expiring(services: Services, now: datetime) -> int:
    """Send the reminders due at ``now`` that no replica sent yet; how many this one sent."""
    days = services.settings.invite_remind_days
    if days <= 0:
        return 0
    sent = 0
    for name, store in services.stores.items():
        try:
            due = await store.invitations_expiring(now, now + timedelta(days=days))
        except STORE_FAILURES:
            log.warning("the %s store is down: its reminders wait for the next run", name.value)
            continue
        for invitation in due:
            if invitation.status(now) not in {InvitationStatus.PENDING, InvitationStatus.ACCEPTED}:
                continue
            assert invitation.expires_at is not None  # it is expiring
            recipients = [invitation.email]
            if invitation.sponsor_id is not None:
                try:
                    people = await store.people_by_ids([invitation.sponsor_id])
                except STORE_FAILURES:
                    people = {}
                sponsor = people.get(invitation.sponsor_id)
                if sponsor is not None and sponsor.email:
                    recipients.append(sponsor.email)
            subject = ids.encode("Invitation", name, invitation.id)
            space = ids.encode("Space", name, invitation.space_id)
            for email in dict.fromkeys(r.lower() for r in recipients):
                claimed = await services.records.claim_reminder(
                    subject, email, invitation.expires_at, now
                )
                if not claimed:
                    continue  # sent before, here or by another replica
                await send(
                    services.records,
                    services.hub,
                    recipient_email=email,
                    kind=KIND_EXPIRING,
                    subject=subject,
                    space=space,
                    actor=GATEWAY_ACTOR,
                    actor_name=GATEWAY_NAME,
                    at=now,
                )
                sent += 1
    return sent


async def remind_every(
    services: Services, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> None:
    """Run :func:`remind_expiring` every ``invitations.remind_every_seconds`` until
    cancelled, the first time one interval after start-up (reminders are days ahead; at
    start-up the stores have enough to do); a failed run is logged and retried at the next."""
    while True:
        await asyncio.sleep(max(services.settings.invite_remind_every, 1))
        try:
            sent = await remind_expiring(services, clock())
            if sent:
                log.info("sent %d reminders of expiring invitations", sent)
        except STORE_FAILURES as exc:
            log.warning("the reminder job could not run: %s", exc)
