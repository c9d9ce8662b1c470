"""Property: ``experts`` is the ranking computed over what the caller can read, and nothing else.

Hypothesis draws plans of steps: questions asked and answered by demo people in any space of
either store, answers accepted, posts hidden and shown again, and checks by a persona on a
subject (a tag, a text, or everything). Each check computes the ranking the slow way, from
the questions and answers the persona reads through the API (``questions``/``search`` and
their ``answers``), and compares it with ``experts``: the same people with the same counts,
in ranking order. On every store backend.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from gateway.domain.demo import PEOPLE
from gateway.domain.model import Author
from gateway.stores.scope import Grants, StoreScope
from tests.personas import PERSONAS, run

if TYPE_CHECKING:
    from gateway.domain.model import Answer, Question, Space, StoreName
    from gateway.runtime.services import Services

AUTHORS = [p for p in PEOPLE if p.handle in {"erin", "hana", "omar", "paula", "tara", "mo", "carl"}]
TAGS = ("pairing", "network", "falcon", "hr")
SUBJECTS: tuple[dict[str, str], ...] = (
    {},
    {"tag": "pairing"},
    {"tag": "network"},
    {"tag": "falcon"},
    {"tag": "hr"},
    {"text": "sensor"},
    {"text": "e"},
)
STEPS = st.one_of(
    st.tuples(st.just("ask"), st.integers(0, 99), st.integers(0, 99), st.integers(0, 99)),
    st.tuples(st.just("answer"), st.integers(0, 99), st.integers(0, 999)),
    st.tuples(st.just("accept"), st.integers(0, 999)),
    st.tuples(st.just("hide"), st.integers(0, 999), st.booleans(), st.booleans()),
    *[st.tuples(st.just("check"), st.integers(0, 99), st.integers(0, 99))] * 2,
)
PLANS = 5

READ = """query($tag: String) { questions(first: 100, tag: $tag) { edges { node {
  author { id } answers(first: 100) { edges { node { accepted author { id } } } } } } } }"""
SEARCH = """query($text: String!) { search(text: $text, first: 100) { edges { node {
  author { id } answers(first: 100) { edges { node { accepted author { id } } } } } } } }"""
EXPERTS = """query($tag: String, $text: String) { experts(tag: $tag, text: $text, first: 100) {
  edges { node { acceptedAnswers answers questions person { id } } } } }"""


def _plans() -> list[list[tuple[Any, ...]]]:
    drawn: list[list[tuple[Any, ...]]] = []

    @seed(20261215)
    @settings(
        max_examples=PLANS, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(st.lists(STEPS, min_size=8, max_size=24))
    def collect(plan: list[tuple[Any, ...]]) -> None:
        drawn.append(plan)

    collect()
    return drawn


async def _oracle(services: Services, who: str, subject: dict[str, str]) -> Counter[Any]:
    """Per person id: (accepted answers, answers, questions) over what ``who`` reads."""
    if "text" in subject:
        result = await run(services, who, SEARCH, subject)
        edges = result.data["search"]["edges"]
    else:
        result = await run(services, who, READ, subject)
        edges = result.data["questions"]["edges"]
    assert result.errors is None, result.errors
    counts: dict[str, list[int]] = {}
    for edge in edges:
        question = edge["node"]
        if question["author"]:
            counts.setdefault(question["author"]["id"], [0, 0, 0])[2] += 1
        for answer in question["answers"]["edges"]:
            if answer["node"]["author"]:
                mine = counts.setdefault(answer["node"]["author"]["id"], [0, 0, 0])
                mine[1] += 1
                mine[0] += answer["node"]["accepted"]
    return Counter({person: tuple(c) for person, c in counts.items()})


async def _check(services: Services, who: str, subject: dict[str, str]) -> None:
    expected = await _oracle(services, who, subject)
    result = await run(services, who, EXPERTS, subject)
    assert result.errors is None, result.errors
    ranked = [
        (n["person"]["id"], n["acceptedAnswers"], n["answers"], n["questions"])
        for n in (e["node"] for e in result.data["experts"]["edges"])
    ]
    assert Counter({r[0]: r[1:] for r in ranked}) == expected, (who, subject)
    assert len({r[0] for r in ranked}) == len(ranked), "one person, one entry"
    counts = [r[1:] for r in ranked]
    assert counts == sorted(counts, reverse=True), "best first"


async def test_experts_equal_the_ranking_over_readable_content(services: Services) -> None:
    # The oracle reads every question with its answers: over the demo's cost limit.
    services.settings = dataclasses.replace(services.settings, max_cost=10**9)
    spaces: list[tuple[StoreName, Space]] = []
    for name, store in services.stores.items():
        everything = StoreScope(name, allow=Grants(everything=True))
        page = await store.list_spaces(everything, kind=None, after=None, limit=100)
        spaces.extend((name, s) for s in page.items)
    questions: list[Question] = []
    answers: list[Answer] = []
    clock = datetime.now(UTC)
    checked = 0
    for plan in _plans():
        for step in plan:
            clock += timedelta(seconds=1)
            kind = step[0]
            if kind == "ask":
                person = AUTHORS[step[1] % len(AUTHORS)]
                name, space = spaces[step[2] % len(spaces)]
                store = services.stores[name]
                author = Author(person.email, person.display_name, person.organisation, False)
                author_id = await store.ensure_author(author)
                tag = TAGS[step[3] % len(TAGS)]
                questions.append(
                    await store.ask_question(
                        space.id,
                        author_id,
                        title=f"About {tag} #{len(questions)}",
                        body="A sensor question" if step[3] % 2 else "Plain",
                        tags=[tag],
                        now=clock,
                    )
                )
            elif kind == "answer" and questions:
                person = AUTHORS[step[1] % len(AUTHORS)]
                question = questions[step[2] % len(questions)]
                store = services.stores[question.store]
                author = Author(person.email, person.display_name, person.organisation, False)
                author_id = await store.ensure_author(author)
                answers.append(
                    await store.answer_question(question.id, author_id, body="Yes.", now=clock)
                )
            elif kind == "accept" and answers:
                answer = answers[step[1] % len(answers)]
                await services.stores[answer.store].accept_answer(answer.id)
            elif kind == "hide" and (answers if step[2] else questions):
                post = (answers if step[2] else questions)[
                    step[1] % len(answers if step[2] else questions)
                ]
                await services.stores[post.store].set_hidden(
                    post.id, answer=step[2], hidden=step[3], now=clock
                )
            elif kind == "check":
                who = PERSONAS[step[1] % len(PERSONAS)]
                await _check(services, who, SUBJECTS[step[2] % len(SUBJECTS)])
                checked += 1
        # And every persona on everything, once per plan.
        for who in PERSONAS:
            await _check(services, who, {})
            checked += 1
    assert checked > len(PERSONAS) * PLANS
