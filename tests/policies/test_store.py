"""Policy storage: versions, optimistic concurrency, the file and the database source."""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

import casbin
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy_adapter import Adapter, CasbinRule

from gateway.config import REPO_POLICY
from gateway.policies.export import digest
from gateway.policies.policy import MODEL_PATH, Policy
from gateway.policies.store import (
    DatabaseSource,
    FileSource,
    PolicyStore,
    StaleVersion,
    VersionKind,
    policy_versions,
)
from gateway.records import Records

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from tests.databases import DatabaseFactory

GRANT = "p, partner, internal/open/*, space, read, allow"


def _with(policy: Policy, *lines: str) -> Policy:
    from gateway.policies.export import canonical

    return Policy.parse(canonical(policy) + "".join(f"{x}\n" for x in lines), source="edit")


@pytest.fixture
async def records(databases: DatabaseFactory) -> AsyncIterator[Records]:
    built = Records(await databases.create("records"))
    await built.create_schema()
    try:
        yield built
    finally:
        await built.close()


@pytest.mark.backend
async def test_the_database_source_keeps_the_policy_in_the_adapters_table(
    records: Records,
) -> None:
    store = PolicyStore(records.engine, DatabaseSource())
    await store.create_schema()
    default = Policy.from_file(REPO_POLICY)
    assert not (await store.read_source()).rules  # nothing there yet

    first = await store.commit(default, expected=0, actor="gateway", kind=VersionKind.INITIAL)
    assert (first.number, first.parent, first.sha256) == (1, 0, digest(default))
    read = await store.read_source()
    assert digest(read) == digest(default)  # same lines, same order, same hash
    async with records.engine.connect() as conn:
        rows = await conn.scalar(select(func.count()).select_from(CasbinRule.__table__))
    assert rows == len(default.rules) + len(default.links)

    changed = _with(default, GRANT)
    second = await store.commit(
        changed, expected=1, actor="user:sam@corp.example", kind=VersionKind.APPLY
    )
    assert second.number == 2
    assert digest(await store.read_source()) == digest(changed)
    assert [v.number for v in await store.versions()] == [2, 1]
    assert (await store.version(1)).policy().lines() == default.lines()


async def test_other_casbin_tools_read_the_database_policy(tmp_path: Path) -> None:
    """The rows are pycasbin's own: a plain Casbin enforcer with the adapter enforces them."""
    records = Records(f"sqlite+aiosqlite:///{tmp_path / 'records.db'}")
    store = PolicyStore(records.engine, DatabaseSource())
    await store.create_schema()
    default = Policy.from_file(REPO_POLICY)
    await store.commit(default, expected=0, actor="gateway", kind=VersionKind.INITIAL)
    await records.close()

    engine = create_engine(f"sqlite:///{tmp_path / 'records.db'}")
    try:
        enforcer = casbin.Enforcer(str(MODEL_PATH), Adapter(engine, create_table=False))
        assert len(enforcer.get_policy()) == len(default.rules)
        assert enforcer.enforce("employee", "internal/open/eng", "space", "read")
        assert not enforcer.enforce("partner", "internal/open/eng", "space", "read")
    finally:
        engine.dispose()


@pytest.mark.backend
async def test_a_change_against_an_old_version_is_stale_and_changes_nothing(
    records: Records,
) -> None:
    store = PolicyStore(records.engine, DatabaseSource())
    await store.create_schema()
    default = Policy.from_file(REPO_POLICY)
    await store.commit(default, expected=0, actor="gateway", kind=VersionKind.INITIAL)
    await store.commit(_with(default, GRANT), expected=1, actor="a", kind=VersionKind.APPLY)

    other = _with(default, "p, contractor, internal/shared/*, space, read, allow")
    with pytest.raises(StaleVersion) as raised:
        await store.commit(other, expected=1, actor="b", kind=VersionKind.APPLY)
    assert (raised.value.expected, raised.value.latest) == (1, 2)
    assert await store.latest_number() == 2
    assert digest(await store.read_source()) == digest(_with(default, GRANT))


@pytest.mark.backend
async def test_of_concurrent_changes_to_one_version_exactly_one_lands(records: Records) -> None:
    store = PolicyStore(records.engine, DatabaseSource())
    await store.create_schema()
    default = Policy.from_file(REPO_POLICY)
    await store.commit(default, expected=0, actor="gateway", kind=VersionKind.INITIAL)
    edits = [_with(default, f"p, user:u{i}@corp.example, *, space, read, allow") for i in range(6)]
    results = await asyncio.gather(
        *(
            store.commit(e, expected=1, actor=f"user:u{i}", kind=VersionKind.APPLY)
            for i, e in enumerate(edits)
        ),
        return_exceptions=True,
    )
    landed = [r for r in results if not isinstance(r, BaseException)]
    assert len(landed) == 1, results
    assert all(isinstance(r, StaleVersion) for r in results if r not in landed)
    winner = edits[results.index(landed[0])]
    assert digest(await store.read_source()) == digest(winner)
    async with records.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(policy_versions)) == 2


async def test_the_file_source_is_replaced_whole_and_recorded(tmp_path: Path) -> None:
    path = tmp_path / "policies.csv"
    path.write_text(REPO_POLICY.read_text())
    os.chmod(path, 0o640)
    records = Records(f"sqlite+aiosqlite:///{tmp_path / 'records.db'}")
    await records.create_schema()
    store = PolicyStore(records.engine, FileSource(path))
    await store.create_schema()
    try:
        first = await store.record(await store.read_source(), actor="file")
        assert (first.number, first.kind) == (1, VersionKind.INITIAL)
        # Recording the same policy again (a replica starting) adds no version.
        assert (await store.record(Policy.from_file(path), actor="file")).number == 1

        changed = _with(first.policy(), GRANT)
        await store.commit(changed, expected=1, actor="cli:root", kind=VersionKind.APPLY)
        assert digest(Policy.from_file(path)) == digest(changed)
        assert path.stat().st_mode & 0o777 == 0o640
        assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]  # no temp file left

        # Edited by hand: the next record names it an edit of its own.
        path.write_text(path.read_text() + "p, guest, community/members/*, space, read, allow\n")
        edited = await store.record(Policy.from_file(path), actor=str(path))
        assert (edited.number, edited.kind, edited.parent) == (3, VersionKind.EDIT, 2)
        [audited] = await records.entries(action="policy_edit")
        assert audited.detail["added"] == ["p, guest, community/members/*, space, read, allow"]
    finally:
        await records.close()
