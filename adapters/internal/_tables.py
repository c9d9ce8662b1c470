"""The internal store's native schema: an enterprise social network's tables.

Names follow the enterprise-social product (communities, profiles, forum topics,
replies), not the gateway's domain; the adapter's entity modules (``_spaces``,
``_questions`` and the rest, behind :mod:`adapters.internal._store`) map them.
Every datetime is stored as naive UTC.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from adapters._sql import UtcDateTime, exact_string

metadata = MetaData()

# Naive UTC in the database, aware UTC in Python, microseconds on MariaDB too.
Timestamp = UtcDateTime


communities = Table(
    "communities",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("slug", exact_string(120), nullable=False, unique=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("community_type", String(32), nullable=False),  # group | qa | prototype_feedback
    Column("access", exact_string(16), nullable=False),  # open | restricted | shared
    Column("tags", String(500), nullable=False, default=""),  # comma-separated
    # A knowledge base that stays: ``gateway content prune`` never archives its topics.
    Column("archive_exempt", Boolean, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_communities_title_id", "title", "id"),
    Index("ix_communities_access_slug", "access", "slug"),
)

profiles = Table(
    "profiles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Always written lower-cased, so lookups compare with ``=`` and use the unique index.
    Column("email", String(255), nullable=False, unique=True),
    Column("full_name", String(200), nullable=False),
    Column("handle", String(64), nullable=False, unique=True),
    Column("company", String(200), nullable=True),
    Column("job_title", String(200), nullable=True),
    Column("department", String(200), nullable=True),
    Column("is_external", Boolean, nullable=False, default=False),
)

community_memberships = Table(
    "community_memberships",
    metadata,
    Column(
        "community_id",
        Integer,
        ForeignKey("communities.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("profile_id", Integer, ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False),
    Column("member_role", String(16), nullable=False),  # leader | member | external
    Column("expires_at", Timestamp, nullable=True),
    # The unique key leads with community_id, so it also serves member counts per community.
    UniqueConstraint("community_id", "profile_id", name="uq_community_memberships"),
    Index("ix_community_memberships_profile", "profile_id"),
)

forum_topics = Table(
    "forum_topics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "community_id",
        Integer,
        ForeignKey("communities.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "author_profile_id",
        Integer,
        ForeignKey("profiles.id", ondelete="SET NULL"),
        nullable=True,
    ),
    Column("subject", String(300), nullable=False),
    Column("content", Text, nullable=False),
    Column("is_question", Boolean, nullable=False, default=False),
    Column("accepted_reply_id", Integer, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    # Moderation: hidden from everyone but the space's moderators; featured, listable.
    Column("hidden_at", Timestamp, nullable=True),
    Column("featured_at", Timestamp, nullable=True),
    # Archived as stale (``gateway content prune``): listed only to the space's moderators.
    Column("archived_at", Timestamp, nullable=True),
    # Topics and replies point at each other; ``use_alter`` breaks the cycle for CREATE.
    ForeignKeyConstraint(
        ["accepted_reply_id"],
        ["forum_replies.id"],
        name="fk_forum_topics_accepted_reply",
        use_alter=True,
        ondelete="SET NULL",
    ),
    Index("ix_forum_topics_community_created", "community_id", "created_at", "id"),
    Index("ix_forum_topics_created", "created_at", "id"),
    # Who wrote what: authors_in_scope's correlated lookups by profile (_authors.py).
    Index("ix_forum_topics_author", "author_profile_id"),
)

topic_tags = Table(
    "topic_tags",
    metadata,
    Column(
        "topic_id",
        Integer,
        ForeignKey("forum_topics.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tag", exact_string(64), primary_key=True),  # lower-cased on write
    Index("ix_topic_tags_tag", "tag", "topic_id"),
)

forum_replies = Table(
    "forum_replies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "topic_id",
        Integer,
        ForeignKey("forum_topics.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "author_profile_id",
        Integer,
        ForeignKey("profiles.id", ondelete="SET NULL"),
        nullable=True,
    ),
    Column("content", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("hidden_at", Timestamp, nullable=True),
    Index("ix_forum_replies_topic_created", "topic_id", "created_at", "id"),
    Index("ix_forum_replies_author", "author_profile_id"),
)

prototypes = Table(
    "prototypes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "community_id",
        Integer,
        ForeignKey("communities.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(200), nullable=False),
    Column("version", String(32), nullable=False),
    Column("summary", Text, nullable=False),
    Index("ix_prototypes_community_name", "community_id", "name", "id"),
)

prototype_feedback = Table(
    "prototype_feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "prototype_id",
        Integer,
        ForeignKey("prototypes.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "author_profile_id",
        Integer,
        ForeignKey("profiles.id", ondelete="SET NULL"),
        nullable=True,
    ),
    Column("rating", SmallInteger, nullable=False),
    Column("comment", Text, nullable=False),
    Column("internal_note", Text, nullable=True),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_prototype_feedback_prototype_created", "prototype_id", "created_at", "id"),
    Index("ix_prototype_feedback_author", "author_profile_id"),
)

# Invitations by email; the sponsor is the profile who invited. Accepting one creates the
# membership (same role and expiry) and records who accepted it.
community_invitations = Table(
    "community_invitations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "community_id",
        Integer,
        ForeignKey("communities.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("email", String(255), nullable=False),  # lower-cased on write
    Column("member_role", String(16), nullable=False),  # leader | member | external
    Column(
        "invited_by_profile_id",
        Integer,
        ForeignKey("profiles.id", ondelete="SET NULL"),
        nullable=True,
    ),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=True),
    Column("revoked_at", Timestamp, nullable=True),
    Column("accepted_at", Timestamp, nullable=True),
    Column(
        "accepted_profile_id",
        Integer,
        ForeignKey("profiles.id", ondelete="SET NULL"),
        nullable=True,
    ),
    Index("ix_community_invitations_email", "email", "community_id"),
    Index("ix_community_invitations_community", "community_id", "created_at"),
)
