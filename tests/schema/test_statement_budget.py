"""The front page costs at most three statements per store, and the caller one.

The page is the benchmark's (bench.common.QUERY): twenty questions with their tags,
answer counts, authors and spaces. Each store's engine counts what it executes while
the caller is built (memberships) and while the page is served, for a guest, a partner
and an employee of the demo data, on every reachable backend.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import event

from bench.common import QUERY
from gateway.cli import demo_principal
from gateway.schema import build_schema
from gateway.schema.context import build_context

if TYPE_CHECKING:
    from collections.abc import Iterator

    from gateway.runtime.services import Services

# At most this many statements per store for the page (besides the caller's).
PAGE_BUDGET = 3


@contextmanager
def _counting(services: Services) -> Iterator[dict[str, list[str]]]:
    """The SQL each store executes inside the block, by store name."""
    seen: dict[str, list[str]] = {name.value: [] for name in services.stores}
    listeners = []
    for name, store in services.stores.items():

        def record(_conn, _cursor, sql: str, *_args: object, name: str = name.value) -> None:
            seen[name].append(" ".join(sql.split()))

        engine = store.engine.sync_engine
        event.listen(engine, "before_cursor_execute", record)
        listeners.append((engine, record))
    try:
        yield seen
    finally:
        for engine, fn in listeners:
            event.remove(engine, "before_cursor_execute", fn)


async def _measure(
    services: Services, who: str
) -> tuple[dict[str, list[str]], dict[str, list[str]], int]:
    """The statements of building ``who``'s caller, those of serving them the page, and
    how many questions the page showed."""
    schema = build_schema(services.settings)
    principal = demo_principal(who, ())
    with _counting(services) as caller:
        context = await build_context(services, principal)
    with _counting(services) as page:
        result = await schema.execute(QUERY, context_value=context)
    assert result.errors is None, result.errors
    return caller, page, len(result.data["questions"]["edges"])


@pytest.mark.backend
@pytest.mark.parametrize("who", ["guest", "paula@partner.example", "erin@corp.example"])
async def test_the_front_page_fits_its_statement_budget(services: Services, who: str) -> None:
    caller, page, shown = await _measure(services, who)
    assert shown > 0  # the page has questions, with authors and spaces to load
    for store, statements in caller.items():
        # Memberships: one statement per store for a caller with an email, none for a guest.
        assert len(statements) == (0 if who == "guest" else 1), (store, statements)
    for store, statements in page.items():
        assert len(statements) <= PAGE_BUDGET, (store, statements)
