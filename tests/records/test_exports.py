"""The records package exports exactly the names the rest of the gateway imports from it,
and each of them is the one its family's module defines."""

from __future__ import annotations

import gateway.records
from gateway.records import audit, facade, idempotency, notifications, principals, tables

EXPORTS = {
    audit: {"AuditEntry", "Outcome", "insert_audit"},
    facade: {"Records"},
    idempotency: {
        "KEY_LIFETIME",
        "PENDING_TIMEOUT",
        "IdempotencyConflict",
        "Replay",
        "StillRunning",
    },
    notifications: {"NOTIFICATIONS_CHANNEL", "Notification"},
    principals: {"SEEN_EVERY"},
    tables: {"access_revocations", "audit_log", "idempotency_keys", "metadata", "sessions"},
}


def test_the_package_exports_exactly_its_public_names() -> None:
    assert set(gateway.records.__all__) == set().union(*EXPORTS.values())
    assert len(gateway.records.__all__) == len(set(gateway.records.__all__))


def test_each_export_is_its_family_modules_own() -> None:
    for module, names in EXPORTS.items():
        for name in names:
            assert getattr(gateway.records, name) is getattr(module, name), name


def test_every_table_is_on_the_one_metadata_the_schema_creates() -> None:
    assert set(tables.metadata.tables) == {
        "audit_log",
        "idempotency_keys",
        "principals",
        "notifications",
        "sessions",
        "access_revocations",
        "documents",
        "post_flags",
        "escalations",  # defined in gateway.records.escalations, on the same metadata
        "recognition_activity",
        "badge_awards",
        "reminders",
    }
