"""The records database's tables, on one MetaData: what ``Records.create_schema`` creates.

The audit log, the idempotency keys, the known principals and the notifications are
written and read by the parts of :class:`gateway.records.Records`; the sessions and the
access revocations by :mod:`gateway.identity.session_store`, on the same engine.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from gateway.stores.sql import UtcDateTime

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
    # Why, for a kind that says (post_hidden: the moderator's reason); never content.
    Column("reason", Text, nullable=True),
    Index("ix_notifications_recipient", "recipient", "id"),
)

# Post-moderation: one flag per person and post, open until a moderator resolves it. The
# post's hidden state lives in its store (set_hidden); here only who flagged what and why.
post_flags = Table(
    "post_flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("post", String(300), nullable=False),  # global id of the question or answer
    Column("space", String(300), nullable=False),  # global id of its space
    Column("flagger", String(320), nullable=False),  # user:EMAIL
    Column("reason", String(32), nullable=False),  # a FlagReason value
    Column("note", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("resolved_by", String(320), nullable=True),
    Column("resolution", String(8), nullable=True),  # keep | hide
    Column("resolution_note", Text, nullable=True),
    UniqueConstraint("post", "flagger", name="uq_post_flags_post_flagger"),
    Index("ix_post_flags_space_open", "space", "resolved_at", "id"),
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

# GraphQL documents by the SHA-256 (hex) of their exact text: registered by clients on the
# way (Apollo's automatic persisted queries) or by an operator (trusted documents, which
# callers limited by graphql.trusted_documents_only may run, and nothing else).
documents = Table(
    "documents",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("body", Text, nullable=False),
    Column("trusted", Boolean, nullable=False),
    Column("name", String(200), nullable=True),  # the operation's or the file's
    Column("registered_at", UtcDateTime, nullable=False),
    Column("registered_by", String(320), nullable=False),  # a principal, or an OS user
)

# Recognition (gateway.records.recognition): what people did that badges count, by global
# id. A kudos is one row per (giver, post); an accepted answer or a review is one row per
# post (actor ""). The person is the verified email that links one person across stores.
# What a caller is shown of it is decided when they look, through their read scope.
recognition_activity = Table(
    "recognition_activity",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person", String(320), nullable=False),  # the email of who is recognised
    Column("kind", String(32), nullable=False),  # accepted_answer | review | kudos
    Column("subject", String(300), nullable=False),  # global id of the post
    Column("space", String(300), nullable=False),  # global id of its space
    Column("actor", String(320), nullable=False),  # the kudos giver; "" otherwise
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("kind", "subject", "actor", name="uq_recognition_activity"),
    Index("ix_recognition_activity_person", "person", "kind", "at"),
    Index("ix_recognition_activity_subject", "subject", "kind"),
)

# Badges awarded (once per person and badge, by whichever replica counted first): what
# the earner's notification is sent from. Shown badges are computed per caller.
badge_awards = Table(
    "badge_awards",
    metadata,
    Column("person", String(320), nullable=False),
    Column("badge", String(64), nullable=False),
    Column("subject", String(300), nullable=False),  # the post that completed it
    Column("awarded_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("person", "badge", name="pk_badge_awards"),
)

# Reminders sent (gateway.records.reminders): one row per (what, whom, for which expiry),
# written by the replica that sends it, so that no reminder goes out twice.
reminders = Table(
    "reminders",
    metadata,
    Column("subject", String(300), nullable=False),  # global id of the invitation
    Column("recipient", String(320), nullable=False),
    Column("due", UtcDateTime, nullable=False),  # the expiry reminded of
    Column("sent_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("subject", "recipient", "due", name="pk_reminders"),
)
