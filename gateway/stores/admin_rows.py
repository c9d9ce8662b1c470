"""What the stores answer to administrators' tools, never to a request on a caller's behalf:
the people holding access (who-can, invariants) and the questions gone stale (pruning)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime


@dataclass(frozen=True, slots=True)
class Holder:
    """Someone holding a membership (expired included) or a pending invitation in a store,
    as the store records them: what administrators' tools know of people who never logged
    in to the gateway."""

    email: str  # verified, lower-cased
    display_name: str
    # The store's own mark: True for an internal profile marked external, False for one
    # that is not (staff), None where the store records no such mark (forum accounts, an
    # invitee without a profile yet).
    external: bool | None = None
    trust_level: int | None = None  # the forum's trust level; None where there is none
    organisation: str | None = None
    profile: bool = True  # False: only invited so far, no profile or account yet


@dataclass(frozen=True, slots=True)
class StaleQuestion:
    """A question with no activity (asking, answering) since a time: what pruning archives."""

    id: str
    space_id: str
    title: str
    last_active: datetime


@dataclass(frozen=True, slots=True)
class HiddenPost:
    """A hidden question or answer of a space, as the moderation queue lists them: by
    when hidden, then questions before answers, then by native id (also its cursor)."""

    answer: bool
    id: str
    hidden_at: datetime
