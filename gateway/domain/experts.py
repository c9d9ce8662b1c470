"""Expert search: who knows about a subject, ranked over the content a caller may read.

Each store counts, in one aggregate statement within the caller's read scope, what every
author wrote on the subject (:class:`Contribution`); :func:`rank` merges the stores' counts
into one person per verified email (an employee's community account and internal profile
are one expert) and orders them: accepted answers, then answers, then questions, then a
stable tie-break. :class:`ExpertPosition` is where a page of that ranking stopped.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from dataclasses import dataclass

from gateway.domain.errors import InvalidCursor
from gateway.domain.model import StoreName

__all__ = ["BEST_ANSWERS", "Contribution", "ExpertPosition", "RankedExpert", "after", "rank"]

# How many of an expert's best answers are shown.
BEST_ANSWERS = 3
# The store whose profile names a person found in several: the internal one, as the person
# loader links community accounts to it (gateway.schema.loaders).
_PROFILE_ORDER = (StoreName.INTERNAL, StoreName.COMMUNITY)


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one author wrote on a subject in one store, counted in the caller's scope."""

    store: StoreName
    person_id: str  # the store's native profile id
    email: str | None  # verified, lower-cased: links one person across stores
    accepted_answers: int
    answers: int
    questions: int


@dataclass(frozen=True, slots=True)
class RankedExpert:
    """One person's counts summed over the stores, with the profiles that wrote them."""

    person: tuple[StoreName, str]  # the profile that names them (internal first)
    profiles: tuple[tuple[StoreName, str], ...]  # every profile whose content counted
    accepted_answers: int
    answers: int
    questions: int

    def key(self) -> tuple[int, int, int, int, str]:
        """The ranking's order: most accepted answers, answers, questions; then the naming
        profile's store and id, so that equal counts keep one order between pages."""
        store, native = self.person
        return (
            -self.accepted_answers,
            -self.answers,
            -self.questions,
            _PROFILE_ORDER.index(store),
            native,
        )

    def position(self) -> ExpertPosition:
        return ExpertPosition(
            self.accepted_answers, self.answers, self.questions, self.person[0], self.person[1]
        )


def rank(contributions: list[Contribution]) -> list[RankedExpert]:
    """Everyone in ``contributions``, one entry per person (by verified email; an author
    without one is their profile alone), best first."""
    grouped: dict[object, list[Contribution]] = defaultdict(list)
    for c in contributions:
        grouped[c.email if c.email else (c.store, c.person_id)].append(c)
    ranked = []
    for parts in grouped.values():
        parts.sort(key=lambda c: (_PROFILE_ORDER.index(c.store), c.person_id))
        ranked.append(
            RankedExpert(
                person=(parts[0].store, parts[0].person_id),
                profiles=tuple((c.store, c.person_id) for c in parts),
                accepted_answers=sum(c.accepted_answers for c in parts),
                answers=sum(c.answers for c in parts),
                questions=sum(c.questions for c in parts),
            )
        )
    ranked.sort(key=RankedExpert.key)
    return ranked


@dataclass(frozen=True, slots=True)
class ExpertPosition:
    """Where a page of the ranking stopped: the last expert's counts and profile."""

    accepted_answers: int
    answers: int
    questions: int
    store: StoreName
    id: str

    def key(self) -> tuple[int, int, int, int, str]:
        return (
            -self.accepted_answers,
            -self.answers,
            -self.questions,
            _PROFILE_ORDER.index(self.store),
            self.id,
        )

    def encode(self) -> str:
        payload = [self.accepted_answers, self.answers, self.questions, self.store.value, self.id]
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return "x" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> ExpertPosition:
        """The position a cursor names; :class:`InvalidCursor` for anything else."""
        try:
            if not value.startswith("x"):
                raise ValueError(value)
            body = value[1:]
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            accepted, answers, questions, store, native = payload
            counts = (accepted, answers, questions)
            if not all(type(n) is int and n >= 0 for n in counts) or not isinstance(native, str):
                raise ValueError(value)
            return cls(accepted, answers, questions, StoreName(store), native)
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
            raise InvalidCursor(value) from None


def after(ranked: list[RankedExpert], position: ExpertPosition | None) -> list[RankedExpert]:
    """The part of ``ranked`` (best first) that comes after ``position``."""
    if position is None:
        return ranked
    mark = position.key()
    return [r for r in ranked if r.key() > mark]
