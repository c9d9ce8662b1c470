"""Expert search per persona, on every store backend: who is an expert on what, for whom.

Counted only from what the caller may read: hana's question in HR private makes her the
expert on compensation for HR's members and for nobody else, and paula's Aurora
question counts only where Aurora is readable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from gateway.cli import demo_principal
from gateway.schema import build_schema
from gateway.schema.context import build_context
from tests.personas import PERSONAS, run
from tests.schema.test_statement_budget import _counting

if TYPE_CHECKING:
    from gateway.runtime.services import Services

pytestmark = pytest.mark.backend

EXPERTS = """query($tag: String, $text: String, $first: Int, $after: String) {
  experts(tag: $tag, text: $text, first: $first, after: $after) {
    edges { cursor node { acceptedAnswers answers questions
      person { id displayName } bestAnswers { id body accepted } } }
    pageInfo { hasNextPage endCursor }
  }
}"""

EVERYONE = set(PERSONAS)
EMPLOYEES = {"erin@corp.example", "hana@corp.example", "sam@corp.example", "mia@corp.example"}
AURORA_READERS = EMPLOYEES | {"paula@partner.example", "tara@customer.example"}

PAIRING = [("Erin Engel", 1, 1, 0), ("Tara Thompson", 0, 1, 0), ("Mo Müller", 0, 0, 1)]
BATTERY = [("Erin Engel", 1, 1, 0), ("Paula Perez", 0, 0, 1)]
COMPENSATION = [("Hana Holm", 0, 0, 1)]

ENGINEERING_READERS = EMPLOYEES | {"carl@contractor.example"}
IPV6 = [("Tara Thompson", 0, 0, 1)]
# erin's escalation of tara's question into Engineering Q&A quotes it: one more question.
IPV6_INTERNALLY = [("Erin Engel", 0, 0, 1), *IPV6]

Expected = list[tuple[str, int, int, int]]
# (subject, who sees these experts, the experts, what everyone else sees).
TABLE: list[tuple[dict[str, str], set[str], Expected, Expected]] = [
    ({"tag": "pairing"}, EVERYONE, PAIRING, []),
    ({"tag": "PAIRING "}, EVERYONE, PAIRING, []),  # tags are compared lower-cased
    ({"tag": "battery"}, AURORA_READERS, BATTERY, []),
    ({"tag": "compensation"}, {"hana@corp.example"}, COMPENSATION, []),
    ({"text": "ipv6"}, ENGINEERING_READERS, IPV6_INTERNALLY, IPV6),
    # Only the archived "Pairing the v1 hub" (mo's, erin answered) has it: archived content
    # counts for nobody, the moderators (mia) included; nor does it add to "pairing" above.
    ({"tag": "legacy"}, EVERYONE, [], []),
]


def _ranking(data: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    return [
        (
            e["node"]["person"]["displayName"],
            e["node"]["acceptedAnswers"],
            e["node"]["answers"],
            e["node"]["questions"],
        )
        for e in data["experts"]["edges"]
    ]


@pytest.mark.parametrize("who", PERSONAS)
async def test_experts_per_persona(services: Services, who: str) -> None:
    for subject, readers, expected, otherwise in TABLE:
        result = await run(services, who, EXPERTS, subject)
        assert result.errors is None, result.errors
        assert _ranking(result.data) == (expected if who in readers else otherwise), who


async def test_an_expert_s_rank_ignores_what_the_caller_cannot_read(services: Services) -> None:
    """Over everything: erin's Engineering answer counts for its readers, never for paula;
    hana's HR question never shows to anyone but HR; omar's Falcon answer only to Falcon."""
    paula = await run(services, "paula@partner.example", EXPERTS, {"first": 100})
    hana = await run(services, "hana@corp.example", EXPERTS, {"first": 100})
    erin = await run(services, "erin@corp.example", EXPERTS, {"first": 100})
    ranked = {who: _ranking(r.data) for who, r in (("p", paula), ("h", hana), ("e", erin))}
    assert ranked["p"][0][0] == "Erin Engel" and ranked["e"][0][0] == "Erin Engel"
    # Community (pairing, dark mode) and Aurora: what paula may read of erin's answers.
    assert ranked["p"][0][1:3] == (3, 3)
    # erin reads Falcon and Engineering Q&A too: the build cache and staging credentials.
    assert ranked["e"][0][1:3] == (4, 4)
    assert "Hana Holm" not in {r[0] for r in ranked["p"] + ranked["e"]}
    assert ("Hana Holm", 0, 0, 1) in ranked["h"]
    bodies = {
        a["body"]
        for r in (paula, erin)
        for e in r.data["experts"]["edges"]
        for a in e["node"]["bestAnswers"]
    }
    assert "Approved with two comments." in bodies  # omar's Falcon answer, for erin
    assert "Approved with two comments." not in str(paula.data)


async def test_best_answers_are_the_expert_s_own_best_first(services: Services) -> None:
    result = await run(services, "erin@corp.example", EXPERTS, {"first": 1})
    [edge] = result.data["experts"]["edges"]
    best = edge["node"]["bestAnswers"]
    assert len(best) == 3 and all(a["accepted"] for a in best)
    assert edge["node"]["person"]["displayName"] == "Erin Engel"


async def test_pages_follow_one_another_without_gaps(services: Services) -> None:
    whole = await run(services, "mia@corp.example", EXPERTS, {"first": 100})
    everyone = _ranking(whole.data)
    assert len(everyone) > 3
    seen: list[tuple[str, int, int, int]] = []
    after = None
    while True:
        page = await run(services, "mia@corp.example", EXPERTS, {"first": 2, "after": after})
        assert page.errors is None
        seen.extend(_ranking(page.data))
        info = page.data["experts"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert seen == everyone


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"tag": " "}, "tag must be 1 to 64 characters"),
        ({"text": ""}, "text must be 1 to 200 characters"),
        ({"text": "x" * 201}, "text must be 1 to 200 characters"),
        ({"after": "not-a-cursor"}, "invalid cursor"),
        ({"first": 0}, "first must be between"),
    ],
)
async def test_bad_arguments_are_refused_with_a_code(
    services: Services, variables: dict[str, Any], message: str
) -> None:
    result = await run(services, "erin@corp.example", EXPERTS, variables)
    assert result.data is None or result.data.get("experts") is None
    assert result.errors is not None and message in result.errors[0].message
    assert result.errors[0].extensions and result.errors[0].extensions.get("code")


@pytest.mark.parametrize("who", ["guest", "paula@partner.example", "erin@corp.example"])
async def test_statements_do_not_grow_with_the_number_of_experts(
    services: Services, who: str
) -> None:
    """Per store: the counts (one aggregate), the page's best answers (one), its people (at
    most one): a page of all the experts costs no more statements than one of two."""
    schema = build_schema(services.settings)
    context = await build_context(services, demo_principal(who, ()))
    budgets = []
    for first in (2, 50):
        context.forget_reads()
        with _counting(services) as seen:
            result = await schema.execute(EXPERTS, {"first": first}, context_value=context)
        assert result.errors is None, result.errors
        assert result.data["experts"]["edges"]
        budgets.append({store: len(statements) for store, statements in seen.items()})
        assert all(n <= 3 for n in budgets[-1].values()), seen
    assert len(budgets) == 2
