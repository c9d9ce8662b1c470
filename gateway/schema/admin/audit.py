"""The admin API's audit log: writes, refusals and policy changes, newest first, a page at
a time."""

from __future__ import annotations

import json
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from gateway.records import Outcome
from gateway.schema.admin.context import MAX_AUDIT_PAGE, AdminInputError, admin_context


@strawberry.input
class AuditFilter:
    actor: str | None = None
    action: str | None = strawberry.field(default=None, description="e.g. policy_apply, answer.")
    outcome: str | None = strawberry.field(default=None, description="ok, failed, denied, pending.")
    since: datetime | None = None


@strawberry.type
class AuditLogEntry:
    id: int
    at: datetime
    actor: str
    action: str
    outcome: str
    store: str | None
    space_key: str | None
    target: str | None
    detail: JSON


@strawberry.type
class AuditLogPage:
    entries: list[AuditLogEntry]
    end_cursor: str | None
    has_next_page: bool


@strawberry.type
class AuditQuery:
    @strawberry.field(description="The audit log, newest first: writes, refusals, policy changes.")
    async def audit_log(
        self,
        info: strawberry.Info,
        filter: AuditFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> AuditLogPage:
        if not 1 <= first <= MAX_AUDIT_PAGE:
            raise AdminInputError(f"first must be between 1 and {MAX_AUDIT_PAGE}")
        before = None
        if after is not None:
            # ASCII digits only ('¹' is a digit to str.isdigit), and no more than a row id
            # can have (a larger number overflows the database's integer).
            if not (after.isascii() and after.isdigit() and len(after) <= 18):
                raise AdminInputError(f"after: not a cursor of this log: {after!r}")
            before = int(after)
        f = filter or AuditFilter()
        if f.outcome is not None and f.outcome not in Outcome.__members__.values():
            raise AdminInputError(f"outcome must be one of {', '.join(Outcome)}")
        entries = await admin_context(info).services.records.entries(
            actor=f.actor,
            action=f.action,
            outcome=Outcome(f.outcome) if f.outcome else None,
            since=f.since,
            before_id=before,
            limit=first + 1,
        )
        page = entries[:first]
        return AuditLogPage(
            entries=[
                AuditLogEntry(
                    id=e.id or 0,
                    at=e.at,
                    actor=e.actor,
                    action=e.action,
                    outcome=e.outcome.value,
                    store=e.store,
                    space_key=e.space_key,
                    target=e.target,
                    detail=json.loads(json.dumps(e.detail)),
                )
                for e in page
            ],
            end_cursor=str(page[-1].id) if page else None,
            has_next_page=len(entries) > first,
        )
