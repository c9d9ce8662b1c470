"""The gateway's records: idempotency keys end with their lifetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from gateway.records import AuditEntry, Outcome, Records

if TYPE_CHECKING:
    from pathlib import Path

T = datetime(2026, 11, 24, 12, tzinfo=UTC)


def _entry(at: datetime) -> AuditEntry:
    return AuditEntry(
        at=at,
        actor="user:erin@corp.example",
        issuer=None,
        action="ask",
        outcome=Outcome.PENDING,
        store="internal",
        space_key="internal/open/engineering",
        target=None,
        detail={},
        idempotency_key="k",
    )


async def test_keys_past_their_lifetime_are_purged(tmp_path: Path) -> None:
    records = Records(f"sqlite+aiosqlite:///{tmp_path / 'records.db'}")
    try:
        await records.create_schema()
        audit_id = await records.begin_write(_entry(T), operation="ask", request_hash="a", wait=0)
        assert isinstance(audit_id, int)
        await records.settle(audit_id, _entry(T), Outcome.OK, target="x", result={"id": "x"})
        assert await records.purge_keys(T + timedelta(hours=23)) == 0
        assert await records.purge_keys(T + timedelta(hours=25)) == 1
        # Forgotten: the key may now name another request.
        later = T + timedelta(hours=25)
        again = await records.begin_write(_entry(later), operation="ask", request_hash="b", wait=0)
        assert isinstance(again, int)
    finally:
        await records.close()
