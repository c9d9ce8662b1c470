"""What follows a content write besides its mentions: notifying the people it concerns and
recording the activity badges count.

Called once a write succeeded (never for a replay: the first request did it). Nothing
here can undo or fail the write: a records database or store that fails now costs a
notification or a badge's timeliness, and is logged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gateway.domain import ids
from gateway.domain.badges import Activity
from gateway.domain.errors import StoreDown
from gateway.stores.guard import STORE_FAILURES
from gateway.writes.notices import KIND_ACCEPTED, KIND_ANSWER, KIND_INVITED, email_of, tell
from gateway.writes.recognition import recognise

if TYPE_CHECKING:
    from gateway.domain.model import Answer, Feedback, Invitation, Question, Space
    from gateway.runtime.caller import Caller

log = logging.getLogger("gateway.activity")


def _space_id(space: Space) -> str:
    return ids.encode("Space", space.store, space.id)


async def answered(caller: Caller, question: Question, answer: Answer, space: Space) -> None:
    """Tell the asker their question got an answer (unless they answered it themselves)."""
    subject = ids.encode("Answer", answer.store, answer.id)
    try:
        asker = await email_of(caller, question.store, question.author_id)
        await tell(caller, asker, KIND_ANSWER, subject, _space_id(space))
    except (*STORE_FAILURES, StoreDown):
        log.exception("could not tell the asker of %s about its answer", subject)


async def accepted(caller: Caller, answer: Answer, space: Space) -> None:
    """Tell the answer's author it was accepted, and count it towards their badges."""
    subject = ids.encode("Answer", answer.store, answer.id)
    try:
        author = await email_of(caller, answer.store, answer.author_id)
        if author is None:
            return
        await tell(caller, author, KIND_ACCEPTED, subject, _space_id(space))
        await recognise(
            caller.records,
            caller.hub,
            person=author,
            kind=Activity.ACCEPTED_ANSWER,
            subject=subject,
            space=_space_id(space),
            at=caller.now,
        )
    except (*STORE_FAILURES, StoreDown):
        log.exception("could not record the acceptance of %s", subject)


async def reviewed(caller: Caller, feedback: Feedback, space: Space) -> None:
    """Count a prototype review towards its author's (the caller's) badges."""
    subject = ids.encode("Feedback", feedback.store, feedback.id)
    email = caller.principal.verified_email
    if email is None:
        return
    try:
        await recognise(
            caller.records,
            caller.hub,
            person=email,
            kind=Activity.REVIEW,
            subject=subject,
            space=_space_id(space),
            at=caller.now,
        )
    except STORE_FAILURES:
        log.exception("could not record the review %s", subject)


async def invited(caller: Caller, invitation: Invitation, space: Space) -> None:
    """Tell the invitee (by the address invited) that an invitation waits for them."""
    subject = ids.encode("Invitation", invitation.store, invitation.id)
    try:
        await tell(caller, invitation.email, KIND_INVITED, subject, _space_id(space))
    except STORE_FAILURES:
        log.exception("could not tell the invitee of %s", subject)
