"""The documents' part of ``Records``: GraphQL documents known by their SHA-256.

Two ways in: a client registers a document on the way, sending it with its hash once
(Apollo's automatic persisted queries: every later request sends the hash alone), and an
operator registers the documents an app ships (``gateway documents add``): those are
*trusted*, the only ones a caller limited by ``graphql.trusted_documents_only`` may run.
Shared by every replica, so a hash registered through one is known to all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from gateway.records.base import RecordsPart
from gateway.records.tables import documents
from gateway.stores.sql import write_transaction

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Row


def sha256_of(body: str) -> str:
    """The hash a client sends for ``body``: SHA-256 of its UTF-8 text, in lower-case hex."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Document:
    sha256: str
    body: str
    trusted: bool
    name: str | None
    registered_at: datetime
    registered_by: str


class Documents(RecordsPart):
    """Stored, found by hash, listed, removed."""

    async def document(self, sha256: str) -> Document | None:
        await self.ensure_schema()
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(documents).where(documents.c.sha256 == sha256))
            ).first()
        return _document(row) if row is not None else None

    async def register_document(
        self, body: str, *, trusted: bool, name: str | None, by: str, now: datetime
    ) -> Document:
        """Keep ``body`` under its hash. Registering a known document again changes
        nothing, except that an operator's registration makes it trusted."""
        await self.ensure_schema()
        sha256 = sha256_of(body)
        values = {
            "sha256": sha256,
            "body": body,
            "trusted": trusted,
            "name": (name or None) and name[:200],
            "registered_at": now,
            "registered_by": by[:320],
        }
        async with write_transaction(self.engine) as conn:
            try:
                async with conn.begin_nested():
                    await conn.execute(documents.insert().values(**values))
            except IntegrityError:  # known already (or another replica was first)
                if trusted:
                    await conn.execute(
                        update(documents)
                        .where(documents.c.sha256 == sha256)
                        .values(
                            trusted=True, name=values["name"], registered_by=values["registered_by"]
                        )
                    )
        found = await self.document(sha256)
        assert found is not None
        return found

    async def trusted_documents(self) -> list[Document]:
        await self.ensure_schema()
        stmt = (
            select(documents)
            .where(documents.c.trusted)
            .order_by(documents.c.name, documents.c.sha256)
        )
        async with self.engine.connect() as conn:
            return [_document(row) for row in (await conn.execute(stmt)).all()]

    async def remove_document(self, sha256: str) -> bool:
        """Forget a document (trusted or not); False when it was not known."""
        await self.ensure_schema()
        async with write_transaction(self.engine) as conn:
            done = await conn.execute(delete(documents).where(documents.c.sha256 == sha256))
        return bool(done.rowcount)


def _document(row: Row[Any]) -> Document:
    return Document(
        row.sha256, row.body, bool(row.trusted), row.name, row.registered_at, row.registered_by
    )
