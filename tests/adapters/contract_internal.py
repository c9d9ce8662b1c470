"""The internal store, as the contract suite sees it: its demo data, scopes and native inserts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update

from adapters.internal import InternalStore
from adapters.internal import _tables as it
from gateway.domain.model import SpaceKind, StoreName, Visibility
from gateway.stores.interface import AtTime, TimeCursor
from gateway.stores.scope import Grants, StoreScope
from tests.adapters.contract import Adapter, Enriched, questions, space_ids

INTERNAL = StoreName.INTERNAL
# Microseconds on purpose: every backend must round-trip them exactly.
LOADED_AT = datetime(2025, 6, 1, 9, 30, 15, 123456, tzinfo=UTC)
I_ALL_SLUGS = ["aurora-feedback", "engineering", "engineering-qa", "hr-private", "project-falcon"]
# Every internal question, newest first. "Release train for Q1" is a plain discussion
# topic and never appears.
I_QUESTIONS = [
    "Can Aurora export CSV?",
    "Aurora battery spec?",
    "Falcon launch date?",
    "Falcon conflict resolution design",
    "Salary review calibration",
    "Postgres 17 upgrade plan?",
    "How do I get staging credentials?",
    "Who owns the build cache?",
]
I_OPEN_QUESTIONS = [
    "Postgres 17 upgrade plan?",
    "How do I get staging credentials?",
    "Who owns the build cache?",
]
I_FALCON_QUESTIONS = ["Falcon launch date?", "Falcon conflict resolution design"]
I_OPEN = StoreScope(INTERNAL, allow=Grants(visibilities=frozenset({Visibility.OPEN})))
I_FALCON = StoreScope(
    INTERNAL, allow=Grants(spaces=frozenset({(Visibility.RESTRICTED, "project-falcon")}))
)
I_NOT_HR = StoreScope(
    INTERNAL,
    allow=Grants(everything=True),
    deny=Grants(spaces=frozenset({(Visibility.RESTRICTED, "hr-private")})),
)
I_EMPLOYEE = StoreScope(
    INTERNAL,
    allow=Grants(
        visibilities=frozenset({Visibility.OPEN, Visibility.SHARED}),
        spaces=frozenset({(Visibility.RESTRICTED, "project-falcon")}),
    ),
)
I_NOT_RESTRICTED = StoreScope(
    INTERNAL,
    allow=Grants(everything=True),
    deny=Grants(visibilities=frozenset({Visibility.RESTRICTED})),
)
# A grant for a slug under the wrong visibility class must not match anything.
I_WRONG_CLASS = StoreScope(
    INTERNAL, allow=Grants(spaces=frozenset({(Visibility.OPEN, "project-falcon")}))
)

TIE = datetime(2025, 5, 1, 8, 0, 0, 654321)  # naive UTC, as the tables hold it
# Questions added to the demo per space as (title, answered, tags, created_at), newest first
# (ties by id: the later insert first). Engineering also gets a newer "ci" discussion topic,
# which is no question and never shows.
ADDED = {
    "engineering": [
        ("Flaky test triage?", False, ("ci",), LOADED_AT + timedelta(minutes=5)),
        ("Tie 3", False, (), TIE),
        ("Tie 2", False, ("ci", "flaky"), TIE),
        ("Tie 1", True, ("ci",), TIE),
        ("Tie 0", False, ("ci",), TIE),
        ("Oldest CI question", False, ("ci",), TIE - timedelta(days=1)),
    ],
    "engineering-qa": [
        ("Newer QA", True, ("ci",), LOADED_AT + timedelta(minutes=1)),
        ("Tie QA", False, ("ci",), TIE),
        ("Older QA", False, (), TIE - timedelta(seconds=1)),
    ],
}
I_EVERYTHING = StoreScope(INTERNAL, allow=Grants(everything=True))


async def add_questions(store: InternalStore) -> dict[str, str]:
    """Add :data:`ADDED` (and the discussion); the new topics' ids by title."""
    ids = await space_ids(store, I_EVERYTHING)
    added: dict[str, str] = {}
    rows = [
        (slug, title, answered, tags, at)
        for slug, topics in ADDED.items()
        for title, answered, tags, at in reversed(topics)  # oldest first: ties by id
    ]
    rows.append(("engineering", "Newest discussion", None, ("ci",), LOADED_AT + timedelta(hours=1)))
    async with store.engine.begin() as conn:
        for slug, title, answered, tags, at in rows:
            result = await conn.execute(
                insert(it.forum_topics).values(
                    community_id=int(ids[slug]),
                    subject=title,
                    content="",
                    is_question=answered is not None,
                    created_at=at.replace(tzinfo=None),
                )
            )
            (topic_id,) = result.inserted_primary_key or ()
            added[title] = str(topic_id)
            if tags:
                await conn.execute(
                    insert(it.topic_tags), [{"topic_id": topic_id, "tag": tag} for tag in tags]
                )
            if answered:
                result = await conn.execute(
                    insert(it.forum_replies).values(
                        topic_id=topic_id, content="Done.", created_at=at.replace(tzinfo=None)
                    )
                )
                (reply_id,) = result.inserted_primary_key or ()
                await conn.execute(
                    update(it.forum_topics)
                    .where(it.forum_topics.c.id == topic_id)
                    .values(accepted_reply_id=reply_id)
                )
    return added


async def _internal_enrich(store: InternalStore) -> Enriched:
    added = await add_questions(store)
    launch = (await questions(store, I_EVERYTHING))["Falcon launch date?"]
    tie = TIE.replace(tzinfo=UTC)
    cursors = [
        None,
        TimeCursor(tie),
        TimeCursor(tie, AtTime.ALL),
        TimeCursor(tie, AtTime.BELOW_ID, added["Tie 2"]),
        TimeCursor(launch.created_at, AtTime.BELOW_ID, launch.id),
        TimeCursor(launch.created_at, AtTime.ALL),
    ]
    filters = [(unanswered, tag) for unanswered in (False, True) for tag in (None, "CI")]
    return Enriched(cursors, filters, busy="engineering", tag="ci", tie=tie, full_last_page=True)


async def _internal_add_twins(store: InternalStore) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(
            insert(it.communities),
            [
                {
                    "slug": f"engineering-{n}",
                    "title": "Engineering",
                    "description": "",
                    "community_type": "group",
                    "access": "open",
                    "tags": "",
                    "created_at": LOADED_AT.replace(tzinfo=None),
                }
                for n in (2, 3)
            ],
        )


async def _internal_add_question(store: InternalStore, slug: str, title: str, at: datetime) -> str:
    ids = await space_ids(store, I_EVERYTHING)
    async with store.engine.begin() as conn:
        result = await conn.execute(
            insert(it.forum_topics).values(
                community_id=int(ids[slug]),
                subject=title,
                content="",
                is_question=True,
                created_at=at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at,
            )
        )
    (topic_id,) = result.inserted_primary_key or ()
    return str(topic_id)


async def _internal_non_questions(store: InternalStore) -> list[str]:
    """The ids of the demo's discussion topics (topics that are no questions)."""
    async with store.engine.connect() as conn:
        rows = await conn.scalars(
            select(it.forum_topics.c.id).where(~it.forum_topics.c.is_question)
        )
        return [str(topic_id) for topic_id in rows]


async def _internal_native_answers(store: InternalStore) -> tuple[list[str], list[str]]:
    async with store.engine.connect() as conn:
        return [str(i) for i in await conn.scalars(select(it.forum_replies.c.id))], []


INTERNAL_ADAPTER = Adapter(
    name="internal",
    store_name=INTERNAL,
    open=I_OPEN,
    one=I_FALCON,
    deny=I_NOT_HR,
    extra_scopes={
        "employee": I_EMPLOYEE,
        "not_restricted": I_NOT_RESTRICTED,
        "wrong_class": I_WRONG_CLASS,
    },
    make=InternalStore,
    loaded_at=LOADED_AT,
    space_scopes=[
        ("everything", I_ALL_SLUGS),
        ("open", ["engineering", "engineering-qa"]),
        ("one", ["project-falcon"]),
        ("employee", ["aurora-feedback", "engineering", "engineering-qa", "project-falcon"]),
        ("deny", ["aurora-feedback", "engineering", "engineering-qa", "project-falcon"]),
        ("not_restricted", ["aurora-feedback", "engineering", "engineering-qa"]),
        ("wrong_class", []),
    ],
    space_kinds=[
        (SpaceKind.GROUP, ["engineering", "hr-private", "project-falcon"], ["engineering"]),
        (SpaceKind.QA, ["engineering-qa"], ["engineering-qa"]),
        (SpaceKind.PROTOTYPE_FEEDBACK, ["aurora-feedback"], []),
    ],
    open_slugs={"engineering", "engineering-qa"},
    deny_slugs={s for s in I_ALL_SLUGS if s != "hr-private"},
    tagged_space=("aurora-feedback", ("aurora", "prototype")),
    twin=("engineering", "Engineering", ["engineering-2", "engineering-3", "engineering-qa"]),
    add_twins=_internal_add_twins,
    member_counts=[
        (
            after,
            {
                "aurora-feedback": aurora,
                "engineering": 2,
                "engineering-qa": 1,
                "hr-private": 1,
                "project-falcon": 2,
            },
        )
        for after, aurora in [
            (timedelta(0), 3),
            (timedelta(days=90), 2),  # tara's invitation ends exactly now: no longer counted
            (timedelta(days=100), 2),
            (timedelta(days=180), 1),
            (timedelta(days=365), 1),  # the owner's membership never expires
        ]
    ],
    statement_counts={
        "spaces_by_ids": 1,
        "member_counts": 1,
        # the topics with their tags joined in
        "questions_by_ids": 1,
        # one for the topics and one for all their tags
        "questions_for_spaces": 2,
        "answers_for_questions": 1,
        "answers_by_ids": 1,
        "answer_counts": 1,
        "prototypes_for_spaces": 1,
        "prototypes_by_ids": 1,
        "feedback_for_prototypes": 1,
        "feedback_by_ids": 1,
        "prototype_counts": 1,
        "feedback_counts": 1,
        "people_by_ids": 1,
        "people_by_emails": 1,
        "people_by_ids_and_emails": 1,
    },
    questions=I_QUESTIONS,
    per_space={
        "aurora-feedback": ["Can Aurora export CSV?", "Aurora battery spec?"],
        "engineering": ["Who owns the build cache?"],
        "engineering-qa": ["Postgres 17 upgrade plan?", "How do I get staging credentials?"],
        "hr-private": ["Salary review calibration"],
        "project-falcon": I_FALCON_QUESTIONS,
    },
    question_scopes=[
        ("everything", I_QUESTIONS),
        ("open", I_OPEN_QUESTIONS),
        ("one", I_FALCON_QUESTIONS),
        ("deny", [q for q in I_QUESTIONS if q != "Salary review calibration"]),
        ("not_restricted", ["Can Aurora export CSV?", "Aurora battery spec?", *I_OPEN_QUESTIONS]),
        ("wrong_class", []),
    ],
    question_filters=[
        (
            "everything",
            {"unanswered": True},
            [
                "Can Aurora export CSV?",
                "Falcon launch date?",
                "Salary review calibration",
                "Postgres 17 upgrade plan?",
            ],
        ),
        ("open", {"unanswered": True}, ["Postgres 17 upgrade plan?"]),
        ("everything", {"tag": "ci"}, ["Who owns the build cache?"]),
        ("everything", {"tag": "CI"}, ["Who owns the build cache?"]),
        ("everything", {"tag": "release"}, []),  # only a discussion has it
        ("open", {"tag": "compensation"}, []),
        ("everything", {"space_ids": ["engineering", "abc"]}, ["Who owns the build cache?"]),
        (
            "everything",
            {"space_ids": ["project-falcon", "aurora-feedback"]},
            ["Can Aurora export CSV?", "Aurora battery spec?", *I_FALCON_QUESTIONS],
        ),
        # Naming a space does not get around the scope.
        ("open", {"space_ids": ["project-falcon"]}, []),
    ],
    open_questions=I_OPEN_QUESTIONS,
    one_questions=I_FALCON_QUESTIONS,
    tagged_question=("Who owns the build cache?", ("ci",)),
    pivot="Falcon launch date?",
    tie_space="engineering",
    tie_at=TIE,
    add_question=_internal_add_question,
    non_questions=_internal_non_questions,
    searches=[
        ("everything", "AURORA", 10, ["Can Aurora export CSV?", "Aurora battery spec?"]),
        ("everything", "aurora", 1, ["Can Aurora export CSV?"]),
        (
            "everything",
            "@omar",
            10,
            ["Falcon conflict resolution design", "Who owns the build cache?"],
        ),
        ("open", "@omar", 10, ["Who owns the build cache?"]),
        ("deny", "calibration", 10, []),
        ("everything", "calibration", 10, ["Salary review calibration"]),
        ("everything", "release", 10, []),  # only in a discussion topic
        ("everything", "%", 10, []),
        ("everything", "_", 10, []),
        ("everything", "Cut%14th", 10, []),
        ("everything", "Postgres 17", 10, ["Postgres 17 upgrade plan?"]),
        ("everything", "", 3, I_QUESTIONS[:3]),
    ],
    enrich=_internal_enrich,
    answer_counts={
        title: int(
            title
            not in {
                "Can Aurora export CSV?",
                "Falcon launch date?",
                "Salary review calibration",
                "Postgres 17 upgrade plan?",
            }
        )
        for title in I_QUESTIONS
    },
    answered={
        "Aurora battery spec?",
        "Falcon conflict resolution design",
        "How do I get staging credentials?",
        "Who owns the build cache?",
    },
    single_answer=("Who owns the build cache?", "Platform team owns it."),
    answer_bodies=[
        "Approved with two comments.",
        "File an access request in the portal.",
        "Platform team owns it.",
        "Target is 18 months at one reading a minute.",
    ],
    accepted_bodies={
        "Approved with two comments.",
        "File an access request in the portal.",
        "Platform team owns it.",
        "Target is 18 months at one reading a minute.",
    },
    open_answer_bodies={"File an access request in the portal.", "Platform team owns it."},
    one_answer_bodies={"Approved with two comments."},
    native_answers=_internal_native_answers,
    profiled={
        "erin@corp.example",
        "omar@corp.example",
        "hana@corp.example",
        "sam@corp.example",
        "mia@corp.example",
        "carl@contractor.example",
        "paula@partner.example",
        "tara@customer.example",
    },
    people={
        # (display name, handle, email, organisation, title, department)
        "erin@corp.example": (
            "Erin Engel",
            "erin",
            "erin@corp.example",
            "Corp",
            "Staff engineer",
            "Engineering",
        ),
        "paula@partner.example": (
            "Paula Perez",
            "paula",
            "paula@partner.example",
            "Partner Ltd",
            "Supplier quality lead",
            None,
        ),
    },
)
