"""A Caller finds spaces through its read scope without GraphQL: the write path's lookup
for any front door that has no loaders (a command, a job)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from gateway.cli import demo_principal
from gateway.domain import ids
from gateway.runtime.caller import build_caller
from tests.schema.test_read_matrix import MATRIX
from tests.writes.test_writes import space_ids

if TYPE_CHECKING:
    from gateway.runtime.services import Services

pytestmark = pytest.mark.backend


@pytest.mark.parametrize("who", ["erin@corp.example", "paula@partner.example"])
async def test_a_caller_without_loaders_finds_only_spaces_it_may_read(
    services: Services, who: str
) -> None:
    spaces = {name: ids.decode(gid) for name, gid in (await space_ids(services)).items()}
    caller = await build_caller(services, demo_principal(who, ()))
    assert caller.space_finder is None  # no GraphQL context: the store is asked directly
    found = set()
    for name, ref in spaces.items():
        space = await caller.find_space(ref.store, ref.native_id)
        if space is not None:
            assert (space.store, space.id, space.name) == (ref.store, ref.native_id, name)
            found.add(name)
    assert found == MATRIX[who]
    # An id no space has looks exactly like one the caller may not read.
    assert await caller.find_space(next(iter(spaces.values())).store, "999999") is None
