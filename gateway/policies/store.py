"""Where the policy lives, every version it has had, and the one way it changes.

The policy in force is read from its *source*: the policy file (the default) or the
records database, through pycasbin's SQLAlchemy adapter (its ``casbin_rule`` table, so
other Casbin tools can read it). Every policy that has been in force is a numbered
*version* in the records database (``policy_versions``): its canonical text and sha256,
who put it in force, when, how and why. That history is what a rollback returns to.

A change is one transaction on the records database: the version row (whose ``parent``
is unique, so two changes made against the same version cannot both land: the second
is :class:`StaleVersion`), the audit entry, the source's new content (the adapter's rows;
a file is replaced atomically before the commit) and, on PostgreSQL, a ``NOTIFY`` on
:data:`CHANNEL`, which PostgreSQL delivers only once the commit is done, so a replica
never hears of a version it cannot read yet.
"""

from __future__ import annotations

import asyncio
import enum
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import casbin
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy_adapter import Adapter, CasbinRule
from sqlalchemy_adapter.adapter import Filter

from gateway.policies.export import canonical, digest, line_diff, row_text
from gateway.policies.policy import MODEL_PATH, Policy
from gateway.records import AuditEntry, Outcome, insert_audit
from gateway.stores.sql import UtcDateTime, add_missing_columns, write_transaction

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

# PostgreSQL LISTEN/NOTIFY channel on which a new version's number is announced.
CHANNEL = "gateway_policy"

metadata = MetaData()

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=True),
    # The version this one replaced (0 for the first). Unique: history is a line, and two
    # changes made against the same version cannot both land.
    Column("parent", Integer, nullable=False, unique=True),
    Column("sha256", String(64), nullable=False),
    # As written (a file's comments kept, so a rollback restores them); canonical text when
    # the policy came from lines (the database source). The hash is of the canonical form.
    Column("text", Text, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(320), nullable=False),  # user:EMAIL, cli:USER, or the source
    Column("kind", String(16), nullable=False),
    Column("reason", String(500), nullable=True),
    Column("source", String(500), nullable=False),  # where it was put in force
)


class VersionKind(enum.StrEnum):
    INITIAL = "initial"  # the first policy this history saw
    APPLY = "apply"  # gateway policy apply, applyPolicyChange, the admin page
    ROLLBACK = "rollback"  # back to an earlier version's text
    EDIT = "edit"  # found changed at the source (the file edited on disk, the table by hand)


class StaleVersion(Exception):
    """The change was made against a version that is no longer the latest."""

    def __init__(self, expected: int, latest: int) -> None:
        self.expected = expected
        self.latest = latest
        super().__init__(
            f"the policy changed since version {expected}: version {latest} is in force now; "
            "review the change against it and try again"
        )


@dataclass(frozen=True, slots=True)
class Version:
    number: int
    parent: int
    sha256: str
    text: str
    at: datetime
    actor: str
    kind: VersionKind
    reason: str | None
    source: str

    def policy(self) -> Policy:
        return Policy.parse(self.text, source=f"policy v{self.number}")


class Source(Protocol):
    """Where the policy in force is read from and written to."""

    @property
    def name(self) -> str:
        """Who the policy's versions say it came from (read-only: a file's is its path)."""
        ...

    async def read(self, engine: AsyncEngine) -> Policy: ...

    async def write(self, conn: AsyncConnection, policy: Policy) -> None:
        """Put ``policy`` in place inside the open transaction ``conn`` (or just before its
        commit, for a file)."""
        ...


@dataclass
class FileSource:
    """The policy file: read as written (comments and line numbers kept), replaced whole."""

    path: Path

    @property
    def name(self) -> str:
        return str(self.path)

    def stamp(self) -> tuple[int, int] | None:
        """(mtime, size): a cheap look at whether the file may have changed."""
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    async def read(self, engine: AsyncEngine) -> Policy:
        return await asyncio.to_thread(Policy.from_file, self.path)

    async def write(self, conn: AsyncConnection, policy: Policy) -> None:
        await asyncio.to_thread(_replace_file, self.path, policy.text or canonical(policy))


def _replace_file(path: Path, content: str) -> None:
    """Write beside the file, flush to disk, then rename over it: a reader (another
    replica's watcher, an editor) sees the old file or the new one, never half of one."""
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class DatabaseSource:
    """The ``casbin_rule`` table of pycasbin's SQLAlchemy adapter, in the records database.

    The adapter is synchronous; it runs on the async connection's own synchronous face
    (``run_sync``), so its rows are written in the same transaction as the version."""

    name = "database"

    async def read(self, engine: AsyncEngine) -> Policy:
        async with engine.connect() as conn:
            rows = await conn.run_sync(_adapter_rows)
        lines = [row_text(row) for row in rows]
        return Policy.parse("".join(line + "\n" for line in lines), source=self.name)

    async def write(self, conn: AsyncConnection, policy: Policy) -> None:
        model = casbin.model.Model()
        model.load_model(str(MODEL_PATH))
        for rule in policy.rules:
            model.add_policy("p", "p", rule.casbin())
        for link in policy.links:
            model.add_policy("g", "g", link.casbin())
        await conn.run_sync(lambda sync: _adapter(sync).save_policy(model))


def _adapter(sync_conn: Connection) -> Adapter:
    # Bound to the caller's connection: its session joins the open transaction.
    return Adapter(sync_conn, create_table=False)


def _adapter_rows(sync_conn: Connection) -> list[list[str]]:
    """The policy's lines as the adapter loads them, role links first, each in row order
    (the filtered load orders by id; an empty filter keeps every row)."""
    model = casbin.model.Model()
    model.load_model(str(MODEL_PATH))
    _adapter(sync_conn).load_filtered_policy(model, Filter())
    links = [["g", *line] for line in model.model["g"]["g"].policy]
    rules = [["p", *line] for line in model.model["p"]["p"].policy]
    return links + rules


class PolicyStore:
    """The source of the policy in force, and its history in the records database."""

    def __init__(self, engine: AsyncEngine, source: Source) -> None:
        self.engine = engine
        self.source = source
        self._notify = engine.dialect.name == "postgresql"

    async def create_schema(self) -> None:
        def create(sync_conn: Connection) -> None:
            metadata.create_all(sync_conn)
            if isinstance(self.source, DatabaseSource):
                CasbinRule.__table__.create(sync_conn, checkfirst=True)

        async with self.engine.begin() as conn:
            await conn.run_sync(create)
            # The invariants' history gained columns (kind, reason) after its table.
            await add_missing_columns(conn, metadata)

    # --- reading ----------------------------------------------------------
    async def read_source(self) -> Policy:
        return await self.source.read(self.engine)

    async def latest(self) -> Version | None:
        stmt = select(policy_versions).order_by(policy_versions.c.number.desc()).limit(1)
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).one_or_none()
        return None if row is None else _version(row)

    async def latest_number(self) -> int:
        """The latest version's number (0 when there is none): one indexed look."""
        async with self.engine.connect() as conn:
            return int(await conn.scalar(select(func.max(policy_versions.c.number))) or 0)

    async def version(self, number: int) -> Version | None:
        stmt = select(policy_versions).where(policy_versions.c.number == number)
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).one_or_none()
        return None if row is None else _version(row)

    async def versions(self, *, first: int = 50, before: int | None = None) -> list[Version]:
        """Newest first; ``before`` pages back from a version number."""
        stmt = select(policy_versions).order_by(policy_versions.c.number.desc()).limit(first)
        if before is not None:
            stmt = stmt.where(policy_versions.c.number < before)
        async with self.engine.connect() as conn:
            return [_version(row) for row in await conn.execute(stmt)]

    # --- changing ---------------------------------------------------------
    async def commit(
        self,
        policy: Policy,
        *,
        expected: int,
        actor: str,
        kind: VersionKind,
        reason: str | None = None,
        audit: AuditEntry | None = None,
        now: datetime | None = None,
        write_source: bool = True,
    ) -> Version:
        """Put ``policy`` in force as the version after ``expected`` (0: the first).

        Raises :class:`StaleVersion` when another version landed since, and changes nothing
        then. ``audit`` is written in the same transaction, its detail completed with the
        versions before and after."""
        at = now or datetime.now(UTC)
        body = policy.text or canonical(policy)
        sha = digest(policy)
        try:
            async with write_transaction(self.engine) as conn:
                latest = int(await conn.scalar(select(func.max(policy_versions.c.number))) or 0)
                if latest != expected:
                    raise StaleVersion(expected, latest)
                result = await conn.execute(
                    insert(policy_versions).values(
                        parent=expected,
                        sha256=sha,
                        text=body,
                        at=at,
                        actor=actor,
                        kind=kind.value,
                        reason=reason,
                        source=self.source.name,
                    )
                )
                key = result.inserted_primary_key
                assert key is not None  # an INSERT of one row always reports its key
                number = int(key[0])
                if audit is not None:
                    detail: dict[str, Any] = {**audit.detail, "version": number, "sha256": sha}
                    await insert_audit(
                        conn,
                        AuditEntry(
                            at=audit.at,
                            actor=audit.actor,
                            issuer=audit.issuer,
                            action=audit.action,
                            outcome=audit.outcome,
                            store=None,
                            space_key=None,
                            target=f"policy v{number}",
                            detail=detail,
                        ),
                    )
                if write_source:
                    await self.source.write(conn, policy)
                if self._notify:
                    await conn.execute(
                        text("SELECT pg_notify(:channel, :payload)"),
                        {"channel": CHANNEL, "payload": json.dumps({"version": number})},
                    )
        except IntegrityError:
            # Another replica's change landed between our look and our insert.
            raise StaleVersion(expected, await self.latest_number()) from None
        return Version(number, expected, sha, body, at, actor, kind, reason, self.source.name)

    async def record(self, policy: Policy, *, actor: str) -> Version:
        """The version ``policy`` (read from the source) is, recording it when the history's
        latest is another text (the first ever: ``initial``; else the source was edited
        outside the gateway: ``edit``)."""
        while True:
            latest = await self.latest()
            if latest is not None and latest.sha256 == digest(policy):
                return latest
            kind = VersionKind.INITIAL if latest is None else VersionKind.EDIT
            expected = 0 if latest is None else latest.number
            audit = None
            if latest is not None:
                # Changed outside the gateway (the file on disk, the table by hand): audited
                # like any change, with what it added and removed.
                added, removed = line_diff(latest.policy(), policy)
                audit = AuditEntry(
                    at=datetime.now(UTC),
                    actor=actor,
                    issuer=None,
                    action=f"policy_{kind.value}",
                    outcome=Outcome.OK,
                    store=None,
                    space_key=None,
                    target=None,
                    detail={
                        "before": {"version": latest.number, "sha256": latest.sha256},
                        "added": added,
                        "removed": removed,
                    },
                )
            try:
                # The source already holds it: only the history (and the audit) is written.
                return await self.commit(
                    policy,
                    expected=expected,
                    actor=actor,
                    kind=kind,
                    audit=audit,
                    write_source=False,
                )
            except StaleVersion:
                continue  # another replica recorded something first: look again


def _version(row: Any) -> Version:
    return Version(
        number=row.number,
        parent=row.parent,
        sha256=row.sha256,
        text=row.text,
        at=row.at,
        actor=row.actor,
        kind=VersionKind(row.kind),
        reason=row.reason,
        source=row.source,
    )
