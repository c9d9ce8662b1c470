"""The internal store: an enterprise social network (communities, forum topics, prototypes)."""

from adapters.internal._store import InternalStore

__all__ = ["InternalStore"]
