"""The community store: a public customer forum, shaped like Discourse."""

from adapters.community._store import CommunityStore

__all__ = ["CommunityStore"]
