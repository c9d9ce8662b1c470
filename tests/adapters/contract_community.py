"""The community store, as the contract suite sees it: its demo data, scopes and native inserts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from adapters.community import CommunityStore
from adapters.community import _tables as ct
from gateway.domain.model import SpaceKind, StoreName, Visibility
from gateway.stores.interface import AtTime, TimeCursor
from gateway.stores.scope import Grants, StoreScope
from tests.adapters.contract import Adapter, Enriched, questions, space_ids

COMMUNITY = StoreName.COMMUNITY
NOW = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
# Demo questions in load order (oldest first) per category.
SUPPORT_QS = ["Sensor will not pair", "Does the hub support IPv6?", "Bulk pricing for installers?"]
IDEAS_QS = ["Dark mode for the app", "Webhook on alarms"]
LOUNGE_QS = ["Hello from Berlin", "Favourite automation?"]
CHAMPIONS_QS = ["Beta programme for Aurora", "Champion meetup agenda"]
C_ALL = (SUPPORT_QS + IDEAS_QS + LOUNGE_QS + CHAMPIONS_QS)[::-1]
C_PUBLIC = (SUPPORT_QS + IDEAS_QS)[::-1]
C_UNANSWERED = {
    "Does the hub support IPv6?",
    "Bulk pricing for installers?",  # answered, but nothing accepted
    "Webhook on alarms",
    "Hello from Berlin",
    "Favourite automation?",
    "Champion meetup agenda",
}
C_EVERYTHING = StoreScope(COMMUNITY, allow=Grants(everything=True))
C_PUBLIC_SCOPE = StoreScope(COMMUNITY, allow=Grants(visibilities=frozenset({Visibility.PUBLIC})))
C_NOT_MEMBERS = StoreScope(
    COMMUNITY,
    allow=Grants(everything=True),
    deny=Grants(visibilities=frozenset({Visibility.MEMBERS})),
)
C_CHAMPIONS = StoreScope(
    COMMUNITY, allow=Grants(spaces=frozenset({(Visibility.TRUSTED, "champions")}))
)
# The right slug under the wrong visibility class names no space.
C_CHAMPIONS_AS_PUBLIC = StoreScope(
    COMMUNITY, allow=Grants(spaces=frozenset({(Visibility.PUBLIC, "champions")}))
)


async def native(store: CommunityStore, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows natively (what the demo does not cover) and return their ids."""
    async with store.engine.begin() as conn:
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        result = await conn.execute(stmt, rows)
        return [row.id for row in result]


async def richer_forum(s: CommunityStore) -> dict[str, Any]:
    """More topics than the demo: ties across and within spaces, a shared tag, more
    accepted answers, and a support category that fills more than five questions."""
    ids = await space_ids(s, C_EVERYTHING)
    qs = {title: q.id for title, q in (await questions(s, C_EVERYTHING)).items()}
    full = await s.questions_by_ids(list(qs.values()), C_EVERYTHING)
    pivot = full[qs["Dark mode for the app"]].created_at  # a demo instant, in "ideas"
    older = datetime(2020, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)

    extra = [
        # Tied with "Dark mode for the app", in three spaces.
        ("ideas", "Ideas tie", pivot, None),
        ("product-support", "Support tie", pivot, 1),
        ("champions", "Champions tie", pivot, None),
        # Tied topics, older than every demo topic.
        ("product-support", "Old tie A", older, None),
        ("product-support", "Old tie B", older, None),
        ("product-support", "Oldest", older - timedelta(microseconds=1), 2),
        ("members-lounge", "Lounge old", older, None),
    ]
    added = await native(
        s,
        ct.topics,
        [
            {
                "category_id": int(ids[slug]),
                "title": title,
                "created_at": at,
                "accepted_answer_post_id": accepted,  # any number: it is not a foreign key
            }
            for slug, title, at, accepted in extra
        ],
    )
    by_title = dict(zip([title for _, title, _, _ in extra], added, strict=True))
    by_title |= {title: int(qid) for title, qid in qs.items()}
    body = {"post_number": 1, "raw": "A tied body.", "created_at": pivot}
    await native(s, ct.posts, [body | {"topic_id": by_title["Ideas tie"]}])
    [shared] = await native(s, ct.tags, [{"name": "shared"}])
    tagged = [
        "Support tie",
        "Champions tie",
        "Old tie B",
        "Lounge old",
        "Sensor will not pair",
        "Dark mode for the app",
        "Bulk pricing for installers?",
    ]
    async with s.engine.begin() as conn:
        await conn.execute(
            insert(ct.topic_tags), [{"topic_id": by_title[q], "tag_id": shared} for q in tagged]
        )
    return {"ids": ids, "pivot": pivot, "older": older, "topics": by_title, "qs": qs}


async def _community_enrich(store: CommunityStore) -> Enriched:
    forum = await richer_forum(store)
    tied = forum["topics"]
    cursors: list[TimeCursor | None] = [None]
    for at in (forum["pivot"], forum["older"]):
        cursors += [TimeCursor(at, AtTime.NONE), TimeCursor(at, AtTime.ALL)]
    cursors += [
        TimeCursor(forum["pivot"], AtTime.BELOW_ID, str(tied["Support tie"])),
        TimeCursor(forum["pivot"], AtTime.BELOW_ID, str(tied["Ideas tie"])),
        TimeCursor(forum["pivot"], AtTime.BELOW_ID, str(tied["Dark mode for the app"])),
        TimeCursor(forum["older"], AtTime.BELOW_ID, str(tied["Old tie B"])),
    ]
    filters = [(False, None), (True, None), (False, "shared"), (True, " Shared"), (False, "beta")]
    return Enriched(
        cursors,
        filters,
        busy="product-support",
        tag="shared",
        tie=forum["pivot"],
        full_last_page=False,
    )


_CATEGORY = {
    "description": "",
    "style": "discussion",
    "created_at": NOW,
    "login_required": False,
    "min_trust_level": 0,
    "read_restricted": False,
}


async def _community_add_twins(store: CommunityStore) -> None:
    # Two more categories named "Ideas": ties on name are broken by id.
    await native(
        store,
        ct.categories,
        [_CATEGORY | {"slug": f"ideas-{n}", "name": "Ideas"} for n in (2, 3)],
    )


async def _community_add_question(
    store: CommunityStore, slug: str, title: str, at: datetime
) -> str:
    ids = await space_ids(store, C_EVERYTHING)
    [topic_id] = await native(
        store, ct.topics, [{"category_id": int(ids[slug]), "title": title, "created_at": at}]
    )
    return str(topic_id)


async def _no_ids(_store: Any) -> list[str]:
    return []


async def _community_native_answers(store: CommunityStore) -> tuple[list[str], list[str]]:
    """Replies are answers; a topic's first post (its body) never is. Those of a live topic:
    an archived one (the demo has one) is listed to nobody without a reveal scope."""
    live = select(ct.posts.c.id, ct.posts.c.post_number).join(
        ct.topics, ct.topics.c.id == ct.posts.c.topic_id
    )
    async with store.engine.connect() as conn:
        rows = (await conn.execute(live.where(ct.topics.c.archived_at.is_(None)))).all()
    return [str(i) for i, n in rows if n > 1], [str(i) for i, n in rows if n == 1]


COMMUNITY_ADAPTER = Adapter(
    name="community",
    store_name=COMMUNITY,
    open=C_PUBLIC_SCOPE,
    one=C_CHAMPIONS,
    deny=C_NOT_MEMBERS,
    extra_scopes={"wrong_class": C_CHAMPIONS_AS_PUBLIC},
    make=CommunityStore,
    loaded_at=NOW,
    space_scopes=[
        ("everything", ["champions", "ideas", "members-lounge", "product-support"]),
        ("open", ["ideas", "product-support"]),
        ("deny", ["champions", "ideas", "product-support"]),
        ("one", ["champions"]),
        ("wrong_class", []),
    ],
    space_kinds=[
        (SpaceKind.QA, ["product-support"], ["product-support"]),
        (SpaceKind.GROUP, ["champions", "ideas", "members-lounge"], ["ideas"]),
        (SpaceKind.PROTOTYPE_FEEDBACK, [], []),
    ],
    kinds_not_held=frozenset({SpaceKind.PROTOTYPE_FEEDBACK}),
    open_slugs={"product-support", "ideas"},
    deny_slugs={"product-support", "ideas", "champions"},
    tagged_space=("champions", ("champions",)),
    twin=("ideas", "Ideas", ["ideas-2", "ideas-3", "product-support"]),
    add_twins=_community_add_twins,
    # champions: mia and erin, through both "champions-team" and "employees", counted once
    member_counts=[
        (
            timedelta(0),
            {"product-support": 1, "ideas": 1, "members-lounge": 1, "champions": 2},
        )
    ],
    statement_counts={
        # categories and topics with their tags joined in
        "spaces_by_ids": 1,
        "member_counts": 1,
        "questions_by_ids": 1,
        "questions_for_spaces": 2,
        "answers_for_questions": 1,
        "answers_by_ids": 1,
        "answer_counts": 1,
        # no prototypes in a forum: nothing to ask
        "prototypes_for_spaces": 0,
        "prototypes_by_ids": 0,
        "feedback_for_prototypes": 0,
        "feedback_by_ids": 0,
        "prototype_counts": 0,
        "feedback_counts": 0,
        "people_by_ids": 1,
        "people_by_emails": 1,
        "people_by_ids_and_emails": 1,
    },
    questions=C_ALL,
    per_space={
        "product-support": SUPPORT_QS[::-1],
        "ideas": IDEAS_QS[::-1],
        "members-lounge": LOUNGE_QS[::-1],
        "champions": CHAMPIONS_QS[::-1],
    },
    question_scopes=[
        ("everything", C_ALL),
        ("open", C_PUBLIC),
        ("deny", [q for q in C_ALL if q not in LOUNGE_QS]),
        ("one", CHAMPIONS_QS[::-1]),
        ("wrong_class", []),
    ],
    question_filters=[
        ("everything", {"space_ids": ["ideas", "abc"]}, IDEAS_QS[::-1]),
        ("open", {"space_ids": ["champions"]}, []),
        ("everything", {"unanswered": True}, [q for q in C_ALL if q in C_UNANSWERED]),
        (
            "open",
            {"unanswered": True},
            ["Webhook on alarms", "Bulk pricing for installers?", "Does the hub support IPv6?"],
        ),
        ("everything", {"tag": "pairing"}, ["Sensor will not pair"]),
        ("everything", {"tag": "Pairing"}, ["Sensor will not pair"]),
        ("everything", {"tag": "beta"}, ["Beta programme for Aurora"]),
        ("open", {"tag": "beta"}, []),
        ("everything", {"tag": "no-such-tag"}, []),
        ("everything", {"tag": "beta", "unanswered": True}, []),
    ],
    open_questions=C_PUBLIC,
    one_questions=CHAMPIONS_QS,
    tagged_question=("Beta programme for Aurora", ("beta",)),
    # Each demo topic has its own instant.
    pivot="Dark mode for the app",
    tie_space="ideas",
    tie_at=datetime(2020, 1, 2, 3, 4, 5, 678901),
    add_question=_community_add_question,
    non_questions=_no_ids,
    searches=[
        ("everything", "PAIR", 20, ["Sensor will not pair"]),
        ("everything", "ipv6-only", 20, ["Does the hub support IPv6?"]),  # body
        ("everything", "introduce YOURSELVES", 20, ["Hello from Berlin"]),
        ("open", "introduce yourselves", 20, []),
        ("everything", "aurora", 20, ["Beta programme for Aurora"]),
        ("open", "aurora", 20, []),
        ("one", "aurora", 20, ["Beta programme for Aurora"]),
        ("everything", "reset", 20, []),  # answers are not searched
        ("everything", "the", 20, ["Dark mode for the app", "Does the hub support IPv6?"]),
        ("everything", "the", 1, ["Dark mode for the app"]),
        # % and _ are literal characters, not wildcards.
        ("everything", "%", 20, []),
        ("everything", "_", 20, []),
    ],
    enrich=_community_enrich,
    answer_counts={
        "Sensor will not pair": 2,
        "Does the hub support IPv6?": 0,
        "Bulk pricing for installers?": 1,
        "Dark mode for the app": 1,
        "Webhook on alarms": 0,
        "Hello from Berlin": 1,
        "Favourite automation?": 0,
        "Beta programme for Aurora": 1,
        "Champion meetup agenda": 0,
    },
    answered={q for q in C_ALL if q not in C_UNANSWERED},
    single_answer=("Dark mode for the app", "On the roadmap for spring."),
    answer_bodies=sorted(
        [
            "Hold the button for 10 seconds to reset.",
            "Same here, the reset worked.",
            "Write to sales, they will call back.",
            "On the roadmap for spring.",
            "Hi Mo, greetings from Leeds.",
            "Count me in.",
        ]
    ),
    accepted_bodies={
        "Hold the button for 10 seconds to reset.",
        "On the roadmap for spring.",
        "Count me in.",
    },
    open_answer_bodies={
        "Hold the button for 10 seconds to reset.",
        "Same here, the reset worked.",
        "Write to sales, they will call back.",
        "On the roadmap for spring.",
    },
    one_answer_bodies={"Count me in."},
    native_answers=_community_native_answers,
    # omar has no community account
    profiled={
        "erin@corp.example",
        "mia@corp.example",
        "paula@partner.example",
        "tara@customer.example",
        "mo@customer.example",
    },
    people={
        "mo@customer.example": (
            "Mo Müller",
            "mo",
            "mo@customer.example",
            "Customer Inc",
            None,
            None,
        ),
        "erin@corp.example": (
            "Erin Engel",
            "erin",
            "erin@corp.example",
            "Corp",
            "Staff engineer",
            None,
        ),
    },
)
