"""The gateway's own database: the audit log of writes, the idempotency keys, the browser
sessions and access revocations.

Every replica shares it (SQLite for one process, PostgreSQL or MariaDB for many),
so an idempotent retry that lands on another replica still finds its first try,
and the audit log is one log. The stores keep content in their native schemas;
nothing here is content.

No write reaches a store without its audit entry: the entry is written first, as
``pending``, and settled afterwards (``ok`` with the target, or ``failed``). If
this database is down, writes are refused, not performed unaudited.

One module per table family, behind the :class:`Records` facade (:mod:`.facade`):
:mod:`.tables` (every table), :mod:`.audit`, :mod:`.idempotency`, :mod:`.principals`,
:mod:`.notifications`; :mod:`.listen` hears other replicas on PostgreSQL. The names the
rest of the gateway uses are exported here.
"""

from __future__ import annotations

from gateway.records.audit import AuditEntry, Outcome, insert_audit
from gateway.records.facade import Records
from gateway.records.idempotency import (
    KEY_LIFETIME,
    PENDING_TIMEOUT,
    IdempotencyConflict,
    Replay,
    StillRunning,
)
from gateway.records.notifications import NOTIFICATIONS_CHANNEL, Notification
from gateway.records.principals import SEEN_EVERY
from gateway.records.tables import (
    access_revocations,
    audit_log,
    idempotency_keys,
    metadata,
    sessions,
)

# The principals and notifications tables are gateway.records.tables.principals and
# .notifications: here those names are the modules of their parts.
__all__ = [
    "KEY_LIFETIME",
    "NOTIFICATIONS_CHANNEL",
    "PENDING_TIMEOUT",
    "SEEN_EVERY",
    "AuditEntry",
    "IdempotencyConflict",
    "Notification",
    "Outcome",
    "Records",
    "Replay",
    "StillRunning",
    "access_revocations",
    "audit_log",
    "idempotency_keys",
    "insert_audit",
    "metadata",
    "sessions",
]
