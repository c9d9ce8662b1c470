"""What every mutation shares: user errors in payloads, idempotency keys, replays."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

import strawberry

from gateway.domain import ids
from gateway.domain.errors import StoreDown
from gateway.schema.enums import UserErrorCode
from gateway.stores.guard import STORE_FAILURES, guarded
from gateway.writes import WriteRefused, audit_refusal
from gateway.writes.mentions import handles_in, notify_mentions

if TYPE_CHECKING:
    from gateway.domain.model import Space, StoreName
    from gateway.domain.permissions import Action
    from gateway.records import Replay
    from gateway.schema.context import Context

log = logging.getLogger("gateway.mentions")


@strawberry.type(description="A problem with a write, meant to be shown to the user.")
class UserError:
    code: UserErrorCode = strawberry.field(description="What kind of problem, for code.")
    message: str = strawberry.field(description="What went wrong, in words for the user.")
    field: str | None = strawberry.field(
        default=None, description="The input field at fault, if one is."
    )


async def errors_of(
    ctx: Context, operation: str, action: Action, refused: WriteRefused | StoreDown
) -> list[UserError]:
    """The payload errors for a refused write (or a lookup that found its store down),
    once the refusal is in the audit log (:func:`gateway.writes.audit_refusal`)."""
    audited = await audit_refusal(ctx.caller, operation, action, refused)
    return [UserError(code=p.code, message=p.message, field=p.field) for p in audited.problems]


@strawberry.type(description="Who the @mentions in a post reached.")
class MentionReport:
    notified: list[str] = strawberry.field(
        default_factory=list, description="Handles notified: they may read the space."
    )
    not_notified: list[str] = strawberry.field(
        default_factory=list,
        description="Handles not notified: unknown, or not allowed to read the space.",
    )


async def mention(ctx: Context, space: Space, subject_id: str, *texts: str) -> MentionReport:
    """Notify the mentioned who may read the space. The write stands whatever happens here:
    if notifying fails, everyone mentioned is reported as not notified."""
    try:
        outcome = await notify_mentions(ctx.caller, space, subject_id, texts)
    except STORE_FAILURES:
        log.exception("could not notify the mentions of %s", subject_id)
        return MentionReport(not_notified=handles_in(*texts))
    return MentionReport(notified=outcome.notified, not_notified=outcome.not_notified)


KEY_DESCRIPTION = "Send the same key again to retry safely: the write happens once."
ERRORS = "Why it did not happen, meant for the user; empty when it did."
MENTIONS = "Who the @mentions reached (notified only where they may read the space)."
INPUT = strawberry.argument(description="What to write (see the input type's fields).")


def arguments(value: Any) -> dict[str, Any]:
    """An input's fields without its idempotency key: what a retry must repeat exactly."""
    fields = dataclasses.asdict(value)
    fields.pop("idempotency_key", None)
    return fields


async def replayed(ctx: Context, replay: Replay, loader: str) -> Any:
    """What a completed request with the same key wrote, as the caller may now see it."""
    ref = ids.decode(replay.result["id"])
    return await getattr(ctx.loaders, loader).load((ref.store, ref.native_id))


async def is_own(ctx: Context, store: StoreName, person_id: str | None) -> bool:
    """Whether a profile is the caller's own (same verified email)."""
    email = ctx.principal.verified_email
    if person_id is None or email is None:
        return False
    people = await guarded(store, ctx.stores[store].people_by_ids([person_id]))
    person = people.get(person_id)
    return person is not None and (person.email or "").lower() == email
