"""An authorization-aware response cache: one answer shared by every caller whose access
decides it the same way, and by nobody else.

Where other gateways key cached GraphQL answers by user (nothing shared) or by nothing
(everything leaked), an entry here is keyed by what decided the answer:

* the policy version, and the caller's compiled read scope in each store (allow, deny and
  where hidden content shows: :meth:`Compiled.fingerprint`);
* the operation (its text, its name and its variables);
* and, checked per entry, every other decision the answer was built from, as the
  execution that built it wrote them down (:class:`~gateway.policies.compiler.DecisionLog`):
  the fingerprint of each other scope it used, and each field decision (``allows``) with
  its outcome. A caller is served an entry only if each of those comes out the same for
  them.

Callers whose effective access is identical share entries (every guest; every partner
invited to the same spaces) whatever their roles are called. An answer that depended on
who asks, not on what they may do (their memberships, ``viewerRole``, their own profile,
their notifications) is never cached; mutations and subscriptions never are.

Freshness. Every write through the gateway moves its store's generation
(:class:`GenerationBoard`), which every entry and every cached membership list was made
under: the next request builds afresh. On one machine (``gateway serve --workers N``, the
CLI) the generations are a small file in the data directory; replicas on other machines
hear of a write through the records database's PostgreSQL NOTIFY. Changes made in a store
by other systems are not seen by the gateway: they show once an entry is ``max_age``
seconds old (``cache.max_age``, 2 s by default; 0 turns the cache off).

Memory is bounded by bytes (the encoded answers' sizes), least recently used first; the
counts of hits, misses and answers not cached are kept for the operator.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import struct
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from gateway.domain.model import StoreName
from gateway.policies.compiler import READ_AND_REVEAL

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Hashable
    from pathlib import Path

    from gateway.policies.compiler import Authorizer, DecisionLog

log = logging.getLogger("gateway.cache")
T = TypeVar("T")

# PostgreSQL LISTEN/NOTIFY channel on which a write's store is announced to other replicas.
GENERATIONS_CHANNEL = "gateway_cache_generations"
GENERATIONS_FILE = "cache-generations"
_STORES = tuple(StoreName)
_LAYOUT = struct.Struct(f"<{len(_STORES)}Q")
# What an entry costs besides its encoded answer (key, variants, bookkeeping), in bytes.
ENTRY_OVERHEAD = 512
# Different decision sets under one key (rare: callers with the same read scope whose
# other decisions differ); the oldest goes first.
VARIANTS_PER_KEY = 8
# Membership lists remembered per (store, email).
MEMBERSHIP_ENTRIES = 10_000

Generations = tuple[bytes, tuple[int, ...]]


class GenerationBoard:
    """Each store's generation: moved by every write through the gateway, anywhere.

    Two parts: a file shared by the processes of one machine (workers, the CLI), read with
    one ``pread`` per request and moved under an exclusive lock; and counters moved by the
    notifications other replicas send (:meth:`heard`). :meth:`bump` moves both and
    announces the write (``announce``: the records database's NOTIFY, when it has one).
    """

    def __init__(
        self,
        path: Path | None,
        announce: Callable[[StoreName], Awaitable[None]] | None = None,
    ) -> None:
        self.path = path
        self.announce = announce
        self._heard = dict.fromkeys(_STORES, 0)
        # Times the channel to other replicas (re)connected (see caught_up).
        self.connections = 0
        self._fd: int | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def current(self) -> Generations:
        shared = os.pread(self._fd, _LAYOUT.size, 0) if self._fd is not None else b""
        return shared, tuple(self._heard[s] for s in _STORES)

    async def bump(self, store: StoreName) -> None:
        """A write went to ``store`` (or may have): what was read from it is stale."""
        self._heard[store] += 1
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                raw = os.pread(self._fd, _LAYOUT.size, 0)
                counts = (
                    list(_LAYOUT.unpack(raw)) if len(raw) == _LAYOUT.size else [0] * len(_STORES)
                )
                counts[_STORES.index(store)] += 1
                os.pwrite(self._fd, _LAYOUT.pack(*counts), 0)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        if self.announce is not None:
            try:
                await self.announce(store)
            except Exception as exc:  # the write stands; other machines see it after max_age
                log.warning("could not announce a write to other replicas: %s", exc)

    def heard(self, payload: str) -> None:
        """Another replica wrote to the store ``payload`` names."""
        try:
            store = StoreName(payload)
        except ValueError:
            log.warning("ignored a cache generation notice for %r", payload[:40])
            return
        self._heard[store] += 1

    def caught_up(self) -> None:
        """The channel to other replicas is (again) open: whatever they wrote while it was
        not may have been missed, so everything read before is stale."""
        self.connections += 1
        for store in _STORES:
            self._heard[store] += 1

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass(slots=True)
class _Variant:
    generations: Generations
    born: float
    scopes: tuple[tuple[str, Hashable], ...]
    decisions: tuple[tuple[tuple[str, str, str], bool], ...]
    guest_only: bool
    answer: Any
    size: int


@dataclass
class CacheStats:
    """What the operator reads: lookups answered, missed, and answers not cacheable."""

    hits: int = 0
    misses: int = 0
    uncacheable: int = 0
    stored: int = 0
    evicted: int = 0

    @property
    def hit_ratio(self) -> float:
        asked = self.hits + self.misses
        return self.hits / asked if asked else 0.0


class ResponseCache:
    """Answers by what decided them (see the module's docstring), bounded by bytes."""

    def __init__(
        self,
        board: GenerationBoard,
        *,
        max_age: float,
        max_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.board = board
        self.max_age = max_age
        self.max_bytes = max_bytes
        self.clock = clock
        self.stats = CacheStats()
        self.bytes = 0
        self._entries: OrderedDict[Hashable, list[_Variant]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return sum(len(v) for v in self._entries.values())

    @staticmethod
    def key(
        authorizer: Authorizer, query: str, operation: str | None, variables: object
    ) -> Hashable | None:
        """The key of an operation for this caller; None when its variables (and whatever
        else of the request may change the answer) cannot be written canonically (then it
        is not cached)."""
        try:
            canonical = json.dumps(variables, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):
            return None
        return (
            authorizer.index.version,
            authorizer.compiled.fingerprint(READ_AND_REVEAL),
            query,
            operation,
            canonical,
        )

    def lookup(self, key: Hashable, authorizer: Authorizer) -> Any | None:
        """The answer stored under ``key`` that holds for this caller, or None."""
        now = self.clock()
        generations = self.board.current()
        guest = authorizer.principal.verified_email is None
        with self._lock:
            variants = self._entries.get(key, [])
            for variant in list(variants):
                if variant.generations != generations or now - variant.born >= self.max_age:
                    variants.remove(variant)  # stale: a write since, or too old
                    self.bytes -= variant.size
                elif _holds(variant, authorizer, guest=guest):
                    self._entries.move_to_end(key)
                    self.stats.hits += 1
                    return variant.answer
            if key in self._entries and not variants:
                del self._entries[key]
            self.stats.misses += 1
            return None

    def store(
        self,
        key: Hashable,
        decided: DecisionLog,
        generations: Generations,
        born: float,
        answer: Any,
        size: int,
    ) -> bool:
        """Keep ``answer``, built under ``generations`` from ``born`` on, with what decided
        it; False when it may not be kept (it was personal, or is too large)."""
        if decided.personal:
            self.stats.uncacheable += 1
            return False
        cost = size + ENTRY_OVERHEAD
        if cost > self.max_bytes // 4:  # one answer never pushes out most of the others
            self.stats.uncacheable += 1
            return False
        variant = _Variant(
            generations,
            born,
            tuple(sorted(decided.scopes.items())),
            tuple(sorted(decided.decisions.items())),
            decided.guest_only,
            answer,
            cost,
        )
        with self._lock:
            variants = self._entries.setdefault(key, [])
            self._entries.move_to_end(key)
            variants.insert(0, variant)
            self.bytes += cost
            self.stats.stored += 1
            while len(variants) > VARIANTS_PER_KEY:
                self.bytes -= variants.pop().size
            while self.bytes > self.max_bytes and self._entries:
                _oldest, dropped = self._entries.popitem(last=False)
                for gone in dropped:
                    self.bytes -= gone.size
                    self.stats.evicted += 1
        return True

    def count_uncacheable(self) -> None:
        self.stats.uncacheable += 1


def _holds(variant: _Variant, authorizer: Authorizer, *, guest: bool) -> bool:
    """Whether every decision ``variant`` was built from comes out the same for this caller."""
    if variant.guest_only and not guest:
        return False
    compiled = authorizer.compiled
    for action, fingerprint in variant.scopes:
        if compiled.fingerprint(action) != fingerprint:
            return False
    for (obj, dom, act), outcome in variant.decisions:
        if authorizer.allows(obj, dom, act) != outcome:
            return False
    return True


@dataclass
class StoreReads:
    """Small reads every request makes of a store (a caller's memberships, their trust
    level), kept while their store's generation and ``max_age`` hold: so a cached answer
    costs the stores nothing. A membership changed through the gateway moves the
    generation, and the next request reads afresh; an expiry passing is judged per request
    from the expiry kept here."""

    board: GenerationBoard
    max_age: float
    clock: Callable[[], float] = time.monotonic
    _entries: OrderedDict[tuple[StoreName, str, str], tuple[Generations, float, Any]] = field(
        default_factory=OrderedDict
    )

    async def read(
        self, store: StoreName, what: str, email: str, read: Callable[[], Awaitable[T]]
    ) -> T:
        """``read()``'s answer, or the one it gave under the current generations."""
        key = (store, what, email)
        found = self._entries.get(key)
        if found is not None:
            generations, born, value = found
            if generations == self.board.current() and self.clock() - born < self.max_age:
                return cast("T", value)
            del self._entries[key]
        # Taken before reading: a write while it reads makes what it read stale at once.
        generations, born = self.board.current(), self.clock()
        value = await read()
        self._entries[key] = (generations, born, value)
        while len(self._entries) > MEMBERSHIP_ENTRIES:
            self._entries.popitem(last=False)
        return value


@dataclass
class Caches:
    """The caches of one process, built from the settings (None when ``cache.max_age`` is 0)."""

    board: GenerationBoard
    responses: ResponseCache
    reads: StoreReads

    @classmethod
    def build(cls, board: GenerationBoard, *, max_age: float, max_bytes: int) -> Caches:
        return cls(
            board,
            ResponseCache(board, max_age=max_age, max_bytes=max_bytes),
            StoreReads(board, max_age),
        )
