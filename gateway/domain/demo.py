"""The demo data set: the people, spaces and content a new user explores.

It is described once, in domain terms; each store adapter writes its own part
in its native schema (``Store.load_demo``). Times are relative to the moment
the demo is loaded so that invitation expiries stay in the future.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from gateway.domain.demo_records import ESCALATIONS, FLAGS, DemoEscalation, DemoFlag
from gateway.domain.model import SpaceKind, SpaceRole, StoreName, Visibility


@dataclass(frozen=True, slots=True)
class DemoPerson:
    handle: str
    display_name: str
    email: str
    roles: tuple[str, ...]  # the personas the development issuer puts in this person's token
    organisation: str
    title: str | None = None
    department: str | None = None
    internal: bool = False  # has an internal profile
    community_trust: int | None = None  # has a community account with this trust level


@dataclass(frozen=True, slots=True)
class DemoAnswer:
    author: str
    body: str
    accepted: bool = False


@dataclass(frozen=True, slots=True)
class DemoQuestion:
    author: str
    title: str
    body: str
    tags: tuple[str, ...] = ()
    answers: tuple[DemoAnswer, ...] = ()
    is_question: bool = True  # internal store: False is a plain discussion topic
    # Asked this long before the demo loads (its answers an hour apart after it); None: in
    # the data set's recent run of content. Archived: as ``gateway content prune`` leaves it.
    age: timedelta | None = None
    archived: bool = False


@dataclass(frozen=True, slots=True)
class DemoFeedback:
    author: str
    rating: int
    body: str
    internal_note: str | None = None


@dataclass(frozen=True, slots=True)
class DemoPrototype:
    name: str
    version: str
    description: str
    feedback: tuple[DemoFeedback, ...] = ()


@dataclass(frozen=True, slots=True)
class DemoMember:
    handle: str
    role: SpaceRole = SpaceRole.MEMBER
    expires_in: timedelta | None = None  # relative to load time


@dataclass(frozen=True, slots=True)
class DemoSpace:
    store: StoreName
    slug: str
    name: str
    kind: SpaceKind
    visibility: Visibility
    description: str
    tags: tuple[str, ...] = ()
    members: tuple[DemoMember, ...] = ()
    # community store only: handles grouped under a named group that may read this space
    group: str | None = None
    questions: tuple[DemoQuestion, ...] = ()
    prototypes: tuple[DemoPrototype, ...] = ()


@dataclass(frozen=True, slots=True)
class DemoData:
    people: tuple[DemoPerson, ...]
    spaces: tuple[DemoSpace, ...]
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    flags: tuple[DemoFlag, ...] = ()
    escalations: tuple[DemoEscalation, ...] = ()

    def person(self, handle: str) -> DemoPerson:
        return next(p for p in self.people if p.handle == handle)

    def spaces_in(self, store: StoreName) -> list[DemoSpace]:
        return [s for s in self.spaces if s.store == store]


E, C = StoreName.INTERNAL, StoreName.COMMUNITY
A = DemoAnswer

PEOPLE = (
    DemoPerson(
        "erin",
        "Erin Engel",
        "erin@corp.example",
        ("employee",),
        "Corp",
        "Staff engineer",
        "Engineering",
        internal=True,
        community_trust=4,
    ),
    DemoPerson(
        "omar",
        "Omar Okafor",
        "omar@corp.example",
        ("employee",),
        "Corp",
        "Engineering lead",
        "Engineering",
        internal=True,
    ),
    DemoPerson(
        "hana",
        "Hana Holm",
        "hana@corp.example",
        ("employee",),
        "Corp",
        "People partner",
        "HR",
        internal=True,
    ),
    DemoPerson(
        "sam",
        "Sam Sato",
        "sam@corp.example",
        ("employee", "security_admin"),
        "Corp",
        "Security engineer",
        "Security",
        internal=True,
    ),
    DemoPerson(
        "mia",
        "Mia Moreau",
        "mia@corp.example",
        ("employee", "community_manager"),
        "Corp",
        "Community manager",
        "Customer success",
        internal=True,
        community_trust=4,
    ),
    DemoPerson(
        "carl",
        "Carl Castro",
        "carl@contractor.example",
        ("contractor",),
        "Contractor Co",
        "Contract developer",
        "Engineering",
        internal=True,
    ),
    DemoPerson(
        "paula",
        "Paula Perez",
        "paula@partner.example",
        ("partner",),
        "Partner Ltd",
        "Supplier quality lead",
        community_trust=1,
    ),
    DemoPerson(
        "tara",
        "Tara Thompson",
        "tara@customer.example",
        ("member", "trusted_customer"),
        "Customer Inc",
        "Operations manager",
        community_trust=3,
    ),
    DemoPerson(
        "mo", "Mo Müller", "mo@customer.example", ("member",), "Customer Inc", community_trust=1
    ),
)

SPACES = (
    DemoSpace(
        E,
        "engineering",
        "Engineering",
        SpaceKind.GROUP,
        Visibility.OPEN,
        "Everything engineering: releases, tooling, on-call.",
        ("engineering",),
        members=(DemoMember("omar", SpaceRole.OWNER), DemoMember("erin")),
        questions=(
            DemoQuestion(
                "omar",
                "Release train for Q1",
                "Cut is on the 14th; @erin owns notes.",
                ("release",),
                is_question=False,
            ),
            DemoQuestion(
                "erin",
                "Who owns the build cache?",
                "CI misses the cache on every fork build. @omar do you know?",
                ("ci",),
                (A("omar", "Platform team owns it.", accepted=True),),
            ),
        ),
    ),
    DemoSpace(
        E,
        "engineering-qa",
        "Engineering Q&A",
        SpaceKind.QA,
        Visibility.OPEN,
        "Ask the engineering organisation anything.",
        ("engineering", "qa"),
        members=(DemoMember("omar", SpaceRole.OWNER),),
        questions=(
            DemoQuestion(
                "carl",
                "How do I get staging credentials?",
                "New contractor here, where do I request access?",
                ("onboarding",),
                (A("erin", "File an access request in the portal.", accepted=True),),
            ),
            DemoQuestion(
                "erin",
                "Postgres 17 upgrade plan?",
                "Is anyone tracking the upgrade? cc @sam",
                ("database",),
            ),
        ),
    ),
    DemoSpace(
        E,
        "hr-private",
        "HR private",
        SpaceKind.GROUP,
        Visibility.RESTRICTED,
        "HR team only: compensation and cases.",
        ("hr",),
        members=(DemoMember("hana", SpaceRole.OWNER),),
        questions=(
            DemoQuestion(
                "hana",
                "Salary review calibration",
                "Calibration sheets are due Friday.",
                ("compensation",),
            ),
        ),
    ),
    DemoSpace(
        E,
        "project-falcon",
        "Project Falcon",
        SpaceKind.GROUP,
        Visibility.RESTRICTED,
        "Codename Falcon: the next-generation sync engine.",
        ("falcon",),
        members=(DemoMember("omar", SpaceRole.OWNER), DemoMember("erin")),
        questions=(
            DemoQuestion(
                "erin",
                "Falcon conflict resolution design",
                "Draft is ready, @omar please review.",
                ("design",),
                (A("omar", "Approved with two comments.", accepted=True),),
            ),
            DemoQuestion("omar", "Falcon launch date?", "Can we commit to March?", ("launch",)),
        ),
    ),
    DemoSpace(
        E,
        "aurora-feedback",
        "Aurora prototype feedback",
        SpaceKind.PROTOTYPE_FEEDBACK,
        Visibility.SHARED,
        "Feedback on the Aurora smart sensor prototypes.",
        ("aurora", "prototype"),
        members=(
            DemoMember("erin", SpaceRole.OWNER),
            DemoMember("paula", SpaceRole.GUEST, timedelta(days=180)),
            DemoMember("tara", SpaceRole.GUEST, timedelta(days=90)),
        ),
        questions=(
            DemoQuestion(
                "paula",
                "Aurora battery spec?",
                "What battery life should suppliers design for? @erin",
                ("battery",),
                (A("erin", "Target is 18 months at one reading a minute.", accepted=True),),
            ),
            DemoQuestion(
                "tara", "Can Aurora export CSV?", "Our ops team needs CSV export.", ("export",)
            ),
        ),
        prototypes=(
            DemoPrototype(
                "Aurora sensor",
                "0.3",
                "Battery-powered sensor, first field build.",
                (
                    DemoFeedback(
                        "tara",
                        4,
                        "Easy to mount; the app pairing is slow.",
                        "Customer is a renewal risk; prioritise pairing.",
                    ),
                    DemoFeedback(
                        "paula",
                        3,
                        "Casing tolerances are tight for us.",
                        "Supplier may ask for price change.",
                    ),
                ),
            ),
            DemoPrototype(
                "Aurora hub",
                "0.1",
                "Gateway hub for up to 40 sensors.",
                (
                    DemoFeedback(
                        "erin",
                        5,
                        "Pairs 40 sensors in under a minute.",
                        "Internal benchmark, not yet shared.",
                    ),
                ),
            ),
        ),
    ),
    DemoSpace(
        C,
        "product-support",
        "Product support",
        SpaceKind.QA,
        Visibility.PUBLIC,
        "Questions and answers about our products.",
        ("support",),
        members=(DemoMember("mia", SpaceRole.OWNER),),
        questions=(
            DemoQuestion(
                "mo",
                "Sensor will not pair",
                "My sensor blinks red. @mia any idea?",
                ("pairing",),
                (
                    A("erin", "Hold the button for 10 seconds to reset.", accepted=True),
                    A("tara", "Same here, the reset worked."),
                ),
            ),
            DemoQuestion(
                "tara", "Does the hub support IPv6?", "Our network is IPv6-only.", ("network",)
            ),
            DemoQuestion(
                "paula",
                "Bulk pricing for installers?",
                "Who do we contact?",
                ("sales",),
                (A("mia", "Write to sales, they will call back."),),
            ),
            # Stale: archived by `gateway content prune`, listed only to the moderators.
            DemoQuestion(
                "mo",
                "Pairing the v1 hub",
                "Does the first hub still pair with new sensors?",
                ("pairing", "legacy"),
                (A("erin", "The v1 hub is end of life: pair new sensors with the v2 hub."),),
                age=timedelta(days=400),
                archived=True,
            ),
        ),
    ),
    DemoSpace(
        C,
        "ideas",
        "Ideas",
        SpaceKind.GROUP,
        Visibility.PUBLIC,
        "Suggest and vote on product ideas.",
        ("ideas",),
        members=(DemoMember("mia", SpaceRole.OWNER),),
        questions=(
            DemoQuestion(
                "mo",
                "Dark mode for the app",
                "Please add dark mode. @erin",
                ("app",),
                (A("erin", "On the roadmap for spring.", accepted=True),),
            ),
            DemoQuestion("tara", "Webhook on alarms", "Would love webhooks.", ("integrations",)),
        ),
    ),
    DemoSpace(
        C,
        "members-lounge",
        "Members lounge",
        SpaceKind.GROUP,
        Visibility.MEMBERS,
        "Registered members only: introductions and off-topic.",
        ("community",),
        members=(DemoMember("mia", SpaceRole.OWNER),),
        questions=(
            DemoQuestion(
                "mo",
                "Hello from Berlin",
                "Introduce yourselves! @tara",
                ("intro",),
                (A("tara", "Hi Mo, greetings from Leeds."),),
            ),
            DemoQuestion("tara", "Favourite automation?", "Share your setups.", ("automation",)),
        ),
    ),
    DemoSpace(
        C,
        "champions",
        "Champions",
        SpaceKind.GROUP,
        Visibility.TRUSTED,
        "Trust level 3 and up, plus employees: early news and beta invites.",
        ("champions",),
        members=(DemoMember("mia", SpaceRole.OWNER), DemoMember("erin")),
        group="employees",
        questions=(
            DemoQuestion(
                "mia",
                "Beta programme for Aurora",
                "Who wants in? @tara @erin",
                ("beta",),
                (A("tara", "Count me in.", accepted=True),),
            ),
            DemoQuestion("tara", "Champion meetup agenda", "Draft agenda attached.", ("meetup",)),
        ),
    ),
)


def find_person(email: str) -> DemoPerson | None:
    """The demo person with this email (any case), or None."""
    email = email.strip().lower()
    return next((p for p in PEOPLE if p.email == email), None)


def demo_data(now: datetime | None = None) -> DemoData:
    """The demo data set, with expiries relative to ``now``."""
    return DemoData(
        PEOPLE, SPACES, loaded_at=now or datetime.now(UTC), flags=FLAGS, escalations=ESCALATIONS
    )
