"""The read matrix of the demo data, per persona, on every store backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.personas import PERSONAS, run

if TYPE_CHECKING:
    from gateway.runtime.services import Services

ENGINEERING = {"Engineering", "Engineering Q&A"}
PUBLIC = {"Product support", "Ideas"}
COMMUNITY = PUBLIC | {"Members lounge", "Champions"}
AURORA = "Aurora prototype feedback"

MATRIX: dict[str, set[str]] = {
    "guest": PUBLIC,
    "mo@customer.example": PUBLIC | {"Members lounge"},
    "tara@customer.example": COMMUNITY | {AURORA},
    "paula@partner.example": PUBLIC | {AURORA},
    "carl@contractor.example": ENGINEERING | PUBLIC,
    "erin@corp.example": ENGINEERING | {"Project Falcon", AURORA} | COMMUNITY,
    "hana@corp.example": ENGINEERING | {"HR private", AURORA} | COMMUNITY,
    "sam@corp.example": ENGINEERING | {AURORA} | COMMUNITY,
    "mia@corp.example": ENGINEERING | {AURORA} | COMMUNITY,
}
ALL_SPACES = ENGINEERING | COMMUNITY | {AURORA, "HR private", "Project Falcon"}

SPACES = "{ spaces(first: 100) { edges { node { id name } } pageInfo { hasNextPage } } }"
QUESTIONS = """query($after: String) {
  questions(first: 3, after: $after) {
    edges { node { id title space { name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def test_matrix_names_every_persona() -> None:
    assert set(MATRIX) == set(PERSONAS)


async def _all_spaces(services: Services) -> dict[str, str]:
    result = await run(services, "erin@corp.example", SPACES)
    ids = {e["node"]["name"]: e["node"]["id"] for e in result.data["spaces"]["edges"]}
    hana = await run(services, "hana@corp.example", SPACES)
    ids |= {e["node"]["name"]: e["node"]["id"] for e in hana.data["spaces"]["edges"]}
    assert set(ids) == ALL_SPACES
    return ids


@pytest.mark.backend
@pytest.mark.parametrize("who", PERSONAS)
async def test_spaces_visible_per_persona(services: Services, who: str) -> None:
    result = await run(services, who, SPACES)
    assert result.errors is None
    names = [e["node"]["name"] for e in result.data["spaces"]["edges"]]
    assert set(names) == MATRIX[who]
    assert len(names) == len(set(names))


@pytest.mark.backend
async def test_every_space_by_id_and_every_question_follows_the_matrix(services: Services) -> None:
    ids = await _all_spaces(services)
    for who in PERSONAS:
        for name, space_id in ids.items():
            result = await run(
                services, who, "query($id: ID!) { space(id: $id) { name } }", {"id": space_id}
            )
            assert result.errors is None
            expected = {"name": name} if name in MATRIX[who] else None
            assert result.data["space"] == expected, (who, name)
        # Walk every page of questions across both stores: each lies in a visible space.
        seen: list[str] = []
        after = None
        while True:
            result = await run(services, who, QUESTIONS, {"after": after})
            assert result.errors is None, result.errors
            page = result.data["questions"]
            for edge in page["edges"]:
                assert edge["node"]["space"]["name"] in MATRIX[who], (who, edge)
                seen.append(edge["node"]["id"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert len(seen) == len(set(seen)), "pagination repeated a question"
        spaces_with_questions = set()
        for space_id in (ids[n] for n in MATRIX[who]):
            result = await run(
                services,
                who,
                "query($s: ID!) { questions(spaceId: $s, first: 100) { edges { node { id } } } }",
                {"s": space_id},
            )
            found = {e["node"]["id"] for e in result.data["questions"]["edges"]}
            assert found <= set(seen)
            spaces_with_questions |= found
        assert spaces_with_questions == set(seen), who


FIELDS = """{
  questions(first: 100) { edges { node { author { handle email department } } } }
  spaces(first: 100) { edges { node { name prototypes { edges { node { name
    feedback { edges { node { body internalNote author { handle } } } } } } } } } }
}"""


@pytest.mark.backend
@pytest.mark.parametrize("who", PERSONAS)
async def test_field_rules(services: Services, who: str) -> None:
    result = await run(services, who, FIELDS)
    assert result.errors is None
    employee = who.endswith("@corp.example")
    contractor = who == "carl@contractor.example"
    own_handle = who.split("@")[0]
    authors = [
        e["node"]["author"] for e in result.data["questions"]["edges"] if e["node"]["author"]
    ]
    assert authors
    for author in authors:
        sees_email = employee or author["handle"] == own_handle
        assert (author["email"] is not None) == sees_email, (who, author)
        if author["department"] is not None:
            assert employee or contractor, (who, author)
    if employee or contractor:
        assert any(a["department"] for a in authors), who
    notes = [
        f["node"]["internalNote"]
        for s in result.data["spaces"]["edges"]
        for p in s["node"]["prototypes"]["edges"]
        for f in p["node"]["feedback"]["edges"]
    ]
    if AURORA in MATRIX[who]:
        assert notes, who
        assert all((n is not None) == employee for n in notes), (who, notes)
    else:
        assert notes == []


@pytest.mark.backend
async def test_out_of_scope_answers_like_nonexistent(services: Services) -> None:
    """A hidden id and an id that does not exist get the very same response."""
    falcon = (await _all_spaces(services))["Project Falcon"]
    erin = await run(
        services,
        "erin@corp.example",
        "query($s: ID!) { questions(spaceId: $s) { edges { node { id } } } }",
        {"s": falcon},
    )
    hidden_question = erin.data["questions"]["edges"][0]["node"]["id"]
    from gateway.domain.ids import decode, encode

    ref = decode(falcon)
    missing_space = encode("Space", ref.store, "987654")
    missing_question = encode("Question", ref.store, "987654")
    for who in ("guest", "paula@partner.example", "carl@contractor.example", "sam@corp.example"):
        for field, hidden, missing in (
            ("space", falcon, missing_space),
            ("question", hidden_question, missing_question),
            ("node", hidden_question, missing_question),
            ("node", falcon, missing_space),
        ):
            query = f"query($id: ID!) {{ {field}(id: $id) {{ id }} }}"
            a = await run(services, who, query, {"id": hidden})
            b = await run(services, who, query, {"id": missing})
            assert a.data == b.data == {field: None}, (who, field)
            assert a.errors is None and b.errors is None
