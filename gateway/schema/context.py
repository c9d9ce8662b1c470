"""The per-request context every resolver sees: the caller, and the request's loaders."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from strawberry.dataloader import DataLoader

from gateway.runtime.caller import build_caller
from gateway.schema.loaders import Loaders

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from datetime import datetime

    from strawberry.types import Info

    from gateway.config import Settings
    from gateway.domain.errors import StoreDown
    from gateway.domain.model import Space, StoreName
    from gateway.domain.principal import Principal
    from gateway.policies.compiler import Authorizer
    from gateway.records import Records
    from gateway.records.hub import NotificationHub
    from gateway.runtime.caller import Caller
    from gateway.runtime.services import Services
    from gateway.stores.interface import Store
    from gateway.stores.scope import Scope


@dataclass
class Context:
    """A :class:`~gateway.runtime.caller.Caller` as GraphQL serves it: with loaders that
    batch and cache the request's lookups, and the store failures reported next to the
    data."""

    caller: Caller
    settings: Settings
    services: Services
    # Stores that failed while answering part of a list: reported next to the data.
    partial_failures: list[tuple[StoreDown, list[str | int] | None]] = field(default_factory=list)
    # A websocket's connection_init payload (graphql-transport-ws); see gateway.http.app.
    connection_params: dict[str, Any] | None = None
    # Built on first use: an answer from the response cache needs none.
    _loaders: Loaders | None = None

    @property
    def loaders(self) -> Loaders:
        """The request's loaders (built on first use)."""
        if self._loaders is None:
            caller = self.caller
            self._loaders = Loaders(caller.stores, caller.authorizer, caller.now)
        return self._loaders

    @loaders.setter
    def loaders(self, value: Loaders) -> None:
        self._loaders = value

    def _find_space(self, key: tuple[StoreName, str]) -> Awaitable[Space | None]:
        return self.loaders.space.load(key)

    @property
    def principal(self) -> Principal:
        """Who asks. An answer that read it depends on who asks, so it is never shared
        (the response cache's :class:`~gateway.policies.compiler.DecisionLog`)."""
        self._personal()
        return self.caller.principal

    def owns(self, email: str | None) -> bool:
        """Whether ``email`` is the caller's own verified email. A caller with none owns
        nothing, like every other such caller: only then is the answer still shareable
        (with them alone)."""
        mine = self.caller.principal.verified_email
        decided = self.caller.authorizer.log
        if mine is None:
            if decided is not None:
                decided.guest_only = True
            return False
        self._personal()
        return email is not None and email.lower() == mine

    def _personal(self) -> None:
        decided = self.caller.authorizer.log
        if decided is not None:
            decided.personal = True

    @property
    def authorizer(self) -> Authorizer:
        return self.caller.authorizer

    @property
    def stores(self) -> dict[StoreName, Store]:
        return self.caller.stores

    @property
    def records(self) -> Records:
        """The gateway's own records (notifications, the audit log): what an answer reads
        there is not covered by the stores' generations, so it is never cached."""
        self._personal()
        return self.caller.records

    @property
    def hub(self) -> NotificationHub:
        return self.caller.hub

    @property
    def now(self) -> datetime:
        return self.caller.now

    @property
    def read_scope(self) -> Scope:
        return self.caller.read_scope

    def adopt(self, fresh: Context) -> None:
        """Take a freshly built context's grants in place (a websocket's bearer token, a
        subscriber's re-read): the principal, their compiled policy, the clock and the
        loaders. The stores and the failures already reported stay this context's."""
        self.caller.principal = fresh.caller.principal
        self.caller.authorizer = fresh.caller.authorizer
        self.caller.now = fresh.caller.now
        self.caller.space_finder = self._find_space
        self._loaders = fresh._loaders

    async def refresh(self) -> None:
        """Re-read the caller's grants in place (their memberships changed, a policy
        changed): a subscription's resolvers hold this context for the whole connection,
        and a mutation's payload must show the membership it created."""
        principal = dataclasses.replace(self.caller.principal, memberships=())
        self.adopt(await build_context(self.services, principal))

    def forget_reads(self) -> None:
        """Drop what this request's loaders read: a write made it stale (the payload of a
        mutation is read after it, e.g. an accepted answer's question)."""
        if self._loaders is None:
            return
        for loader in vars(self._loaders).values():
            if isinstance(loader, DataLoader):
                loader.clear_all()

    def report(self, failures: list[StoreDown], path: list[str | int] | None) -> None:
        """Keep a failed store's error next to the other store's data at ``path`` (None:
        the whole response, e.g. the caller's memberships there could not be read)."""
        self.partial_failures.extend((failure, path) for failure in failures)


def context_of(info: Info) -> Context:
    """The request context of a resolver (typed, so resolvers need not cast)."""
    return info.context


def context_for(services: Services, caller: Caller) -> Context:
    """The GraphQL context of a caller: its write path finds spaces through the loaders."""
    context = Context(caller=caller, settings=services.settings, services=services)
    caller.space_finder = context._find_space
    caller.after_write.append(context.forget_reads)
    # Not tied to one field: the whole response lacks what that store would grant.
    context.report(caller.missing, None)
    return context


async def build_context(
    services: Services, principal: Principal, now: datetime | None = None
) -> Context:
    """The caller of this request (:func:`~gateway.runtime.caller.build_caller`: their
    memberships, trust level and invitations, their compiled grants), as GraphQL serves it."""
    return context_for(services, await build_caller(services, principal, now))
