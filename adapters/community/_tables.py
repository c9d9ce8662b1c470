"""The community store's native schema: a public forum shaped like Discourse.

Names follow the forum (categories, topics, posts, users with trust levels),
not the gateway's domain; :mod:`adapters.community._rows` does the mapping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    case,
    or_,
)

from adapters._sql import UtcDateTime, exact_string

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, FromClause

metadata = MetaData()


# Category permission types, as Discourse numbers them.
PERMISSION_FULL = 1
PERMISSION_CREATE_POST = 2
PERMISSION_READONLY = 3

STYLE_DISCUSSION = "discussion"
STYLE_QA = "qa"

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(60), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    # Stored lower-cased; unique like Discourse's user_emails, so one email is one account.
    Column("email", String(255), nullable=False),
    Column("email_verified", Boolean, nullable=False, default=False),
    Column("trust_level", SmallInteger, nullable=False, default=0),
    Column("company", String(255)),
    Column("title", String(255)),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("trust_level BETWEEN 0 AND 4", name="ck_users_trust_level"),
    Index("ix_users_email", "email", unique=True),
)

# "groups" is reserved in MySQL 8 / MariaDB; SQLAlchemy quotes it on every backend.
groups = Table(
    "groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(120), nullable=False, unique=True),
)

group_users = Table(
    "group_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("owner", Boolean, nullable=False, default=False),
    Column("expires_at", UtcDateTime),  # NULL: never expires
    UniqueConstraint("group_id", "user_id", name="uq_group_users_group_user"),
    Index("ix_group_users_user", "user_id", "group_id"),
)

categories = Table(
    "categories",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("slug", exact_string(120), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=False),
    Column("style", String(20), nullable=False),
    Column("login_required", Boolean, nullable=False, default=False),
    Column("min_trust_level", SmallInteger, nullable=False, default=0),
    Column("read_restricted", Boolean, nullable=False, default=False),
    # A knowledge base that stays: ``gateway content prune`` never archives its topics.
    Column("archive_exempt", Boolean, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("style IN ('discussion', 'qa')", name="ck_categories_style"),
    Index("ix_categories_name_id", "name", "id"),
)

category_groups = Table(
    "category_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), nullable=False),
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), nullable=False),
    Column("permission_type", SmallInteger, nullable=False, default=PERMISSION_FULL),
    UniqueConstraint("category_id", "group_id", name="uq_category_groups_category_group"),
    Index("ix_category_groups_group", "group_id", "category_id"),
)

tags = Table(
    "tags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),  # lower-case, as Discourse keeps them
)

# Tags a category is about (Discourse's "tags allowed in this category"): the Space's tags.
category_tags = Table(
    "category_tags",
    metadata,
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)

topics = Table(
    "topics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("category_id", ForeignKey("categories.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", ForeignKey("users.id", ondelete="SET NULL")),
    Column("title", String(255), nullable=False),
    # No FK: posts point at topics, and the cycle would complicate inserts and drops.
    Column("accepted_answer_post_id", Integer),
    Column("created_at", UtcDateTime, nullable=False),
    Column("pinned_at", UtcDateTime),  # featured by a moderator (Discourse pins them)
    # Archived as stale (``gateway content prune``): Discourse's archived topics, listed
    # only to the category's moderators; NULL while live.
    Column("archived_at", UtcDateTime),
    Index("ix_topics_category_created", "category_id", "created_at", "id"),
    Index("ix_topics_created", "created_at", "id"),
    # Who wrote what: authors_in_scope's correlated lookups by user (_authors.py).
    Index("ix_topics_user", "user_id"),
)

topic_tags = Table(
    "topic_tags",
    metadata,
    Column("topic_id", ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_topic_tags_tag", "tag_id", "topic_id"),
)

posts = Table(
    "posts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic_id", ForeignKey("topics.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", ForeignKey("users.id", ondelete="SET NULL")),
    Column("post_number", Integer, nullable=False),  # 1 is the topic's own body
    Column("raw", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Hidden by a moderator; hiding post 1 hides the whole topic (the question).
    Column("hidden_at", UtcDateTime),
    UniqueConstraint("topic_id", "post_number", name="uq_posts_topic_number"),
    Index("ix_posts_topic_created", "topic_id", "created_at", "id"),
    Index("ix_posts_user", "user_id"),
)


def visibility_of(category: FromClause = categories) -> ColumnElement[str]:
    """The domain visibility class of a category, computed in SQL from its settings.

    Checked from the most restrictive setting down. Known simplification: the
    ``members`` class also covers categories needing trust level 1 or 2, which
    are stricter than "any registered account" but have no class of their own.
    """
    c = category.c
    return case(
        (c.read_restricted, "private"),
        (c.min_trust_level >= 3, "trusted"),
        (or_(c.login_required, c.min_trust_level > 0), "members"),
        else_="public",
    )
