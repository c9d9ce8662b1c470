"""The caller: who asks, what they may see, and what their request is served from.

Built once per request, below every front door (:func:`build_caller`): the principal is
enriched with their memberships in every store, the trust level the community store
grants, and the invitations waiting for their verified email (bound on the first request
after they were issued); a principal who is not a guest is remembered as seen (for
mentions and the policy tools). The GraphQL context wraps a caller
(:class:`gateway.schema.context.Context`); the write path and mentions take one
(:mod:`gateway.writes`), and so can a benchmark, a command or a job, with no GraphQL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from gateway.domain.errors import StoreDown
from gateway.domain.model import StoreName
from gateway.domain.permissions import Action
from gateway.policies.admin.guard import binding_breaks
from gateway.policies.compiler import Authorizer
from gateway.policies.policy import Effect
from gateway.records import AuditEntry, Outcome
from gateway.stores.guard import STORE_FAILURES, NotCalled, guarded

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from gateway.domain.model import Membership, Space
    from gateway.domain.principal import Principal
    from gateway.records import Records
    from gateway.records.hub import NotificationHub
    from gateway.runtime.services import Services
    from gateway.stores.interface import Store
    from gateway.stores.scope import Scope

    SpaceFinder = Callable[[tuple[StoreName, str]], Awaitable["Space | None"]]

log = logging.getLogger("gateway.context")
T = TypeVar("T")


@dataclass
class Caller:
    """One request's caller: their principal (memberships attached), the policy compiled
    for them, the stores as they may use them in this request, the records and the hub,
    and the request's clock."""

    principal: Principal
    authorizer: Authorizer
    # A store whose part of the memberships could not be read is withheld: every call to
    # it fails as the store being unavailable (see :func:`_withhold`).
    stores: dict[StoreName, Store]
    records: Records
    hub: NotificationHub
    now: datetime
    # The stores withheld from this request, for the front door to report.
    missing: list[StoreDown] = field(default_factory=list)
    # How spaces are found through the read scope; the GraphQL context sets its loader's
    # ``load`` here, so one request's lookups are batched and cached.
    space_finder: SpaceFinder | None = None
    # Called once a write of this request is done: what the request read before it (its
    # loaders' caches) may be stale, and its answer must show the write.
    after_write: list[Callable[[], None]] = field(default_factory=list)

    @property
    def read_scope(self) -> Scope:
        return self.authorizer.read_scope()

    async def find_space(self, store: StoreName, space_id: str) -> Space | None:
        """A space by id, through the caller's read scope: None when it does not exist or
        the caller may not read it (the two look alike)."""
        if self.space_finder is not None:
            return await self.space_finder((store, space_id))
        scope = self.read_scope.for_store(store)
        if store not in self.stores or scope.empty:
            return None
        found = await guarded(store, self.stores[store].spaces_by_ids([space_id], scope))
        return found.get(space_id)


async def build_caller(
    services: Services, principal: Principal, now: datetime | None = None
) -> Caller:
    """Attach the principal's memberships from every store, then compile their grants
    (or reuse those compiled for the same policy, roles and active memberships: see
    :class:`gateway.policies.compiler.CompiledCache`).

    Invitations to the principal's verified email are bound here, on the first request
    after they were issued (a login, or a front-end's bearer call): until then they grant
    nothing, and an expired or revoked one never binds.

    The stores are asked at once, each within its own deadline (gateway.stores.guard), so a store
    that does not answer costs at most its deadline and never the other store's part. The
    caller then gets what the answering store grants, an error naming the missing one, and
    nothing from the missing store in this request (see :func:`_withhold`).
    """
    now = now or datetime.now(UTC)
    stores = dict(services.stores)
    names = list(stores) if principal.verified_email is not None else []
    calls: list[Awaitable[Any]] = [
        guarded(name, _memberships(services, stores[name], principal, now)) for name in names
    ]
    if principal.trust_rules:
        calls.append(_with_trust(services, principal))
    results = await asyncio.gather(*calls, return_exceptions=True)
    memberships: list[Membership] = []
    missing: list[StoreDown] = []
    for result in results[: len(names)]:
        if isinstance(result, StoreDown):
            missing.append(result)
        elif isinstance(result, BaseException):
            raise result
        else:
            memberships.extend(result)
    if principal.trust_rules:
        trusted = results[-1]
        if isinstance(trusted, StoreDown):
            missing.append(trusted)
            if _denials_depend_on_trust(services, principal):
                # A deny line the trust level's personas would bring cannot be known:
                # serve nothing rather than risk serving what it denies.
                stores = {n: _withhold(s) for n, s in stores.items()}
        elif isinstance(trusted, BaseException):
            raise trusted
        else:
            principal = trusted
    for down in missing:
        stores[StoreName(down.store)] = _withhold(stores[StoreName(down.store)])
    if not principal.is_guest:
        try:
            await services.records.remember(principal, now)
        except STORE_FAILURES as exc:  # reads go on; mentions of them fall back to memberships
            log.warning("could not record %s as seen: %s", principal.id, type(exc).__name__)
    if memberships or principal.memberships:  # a guest has none to attach (nor to drop)
        principal = principal.with_memberships(tuple(memberships))
    return Caller(
        principal=principal,
        # Compiled once per policy and key (subject, roles, active memberships), then
        # reused: a changed membership or an expiry passing is another key.
        authorizer=Authorizer(services.policy, principal, now, cached=True),
        stores=stores,
        records=services.records,
        hub=services.hub,
        now=now,
        missing=list({d.store: d for d in missing}.values()),
    )


class _Withheld:
    """A store left out of one request: every call fails as the store being unavailable.

    A store whose part of the caller's memberships could not be read must not serve this
    request: a membership can bring a deny line for its space (deny wins), so judging
    that store's spaces without it could show what the policy denies. Memberships only
    ever hold in their own store's spaces (the space key names the store), so the other
    store is judged on complete data and keeps serving.
    """

    def __init__(self, store: Store) -> None:
        self.name = store.name
        self._store = store

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._store, attr)
        if not callable(value):
            return value
        name = self.name.value

        async def refuse(*_args: Any, **_kwargs: Any) -> Any:
            raise NotCalled(
                f"{name} store left out: the caller's memberships there could not be read"
            )

        return refuse


def _withhold(store: Store) -> Store:
    return store if isinstance(store, _Withheld) else cast("Store", _Withheld(store))


def _denials_depend_on_trust(services: Services, principal: Principal) -> bool:
    """Whether a persona the trust level could grant brings a deny line the principal's
    own roles do not: then a missing trust level may hide a denial, anywhere."""
    index = services.policy
    held = index.closure(principal.roles) | index.closure_of(principal.id)
    extra = index.closure({persona for persona, _minimum in principal.trust_rules}) - held
    return any(r.eft is Effect.DENY and r.sub in extra for r in index.policy.rules)


async def _with_trust(services: Services, principal: Principal) -> Principal:
    """Add the personas the community store's trust level grants (the provider's
    ``community_trust_level`` rules). A store that is down raises StoreDown: it grants
    none, and the caller decides what else that means."""
    store = services.stores.get(StoreName.COMMUNITY)
    email = principal.verified_email
    if store is None or email is None:
        return principal
    level = await guarded(
        StoreName.COMMUNITY, _read(services, store, "trust_level", email, store.trust_level)
    )
    granted = {p for p, minimum in principal.trust_rules if level is not None and level >= minimum}
    if not granted:
        return principal
    return dataclasses.replace(principal, roles=principal.roles | granted)


async def _read(
    services: Services,
    store: Store,
    what: str,
    email: str,
    read: Callable[[str], Awaitable[T]],
) -> T:
    """``read(email)``, or what it answered while nothing was written to ``store`` since
    (and not longer ago than ``cache.max_age``): a cached answer then costs no statement."""
    if services.caches is None:
        return await read(email)
    return await services.caches.reads.read(store.name, what, email, lambda: read(email))


async def _memberships(
    services: Services, store: Store, principal: Principal, now: datetime
) -> list[Membership]:
    email = principal.verified_email
    author = principal.as_author()
    assert email is not None and author is not None
    found = await _read(services, store, "memberships", email, store.memberships_for)
    waiting = [m for m in found if m.pending and (m.expires_at is None or m.expires_at > now)]
    if not waiting:
        return found
    broken = await binding_breaks(services.invariants, services.policy, principal, found, now)

    async def audit(outcome: Outcome, **detail: object) -> None:
        spaces = sorted(m.space_key for m in waiting)
        await services.records.record(
            AuditEntry(
                at=now,
                actor=principal.id,
                issuer=principal.issuer,
                action=Action.JOIN.value,
                outcome=outcome,
                store=store.name.value,
                space_key=None,
                target=None,
                detail={"operation": "bindInvitations", "spaces": spaces, **detail},
            )
        )

    if broken:
        # Not bound: the invitations stay pending (granting nothing), the refusal audited.
        await audit(Outcome.DENIED, refused=broken)
        return found
    if await store.accept_invitations(author, now):
        await audit(Outcome.OK)
    return await store.memberships_for(email)
