"""What the app builds once at start-up and hands to every request: stores, records, the
policy in force, and the hub that wakes subscribers."""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from adapters.community import CommunityStore
from adapters.internal import InternalStore
from gateway.identity.offboarding import Offboarding
from gateway.policies.admin.changes import PolicyAdmin
from gateway.policies.compiler import PolicyIndex
from gateway.policies.invariant_table import InvariantHistory, InvariantTable, VersionedFile
from gateway.policies.policy import Policy
from gateway.policies.store import (
    DatabaseSource,
    FileSource,
    PolicyStore,
    Source,
    StaleVersion,
    VersionKind,
)
from gateway.records.hub import NotificationHub
from gateway.records.listen import listens
from gateway.runtime.response_cache import (
    GENERATIONS_CHANNEL,
    GENERATIONS_FILE,
    Caches,
    GenerationBoard,
)
from gateway.stores.guard import GuardedStore, guard_store

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from gateway.config import Settings
    from gateway.domain.model import StoreName
    from gateway.identity.dev_issuer import DevIssuer
    from gateway.policies.invariants import InvariantSource
    from gateway.records import Records
    from gateway.stores.interface import Store


@dataclass
class Services:
    settings: Settings
    stores: dict[StoreName, Store]
    policy: PolicyIndex
    dev_issuer: DevIssuer | None
    records: Records
    # Wakes this replica's subscribers (notificationAdded) when a notification is written.
    hub: NotificationHub = field(default_factory=NotificationHub)
    policy_store: PolicyStore = field(init=False)
    # The access invariants no change may break (policy.invariants_file).
    invariants: InvariantSource = field(init=False)
    # The response cache and what it stands on (None: cache.max_age is 0).
    caches: Caches | None = field(init=False)

    def __post_init__(self) -> None:
        # The policy's history lives in the records database (and so does the policy, when
        # policy.store is "database").
        self.policy_store = PolicyStore(self.records.engine, policy_source(self.settings))
        self.invariants = invariant_source(self.settings, self.records.engine)
        self.caches = None
        if self.settings.cache_max_age > 0:
            board = generation_board(self.settings, self.records)
            watch_writes(self.stores, board)
            self.caches = Caches.build(
                board,
                max_age=self.settings.cache_max_age,
                max_bytes=self.settings.cache_max_bytes,
            )

    @property
    def policy_admin(self) -> PolicyAdmin:
        return PolicyAdmin(
            self.policy_store, self.stores, self.records, self._install, self.invariants
        )

    @property
    def offboarding(self) -> Offboarding:
        """Ending a person's access, over the stores and records the app built (the admin
        API's and the page's; the CLI builds its own over the same databases)."""
        idle_timeout = self.settings.session_idle_timeout
        return Offboarding(self.stores, self.records, idle_timeout=idle_timeout)

    def _install(self, index: PolicyIndex) -> None:
        self.policy = index

    async def close(self) -> None:
        for store in self.stores.values():
            await store.close()
        await self.records.close()
        if self.caches is not None:
            self.caches.board.close()


def generation_board(settings: Settings, records: Records) -> GenerationBoard:
    """The stores' generations as every process of this gateway shares them: a file in the
    data directory (the workers and commands of one machine) and, when the records
    database is PostgreSQL, its NOTIFY (replicas elsewhere)."""

    async def announce(store: StoreName) -> None:
        await records.announce(GENERATIONS_CHANNEL, store.value)

    return GenerationBoard(
        settings.data_dir / GENERATIONS_FILE,
        announce if listens(settings.records_url) else None,
    )


def watch_writes(stores: dict[StoreName, Store], board: GenerationBoard) -> None:
    """Have every call that may change a store move its generation on ``board``."""
    for store in stores.values():
        if isinstance(store, GuardedStore):
            store.on_write = board.bump


def open_stores(settings: Settings) -> dict[StoreName, Store]:
    """One adapter per store, each on its own URL (the two may be different engines),
    each behind the guard that gives its calls a deadline and a circuit breaker."""
    adapters: list[Store] = [
        InternalStore(settings.internal_url, timeout=settings.internal_store_timeout),
        CommunityStore(settings.community_url, timeout=settings.community_store_timeout),
    ]
    return {store.name: guard_store(store, settings) for store in adapters}


def seed_policy_files(settings: Settings) -> None:
    """Copy the shipped policy and invariants into the zero-config demo's data directory
    when they are not there yet: the demo changes those copies, never the source tree."""
    for shipped, copy in settings.policy_seeds:
        if not copy.exists():
            copy.parent.mkdir(parents=True, exist_ok=True)
            temporary = copy.with_name(f".{copy.name}.seed")
            shutil.copyfile(shipped, temporary)
            temporary.replace(copy)  # another process seeding at once finds a whole file


def policy_source(settings: Settings) -> Source:
    seed_policy_files(settings)
    if settings.policy_store == "database":
        return DatabaseSource()
    return FileSource(settings.policy_file)


def invariant_source(settings: Settings, engine: AsyncEngine) -> InvariantSource:
    """Where the invariants live: beside the policy in the records database (seeded from
    the invariants file on the very first start) when the policy does, else their file;
    one that exists at start-up must keep loading (a file removed later keeps the last
    good invariants in force, never none)."""
    seed_policy_files(settings)
    if settings.policy_store == "database":
        return InvariantTable(engine, seed=settings.policy_invariants_file)
    path = settings.policy_invariants_file
    return VersionedFile(path, InvariantHistory(engine), required=path.exists())


def load_policy(settings: Settings) -> PolicyIndex:
    """The policy to start with. From the file, it is the file's. From the database it is
    an empty policy (everything denied) until the database's is read at start-up: never
    a file that may say more than the policy an administrator put in the database."""
    if settings.policy_store == "database":
        return PolicyIndex(Policy((), (), source="database (not read yet)"))
    seed_policy_files(settings)
    return PolicyIndex(Policy.from_file(settings.policy_file))


async def start_policy(services: Services) -> None:
    """Create the policy's tables, seed the database source from the policy file on the
    very first start, and put the source's policy in force with its version number."""
    store = services.policy_store
    await store.create_schema()
    if isinstance(store.source, DatabaseSource) and await store.latest_number() == 0:
        seed = Policy.from_file(services.settings.policy_file)
        if not (await store.read_source()).rules:
            # Another replica may have seeded it first (StaleVersion): its seed stands.
            with contextlib.suppress(StaleVersion):
                await store.commit(seed, expected=0, actor="gateway", kind=VersionKind.INITIAL)
    policy = await store.read_source()
    version = await store.record(policy, actor=store.source.name)
    services.policy = PolicyIndex(policy, number=version.number)
    await services.invariants.refresh()
    services.invariants.read()  # invariants that do not load stop the start, as a policy
