"""The policy's administration as a command has it: the stores, the records database and
the policy store of the configuration, opened for the command's length."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from gateway.config import Settings
    from gateway.policies.admin.changes import PolicyAdmin

__all__ = ["policy_admin"]


@contextlib.asynccontextmanager
async def policy_admin(settings: Settings) -> AsyncIterator[PolicyAdmin]:
    """The stores, the records database and the policy store, as a running gateway has
    them (tables this version added are created, as `serve` would; nothing is dropped)."""
    from gateway.policies.admin.changes import PolicyAdmin
    from gateway.policies.store import PolicyStore
    from gateway.records import Records
    from gateway.runtime.services import invariant_source, open_stores, policy_source

    if settings.zero_config:
        settings.data_dir.mkdir(parents=True, exist_ok=True)  # as `serve` makes it
    stores = open_stores(settings)
    records = Records.for_settings(settings)
    try:
        for store in stores.values():
            await store.create_schema()
        await records.create_schema()
        policy_store = PolicyStore(records.engine, policy_source(settings))
        await policy_store.create_schema()
        invariants = invariant_source(settings, records.engine)
        await invariants.refresh()
        # A running gateway puts a change in force itself (it watches the source).
        yield PolicyAdmin(
            policy_store,
            stores,
            records,
            install=lambda _index: None,
            invariants=invariants,
        )
    finally:
        for store in stores.values():
            await store.close()
        await records.close()
