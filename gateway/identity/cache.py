"""Providers' answers about tokens, kept by the token's SHA-256: timed, bounded, asked once.

Introspection and userinfo both ask a provider about one token, and both face
the same load: the same token on every request of a client, floods of one bad
token, and bursts of concurrent requests with a token not seen yet. So both keep
what the provider said under the token's digest (a token itself is never a key,
nor logged), each answer until a deadline the caller chooses (never past the
token's ``exp``), at most ``size`` answers (least recently used first out), and
concurrent requests for an uncached token share one call. An answer that could
not be had (the provider is down) is not kept: the next request asks again.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

V = TypeVar("V")
CACHE_SIZE = 10_000


def token_key(token: str) -> bytes:
    """The key a token's answers are kept under."""
    return hashlib.sha256(token.encode()).digest()


class AnswerCache(Generic[V]):
    """Answers by token digest, each until its deadline, at most ``size`` of them."""

    def __init__(self, clock: Callable[[], float], size: int = CACHE_SIZE) -> None:
        self.size = size
        self.clock = clock
        self._entries: OrderedDict[bytes, tuple[float, V]] = OrderedDict()
        self._pending: dict[bytes, asyncio.Task[V]] = {}

    async def get(self, key: bytes, load: Callable[[], Awaitable[tuple[V, float]]]) -> V:
        """The cached answer for ``key``, else ``load()``'s (an answer and how many seconds
        it may be reused), loaded once however many requests wait for it."""
        entry = self._entries.get(key)
        if entry is not None:
            deadline, value = entry
            if self.clock() < deadline:
                self._entries.move_to_end(key)
                return value
            del self._entries[key]
        task = self._pending.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load(key, load))
            self._pending[key] = task
            task.add_done_callback(lambda _: self._pending.pop(key, None))
        # Shielded: a caller that goes away does not cancel the call the others await.
        return await asyncio.shield(task)

    async def _load(self, key: bytes, load: Callable[[], Awaitable[tuple[V, float]]]) -> V:
        value, lifetime = await load()
        self.put(key, value, lifetime)
        return value

    def forget(self, key: bytes) -> None:
        """Drop ``key``'s answer: the next :meth:`get` loads it again."""
        self._entries.pop(key, None)

    def put(self, key: bytes, value: V, lifetime: float) -> None:
        if lifetime <= 0:
            return  # e.g. a cache TTL of 0, or exp already (within leeway) past
        self._entries[key] = (self.clock() + lifetime, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
