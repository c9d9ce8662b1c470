"""The demo's activity kept in the gateway's own records, not in a store: flags on posts,
escalations of community questions, kudos. Written once the stores hold the demo's posts."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.domain.model import StoreName

C = StoreName.COMMUNITY


@dataclass(frozen=True, slots=True)
class DemoFlag:
    """A flag someone put on a demo question (post-moderation), kept in the records."""

    store: StoreName
    question: str  # its title
    flagger: str  # a handle
    reason: str  # a FlagReason value
    note: str | None = None


@dataclass(frozen=True, slots=True)
class DemoEscalation:
    """A community question an employee carried into an internal space (the gateway's
    records hold the link; the internal store the topic quoting it)."""

    question: str  # the community question's title
    space: str  # the internal space's slug
    by: str  # the employee's handle
    note: str


ESCALATIONS = (
    DemoEscalation(
        "Does the hub support IPv6?",
        "engineering-qa",
        "erin",
        "Firmware team: does the hub work on an IPv6-only network?",
    ),
)


@dataclass(frozen=True, slots=True)
class DemoKudos:
    """``giver`` thanks ``author`` for the answer or feedback whose text is ``body``."""

    giver: str
    author: str
    body: str


# Kudos in the records database, given once the stores hold the posts. Omar's only kudos is
# in Project Falcon (restricted): his "First kudos" badge shows to Falcon's members alone.
KUDOS = (
    DemoKudos("erin", "omar", "Approved with two comments."),
    DemoKudos("mo", "erin", "Hold the button for 10 seconds to reset."),
    DemoKudos("paula", "erin", "Target is 18 months at one reading a minute."),
    DemoKudos("erin", "tara", "Easy to mount; the app pairing is slow."),
)


# Flagged for the moderators (once; below moderation.hide_after_flags, so still shown):
# mia, who owns Ideas, finds it in moderationQueue.
FLAGS = (DemoFlag(C, "Dark mode for the app", "tara", "other", "Duplicate of an older idea."),)
