"""The per-request context every resolver sees: who asks, what they may see, the loaders."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gateway.errors import StoreDown
from gateway.guard import guarded
from gateway.policies.compiler import Authorizer
from gateway.policies.permissions import Action
from gateway.schema.loaders import Loaders

if TYPE_CHECKING:
    from strawberry.types import Info

    from gateway.config import Settings
    from gateway.domain import Membership, StoreName
    from gateway.policies.scope import Scope
    from gateway.principal import Principal
    from gateway.records import Records
    from gateway.services import Services
    from gateway.stores import Store


@dataclass
class Context:
    principal: Principal
    authorizer: Authorizer
    stores: dict[StoreName, Store]
    settings: Settings
    loaders: Loaders
    records: Records
    now: datetime
    # Stores that failed while answering part of a list: reported next to the data.
    partial_failures: list[tuple[StoreDown, list[str | int]]] = field(default_factory=list)

    @property
    def read_scope(self) -> Scope:
        return self.authorizer.scope(Action.READ)

    def report(self, failures: list[StoreDown], path: list[str | int]) -> None:
        """Keep a failed store's error next to the other store's data at ``path``."""
        self.partial_failures.extend((failure, path) for failure in failures)


def context_of(info: Info) -> Context:
    """The request context of a resolver (typed, so resolvers need not cast)."""
    return info.context


async def build_context(
    services: Services, principal: Principal, now: datetime | None = None
) -> Context:
    """Attach the principal's memberships from every store, then compile their grants."""
    now = now or datetime.now(UTC)
    memberships: list[Membership] = []
    email = principal.verified_email
    if email is not None:
        stores = services.stores.items()
        results = await asyncio.gather(
            *(guarded(name, store.memberships_for(email)) for name, store in stores),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, StoreDown):
                continue  # that store's data is unavailable anyway; its queries will say so
            if isinstance(result, BaseException):
                raise result
            memberships.extend(result)
    principal = principal.with_memberships(tuple(memberships))
    authorizer = Authorizer(services.policy, principal, now)
    return Context(
        principal=principal,
        authorizer=authorizer,
        stores=services.stores,
        settings=services.settings,
        loaders=Loaders(services.stores, authorizer, now),
        records=services.records,
        now=now,
    )
