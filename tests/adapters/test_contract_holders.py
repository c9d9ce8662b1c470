"""The store contract: ``access_holders``, everyone holding a membership or a pending
invitation, for administrators' tools over people who never logged in.

Every test runs against each adapter on every reachable backend, with the demo data loaded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from gateway.domain.demo import demo_data
from gateway.domain.model import Author, SpaceRole
from gateway.stores.interface import NotSupported
from tests.adapters.contract import space_ids, statements

if TYPE_CHECKING:
    from gateway.stores.admin_rows import Holder
    from tests.adapters.contract import Adapter

pytestmark = pytest.mark.backend


async def _all_holders(store: Any, limit: int) -> tuple[list[Holder], int]:
    """Every holder, page by page; and how many pages it took."""
    found: list[Holder] = []
    after: str | None = None
    pages = 0
    while True:
        page = await store.access_holders(after=after, limit=limit)
        pages += 1
        found.extend(page.items)
        assert len(page.items) <= limit
        if not page.has_next:
            return found, pages
        assert len(page.items) == limit
        after = page.items[-1].email


def _asked(adapter: Adapter) -> list[str]:
    return [p.email for p in demo_data(adapter.loaded_at).people]


async def test_holders_are_exactly_those_with_memberships(adapter: Adapter, store: Any) -> None:
    held = await store.memberships_of(_asked(adapter))
    found, _ = await _all_holders(store, 100)
    emails = [h.email for h in found]
    assert emails == sorted(held), "each holder once, by email, none missing"
    assert all(h.email == h.email.lower() and h.display_name for h in found)


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
async def test_holders_page_by_email_in_one_statement_each(
    adapter: Adapter, store: Any, limit: int
) -> None:
    everyone, _ = await _all_holders(store, 100)
    with statements(store) as sent:
        paged, pages = await _all_holders(store, limit)
    assert paged == everyone
    assert len(sent) == pages
    assert pages == max(1, -(-len(everyone) // limit))  # a full last page says no more


async def test_holders_after_the_last_and_limit_zero(adapter: Adapter, store: Any) -> None:
    everyone, _ = await _all_holders(store, 100)
    last = await store.access_holders(after=everyone[-1].email, limit=5)
    assert last.items == [] and not last.has_next
    nothing = await store.access_holders(after=None, limit=0)
    assert nothing.items == [] and nothing.has_next


async def test_holders_carry_the_stores_record(adapter: Adapter, store: Any) -> None:
    people = {p.email: p for p in demo_data(adapter.loaded_at).people}
    found, _ = await _all_holders(store, 100)
    for holder in found:
        person = people[holder.email]
        assert holder.display_name == person.display_name
        if holder.trust_level is not None:  # a forum account
            assert holder.trust_level == person.community_trust
            assert holder.external is None
        else:  # a profile of the corporate network
            assert holder.external is (not person.internal)
        assert holder.profile


async def test_an_invitee_holds_until_revoked(adapter: Adapter, store: Any) -> None:
    spaces = await space_ids(store, adapter.everything)
    sponsor = await store.ensure_author(Author("erin@corp.example", "Erin", "Corp", False))
    now = datetime.now(UTC)
    try:
        invitation = await store.invite(
            next(iter(spaces.values())),
            "Newcomer@Partner.example",
            SpaceRole.GUEST,
            sponsor,
            expires_at=now + timedelta(days=3),
            now=now,
        )
    except NotSupported:
        # A store without invitations: nobody is a holder by invitation there.
        found, _ = await _all_holders(store, 100)
        assert "newcomer@partner.example" not in {h.email for h in found}
        return
    found, _ = await _all_holders(store, 100)
    invitee = next(h for h in found if h.email == "newcomer@partner.example")
    assert not invitee.profile and invitee.display_name == invitee.email
    assert [h.email for h in found] == sorted({h.email for h in found})
    await store.revoke_invitation(invitation.id, now)
    found, _ = await _all_holders(store, 100)
    assert "newcomer@partner.example" not in {h.email for h in found}
