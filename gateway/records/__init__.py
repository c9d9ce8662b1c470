"""The gateway's own database: the audit log of writes, the idempotency keys, the browser
sessions and access revocations.

Every replica shares it (SQLite for one process, PostgreSQL or MariaDB for many),
so an idempotent retry that lands on another replica still finds its first try,
and the audit log is one log. The stores keep content in their native schemas;
nothing here is content.

No write reaches a store without its audit entry: the entry is written first, as
``pending``, and settled afterwards (``ok`` with the target, or ``failed``). If
this database is down, writes are refused, not performed unaudited.
"""

from __future__ import annotations

import asyncio
import enum
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from gateway.domain.principal import Principal
from gateway.stores.sql import UtcDateTime, open_engine, write_transaction

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncConnection

    from gateway.config import Settings

metadata = MetaData()

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(320), nullable=False),  # the policy subject: user:EMAIL
    Column("issuer", String(500), nullable=True),
    Column("action", String(32), nullable=False),
    Column("outcome", String(16), nullable=False),  # pending | ok | failed | denied
    Column("store", String(16), nullable=True),
    Column("space_key", String(300), nullable=True),
    Column("target", String(300), nullable=True),  # global id of what was written
    Column("detail", Text, nullable=False),  # JSON: ids and sizes, never content
    Column("idempotency_key", String(128), nullable=True),
    Index("ix_audit_log_at", "at", "id"),
    Index("ix_audit_log_actor_action_at", "actor", "action", "at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("actor", String(320), nullable=False),
    Column("idem_key", String(128), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # pending | done
    Column("result", Text, nullable=True),  # JSON, once done
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("actor", "idem_key", name="pk_idempotency_keys"),
    Index("ix_idempotency_keys_created", "created_at"),
)

# Everyone who has made an authenticated request: the roles their last token carried.
# A mention notifies someone only if these roles (plus their memberships) let them read
# the space; someone never seen gets only what their memberships give.
principals = Table(
    "principals",
    metadata,
    Column("id", String(320), primary_key=True),  # the policy subject: user:EMAIL
    Column("issuer", String(500), nullable=True),
    Column("email", String(255), nullable=True),
    Column("display_name", String(200), nullable=False),
    Column("roles", Text, nullable=False),  # JSON list
    Column("organisation", String(200), nullable=True),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Index("ix_principals_email", "email"),
)

# Notifications name what they are about by global id, never by content: the recipient's
# own read scope decides, when they look, whether they may still see it.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recipient", String(320), nullable=False),  # user:EMAIL
    Column("kind", String(32), nullable=False),  # mention
    Column("actor", String(320), nullable=False),
    Column("actor_name", String(200), nullable=False),
    Column("subject", String(300), nullable=False),  # global id of the post
    Column("space", String(300), nullable=False),  # global id of its space
    Column("created_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime, nullable=True),
    Index("ix_notifications_recipient", "recipient", "id"),
)

# Browser sessions: the cookie carries only a signed random id; the session lives here, so
# every replica sees the same sessions and a logout or revoke ends one everywhere at once
# (gateway.identity.session_store). Keyed by the SHA-256 of the id: a copy of this table
# logs nobody in.
sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("principal", String(320), nullable=True),  # user:EMAIL; None before login
    Column("provider", String(100), nullable=True),
    Column("data", Text, nullable=False),  # JSON: the session dict (login state, CSRF token)
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("ended_reason", String(32), nullable=True),  # logout | login | revoked
    Index("ix_sessions_principal", "principal"),
    Index("ix_sessions_expires", "expires_at"),
)

# Offboarding: bearer tokens of this principal issued (iat) before not_before are refused.
# A row exists while the revocation stands; restoring access deletes it.
access_revocations = Table(
    "access_revocations",
    metadata,
    Column("principal", String(320), primary_key=True),  # user:EMAIL
    Column("not_before", UtcDateTime, nullable=False),
    Column("actor", String(320), nullable=False),
    Column("reason", String(500), nullable=True),
)

# PostgreSQL LISTEN/NOTIFY channel on which a new notification's recipient is announced.
NOTIFICATIONS_CHANNEL = "gateway_notifications"

# How often a principal's last_seen is written at most (roles are written when they change).
SEEN_EVERY = timedelta(minutes=10)

# A key answers retries for a day (Stripe's convention); a write still pending after
# this long died with its process, and a retry may run it again.
KEY_LIFETIME = timedelta(hours=24)
PENDING_TIMEOUT = timedelta(seconds=30)
_WAIT_STEP = 0.02  # seconds between looks at a concurrent request's key


class Outcome(enum.StrEnum):
    PENDING = "pending"
    OK = "ok"
    FAILED = "failed"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    issuer: str | None
    action: str
    outcome: Outcome
    store: str | None
    space_key: str | None
    target: str | None
    detail: dict[str, Any]
    idempotency_key: str | None = None
    id: int | None = None


class IdempotencyConflict(Exception):
    """The key was used before for a different operation or different input."""


class StillRunning(Exception):
    """Another request with this key is still being written; retry later."""


@dataclass(frozen=True, slots=True)
class Notification:
    id: int
    recipient: str
    kind: str
    actor: str
    actor_name: str
    subject: str
    space: str
    created_at: datetime
    read_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Replay:
    """A key that completed before: the stored result, returned instead of writing again."""

    result: dict[str, Any]


class Records:
    """The audit log and idempotency keys, on one database shared by every replica."""

    def __init__(self, url: str, *, timeout: float | None = None) -> None:
        """``timeout``: what the drivers bound on their own (connecting, waiting for a
        pooled connection, each statement on PostgreSQL; see gateway.stores.sql.open_engine)."""
        self._url = make_url(url)
        self.engine = open_engine(url, timeout)
        self._ready = False
        # principal id -> (roles, when last written): skips a write per request
        self._seen: dict[str, tuple[tuple[str, ...], datetime]] = {}

    @classmethod
    def for_settings(cls, settings: Settings) -> Records:
        """The records database as the settings name it, with its timeout: the one way the
        server and the CLI commands open it."""
        return cls(settings.records_url, timeout=settings.records_timeout)

    async def create_schema(self) -> None:
        """Create the tables if they do not exist (never drops anything)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        self._ready = True

    async def ensure_schema(self) -> None:
        """Create the tables unless that was done (the database was down at start-up)."""
        if not self._ready:
            await self.create_schema()

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        """Raise unless the database answers ``SELECT 1``."""
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    # --- writes: claim, then settle ---------------------------------------
    async def begin_write(
        self,
        entry: AuditEntry,
        *,
        operation: str,
        request_hash: str,
        wait: float,
    ) -> int | Replay:
        """Record a write about to happen; with a key, claim it first.

        Returns the pending audit entry's id, or a :class:`Replay` when the key already
        completed. A concurrent request holding the key is waited for up to ``wait``
        seconds (then :class:`StillRunning`). Raises :class:`IdempotencyConflict` when the
        key was used for something else.
        """
        if not self._ready:  # it was down at start-up
            await self.create_schema()
        if entry.idempotency_key is None:
            async with write_transaction(self.engine) as conn:
                return await insert_audit(conn, entry)
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            claimed = await self._claim(entry, operation, request_hash)
            if claimed is not None:
                return claimed
            if asyncio.get_running_loop().time() >= deadline:
                raise StillRunning(entry.idempotency_key)
            await asyncio.sleep(_WAIT_STEP)

    async def _claim(
        self, entry: AuditEntry, operation: str, request_hash: str
    ) -> int | Replay | None:
        key = entry.idempotency_key
        assert key is not None
        row_key = (idempotency_keys.c.actor == entry.actor, idempotency_keys.c.idem_key == key)
        try:
            async with write_transaction(self.engine) as conn:
                existing = (
                    await conn.execute(select(idempotency_keys).where(*row_key))
                ).one_or_none()
                if existing is not None:
                    stale = existing.created_at < entry.at - (
                        KEY_LIFETIME if existing.state == "done" else PENDING_TIMEOUT
                    )
                    if not stale:
                        if (existing.operation, existing.request_hash) != (
                            operation,
                            request_hash,
                        ):
                            raise IdempotencyConflict(key)
                        if existing.state == "done":
                            return Replay(json.loads(existing.result))
                        return None  # still running elsewhere: look again shortly
                    await conn.execute(delete(idempotency_keys).where(*row_key))
                await conn.execute(
                    insert(idempotency_keys).values(
                        actor=entry.actor,
                        idem_key=key,
                        operation=operation,
                        request_hash=request_hash,
                        state="pending",
                        created_at=entry.at,
                    )
                )
                return await insert_audit(conn, entry)
        except IntegrityError:
            return None  # another replica inserted the key between our look and our insert

    async def settle(
        self,
        audit_id: int,
        entry: AuditEntry,
        outcome: Outcome,
        *,
        target: str | None = None,
        result: dict[str, Any] | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Mark a pending write done (``ok``) or ``failed``; a failed key is released so a
        retry may run, a done key keeps ``result`` for replays. ``detail``, when given,
        replaces the entry's (a failed write adds the code it was refused with)."""
        values: dict[str, Any] = {"outcome": outcome.value, "target": target}
        if detail is not None:
            values["detail"] = json.dumps(detail, sort_keys=True)
        async with write_transaction(self.engine) as conn:
            await conn.execute(update(audit_log).where(audit_log.c.id == audit_id).values(**values))
            if entry.idempotency_key is None:
                return
            row_key = (
                idempotency_keys.c.actor == entry.actor,
                idempotency_keys.c.idem_key == entry.idempotency_key,
            )
            if outcome is Outcome.OK:
                await conn.execute(
                    update(idempotency_keys)
                    .where(*row_key)
                    .values(state="done", result=json.dumps(result or {}))
                )
            else:
                await conn.execute(delete(idempotency_keys).where(*row_key))

    async def record(self, entry: AuditEntry) -> int:
        """Write one finished entry (a refusal, for instance)."""
        async with write_transaction(self.engine) as conn:
            return await insert_audit(conn, entry)

    async def purge_keys(self, now: datetime) -> int:
        """Forget keys older than their lifetime; returns how many."""
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(
                delete(idempotency_keys).where(idempotency_keys.c.created_at < now - KEY_LIFETIME)
            )
        return result.rowcount

    # --- principals -------------------------------------------------------
    async def saw(
        self,
        *,
        principal_id: str,
        issuer: str | None,
        email: str | None,
        display_name: str,
        roles: Sequence[str],
        organisation: str | None,
        now: datetime,
    ) -> None:
        """Remember an authenticated principal and the roles its token carried."""
        roles_key = tuple(sorted(roles))
        known = self._seen.get(principal_id)
        if known is not None and known[0] == roles_key and now - known[1] < SEEN_EVERY:
            return
        if not self._ready:
            await self.create_schema()
        values = {
            "issuer": issuer,
            "email": email,
            "display_name": display_name[:200],
            "roles": json.dumps(list(roles_key)),
            "organisation": organisation,
            "last_seen": now,
        }
        async with write_transaction(self.engine) as conn:
            updated = await conn.execute(
                update(principals).where(principals.c.id == principal_id).values(**values)
            )
            if updated.rowcount == 0:
                try:
                    async with conn.begin_nested():
                        await conn.execute(
                            insert(principals).values(id=principal_id, first_seen=now, **values)
                        )
                except IntegrityError:  # another replica recorded it first: fine
                    pass
        self._seen[principal_id] = (roles_key, now)

    async def remember(self, principal: Principal, now: datetime) -> None:
        """:meth:`saw` for a principal as its request brought it."""
        await self.saw(
            principal_id=principal.id,
            issuer=principal.issuer,
            email=principal.verified_email,
            display_name=principal.display_name,
            roles=sorted(principal.roles),
            organisation=principal.organisation,
            now=now,
        )

    async def roles_of(self, principal_ids: Sequence[str]) -> dict[str, frozenset[str]]:
        """The roles each principal's last token carried (absent: never seen)."""
        if not principal_ids:
            return {}
        stmt = select(principals.c.id, principals.c.roles).where(
            principals.c.id.in_(sorted(set(principal_ids)))
        )
        async with self.engine.connect() as conn:
            rows = await conn.execute(stmt)
            return {pid: frozenset(json.loads(roles)) for pid, roles in rows}

    async def known_principals(self) -> list[Principal]:
        """Everyone who has made an authenticated request, as their last token described
        them (roles, organisation; no memberships), in id order. For reports such as
        ``gateway policy impact``: never on a request path."""
        stmt = select(principals).order_by(principals.c.id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_principal(row) for row in rows]

    async def known_principal(self, principal_id: str) -> Principal | None:
        """One principal the gateway has seen, as :meth:`known_principals` gives them."""
        stmt = select(principals).where(principals.c.id == principal_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).one_or_none()
        return None if row is None else _principal(row)

    # --- notifications ----------------------------------------------------
    async def notify(self, items: Sequence[Notification]) -> None:
        """Store notifications (their ids are assigned here)."""
        if not items:
            return
        async with write_transaction(self.engine) as conn:
            await conn.execute(
                insert(notifications),
                [
                    {
                        "recipient": n.recipient,
                        "kind": n.kind,
                        "actor": n.actor,
                        "actor_name": n.actor_name,
                        "subject": n.subject,
                        "space": n.space,
                        "created_at": n.created_at,
                    }
                    for n in items
                ],
            )
            if self.engine.dialect.name == "postgresql":
                # Other replicas' subscribers hear of it once this commits (gateway.records.listen).
                for recipient in sorted({n.recipient for n in items}):
                    await conn.execute(
                        text("SELECT pg_notify(:channel, :recipient)"),
                        {"channel": NOTIFICATIONS_CHANNEL, "recipient": recipient},
                    )

    async def notifications_for(
        self,
        recipient: str,
        *,
        unread_only: bool = False,
        before_id: int | None = None,
        after_id: int | None = None,
        limit: int = 100,
    ) -> list[Notification]:
        """A recipient's notifications: newest first (``before_id`` pages on), or, with
        ``after_id``, the ones newer than it, oldest first (what a subscription delivers)."""
        n = notifications.c
        stmt = select(notifications).where(n.recipient == recipient)
        if unread_only:
            stmt = stmt.where(n.read_at.is_(None))
        if after_id is not None:
            stmt = stmt.where(n.id > after_id).order_by(n.id)
        else:
            if before_id is not None:
                stmt = stmt.where(n.id < before_id)
            stmt = stmt.order_by(n.id.desc())
        async with self.engine.connect() as conn:
            rows = await conn.execute(stmt.limit(limit))
            return [Notification(**row._mapping) for row in rows]

    async def latest_notification_id(self, recipient: str) -> int:
        stmt = select(func.max(notifications.c.id)).where(notifications.c.recipient == recipient)
        async with self.engine.connect() as conn:
            return int(await conn.scalar(stmt) or 0)

    async def mark_read(self, recipient: str, ids: Sequence[int] | None, now: datetime) -> int:
        """Mark these (or, with None, all) of the recipient's notifications read."""
        n = notifications.c
        stmt = (
            update(notifications)
            .where(n.recipient == recipient, n.read_at.is_(None))
            .values(read_at=now)
        )
        if ids is not None:
            stmt = stmt.where(n.id.in_(sorted(set(ids))))
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(stmt)
        return result.rowcount

    # --- reads ----------------------------------------------------------
    async def entries(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        outcome: Outcome | None = None,
        since: datetime | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Audit entries newest first (by id: the order they were written), optionally
        filtered; ``before_id`` pages back from an entry."""
        stmt = select(audit_log).order_by(audit_log.c.id.desc())
        if actor is not None:
            stmt = stmt.where(audit_log.c.actor == actor)
        if action is not None:
            stmt = stmt.where(audit_log.c.action == action)
        if outcome is not None:
            stmt = stmt.where(audit_log.c.outcome == outcome.value)
        if before_id is not None:
            stmt = stmt.where(audit_log.c.id < before_id)
        if since is not None:
            stmt = stmt.where(audit_log.c.at >= since)
        async with self.engine.connect() as conn:
            rows = await conn.execute(stmt.limit(limit))
            return [_entry(row) for row in rows]

    async def last_activity(self, actors: Sequence[str]) -> dict[str, datetime]:
        """Each actor's latest successful write."""
        if not actors:
            return {}
        stmt = (
            select(audit_log.c.actor, func.max(audit_log.c.at))
            .where(audit_log.c.actor.in_(sorted(set(actors))), audit_log.c.outcome == "ok")
            .group_by(audit_log.c.actor)
        )
        async with self.engine.connect() as conn:
            return {actor: at for actor, at in await conn.execute(stmt)}

    async def count(self, *, actor: str, actions: Sequence[str], since: datetime) -> int:
        """Writes by ``actor`` of these actions since a time that did not fail or get refused
        (what a rate limit counts)."""
        stmt = select(func.count()).where(
            audit_log.c.actor == actor,
            audit_log.c.action.in_(list(actions)),
            audit_log.c.at >= since,
            audit_log.c.outcome.in_([Outcome.PENDING.value, Outcome.OK.value]),
        )
        async with self.engine.connect() as conn:
            return int(await conn.scalar(stmt) or 0)


async def insert_audit(conn: AsyncConnection, entry: AuditEntry) -> int:
    result = await conn.execute(
        insert(audit_log).values(
            at=entry.at,
            actor=entry.actor,
            issuer=entry.issuer,
            action=entry.action,
            outcome=entry.outcome.value,
            store=entry.store,
            space_key=entry.space_key,
            target=entry.target,
            detail=json.dumps(entry.detail, sort_keys=True),
            idempotency_key=entry.idempotency_key,
        )
    )
    return int(result.inserted_primary_key[0])


def _principal(row: Any) -> Principal:
    # Only a verified email is stored (see Records.saw); without one, the id is
    # user:ISSUER#SUBJECT and the subject is what follows the '#'.
    subject = row.email or row.id.rpartition("#")[2] or row.id
    return Principal(
        issuer=row.issuer,
        subject=subject,
        email=row.email,
        email_verified=row.email is not None,
        display_name=row.display_name,
        roles=frozenset(json.loads(row.roles)),
        organisation=row.organisation,
    )


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        actor=row.actor,
        issuer=row.issuer,
        action=row.action,
        outcome=Outcome(row.outcome),
        store=row.store,
        space_key=row.space_key,
        target=row.target,
        detail=json.loads(row.detail),
        idempotency_key=row.idempotency_key,
    )
