"""The per-request context every resolver sees: who asks, what they may see, the loaders."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gateway.domain import StoreName
from gateway.errors import StoreDown
from gateway.guard import STORE_FAILURES, guarded
from gateway.policies.compiler import Authorizer
from gateway.policies.permissions import Action
from gateway.records import AuditEntry, Outcome
from gateway.schema.loaders import Loaders

if TYPE_CHECKING:
    from strawberry.types import Info

    from gateway.config import Settings
    from gateway.domain import Membership
    from gateway.mentions import NotificationHub
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
    hub: NotificationHub
    services: Services
    now: datetime
    # Stores that failed while answering part of a list: reported next to the data.
    partial_failures: list[tuple[StoreDown, list[str | int]]] = field(default_factory=list)
    # A websocket's connection_init payload (graphql-transport-ws); see gateway.app.
    connection_params: dict[str, Any] | None = None

    @property
    def read_scope(self) -> Scope:
        return self.authorizer.read_scope()

    def report(self, failures: list[StoreDown], path: list[str | int]) -> None:
        """Keep a failed store's error next to the other store's data at ``path``."""
        self.partial_failures.extend((failure, path) for failure in failures)


log = logging.getLogger("gateway.context")


def context_of(info: Info) -> Context:
    """The request context of a resolver (typed, so resolvers need not cast)."""
    return info.context


async def build_context(
    services: Services, principal: Principal, now: datetime | None = None
) -> Context:
    """Attach the principal's memberships from every store, then compile their grants.

    Invitations to the principal's verified email are bound here, on the first request
    after they were issued (a login, or a front-end's bearer call): until then they grant
    nothing, and an expired or revoked one never binds.
    """
    now = now or datetime.now(UTC)
    memberships: list[Membership] = []
    if principal.verified_email is not None:
        results = await asyncio.gather(
            *(
                guarded(name, _memberships(services, store, principal, now))
                for name, store in services.stores.items()
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, StoreDown):
                continue  # that store's data is unavailable anyway; its queries will say so
            if isinstance(result, BaseException):
                raise result
            memberships.extend(result)
    if principal.trust_rules:
        principal = await _with_trust(services, principal)
    if not principal.is_guest:
        try:
            await services.records.remember(principal, now)
        except STORE_FAILURES as exc:  # reads go on; mentions of them fall back to memberships
            log.warning("could not record %s as seen: %s", principal.id, type(exc).__name__)
    principal = principal.with_memberships(tuple(memberships))
    authorizer = Authorizer(services.policy, principal, now)
    return Context(
        principal=principal,
        authorizer=authorizer,
        stores=services.stores,
        settings=services.settings,
        loaders=Loaders(services.stores, authorizer, now),
        records=services.records,
        hub=services.hub,
        services=services,
        now=now,
    )


async def _with_trust(services: Services, principal: Principal) -> Principal:
    """Add the personas the community store's trust level grants (the provider's
    ``community_trust_level`` rules); a store that is down grants none."""
    store = services.stores.get(StoreName.COMMUNITY)
    email = principal.verified_email
    if store is None or email is None:
        return principal
    try:
        level = await guarded(StoreName.COMMUNITY, store.trust_level(email))
    except StoreDown:
        return principal
    granted = {p for p, minimum in principal.trust_rules if level is not None and level >= minimum}
    if not granted:
        return principal
    return dataclasses.replace(principal, roles=principal.roles | granted)


async def _memberships(
    services: Services, store: Store, principal: Principal, now: datetime
) -> list[Membership]:
    email = principal.verified_email
    author = principal.as_author()
    assert email is not None and author is not None
    found = await store.memberships_for(email)
    waiting = [m for m in found if m.pending and (m.expires_at is None or m.expires_at > now)]
    if not waiting:
        return found
    bound = await store.accept_invitations(author, now)
    if bound:
        await services.records.record(
            AuditEntry(
                at=now,
                actor=principal.id,
                issuer=principal.issuer,
                action=Action.JOIN.value,
                outcome=Outcome.OK,
                store=store.name.value,
                space_key=None,
                target=None,
                detail={
                    "operation": "bindInvitations",
                    "spaces": sorted(m.space_key for m in waiting),
                },
            )
        )
    return await store.memberships_for(email)
