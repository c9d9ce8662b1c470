"""Post-moderation: flagging, the moderation queue, resolving flags, and telling the author
why their post was hidden (never who flagged it). On every store backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from gateway.domain import ids
from gateway.domain.model import StoreName
from gateway.stores.cursors import TimePosition
from tests.personas import PERSONAS, run
from tests.schema.test_read_matrix import AURORA
from tests.writes.test_writes import space_ids

if TYPE_CHECKING:
    from gateway.runtime.services import Services

pytestmark = pytest.mark.backend

FLAG = """mutation($i: FlagPostInput!) { flagPost(input: $i) { flagged errors { code field } } }"""
RESOLVE = """mutation($i: ResolveFlagsInput!) {
  resolveFlags(input: $i) {
    question { id hidden } answer { id hidden } resolved errors { code field }
  }
}"""
HIDE = """mutation($i: HidePostInput!) {
  hidePost(input: $i) { answer { id hidden } question { id hidden } errors { code field } }
}"""
QUEUE = """query($s: ID!, $first: Int, $after: String) {
  moderationQueue(spaceId: $s, first: $first, after: $after) {
    edges { cursor node {
      hidden post { id ... on Answer { hidden } ... on Question { hidden } }
      flags { reason note createdAt }
    } }
    pageInfo { hasNextPage endCursor }
  }
}"""
NOTIFICATIONS = """{ notifications(first: 50) { edges { node {
  kind actorName reason hiddenPostId space { id } } } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"


async def posts_of(services: Services, who: str, space: str) -> list[dict[str, Any]]:
    """The space's questions, oldest first, with their answers (id, body)."""
    result = await run(
        services,
        who,
        """query($s: ID!) { questions(spaceId: $s, first: 50) { edges { node {
             id title answers(first: 50) { edges { node { id body } } } } } } }""",
        {"s": space},
    )
    assert result.errors is None, result.errors
    return [e["node"] for e in result.data["questions"]["edges"]][::-1]


async def tara_reply(services: Services, support: str) -> str:
    """Tara's answer to "Sensor will not pair" in Product support (public)."""
    first = (await posts_of(services, "mia@corp.example", support))[0]
    return next(
        e["node"]["id"]
        for e in first["answers"]["edges"]
        if e["node"]["body"].startswith("Same here")
    )


async def flag(services: Services, who: str, post: str, **extra: Any) -> dict[str, Any]:
    result = await run(services, who, FLAG, {"i": {"postId": post, "reason": "SPAM", **extra}})
    assert result.errors is None, result.errors
    return result.data["flagPost"]


async def queue(services: Services, who: str, space: str, **args: Any) -> list[dict[str, Any]]:
    result = await run(services, who, QUEUE, {"s": space, **args})
    assert result.errors is None, result.errors
    return [e["node"] for e in result.data["moderationQueue"]["edges"]]


async def notifications(services: Services, who: str) -> list[dict[str, Any]]:
    result = await run(services, who, NOTIFICATIONS)
    assert result.errors is None, result.errors
    return [e["node"] for e in result.data["notifications"]["edges"]]


async def test_enough_flags_hide_a_post_and_tell_its_author_but_not_who(
    services: Services,
) -> None:
    support = (await space_ids(services))["Product support"]
    reply = await tara_reply(services, support)
    assert services.settings.hide_after_flags == 3
    assert await flag(services, "mo@customer.example", reply, note="buy now links") == {
        "flagged": True,
        "errors": [],
    }
    # Once per person and post.
    again = await flag(services, "mo@customer.example", reply)
    assert again == {"flagged": False, "errors": [{"code": "CONFLICT", "field": None}]}
    assert (await flag(services, "paula@partner.example", reply))["flagged"]
    # Two flags: still shown to everyone.
    seen = await run(services, "sam@corp.example", NODE, {"id": reply})
    assert seen.data["node"] == {"id": reply}
    assert (await flag(services, "sam@corp.example", reply))["flagged"]
    # The third distinct person hides it pending review: gone for everyone but moderators.
    for who in ("guest", "mo@customer.example", "sam@corp.example", "tara@customer.example"):
        assert (await run(services, who, NODE, {"id": reply})).data["node"] is None, who
    items = await queue(services, "mia@corp.example", support)
    assert [(i["post"]["id"], i["hidden"], len(i["flags"])) for i in items] == [(reply, True, 3)]
    assert items[0]["flags"][0]["reason"] == "SPAM"
    assert items[0]["flags"][0]["note"] == "buy now links"
    # Tara is told, by "the moderators", why; nothing names who flagged it.
    told = [n for n in await notifications(services, "tara@customer.example") if n["reason"]]
    assert told == [
        {
            "kind": "post_hidden",
            "actorName": "The moderators",
            "reason": told[0]["reason"],
            "hiddenPostId": reply,
            "space": {"id": support},
        }
    ]
    assert "flagged" in told[0]["reason"]
    for name in ("Mo", "Paula", "Sam", "mo@", "paula@", "sam@"):
        assert name not in str(told)


async def test_flagging_needs_read_access_and_is_answered_like_a_missing_post(
    services: Services,
) -> None:
    spaces = await space_ids(services)
    aurora = await posts_of(services, "erin@corp.example", spaces[AURORA])
    question = aurora[0]["id"]
    missing = ids.encode("Question", ids.decode(question).store, "999999")
    # Mo (a community member) cannot read Aurora: flagging its question and a question that
    # does not exist get the same answer, and nothing is recorded.
    denied = await flag(services, "mo@customer.example", question)
    assert denied == await flag(services, "mo@customer.example", missing)
    assert denied == {"flagged": False, "errors": [{"code": "NOT_FOUND", "field": "postId"}]}
    assert await queue(services, "erin@corp.example", spaces[AURORA]) == []
    guest = await flag(services, "guest", question)
    assert guest["errors"] == [{"code": "UNAUTHENTICATED", "field": None}]
    bad = await flag(services, "paula@partner.example", spaces[AURORA])
    assert bad["errors"] == [{"code": "INVALID", "field": "postId"}]
    long_note = await flag(services, "paula@partner.example", question, note="x" * 501)
    assert long_note["errors"] == [{"code": "INVALID", "field": "note"}]
    # Paula is invited to Aurora: she may flag it.
    assert (await flag(services, "paula@partner.example", question))["flagged"]
    assert len(await queue(services, "erin@corp.example", spaces[AURORA])) == 1


# Who moderates (sees the queue, resolves flags) per space, of the demo personas.
MODERATORS = {
    "Product support": {"mia@corp.example"},
    AURORA: {"erin@corp.example"},
}


async def test_queue_and_resolving_per_persona(services: Services) -> None:
    """The allowed/denied table: flagPost for every reader, the queue and resolveFlags for
    the space's moderators only; everyone else sees an empty queue and no flags."""
    spaces = await space_ids(services)
    for name, moderators in MODERATORS.items():
        space = spaces[name]
        post = (await posts_of(services, next(iter(moderators)), space))[0]["id"]
        flagged: set[str] = set()
        for who in PERSONAS:
            readable = (await run(services, who, NODE, {"id": post})).data["node"] is not None
            outcome = await flag(services, who, post, reason="OTHER") if who != "guest" else None
            if who == "guest" or not readable:
                assert outcome is None or outcome["errors"][0]["code"] == "NOT_FOUND", who
            else:
                assert outcome == {"flagged": True, "errors": []}, (name, who)
                flagged.add(who)
            if len(flagged) == 2:
                break  # stay under the threshold: the post stays shown
        for who in PERSONAS:
            items = await queue(services, who, space)
            if who in moderators:
                assert [i["post"]["id"] for i in items] == [post], (name, who)
                assert len(items[0]["flags"]) == len(flagged)
            else:
                assert items == [], (name, who)
            if who in moderators:
                continue
            denied = await run(services, who, RESOLVE, {"i": {"postId": post, "action": "KEEP"}})
            errors = denied.data["resolveFlags"]["errors"]
            if who not in moderators:
                assert errors and errors[0]["code"] in {
                    "FORBIDDEN",
                    "NOT_FOUND",
                    "UNAUTHENTICATED",
                }, (name, who)
        # A refused resolve changed nothing; the moderator's closes the flags.
        moderator = next(iter(moderators))
        assert len(await queue(services, moderator, space)) == 1
        kept = await run(services, moderator, RESOLVE, {"i": {"postId": post, "action": "KEEP"}})
        assert kept.data["resolveFlags"]["resolved"] == len(flagged)
        assert kept.data["resolveFlags"]["question"] == {"id": post, "hidden": False}
        assert await queue(services, moderator, space) == []


async def test_resolving_hides_or_keeps_and_is_idempotent(services: Services) -> None:
    support = (await space_ids(services))["Product support"]
    reply = await tara_reply(services, support)
    for who in ("mo@customer.example", "paula@partner.example", "sam@corp.example"):
        await flag(services, who, reply)
    # KEEP shows the auto-hidden post again and closes its flags.
    kept = await run(
        services, "mia@corp.example", RESOLVE, {"i": {"postId": reply, "action": "KEEP"}}
    )
    assert kept.data["resolveFlags"] == {
        "question": None,
        "answer": {"id": reply, "hidden": False},
        "resolved": 3,
        "errors": [],
    }
    assert (await run(services, "mo@customer.example", NODE, {"id": reply})).data["node"]
    assert await queue(services, "mia@corp.example", support) == []
    # The same people cannot flag it again; someone new can, and HIDE hides it with a note.
    assert (await flag(services, "mo@customer.example", reply))["errors"][0]["code"] == "CONFLICT"
    assert (await flag(services, "carl@contractor.example", reply))["flagged"]
    before = len(await notifications(services, "tara@customer.example"))
    hide = {
        "postId": reply,
        "action": "HIDE",
        "note": "Off-topic advertising",
        "idempotencyKey": "k1",
    }
    hidden = await run(services, "mia@corp.example", RESOLVE, {"i": hide})
    assert hidden.data["resolveFlags"]["answer"] == {"id": reply, "hidden": True}
    assert hidden.data["resolveFlags"]["resolved"] == 1
    again = await run(services, "mia@corp.example", RESOLVE, {"i": hide})
    assert again.data["resolveFlags"]["answer"] == {"id": reply, "hidden": True}
    told = await notifications(services, "tara@customer.example")
    assert len(told) == before + 1  # the replay told nobody twice
    assert told[0]["reason"] == "Off-topic advertising"
    assert (await run(services, "mo@customer.example", NODE, {"id": reply})).data["node"] is None


async def test_hide_post_tells_the_author_why(services: Services) -> None:
    support = (await space_ids(services))["Product support"]
    reply = await tara_reply(services, support)
    hidden = await run(
        services,
        "mia@corp.example",
        HIDE,
        {"i": {"postId": reply, "reason": "Please keep replies on the question"}},
    )
    assert hidden.data["hidePost"]["answer"] == {"id": reply, "hidden": True}
    told = [n for n in await notifications(services, "tara@customer.example") if n["reason"]]
    assert [(n["kind"], n["reason"], n["hiddenPostId"]) for n in told] == [
        ("post_hidden", "Please keep replies on the question", reply)
    ]
    too_long = await run(
        services, "mia@corp.example", HIDE, {"i": {"postId": reply, "reason": "x" * 501}}
    )
    assert too_long.data["hidePost"]["errors"] == [{"code": "INVALID", "field": "reason"}]


async def test_the_queue_pages(services: Services) -> None:
    support = (await space_ids(services))["Product support"]
    posts = await posts_of(services, "mia@corp.example", support)
    for post in posts:
        await flag(services, "mo@customer.example", post["id"])
    first = await run(services, "mia@corp.example", QUEUE, {"s": support, "first": 2})
    page = first.data["moderationQueue"]
    assert [e["node"]["post"]["id"] for e in page["edges"]] == [p["id"] for p in posts[:2]]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await queue(services, "mia@corp.example", support, after=page["pageInfo"]["endCursor"])
    assert [i["post"]["id"] for i in rest] == [p["id"] for p in posts[2:]]
    bad = await run(services, "mia@corp.example", QUEUE, {"s": support, "after": "nonsense"})
    assert bad.errors is not None


async def test_the_demo_has_a_flagged_post(services: Services) -> None:
    ideas = (await space_ids(services))["Ideas"]
    items = await queue(services, "mia@corp.example", ideas)
    assert len(items) == 1
    assert items[0]["hidden"] is False
    assert [(f["reason"], f["note"]) for f in items[0]["flags"]] == [
        ("OTHER", "Duplicate of an older idea.")
    ]
    title = await run(
        services,
        "mia@corp.example",
        "query($q: ID!) { node(id: $q) { ... on Question { title } } }",
        {"q": items[0]["post"]["id"]},
    )
    assert title.data["node"] == {"title": "Dark mode for the app"}
    for who in PERSONAS:
        if who != "mia@corp.example":
            assert await queue(services, who, ideas) == [], who
    # Tara flagged it: once is all she may.
    again = await flag(services, "tara@customer.example", items[0]["post"]["id"])
    assert again["errors"] == [{"code": "CONFLICT", "field": None}]


async def _pages(services: Services, who: str, space: str, first: int) -> list[dict[str, Any]]:
    """The whole queue, ``first`` at a time."""
    found: list[dict[str, Any]] = []
    after = None
    while True:
        result = await run(services, who, QUEUE, {"s": space, "first": first, "after": after})
        assert result.errors is None, result.errors
        page = result.data["moderationQueue"]
        found += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def test_hidden_posts_are_in_the_queue_after_the_flagged(services: Services) -> None:
    """A post a moderator hid without flags, and one hidden after review (its flags
    closed), stay in the queue (hidden, no flags) after the flagged ones; nobody else
    sees any of it."""
    support = (await space_ids(services))["Product support"]
    before = await queue(services, "mia@corp.example", support)
    assert before == []
    reply = await tara_reply(services, support)
    hid = await run(services, "mia@corp.example", HIDE, {"i": {"postId": reply, "reason": "x"}})
    assert hid.data["hidePost"]["answer"] == {"id": reply, "hidden": True}
    questions = await posts_of(services, "mia@corp.example", support)
    reviewed, flagged = questions[0]["id"], questions[1]["id"]
    for who in ("mo@customer.example", "paula@partner.example", "sam@corp.example"):
        await flag(services, who, reviewed)  # enough: hidden pending review
    resolved = await run(
        services, "mia@corp.example", RESOLVE, {"i": {"postId": reviewed, "action": "HIDE"}}
    )
    assert resolved.data["resolveFlags"]["question"] == {"id": reviewed, "hidden": True}
    await flag(services, "mo@customer.example", flagged, note="dup")
    items = await queue(services, "mia@corp.example", support)
    assert [(i["post"]["id"], i["hidden"], len(i["flags"])) for i in items] == [
        (flagged, False, 1),  # open flags first
        (reply, True, 0),  # then by when hidden
        (reviewed, True, 0),
    ]
    assert items[0]["flags"] == [
        {"reason": "SPAM", "note": "dup", "createdAt": items[0]["flags"][0]["createdAt"]}
    ]
    # Paged one by one, across the flagged and the hidden: the same queue.
    assert await _pages(services, "mia@corp.example", support, 1) == items
    assert await _pages(services, "mia@corp.example", support, 2) == items
    for who in PERSONAS:
        if who not in MODERATORS["Product support"]:
            assert await queue(services, who, support) == [], who
    # A forged cursor into the hidden posts is refused, not a 500.
    for forged in ("q:abc", "x:1", "q:"):
        at = TimePosition(datetime.now(UTC), StoreName.COMMUNITY, forged).encode()
        bad = await run(services, "mia@corp.example", QUEUE, {"s": support, "after": at})
        assert bad.errors is not None and "invalid cursor" in bad.errors[0].message, forged
    # Shown again, a post leaves the queue.
    shown = await run(services, "mia@corp.example", HIDE, {"i": {"postId": reply, "hidden": False}})
    assert shown.data["hidePost"]["answer"] == {"id": reply, "hidden": False}
    assert [i["post"]["id"] for i in await queue(services, "mia@corp.example", support)] == [
        flagged,
        reviewed,
    ]
